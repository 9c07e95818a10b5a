using System.Globalization;
using System.Net;
using System.Xml.Linq;
using LibvirtSharp;
using Provisioner.Core.Naming;
using Provisioner.Core.Stacks;
using Provisioner.Core.Templates;
using DiskBus = Provisioner.Core.Stacks.DiskBus;
using Provisioner.Engine.Hosts;

namespace Provisioner.Engine.Inventory;

/// <summary>
/// Reads back from libvirt what a stack owns on a host. This is the tool's only state: nothing
/// is remembered between runs, so nothing can drift from what really exists.
/// </summary>
public static class InventoryReader
{
    private static readonly XNamespace QemuNs = ProvisionerXml.QemuNamespace;

    /// <summary>Reads the stack's pool, networks and nodes on <paramref name="host"/>.</summary>
    public static ObservedHost Read(StackDefinition stack, HostSession host)
    {
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentNullException.ThrowIfNull(host);
        var connection = host.Connection;

        var volumes = new HashSet<string>(StringComparer.Ordinal);
        // Root disks of the stack's nodes, read from the pool listing: one call each instead of a lookup by path, an
        // info and an XML call per node.
        var rootVolumes = new Dictionary<string, (ulong? Capacity, string? Backing)>(StringComparer.Ordinal);
        // Which volume is a linked clone of which golden image, for every volume that can be one.
        var backingOf = new Dictionary<string, string>(StringComparer.Ordinal);
        var poolPath = host.Definition.Pool.Path.TrimEnd('/');
        var poolExists = false;
        var poolActive = false;
        using (var pool = connection.TryLookupStoragePool(host.Definition.Pool.Name))
        {
            if (pool is not null)
            {
                poolExists = true;
                poolActive = pool.IsActive;
                if (poolActive)
                {
                    foreach (var volume in pool.ListVolumes())
                    {
                        using (volume)
                        {
                            var name = volume.Name;
                            volumes.Add(name);
                            var ours = name.StartsWith(stack.Name + "-", StringComparison.Ordinal);
                            // Our seeds are never clones and images never are: skip their XML. Every other volume
                            // may be a clone of an image (ours, another stack's or one made by hand).
                            if (LibvirtNames.IsGoldenVolume(name) || (ours && !name.EndsWith("-root", StringComparison.Ordinal)))
                            {
                                continue;
                            }

                            try
                            {
                                var facts = VolumeFacts(volume.GetXml());
                                if (ours)
                                {
                                    rootVolumes[name] = (facts.Capacity, facts.BackingPath is null ? null : Path.GetFileName(facts.BackingPath));
                                }

                                if (facts.BackingPath is { } backing && Path.GetDirectoryName(backing) == poolPath)
                                {
                                    backingOf[name] = Path.GetFileName(backing);
                                }
                            }
                            catch (LibvirtException ex) when (ex.IsNotFound)
                            {
                                // Deleted since the listing; the node read below finds it missing too.
                            }
                        }
                    }
                }
            }
        }

        var networks = ReadNetworks(stack.Name, connection);
        var (nodes, unreadable) = ReadNodes(stack.Name, host, networks, rootVolumes);
        return new ObservedHost
        {
            Host = host.Name,
            PoolExists = poolExists,
            PoolActive = poolActive,
            Volumes = volumes,
            GoldenClones = volumes.Where(v => LibvirtNames.IsGoldenVolume(v) && !LibvirtNames.IsGoldenMarker(v)).ToDictionary(
                v => v,
                v => (IReadOnlyList<string>)[.. backingOf.Where(b => b.Value == v).Select(b => b.Key).Order(StringComparer.Ordinal)],
                StringComparer.Ordinal),
            Networks = networks,
            Nodes = nodes,
            Unreadable = unreadable,
        };
    }

    private static Dictionary<string, ObservedNetwork> ReadNetworks(string stack, Connection connection)
    {
        var result = new Dictionary<string, ObservedNetwork>(StringComparer.Ordinal);
        foreach (var network in connection.ListNetworks())
        {
            using (network)
            {
                var xml = network.GetXml();
                if (!xml.Contains(ProvisionerXml.NetworkNamespace, StringComparison.Ordinal))
                {
                    continue;
                }

                NetworkMetadata metadata;
                try
                {
                    metadata = NetworkMetadata.Parse(xml);
                }
                catch (FormatException)
                {
                    continue;
                }

                if (!string.Equals(metadata.Stack, stack, StringComparison.Ordinal))
                {
                    continue;
                }

                result[metadata.Network] = new ObservedNetwork
                {
                    Name = metadata.Network,
                    LibvirtName = network.Name,
                    Metadata = metadata,
                    Active = network.IsActive,
                    Reservations = ParseReservations(xml),
                };
            }
        }

        return result;
    }

