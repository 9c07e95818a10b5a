using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using LibvirtSharp;
using Provisioner.Core.CloudInit;
using Provisioner.Core.Templates;
using Provisioner.Engine.Hosts;
using Provisioner.Engine.Inventory;
using Provisioner.Engine.Planning;
using Provisioner.Engine.Readiness;
using Provisioner.Remote.Keys;
using StackDiskBus = Provisioner.Core.Stacks.DiskBus;
using TemplateDiskBus = Provisioner.Core.Templates.DiskBus;

namespace Provisioner.Engine.Execution;

/// <summary>
/// A node's life on its host: create (root disk, seed, domain, first boot), update in place,
/// finish an interrupted first boot, delete. Each operation converges when run again.
/// </summary>
public sealed class NodeOperations
{
    private const ulong GiB = 1024UL * 1024 * 1024;
    private readonly TemplateRenderer _templates;
    private readonly TimeProvider _time;
    private readonly IVolumeContent _content;
    private readonly INodeReadiness _readiness;

    /// <summary>Creates the operations.</summary>
    public NodeOperations(TemplateRenderer templates, TimeProvider time, IVolumeContent content, INodeReadiness readiness)
    {
        _templates = templates;
        _time = time;
        _content = content;
        _readiness = readiness;
    }

    /// <summary>
    /// Creates the node from nothing: a linked clone of the golden image, a seed carrying a host key
    /// generated here, the domain; boots it, waits until it answers with that key, drops the seed.
    /// </summary>
    public async Task CreateAsync(StackRunContext context, DesiredNode node, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(node);
        var host = context.Hosts[node.Host];
        var created = _time.GetUtcNow();

        using var pool = host.Connection.LookupStoragePool(host.Definition.Pool.Name);
        var facts = context.HostFacts.GetOrAdd(host.Name, _ => new Lazy<HostRunFacts>(() => ReadHostFacts(host, pool, context.Image.VolumeName!))).Value;

        // A domain of this name without our metadata is not ours: never touch it. One that did not exist when the
        // run's first node step on this host began is not looked for again: were it defined since, DefineDomain below
        // would refuse it (our stable UUID differs), so it is never taken over either way.
        if (facts.DomainsAtStart.Contains(node.DomainName))
        {
            using var clash = host.Connection.TryLookupDomain(node.DomainName);
            if (clash is not null)
            {
                throw new InvalidOperationException($"host '{host.Name}' already has a domain named '{node.DomainName}' that this stack does not own; rename the node or remove that domain");
            }
        }

        // Leftovers of an interrupted run: no domain owns them, so they are ours to replace. They predate this run, so
        // only names the host had when the run began need a look.
        foreach (var leftover in new[] { node.RootVolume, node.SeedVolume }.Where(facts.VolumesAtStart.Contains))
        {
            HostOperations.DeleteVolumeIfExists(pool, leftover);
        }

        var passthroughNvme = node.Definition.DiskBus == StackDiskBus.Nvme && !host.Capabilities.NativeNvmeDisks;
        var goldenPath = facts.GoldenPath;
        // The engine's pools are directory pools (HostOperations.EnsurePool): a volume's path is the pool directory,
        // where the golden volume is, and its name. Computing it saves a call per volume.
        var poolDirectory = Path.GetDirectoryName(goldenPath) ?? throw new InvalidOperationException($"golden volume path '{goldenPath}' has no directory");

        var rootPath = poolDirectory + "/" + node.RootVolume;
        pool.CreateVolume(_templates.RenderVolume(new StorageVolumeSpec
        {
            Name = node.RootVolume,
            CapacityBytes = checked((long)((ulong)node.Definition.DiskGiB * GiB)),
            Format = DiskFormat.Qcow2,
            BackingStore = new BackingStoreSpec { Path = goldenPath, Format = DiskFormat.Qcow2 },
            // QEMU opens a passthrough drive itself and libvirt will not chown it: give it to QEMU now.
            Permissions = passthroughNvme ? HostOperations.ReadableByQemu(host, "0600") : null,
        })).Dispose();

        var hostKey = SshKeyPair.GenerateEd25519($"{node.Name}@{context.Stack.Name}");
        var seed = BuildSeed(context, node, hostKey, created);
        var seedPath = poolDirectory + "/" + node.SeedVolume;
        using (var seedVolume = pool.CreateVolume(_templates.RenderVolume(new StorageVolumeSpec
        {
            Name = node.SeedVolume,
            CapacityBytes = seed.Length,
            Format = DiskFormat.Raw,
        })))
        {
            using var stream = new MemoryStream(seed, writable: false);
            await _content.UploadAsync(host, seedVolume, stream, (ulong)seed.Length, null, cancellationToken).ConfigureAwait(false);
        }

        var metadata = new NodeMetadata
        {
            Stack = context.Stack.Name,
            Node = node.Name,
            Role = node.RoleName,
            DefinitionHash = node.DefinitionHash,
            Created = created,
            HostKeyFingerprint = hostKey.Fingerprint,
            HostPublicKey = hostKey.PublicKey.ToPublicKeyLine(),
            RootDiskPath = rootPath,
            RootDiskBus = node.Definition.DiskBus == StackDiskBus.Nvme ? "nvme" : "virtio",
            Expires = context.ExpiryFor?.Invoke(node.Name),
        };

        var xml = _templates.RenderDomain(DomainSpecFor(context, host, node, rootPath, seedPath, metadata, passthroughNvme));
        using var domain = host.Connection.DefineDomain(xml);
        domain.Autostart = true;
        domain.Start();

        // The handles just used serve the first-boot finish too, instead of two more lookups per node.
        await FinishFirstBootAsync(context, node, hostKey.PublicKey, domain, pool, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Brings an existing node to its definition in place: vCPUs and memory (applied by a restart),
    /// a larger disk, a stopped domain, an unfinished first boot.
    /// </summary>
    public async Task UpdateAsync(StackRunContext context, DesiredNode node, ObservedNode observed, ResourceChange change, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(observed);
        ArgumentNullException.ThrowIfNull(change);
        var host = context.Hosts[node.Host];
        using var domain = host.Connection.LookupDomain(node.DomainName);
        var changed = change.Properties.Select(p => p.Property).ToHashSet(StringComparer.Ordinal);
        var needsRestart = false;

        if (changed.Contains("cpus") || changed.Contains("memoryMiB"))
        {
            var definition = XElement.Parse(domain.GetXml(DomainXmlFlags.Inactive));
            SetValue(definition, "vcpu", node.Definition.Cpus.ToString(CultureInfo.InvariantCulture), unit: null);
            var mib = node.Definition.MemoryMiB.ToString(CultureInfo.InvariantCulture);
            SetValue(definition, "memory", mib, "MiB");
            SetValue(definition, "currentMemory", mib, "MiB");
            using var redefined = host.Connection.DefineDomain(definition.ToString());
            needsRestart = true;
        }

        if (changed.Contains("diskGiB"))
        {
            using var pool = host.Connection.LookupStoragePool(host.Definition.Pool.Name);
            using var root = pool.LookupVolume(node.RootVolume);
            root.Resize((ulong)node.Definition.DiskGiB * GiB);
            needsRestart = true;
        }

        if (!string.Equals(observed.Metadata.DefinitionHash, node.DefinitionHash, StringComparison.Ordinal))
        {
            var metadata = observed.Metadata with { DefinitionHash = node.DefinitionHash };
            var impact = domain.IsActive ? DomainModificationImpact.Live | DomainModificationImpact.Config : DomainModificationImpact.Config;
            domain.SetMetadata(ProvisionerXml.NodeNamespace, ProvisionerXml.Prefix, _templates.RenderNodeMetadata(metadata).Markup, impact);
        }

        if (needsRestart && domain.IsActive)
        {
            await domain.ShutdownAsync(TimeSpan.FromMinutes(2), cancellationToken, _time).ConfigureAwait(false);
        }

        if (!domain.IsActive)
        {
            domain.Start();
        }

        if (observed.SeedAttached)
        {
            var key = observed.Metadata.HostPublicKey is { } line
                ? PinnedHostKey.FromPublicKeyLine(line)
                : throw new InvalidOperationException($"node '{node.Name}' has no host key in its metadata; replace it");
            await FinishFirstBootAsync(context, node, key, domain, null, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Destroys the node's domain and deletes its volumes. Nothing left is not an error.</summary>
    public static void Delete(HostSession host, string stack, string nodeName)
    {
        ArgumentNullException.ThrowIfNull(host);
        var domainName = Core.Naming.LibvirtNames.Domain(stack, nodeName);
        using (var domain = host.Connection.TryLookupDomain(domainName))
        {
            if (domain is not null)
            {
                if (domain.IsActive)
                {
                    domain.Destroy();
                }

                // Nodes boot with BIOS, so there is no NVRAM to remove; managed-save images and snapshot metadata would block the undefine.
                domain.Undefine(DomainUndefineFlags.ManagedSave | DomainUndefineFlags.SnapshotsMetadata);
            }
        }

        HostOperations.DeleteVolume(host, Core.Naming.LibvirtNames.RootVolume(stack, nodeName));
        HostOperations.DeleteVolume(host, Core.Naming.LibvirtNames.SeedVolume(stack, nodeName));
    }

    /// <summary>Waits for the first boot to finish, then detaches and deletes the seed (it holds the host's private key).</summary>
    /// <param name="context">The run.</param>
    /// <param name="node">The node.</param>
    /// <param name="hostKey">The key the node must present.</param>
    /// <param name="domain">The node's domain.</param>
    /// <param name="pool">The host's pool, when the caller has it open (it is then known to be active).</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    private async Task FinishFirstBootAsync(StackRunContext context, DesiredNode node, PinnedHostKey hostKey, Domain domain, StoragePool? pool, CancellationToken cancellationToken)
    {
        var host = context.Hosts[node.Host];
        await _readiness.WaitReadyAsync(host, node, hostKey, context, cancellationToken).ConfigureAwait(false);

        var definition = XElement.Parse(domain.GetXml(DomainXmlFlags.Inactive));
        var seedDisk = definition.Element("devices")?.Elements("disk")
            .FirstOrDefault(d => Path.GetFileName((string?)d.Element("source")?.Attribute("file") ?? string.Empty) == node.SeedVolume);
        if (seedDisk is not null)
        {
            // libvirt's test driver has no hot-unplug: asking would only fail (and cost an error and an exception per
            // node); the persistent definition below drops the disk either way.
            if (!host.Capabilities.IsTestDriver && domain.IsActive)
            {
                try
                {
                    // Unplug it from the running guest at once, so the key material is gone from the guest too.
                    domain.DetachDevice(seedDisk.ToString(), DomainModificationImpact.Live);
                }
                catch (LibvirtException ex) when (ex.Code is ErrorCode.NoSupport or ErrorCode.OperationUnsupported)
                {
                    // A driver without hot-unplug: the persistent definition below still drops the disk, and the
                    // file is deleted, so the next boot has no seed.
                }
            }

            seedDisk.Remove();
            using var redefined = host.Connection.DefineDomain(definition.ToString());
        }

        if (pool is not null)
        {
            HostOperations.DeleteVolumeIfExists(pool, node.SeedVolume);
        }
        else
        {
            HostOperations.DeleteVolume(host, node.SeedVolume);
        }
    }

    private static HostRunFacts ReadHostFacts(HostSession host, StoragePool pool, string goldenVolume)
    {
        string goldenPath;
        using (var golden = pool.LookupVolume(goldenVolume))
        {
            goldenPath = golden.Path;
        }

        var volumes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var volume in pool.ListVolumes())
        {
            using (volume)
            {
                volumes.Add(volume.Name);
            }
        }

        var domains = new HashSet<string>(StringComparer.Ordinal);
        foreach (var domain in host.Connection.ListDomains())
        {
            using (domain)
            {
                domains.Add(domain.Name);
            }
        }

        return new HostRunFacts(goldenPath, volumes, domains);
    }

    private static byte[] BuildSeed(StackRunContext context, DesiredNode node, SshKeyPair hostKey, DateTimeOffset created)
    {
        var extras = context.Extras?.Invoke(node) ?? NodeProvisioningExtras.None;
        var authorized = new List<string> { context.AdminKey.PublicKeyOpenSsh };
        authorized.AddRange(context.Stack.Access.SshPublicKeys.Select(k => k.ToString()));
        var spec = new CloudInitSpec
        {
            HostName = node.Name,
            AdminUser = new CloudInitUser { Name = context.Stack.Access.User, SshAuthorizedKeys = authorized },
            HostKeys =
            [
                new SshHostKey
                {
                    Type = SshHostKeyType.Ed25519,
                    PrivateKey = hostKey.PrivateKeyOpenSsh,
                    PublicKey = hostKey.PublicKeyOpenSsh,
                },
            ],
            Network = new CloudInitNetwork { MacAddress = node.Addresses.MacAddress.ToLowerInvariant() },
            WriteFiles = extras.Files,
            RunCommands = extras.Commands,
        };

        var documents = CloudInitRenderer.Render(spec);
        return NoCloudSeed.Build(documents, created);
    }

    private static DomainSpec DomainSpecFor(StackRunContext context, HostSession host, DesiredNode node, string rootPath, string seedPath, NodeMetadata metadata, bool passthroughNvme)
    {
        var type = VirtualizationChoice.Choose(host.Name, host.Capabilities, context.Stack.Virtualization);
        var bus = node.Definition.DiskBus == StackDiskBus.Virtio ? TemplateDiskBus.Virtio
            : passthroughNvme ? TemplateDiskBus.QemuPassthroughNvme
            : TemplateDiskBus.NativeNvme;
        return new DomainSpec
        {
            Name = node.DomainName,
            Uuid = StableUuid(context.Stack.Name, node.Name),
            Type = type,
            VCpus = node.Definition.Cpus,
            MemoryMiB = checked((int)node.Definition.MemoryMiB),
            EmulatorPath = host.Capabilities.IsTestDriver ? null : host.Capabilities.Emulator,
            RootDisk = new RootDiskSpec
            {
                Source = DiskSource.FromFile(rootPath),
                Bus = bus,
                Serial = bus == TemplateDiskBus.Virtio ? null : NvmeSerial(node.Name),
            },
            CloudInitSeed = DiskSource.FromFile(seedPath),
            Interfaces = [new NetworkInterfaceSpec { Network = node.LibvirtNetwork, MacAddress = node.Addresses.MacAddress.ToLowerInvariant() }],
            SerialLogPath = ConsoleLog.PathFor(node.DomainName),
            Metadata = metadata,
        };
    }

    /// <summary>The NVMe serial the guest sees: the node name, cut to the 20 characters NVMe allows.</summary>
    public static string NvmeSerial(string node)
    {
        ArgumentNullException.ThrowIfNull(node);
        return node.Length <= 20 ? node : node[..20];
    }

    /// <summary>
    /// The same UUID for the same stack and node every time, so a re-created domain is recognisably
    /// the same node and libvirt accepts re-defining it.
    /// </summary>
    public static Guid StableUuid(string stack, string node)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"provisioner/{stack}/{node}"));
        var bytes = hash.AsSpan(0, 16).ToArray();
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x80); // version 8: name-based, custom hash
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80); // RFC 4122 variant
        return new Guid(bytes, bigEndian: true);
    }

    private static void SetValue(XElement definition, string element, string value, string? unit)
    {
        var target = definition.Element(element) ?? throw new InvalidOperationException($"domain XML has no <{element}>");
        target.Value = value;
        if (unit is not null)
        {
            target.SetAttributeValue("unit", unit);
        }
    }
}
