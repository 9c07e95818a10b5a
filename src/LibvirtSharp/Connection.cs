using LibvirtSharp.Handles;
using LibvirtSharp.Interop;

namespace LibvirtSharp;

/// <summary>
/// A connection to a libvirt driver (<c>virConnectPtr</c>): a local or remote hypervisor such as
/// <c>qemu:///system</c>, <c>qemu+ssh://user@host/system?keyfile=…</c>, or the built-in test driver
/// (<c>test:///default</c>, <c>test:///path/to/node.xml</c>).
/// </summary>
/// <remarks>
/// <para>Thread-safety: a connection may be used from many threads at once; libvirt serializes what it must.
/// Errors are reported per thread, so each failing call raises its own exception on the calling thread.</para>
/// <para>Lifetime: <see cref="Dispose"/> drops this object's reference (virConnectClose). Domains, networks,
/// pools and other objects obtained from the connection hold their own reference on the underlying libvirt
/// connection, so they remain usable after the <see cref="Connection"/> is disposed; the native connection closes
/// when the last of them is disposed. A connection with event subscribers must be disposed: libvirt's callback
/// registration keeps it reachable until then.</para>
/// </remarks>
public sealed partial class Connection : IDisposable
{
    private readonly ConnectionHandle _handle;

    private Connection(ConnectionHandle handle, bool isReadOnly)
    {
        _handle = handle;
        IsReadOnly = isReadOnly;
    }

    internal ConnectionHandle Handle => _handle;