    // Domains are read a few at a time: for a remote host each read is several round trips, and while one waits for
    // libvirt another parses XML. Results are put in domain-name order, so the outcome does not depend on timing.
    private const int ReadParallelism = 4;

    private static (Dictionary<string, ObservedNode> Nodes, List<string> Unreadable) ReadNodes(
        string stack, HostSession host, IReadOnlyDictionary<string, ObservedNetwork> networks, IReadOnlyDictionary<string, (ulong? Capacity, string? Backing)> rootVolumes)
    {
        var networkByLibvirtName = networks.Values.ToDictionary(n => n.LibvirtName, n => n.Name, StringComparer.Ordinal);
        var found = new System.Collections.Concurrent.ConcurrentBag<(string Domain, ObservedNode? Node, string? Unreadable)>();
        var domains = host.Connection.ListDomains();
        try
        {
            Parallel.ForEach(domains, new ParallelOptions { MaxDegreeOfParallelism = ReadParallelism }, domain =>
            {
                if (ReadOne(stack, host, domain, networkByLibvirtName, rootVolumes) is { } result)
                {
                    found.Add(result);
                }
            });
        }
        finally
        {
            foreach (var domain in domains)
            {
                domain.Dispose();
            }
        }

        var nodes = new Dictionary<string, ObservedNode>(StringComparer.Ordinal);
        var unreadable = new List<string>();
        foreach (var (_, node, error) in found.OrderBy(f => f.Domain, StringComparer.Ordinal))
        {
            if (node is not null)
            {
                nodes[node.Name] = node;
            }
            else if (error is not null)
            {
                unreadable.Add(error);
            }
        }

        return (nodes, unreadable);
    }

    private static (string Domain, ObservedNode? Node, string? Unreadable)? ReadOne(
        string stack, HostSession host, Domain domain, Dictionary<string, string> networkByLibvirtName, IReadOnlyDictionary<string, (ulong? Capacity, string? Backing)> rootVolumes)
    {
        string? metadataXml;
        try
        {
            metadataXml = domain.GetMetadata(ProvisionerXml.NodeNamespace, DomainModificationImpact.Config);
        }
        catch (LibvirtException ex) when (ex.IsNotFound)
        {
            return null; // Vanished between list and read.
        }

        if (metadataXml is null)
        {
            return null;
        }

        NodeMetadata metadata;
        try
        {
            metadata = NodeMetadata.Parse(metadataXml);
        }
        catch (FormatException ex)
        {
            return (domain.Name, null, $"{domain.Name}: {ex.Message}");
        }

        if (!string.Equals(metadata.Stack, stack, StringComparison.Ordinal))
        {
            return null;
        }

        return (domain.Name, ReadNode(host, domain, metadata, networkByLibvirtName, rootVolumes), null);
    }

