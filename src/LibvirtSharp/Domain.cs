using System.Net;
using System.Xml.Linq;
using LibvirtSharp.Handles;
using LibvirtSharp.Interop;

namespace LibvirtSharp;

/// <summary>
/// A virtual machine (<c>virDomainPtr</c>). Obtained from <see cref="Connection"/>; dispose it when done.
/// </summary>
/// <remarks>
/// Thread-safety: an instance may be used from several threads at once (libvirt locks the domain per call).
/// The instance holds its own reference on the libvirt connection, so it stays usable after its
/// <see cref="Connection"/> object is disposed.
/// </remarks>
public sealed class Domain : IDisposable
{
    private const int MetadataElement = 2; // VIR_DOMAIN_METADATA_ELEMENT
    private static readonly TimeSpan s_shutdownPollInterval = TimeSpan.FromMilliseconds(250);

    private readonly DomainHandle _handle;
    private string? _name;
    private Guid? _uuid;

    internal Domain(DomainHandle handle) => _handle = handle;

    internal DomainHandle Handle => _handle;

    /// <summary>The domain's name.</summary>
    public string Name => _name ??= LibvirtError.BorrowString(DomainNative.virDomainGetName(_handle), "Domain.Name");

    /// <summary>The domain's UUID.</summary>
    public unsafe Guid Uuid
    {
        get
        {
            if (_uuid is { } known)
            {
                return known;
            }

            byte* raw = stackalloc byte[Native.UuidLength];
            LibvirtError.Check(DomainNative.virDomainGetUUID(_handle, raw), "Domain.Uuid");
            var value = Native.ToGuid(new ReadOnlySpan<byte>(raw, Native.UuidLength));
            _uuid = value;
            return value;
        }
    }

    /// <summary>The hypervisor's id of a running domain; null when the domain does not run.</summary>
    public int? Id
    {
        get
        {
            var id = DomainNative.virDomainGetID(_handle);
            return id == uint.MaxValue ? null : (int)id;
        }
    }

    /// <summary>True while the domain runs (or is paused).</summary>
    public bool IsActive => LibvirtError.Check(DomainNative.virDomainIsActive(_handle), "Domain.IsActive") == 1;

    /// <summary>True when the domain has a persistent configuration.</summary>
    public bool IsPersistent => LibvirtError.Check(DomainNative.virDomainIsPersistent(_handle), "Domain.IsPersistent") == 1;

    /// <summary>Whether the domain starts when the host boots.</summary>
    public bool Autostart
    {
        get
        {
            LibvirtError.Check(DomainNative.virDomainGetAutostart(_handle, out var value), "Domain.Autostart");
            return value != 0;
        }

        set => LibvirtError.Check(DomainNative.virDomainSetAutostart(_handle, value ? 1 : 0), "Domain.Autostart");
    }

    /// <summary>True when the domain has a managed save image.</summary>
    public bool HasManagedSaveImage =>
        LibvirtError.Check(DomainNative.virDomainHasManagedSaveImage(_handle, 0), "Domain.HasManagedSaveImage") == 1;

    /// <summary>The run state.</summary>
    public DomainState GetState() => GetStateAndReason().State;

    /// <summary>The run state with libvirt's reason code for it (for example, for <see cref="DomainState.Paused"/>, 1 = paused by the user).</summary>
    public (DomainState State, int Reason) GetStateAndReason()
    {
        LibvirtError.Check(DomainNative.virDomainGetState(_handle, out var state, out var reason, 0), "Domain.GetState");
        return ((DomainState)state, reason);
    }

    /// <summary>State, memory, virtual CPUs and CPU time.</summary>
    public unsafe DomainInfo GetInfo()
    {
        VirDomainInfo info;
        LibvirtError.Check(DomainNative.virDomainGetInfo(_handle, &info), "Domain.GetInfo");
        return new DomainInfo(
            (DomainState)info.State,
            (ulong)info.MaxMem.Value * 1024,
            (ulong)info.Memory.Value * 1024,
            info.NrVirtCpu,
            TimeSpan.FromTicks((long)(info.CpuTime / 100)));
    }