    /// <summary>Opens a read-write connection.</summary>
    /// <param name="uri">A libvirt URI, for example <c>qemu:///system</c> or <c>test:///default</c>.</param>
    /// <exception cref="LibvirtException">libvirt could not connect (the message says why).</exception>
    public static Connection Open(string uri)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(uri);
        LibvirtRuntime.EnsureInitialized();
        return new Connection(LibvirtError.Check(ConnectNative.virConnectOpen(uri), $"Connection.Open({uri})"), false);
    }

    /// <summary>Opens a read-only connection: queries work, changes fail with <see cref="ErrorCode.OperationDenied"/>.</summary>
    /// <param name="uri">A libvirt URI.</param>
    /// <exception cref="LibvirtException">libvirt could not connect.</exception>
    public static Connection OpenReadOnly(string uri)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(uri);
        LibvirtRuntime.EnsureInitialized();
        return new Connection(
            LibvirtError.Check(ConnectNative.virConnectOpenReadOnly(uri), $"Connection.OpenReadOnly({uri})"), true);
    }

    /// <summary>The version of the libvirt client library loaded in this process.</summary>
    public static Version ClientLibraryVersion
    {
        get
        {
            LibvirtRuntime.EnsureInitialized();
            LibvirtError.Check(ErrorNative.virGetVersion(out var packed, 0, 0), "Connection.ClientLibraryVersion");
            return Native.ToVersion(packed.Value);
        }
    }

    /// <summary>True when the connection was opened with <see cref="OpenReadOnly"/>.</summary>
    public bool IsReadOnly { get; }

    /// <summary>The canonical URI of the connection, as libvirt reports it.</summary>
    public string Uri => LibvirtError.TakeString(ConnectNative.virConnectGetURI(_handle), "Connection.Uri");

    /// <summary>The host name of the hypervisor host.</summary>
    public string Hostname => LibvirtError.TakeString(ConnectNative.virConnectGetHostname(_handle), "Connection.Hostname");

    /// <summary>The driver name, for example <c>QEMU</c> or <c>TEST</c>.</summary>
    public string HypervisorType => LibvirtError.BorrowString(ConnectNative.virConnectGetType(_handle), "Connection.HypervisorType");

    /// <summary>The libvirt version on the other end (the daemon for remote connections).</summary>
    public Version LibvirtVersion
    {
        get
        {
            LibvirtError.Check(ConnectNative.virConnectGetLibVersion(_handle, out var packed), "Connection.LibvirtVersion");
            return Native.ToVersion(packed.Value);
        }
    }

    /// <summary>The hypervisor version, for example QEMU's.</summary>
    public Version HypervisorVersion
    {
        get
        {
            LibvirtError.Check(ConnectNative.virConnectGetVersion(_handle, out var packed), "Connection.HypervisorVersion");
            return Native.ToVersion(packed.Value);
        }
    }

    /// <summary>True while the connection is usable (the transport is up and keep-alive has not failed).</summary>
    public bool IsAlive => LibvirtError.Check(ConnectNative.virConnectIsAlive(_handle), "Connection.IsAlive") == 1;

    /// <summary>True when the transport is encrypted.</summary>
    public bool IsEncrypted => LibvirtError.Check(ConnectNative.virConnectIsEncrypted(_handle), "Connection.IsEncrypted") == 1;

    /// <summary>True when the transport is secure (encrypted or local).</summary>
    public bool IsSecure => LibvirtError.Check(ConnectNative.virConnectIsSecure(_handle), "Connection.IsSecure") == 1;

    /// <summary>
    /// Starts keep-alive probes on a remote connection: after <paramref name="count"/> unanswered probes sent
    /// every <paramref name="intervalSeconds"/> seconds, libvirt closes the connection. A non-positive interval
    /// disables keep-alive. Needs a connection through libvirtd (remote driver); in-process drivers such as the
    /// test driver throw <see cref="ErrorCode.NoSupport"/>.
    /// </summary>
    public void SetKeepAlive(int intervalSeconds, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        LibvirtError.Check(ConnectNative.virConnectSetKeepAlive(_handle, intervalSeconds, (uint)count), "Connection.SetKeepAlive");
    }

    /// <summary>The host capabilities XML, as libvirt returns it.</summary>
    public string GetCapabilities() =>
        LibvirtError.TakeString(ConnectNative.virConnectGetCapabilities(_handle), "Connection.GetCapabilities");

    /// <summary>The domain capabilities XML for an emulator/architecture/machine/virtualization type; null arguments let libvirt choose.</summary>
    public string GetDomainCapabilities(string? emulatorBinary, string? arch, string? machine, string? virtType) =>
        LibvirtError.TakeString(
            ConnectNative.virConnectGetDomainCapabilities(_handle, emulatorBinary, arch, machine, virtType, 0),
            "Connection.GetDomainCapabilities");

    /// <summary>The host's SMBIOS/sysinfo XML.</summary>
    public string GetSysinfo() => LibvirtError.TakeString(ConnectNative.virConnectGetSysinfo(_handle, 0), "Connection.GetSysinfo");

    /// <summary>Processor and memory facts about the host.</summary>
    public unsafe NodeInfo GetNodeInfo()
    {
        VirNodeInfo info;
        LibvirtError.Check(ConnectNative.virNodeGetInfo(_handle, &info), "Connection.GetNodeInfo");
        var model = new ReadOnlySpan<byte>(info.Model, 32);
        var end = model.IndexOf((byte)0);
        return new NodeInfo(
            System.Text.Encoding.UTF8.GetString(end < 0 ? model : model[..end]),
            (ulong)info.Memory.Value * 1024,
            info.Cpus,
            info.Mhz,
            info.Nodes,
            info.Sockets,
            info.Cores,
            info.Threads);
    }

    /// <summary>Free host memory in bytes.</summary>
    public ulong GetFreeMemoryBytes()
    {
        var free = ConnectNative.virNodeGetFreeMemory(_handle);
        return free == 0 ? throw LibvirtError.Capture("Connection.GetFreeMemoryBytes") : free;
    }

    // ---- domains ----

    /// <summary>Defines (or redefines, when the UUID matches) a persistent domain from its XML; it is not started.</summary>
    /// <param name="xml">Domain XML, passed to libvirt unchanged.</param>
    public Domain DefineDomain(string xml)
    {
        ArgumentNullException.ThrowIfNull(xml);
        return new Domain(LibvirtError.Check(DomainNative.virDomainDefineXMLFlags(_handle, xml, 0), "Connection.DefineDomain"));
    }

    /// <summary>Creates and starts a transient domain, which disappears when it stops.</summary>
    public Domain CreateTransientDomain(string xml, DomainCreateFlags flags = DomainCreateFlags.None)
    {
        ArgumentNullException.ThrowIfNull(xml);
        return new Domain(LibvirtError.Check(DomainNative.virDomainCreateXML(_handle, xml, (uint)flags), "Connection.CreateTransientDomain"));
    }

    /// <summary>Finds a domain by name.</summary>
    /// <exception cref="LibvirtException">With <see cref="ErrorCode.NoDomain"/> if there is none.</exception>
    public Domain LookupDomain(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return new Domain(LibvirtError.Check(DomainNative.virDomainLookupByName(_handle, name), $"Connection.LookupDomain({name})"));
    }

    /// <summary>Finds a domain by name, or returns null if there is none.</summary>
    public Domain? TryLookupDomain(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var handle = LibvirtError.CheckOrNull(DomainNative.virDomainLookupByName(_handle, name), $"Connection.TryLookupDomain({name})");
        return handle is null ? null : new Domain(handle);
    }

    /// <summary>Finds a domain by UUID.</summary>
    /// <exception cref="LibvirtException">With <see cref="ErrorCode.NoDomain"/> if there is none.</exception>
    public unsafe Domain LookupDomain(Guid uuid)
    {
        byte* raw = stackalloc byte[Native.UuidLength];
        Native.WriteUuid(uuid, new Span<byte>(raw, Native.UuidLength));
        return new Domain(LibvirtError.Check(DomainNative.virDomainLookupByUUID(_handle, raw), $"Connection.LookupDomain({uuid})"));
    }

    /// <summary>Finds a domain by UUID, or returns null if there is none.</summary>
    public unsafe Domain? TryLookupDomain(Guid uuid)
    {
        byte* raw = stackalloc byte[Native.UuidLength];
        Native.WriteUuid(uuid, new Span<byte>(raw, Native.UuidLength));
        var handle = LibvirtError.CheckOrNull(DomainNative.virDomainLookupByUUID(_handle, raw), $"Connection.TryLookupDomain({uuid})");
        return handle is null ? null : new Domain(handle);
    }

    /// <summary>Finds a running domain by its numeric id.</summary>
    public Domain LookupDomain(int id) =>
        new(LibvirtError.Check(DomainNative.virDomainLookupByID(_handle, id), $"Connection.LookupDomain({id})"));

    /// <summary>Lists domains; each returned object must be disposed.</summary>
    /// <param name="filter">Flags that narrow the list; <see cref="DomainListFilter.All"/> for every domain.</param>
    public unsafe IReadOnlyList<Domain> ListDomains(DomainListFilter filter = DomainListFilter.All)
    {
        nint* items;
        var count = LibvirtError.Check(ConnectNative.virConnectListAllDomains(_handle, &items, (uint)filter), "Connection.ListDomains");
        return LibvirtError.AdoptArray<DomainHandle>(items, count).ConvertAll(h => new Domain(h));
    }

    // ---- networks ----

    /// <summary>Defines a persistent network from its XML; it is not started.</summary>
    public Network DefineNetwork(string xml)
    {
        ArgumentNullException.ThrowIfNull(xml);
        return new Network(LibvirtError.Check(NetworkNative.virNetworkDefineXML(_handle, xml), "Connection.DefineNetwork"));
    }

    /// <summary>Creates and starts a transient network.</summary>
    public Network CreateTransientNetwork(string xml)
    {
        ArgumentNullException.ThrowIfNull(xml);
        return new Network(LibvirtError.Check(NetworkNative.virNetworkCreateXML(_handle, xml), "Connection.CreateTransientNetwork"));
    }

    /// <summary>Finds a network by name.</summary>
    /// <exception cref="LibvirtException">With <see cref="ErrorCode.NoNetwork"/> if there is none.</exception>
    public Network LookupNetwork(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return new Network(LibvirtError.Check(NetworkNative.virNetworkLookupByName(_handle, name), $"Connection.LookupNetwork({name})"));
    }

    /// <summary>Finds a network by name, or returns null if there is none.</summary>
    public Network? TryLookupNetwork(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var handle = LibvirtError.CheckOrNull(NetworkNative.virNetworkLookupByName(_handle, name), $"Connection.TryLookupNetwork({name})");
        return handle is null ? null : new Network(handle);
    }

    /// <summary>Finds a network by UUID.</summary>
    public unsafe Network LookupNetwork(Guid uuid)
    {
        byte* raw = stackalloc byte[Native.UuidLength];
        Native.WriteUuid(uuid, new Span<byte>(raw, Native.UuidLength));
        return new Network(LibvirtError.Check(NetworkNative.virNetworkLookupByUUID(_handle, raw), $"Connection.LookupNetwork({uuid})"));
    }

    /// <summary>Lists all networks, active and inactive; each returned object must be disposed.</summary>
    public unsafe IReadOnlyList<Network> ListNetworks()
    {
        nint* items;
        var count = LibvirtError.Check(ConnectNative.virConnectListAllNetworks(_handle, &items, 0), "Connection.ListNetworks");
        return LibvirtError.AdoptArray<NetworkHandle>(items, count).ConvertAll(h => new Network(h));
    }

    // ---- storage ----

    /// <summary>Defines a persistent storage pool from its XML; build and start it separately.</summary>
    public StoragePool DefineStoragePool(string xml)
    {
        ArgumentNullException.ThrowIfNull(xml);
        return new StoragePool(LibvirtError.Check(StorageNative.virStoragePoolDefineXML(_handle, xml, 0), "Connection.DefineStoragePool"));
    }

    /// <summary>Creates and starts a transient storage pool.</summary>
    public StoragePool CreateTransientStoragePool(string xml)
    {
        ArgumentNullException.ThrowIfNull(xml);
        return new StoragePool(LibvirtError.Check(StorageNative.virStoragePoolCreateXML(_handle, xml, 0), "Connection.CreateTransientStoragePool"));
    }

    /// <summary>Finds a storage pool by name.</summary>
    /// <exception cref="LibvirtException">With <see cref="ErrorCode.NoStoragePool"/> if there is none.</exception>
    public StoragePool LookupStoragePool(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return new StoragePool(LibvirtError.Check(StorageNative.virStoragePoolLookupByName(_handle, name), $"Connection.LookupStoragePool({name})"));
    }

    /// <summary>Finds a storage pool by name, or returns null if there is none.</summary>
    public StoragePool? TryLookupStoragePool(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var handle = LibvirtError.CheckOrNull(StorageNative.virStoragePoolLookupByName(_handle, name), $"Connection.TryLookupStoragePool({name})");
        return handle is null ? null : new StoragePool(handle);
    }

    /// <summary>Finds a storage pool by UUID.</summary>
    public unsafe StoragePool LookupStoragePool(Guid uuid)
    {
        byte* raw = stackalloc byte[Native.UuidLength];
        Native.WriteUuid(uuid, new Span<byte>(raw, Native.UuidLength));
        return new StoragePool(LibvirtError.Check(StorageNative.virStoragePoolLookupByUUID(_handle, raw), $"Connection.LookupStoragePool({uuid})"));
    }

    /// <summary>Lists all storage pools, active and inactive; each returned object must be disposed.</summary>
    public unsafe IReadOnlyList<StoragePool> ListStoragePools()
    {
        nint* items;
        var count = LibvirtError.Check(ConnectNative.virConnectListAllStoragePools(_handle, &items, 0), "Connection.ListStoragePools");
        return LibvirtError.AdoptArray<StoragePoolHandle>(items, count).ConvertAll(h => new StoragePool(h));
    }

    /// <summary>Finds a storage volume by its path on the host (any pool).</summary>
    /// <exception cref="LibvirtException">With <see cref="ErrorCode.NoStorageVolume"/> if no pool has it.</exception>
    public StorageVolume LookupStorageVolumeByPath(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return new StorageVolume(LibvirtError.Check(StorageNative.virStorageVolLookupByPath(_handle, path), $"Connection.LookupStorageVolumeByPath({path})"));
    }

    /// <summary>Finds a storage volume by its key (for file volumes, the path).</summary>
    /// <exception cref="LibvirtException">With <see cref="ErrorCode.NoStorageVolume"/> if no pool has it.</exception>
    public StorageVolume LookupStorageVolumeByKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return new StorageVolume(LibvirtError.Check(StorageNative.virStorageVolLookupByKey(_handle, key), $"Connection.LookupStorageVolumeByKey({key})"));
    }

    // ---- node devices ----

    /// <summary>Lists the host devices libvirt knows about; each returned object must be disposed.</summary>
    /// <exception cref="LibvirtException">With <see cref="ErrorCode.NoSupport"/> on drivers without node devices.</exception>
    public unsafe IReadOnlyList<NodeDevice> ListNodeDevices()
    {
        nint* items;
        var count = LibvirtError.Check(ConnectNative.virConnectListAllNodeDevices(_handle, &items, 0), "Connection.ListNodeDevices");
        return LibvirtError.AdoptArray<NodeDeviceHandle>(items, count).ConvertAll(h => new NodeDevice(h));
    }

    /// <summary>Finds a host device by name (for example <c>computer</c> or <c>net_lo_00_00_00_00_00_00</c>).</summary>
    public NodeDevice LookupNodeDevice(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return new NodeDevice(LibvirtError.Check(NodeDeviceNative.virNodeDeviceLookupByName(_handle, name), $"Connection.LookupNodeDevice({name})"));
    }

    /// <summary>Stops event delivery for this connection and drops its reference (virConnectClose), once.</summary>
    public void Dispose()
    {
        StopEvents();
        _handle.Dispose();
    }
}