    private static ObservedNode ReadNode(HostSession host, Domain domain, NodeMetadata metadata, Dictionary<string, string> networkByLibvirtName, IReadOnlyDictionary<string, (ulong? Capacity, string? Backing)> rootVolumes)
    {
        var root = UntrustedXml.Load(domain.GetXml(DomainXmlFlags.Inactive));
        var devices = root.Element("devices");
        var seedName = LibvirtNames.SeedVolume(metadata.Stack, metadata.Node);
        var rootName = LibvirtNames.RootVolume(metadata.Stack, metadata.Node);

        string? rootPath = null;
        DiskBus? bus = null;
        var seedAttached = false;
        foreach (var disk in devices?.Elements("disk") ?? [])
        {
            var source = disk.Element("source");
            var path = (string?)source?.Attribute("file") ?? (string?)source?.Attribute("volume");
            if (path is null)
            {
                continue;
            }

            var fileName = Path.GetFileName(path);
            if (fileName == seedName)
            {
                seedAttached = true;
            }
            else if (fileName == rootName)
            {
                rootPath = path;
                bus = (string?)disk.Element("target")?.Attribute("bus") == "nvme" ? DiskBus.Nvme : DiskBus.Virtio;
            }
        }

        if (rootPath is null)
        {
            // NVMe through QEMU passthrough: the drive is a -drive argument, not a <disk>.
            var drive = root.Element(QemuNs + "commandline")?.Elements(QemuNs + "arg")
                .Select(a => (string?)a.Attribute("value"))
                .FirstOrDefault(v => v is not null && v.Contains(rootName, StringComparison.Ordinal));
            if (drive is not null)
            {
                rootPath = drive.Split(',').Select(p => p.Trim()).FirstOrDefault(p => p.StartsWith("file=", StringComparison.Ordinal))?["file=".Length..];
                bus = DiskBus.Nvme;
            }
        }

        if (rootPath is null && metadata.RootDiskPath is not null && Path.GetFileName(metadata.RootDiskPath) == rootName)
        {
            // Drivers that do not speak QEMU (libvirt's test driver) drop <qemu:commandline>; our own record of
            // the passthrough disk is then the only evidence of it.
            rootPath = metadata.RootDiskPath;
            bus = metadata.RootDiskBus == "nvme" ? DiskBus.Nvme : DiskBus.Virtio;
        }

        var nic = devices?.Elements("interface").FirstOrDefault();
        var libvirtNetwork = (string?)nic?.Element("source")?.Attribute("network");

        ulong? capacity = null;
        string? backing = null;
        if (rootPath is not null)
        {
            (capacity, backing) = Path.GetDirectoryName(rootPath) == host.Definition.Pool.Path.TrimEnd('/') && rootVolumes.TryGetValue(rootName, out var known)
                ? known
                : ReadRootVolume(host.Connection, rootPath);
        }

        return new ObservedNode
        {
            Name = metadata.Node,
            Host = host.Name,
            DomainName = domain.Name,
            Uuid = domain.Uuid,
            Metadata = metadata,
            State = domain.GetState(),
            Cpus = int.Parse(root.Element("vcpu")?.Value ?? "0", CultureInfo.InvariantCulture),
            MemoryMiB = MemoryMiB(root.Element("memory")),
            NetworkName = libvirtNetwork is not null && networkByLibvirtName.TryGetValue(libvirtNetwork, out var n) ? n : libvirtNetwork,
            MacAddress = ((string?)nic?.Element("mac")?.Attribute("address"))?.ToLowerInvariant(),
            DiskBus = bus,
            RootDiskPath = rootPath,
            RootDiskCapacityBytes = capacity,
            BackingVolumeName = backing,
            SeedAttached = seedAttached,
        };
    }

    private static (ulong? Capacity, string? Backing) ReadRootVolume(Connection connection, string path)
    {
        try
        {
            using var volume = connection.LookupStorageVolumeByPath(path);
            var facts = VolumeFacts(volume.GetXml());
            return (facts.Capacity, facts.BackingPath is null ? null : Path.GetFileName(facts.BackingPath));
        }
        catch (LibvirtException ex) when (ex.IsNotFound)
        {
            return (null, null);
        }
    }

    // Capacity and backing file from a volume's XML (libvirt writes the capacity in bytes, but honours a unit).
    private static (ulong? Capacity, string? BackingPath) VolumeFacts(string volumeXml)
    {
        var root = UntrustedXml.Load(volumeXml);
        var backingPath = root.Element("backingStore")?.Element("path")?.Value;
        var capacityElement = root.Element("capacity");
        ulong? capacity = null;
        if (capacityElement is not null && ulong.TryParse(capacityElement.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            capacity = checked(value * ((string?)capacityElement.Attribute("unit") ?? "bytes") switch
            {
                "bytes" or "b" => 1UL,
                "KiB" or "K" or "k" => 1024UL,
                "MiB" or "M" => 1024UL * 1024,
                "GiB" or "G" => 1024UL * 1024 * 1024,
                "TiB" or "T" => 1024UL * 1024 * 1024 * 1024,
                _ => 1UL,
            });
        }

        return (capacity, backingPath);
    }

    private static long MemoryMiB(XElement? memory)
    {
        if (memory is null)
        {
            return 0;
        }

        var value = long.Parse(memory.Value, CultureInfo.InvariantCulture);
        return ((string?)memory.Attribute("unit") ?? "KiB") switch
        {
            "b" or "bytes" => value / (1024 * 1024),
            "KiB" or "k" => value / 1024,
            "MiB" or "M" => value,
            "GiB" or "G" => value * 1024,
            _ => value / 1024,
        };
    }

    private static Dictionary<string, DhcpHost> ParseReservations(string networkXml)
    {
        var result = new Dictionary<string, DhcpHost>(StringComparer.Ordinal);
        foreach (var host in UntrustedXml.Load(networkXml).Elements("ip").Elements("dhcp").Elements("host"))
        {
            var mac = ((string?)host.Attribute("mac"))?.ToLowerInvariant();
            var ip = (string?)host.Attribute("ip");
            if (mac is null || ip is null || !IPAddress.TryParse(ip, out var address))
            {
                continue;
            }

            result[mac] = new DhcpHost { MacAddress = mac, Address = address, HostName = (string?)host.Attribute("name") ?? string.Empty };
        }

        return result;
    }
}