    /// <summary>The domain XML, exactly as libvirt returns it.</summary>
    public string GetXml(DomainXmlFlags flags = DomainXmlFlags.None) =>
        LibvirtError.TakeString(DomainNative.virDomainGetXMLDesc(_handle, (uint)flags), "Domain.GetXml");

    /// <summary>Starts (boots) a defined domain.</summary>
    /// <param name="paused">Start with the virtual CPUs paused.</param>
    public void Start(bool paused = false) =>
        LibvirtError.Check(DomainNative.virDomainCreateWithFlags(_handle, paused ? (uint)DomainCreateFlags.StartPaused : 0), "Domain.Start");

    /// <summary>Starts a defined domain with explicit options.</summary>
    public void Start(DomainCreateFlags flags) =>
        LibvirtError.Check(DomainNative.virDomainCreateWithFlags(_handle, (uint)flags), "Domain.Start");

    /// <summary>Asks the guest to shut down (ACPI power button or agent); returns at once, the guest may ignore it.</summary>
    public void Shutdown() => LibvirtError.Check(DomainNative.virDomainShutdownFlags(_handle, 0), "Domain.Shutdown");

    /// <summary>Powers the domain off immediately (virDomainDestroy); a transient domain disappears.</summary>
    public void Destroy() => LibvirtError.Check(DomainNative.virDomainDestroyFlags(_handle, 0), "Domain.Destroy");

    /// <summary>Asks the guest to reboot.</summary>
    public void Reboot() => LibvirtError.Check(DomainNative.virDomainReboot(_handle, 0), "Domain.Reboot");

    /// <summary>Pauses the virtual CPUs.</summary>
    public void Suspend() => LibvirtError.Check(DomainNative.virDomainSuspend(_handle), "Domain.Suspend");

    /// <summary>Resumes paused virtual CPUs.</summary>
    public void Resume() => LibvirtError.Check(DomainNative.virDomainResume(_handle), "Domain.Resume");

    /// <summary>Saves the running domain's memory to libvirt's managed save image and stops it.</summary>
    public void ManagedSave() => LibvirtError.Check(DomainNative.virDomainManagedSave(_handle, 0), "Domain.ManagedSave");

    /// <summary>Removes the managed save image.</summary>
    public void RemoveManagedSave() =>
        LibvirtError.Check(DomainNative.virDomainManagedSaveRemove(_handle, 0), "Domain.RemoveManagedSave");

    /// <summary>
    /// Shuts the domain down gracefully and, if it is still running when <paramref name="gracePeriod"/> has
    /// passed, destroys it. The wait polls the domain state; the libvirt calls themselves are short and blocking.
    /// A domain that refuses the shutdown request outright (a paused domain: qemu reports "not running") is
    /// destroyed at once instead of waiting out the grace period.
    /// </summary>
    /// <param name="gracePeriod">How long the guest gets to shut down by itself.</param>
    /// <param name="ct">Cancels the wait (the domain is then left as it is, not destroyed).</param>
    /// <param name="timeProvider">Clock for the grace period; <see cref="TimeProvider.System"/> by default.</param>
    public async Task<ShutdownOutcome> ShutdownAsync(TimeSpan gracePeriod, CancellationToken ct, TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(gracePeriod, TimeSpan.Zero);
        timeProvider ??= TimeProvider.System;
        if (!IsActive)
        {
            return ShutdownOutcome.AlreadyStopped;
        }

        try
        {
            Shutdown();
        }
        catch (LibvirtException ex) when (ex.Code == ErrorCode.OperationInvalid)
        {
            if (!IsActive)
            {
                // It stopped between the check and the request.
                return ShutdownOutcome.ShutDown;
            }

            // The guest cannot be asked (for example it is paused, which qemu reports as "not running"):
            // waiting would only burn the grace period.
            return DestroyIfActive();
        }

        var started = timeProvider.GetTimestamp();
        while (true)
        {
            if (!IsActive)
            {
                return ShutdownOutcome.ShutDown;
            }

            var remaining = gracePeriod - timeProvider.GetElapsedTime(started);
            if (remaining <= TimeSpan.Zero)
            {
                break;
            }

            await Task.Delay(remaining < s_shutdownPollInterval ? remaining : s_shutdownPollInterval, timeProvider, ct)
                .ConfigureAwait(false);
        }

        return DestroyIfActive();
    }

    private ShutdownOutcome DestroyIfActive()
    {
        try
        {
            Destroy();
        }
        catch (LibvirtException ex) when (ex.Code == ErrorCode.OperationInvalid && !IsActive)
        {
            return ShutdownOutcome.ShutDown;
        }

        return ShutdownOutcome.Destroyed;
    }

    /// <summary>Removes the persistent configuration; a running domain keeps running as a transient one.</summary>
    /// <param name="flags">What else to remove (managed save image, snapshot metadata, NVRAM, …).</param>
    public void Undefine(DomainUndefineFlags flags = DomainUndefineFlags.None) =>
        LibvirtError.Check(DomainNative.virDomainUndefineFlags(_handle, (uint)flags), "Domain.Undefine");

    // ---- metadata ----

    /// <summary>
    /// Reads the custom metadata element stored under <paramref name="namespaceUri"/>, as libvirt returns it
    /// (libvirt returns the element without its namespace: the namespace is only the lookup key); null when there is none.
    /// </summary>
    public string? GetMetadata(string namespaceUri, DomainModificationImpact impact = DomainModificationImpact.Current)
    {
        ArgumentException.ThrowIfNullOrEmpty(namespaceUri);
        var result = DomainNative.virDomainGetMetadata(_handle, MetadataElement, namespaceUri, (uint)impact);
        if (result != 0)
        {
            return Native.TakeString(result);
        }

        var error = LibvirtError.Capture("Domain.GetMetadata");
        return error.Code == ErrorCode.NoDomainMetadata ? null : throw error;
    }

    /// <summary>
    /// Stores (replaces) the custom metadata element under <paramref name="namespaceUri"/>. libvirt puts the
    /// element into that namespace with <paramref name="prefix"/>.
    /// </summary>
    /// <param name="namespaceUri">Namespace URI that identifies the metadata owner.</param>
    /// <param name="prefix">XML prefix libvirt uses for the namespace.</param>
    /// <param name="xml">One well-formed XML element (its namespace is replaced by <paramref name="namespaceUri"/>).</param>
    /// <param name="impact">Live domain, persistent configuration, or both.</param>
    public void SetMetadata(string namespaceUri, string prefix, string xml, DomainModificationImpact impact = DomainModificationImpact.Current)
    {
        ArgumentException.ThrowIfNullOrEmpty(namespaceUri);
        ArgumentException.ThrowIfNullOrEmpty(prefix);
        ArgumentNullException.ThrowIfNull(xml);
        LibvirtError.Check(
            DomainNative.virDomainSetMetadata(_handle, MetadataElement, xml, prefix, namespaceUri, (uint)impact), "Domain.SetMetadata");
    }

    /// <summary>Removes the custom metadata element under <paramref name="namespaceUri"/> (no error if absent).</summary>
    public void RemoveMetadata(string namespaceUri, DomainModificationImpact impact = DomainModificationImpact.Current)
    {
        ArgumentException.ThrowIfNullOrEmpty(namespaceUri);
        LibvirtError.Check(
            DomainNative.virDomainSetMetadata(_handle, MetadataElement, null, null, namespaceUri, (uint)impact), "Domain.RemoveMetadata");
    }

    // ---- addresses ----

    /// <summary>The guest's interfaces and IP addresses as seen by <paramref name="source"/>.</summary>
    /// <exception cref="LibvirtException">
    /// For <see cref="InterfaceAddressSource.Agent"/> without a guest agent: <see cref="ErrorCode.AgentUnresponsive"/>
    /// or <see cref="ErrorCode.ArgumentUnsupported"/>; for an inactive domain: <see cref="ErrorCode.OperationInvalid"/>.
    /// </exception>
    public unsafe IReadOnlyList<DomainInterface> GetInterfaceAddresses(InterfaceAddressSource source)
    {
        VirDomainInterface** ifaces = null;
        var count = LibvirtError.Check(
            DomainNative.virDomainInterfaceAddresses(_handle, &ifaces, (uint)source, 0), "Domain.GetInterfaceAddresses");
        var result = new List<DomainInterface>(count);
        try
        {
            for (var i = 0; i < count; i++)
            {
                var iface = ifaces[i];
                var addresses = new List<IPAddressPrefix>((int)iface->Naddrs);
                for (var j = 0; j < iface->Naddrs; j++)
                {
                    var address = iface->Addrs[j];
                    if (IPAddress.TryParse(Native.BorrowString(address.Addr), out var ip))
                    {
                        addresses.Add(new IPAddressPrefix(ip, (int)address.Prefix));
                    }
                }

                result.Add(new DomainInterface(
                    Native.BorrowString(iface->Name) ?? string.Empty, Native.BorrowString(iface->Hwaddr), addresses));
            }
        }
        finally
        {
            for (var i = 0; i < count; i++)
            {
                DomainNative.virDomainInterfaceFree(ifaces[i]);
            }

            Native.Free(ifaces);
        }

        return result;
    }

    // ---- dumps, snapshots ----

    /// <summary>Writes the domain's memory to <paramref name="path"/> on the hypervisor host.</summary>
    /// <param name="path">Destination file on the host running the domain.</param>
    /// <param name="flags">
    /// <see cref="CoreDumpFlags.MemoryOnly"/> for an ELF file that crash/gdb read; <see cref="CoreDumpFlags.Live"/>
    /// to keep the guest running; by default the guest is paused during the dump and resumed after it.
    /// </param>
    public void CoreDump(string path, CoreDumpFlags flags = CoreDumpFlags.None) => CoreDump(path, CoreDumpFormat.Raw, flags);

    /// <summary>Writes the domain's memory in the given format (formats other than raw need <see cref="CoreDumpFlags.MemoryOnly"/>).</summary>
    public void CoreDump(string path, CoreDumpFormat format, CoreDumpFlags flags)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        LibvirtError.Check(DomainNative.virDomainCoreDumpWithFormat(_handle, path, (uint)format, (uint)flags), "Domain.CoreDump");
    }

    /// <summary>Creates a snapshot from snapshot XML (<c>&lt;domainsnapshot&gt;</c>).</summary>
    public DomainSnapshot CreateSnapshot(string xml, SnapshotCreateFlags flags = SnapshotCreateFlags.None)
    {
        ArgumentNullException.ThrowIfNull(xml);
        return new DomainSnapshot(
            LibvirtError.Check(SnapshotNative.virDomainSnapshotCreateXML(_handle, xml, (uint)flags), "Domain.CreateSnapshot"));
    }

    /// <summary>Lists the domain's snapshots; each returned object must be disposed.</summary>
    public unsafe IReadOnlyList<DomainSnapshot> ListSnapshots()
    {
        nint* items;
        var count = LibvirtError.Check(SnapshotNative.virDomainListAllSnapshots(_handle, &items, 0), "Domain.ListSnapshots");
        return LibvirtError.AdoptArray<DomainSnapshotHandle>(items, count).ConvertAll(h => new DomainSnapshot(h));
    }

    /// <summary>Finds a snapshot by name.</summary>
    /// <exception cref="LibvirtException">With <see cref="ErrorCode.NoDomainSnapshot"/> if there is none.</exception>
    public DomainSnapshot LookupSnapshot(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return new DomainSnapshot(
            LibvirtError.Check(SnapshotNative.virDomainSnapshotLookupByName(_handle, name, 0), $"Domain.LookupSnapshot({name})"));
    }

    /// <summary>Finds a snapshot by name, or returns null if there is none.</summary>
    public DomainSnapshot? TryLookupSnapshot(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var handle = LibvirtError.CheckOrNull(
            SnapshotNative.virDomainSnapshotLookupByName(_handle, name, 0), $"Domain.TryLookupSnapshot({name})");
        return handle is null ? null : new DomainSnapshot(handle);
    }

    /// <summary>The current snapshot, or null if there is none.</summary>
    public DomainSnapshot? GetCurrentSnapshot()
    {
        var handle = LibvirtError.CheckOrNull(SnapshotNative.virDomainSnapshotCurrent(_handle, 0), "Domain.GetCurrentSnapshot");
        return handle is null ? null : new DomainSnapshot(handle);
    }

    // ---- devices ----

    /// <summary>Attaches a device described by device XML (for example an <c>&lt;interface&gt;</c> or <c>&lt;disk&gt;</c>).</summary>
    public void AttachDevice(string xml, DomainModificationImpact impact = DomainModificationImpact.Current)
    {
        ArgumentNullException.ThrowIfNull(xml);
        LibvirtError.Check(DomainNative.virDomainAttachDeviceFlags(_handle, xml, (uint)impact), "Domain.AttachDevice");
    }

    /// <summary>Detaches the device matching the device XML.</summary>
    public void DetachDevice(string xml, DomainModificationImpact impact = DomainModificationImpact.Current)
    {
        ArgumentNullException.ThrowIfNull(xml);
        LibvirtError.Check(DomainNative.virDomainDetachDeviceFlags(_handle, xml, (uint)impact), "Domain.DetachDevice");
    }

    /// <summary>Changes an existing device (matched by its identifying elements) to the given device XML.</summary>
    /// <param name="xml">The device's new XML.</param>
    /// <param name="impact">Live domain, persistent configuration, or both.</param>
    /// <param name="force">Force the change (for example ejecting a locked CD-ROM).</param>
    public void UpdateDevice(string xml, DomainModificationImpact impact = DomainModificationImpact.Current, bool force = false)
    {
        ArgumentNullException.ThrowIfNull(xml);
        const uint forceFlag = 1 << 2; // VIR_DOMAIN_DEVICE_MODIFY_FORCE
        LibvirtError.Check(
            DomainNative.virDomainUpdateDeviceFlags(_handle, xml, (uint)impact | (force ? forceFlag : 0)), "Domain.UpdateDevice");
    }

    /// <summary>
    /// Sets the link state of the interface with MAC address <paramref name="macAddress"/> (a virtual cable
    /// plug/unplug). Reads the domain XML, changes the interface element's <c>&lt;link state&gt;</c> and applies it
    /// with <see cref="UpdateDevice"/>.
    /// </summary>
    /// <exception cref="ArgumentException">If the domain has no interface with that MAC address.</exception>
    public void SetInterfaceLinkState(string macAddress, bool up, DomainModificationImpact impact = DomainModificationImpact.Live)
    {
        ArgumentException.ThrowIfNullOrEmpty(macAddress);
        var source = GetXml(impact.HasFlag(DomainModificationImpact.Config) && !impact.HasFlag(DomainModificationImpact.Live)
            ? DomainXmlFlags.Inactive
            : DomainXmlFlags.None);
        var document = XDocument.Parse(source);
        var iface = document.Root?.Element("devices")?.Elements("interface").FirstOrDefault(e =>
            string.Equals((string?)e.Element("mac")?.Attribute("address"), macAddress, StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException($"domain '{Name}' has no interface with MAC address '{macAddress}'", nameof(macAddress));
        var link = iface.Element("link");
        if (link is null)
        {
            link = new XElement("link");
            iface.Add(link);
        }

        link.SetAttributeValue("state", up ? "up" : "down");
        UpdateDevice(iface.ToString(SaveOptions.DisableFormatting), impact);
    }

    /// <summary>Reads the link state of the interface with the given MAC address from the live XML; true when up.</summary>
    public bool GetInterfaceLinkState(string macAddress)
    {
        ArgumentException.ThrowIfNullOrEmpty(macAddress);
        var iface = XDocument.Parse(GetXml()).Root?.Element("devices")?.Elements("interface").FirstOrDefault(e =>
            string.Equals((string?)e.Element("mac")?.Attribute("address"), macAddress, StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException($"domain '{Name}' has no interface with MAC address '{macAddress}'", nameof(macAddress));
        return (string?)iface.Element("link")?.Attribute("state") != "down";
    }

    /// <summary>Drops this object's libvirt reference, once.</summary>
    public void Dispose() => _handle.Dispose();

    /// <inheritdoc/>
    public override string ToString() => _handle.IsClosed ? "Domain (disposed)" : $"Domain {Name}";
}
