using LibvirtSharp;
using Provisioner.Core.Templates;
using DiskBus = Provisioner.Core.Stacks.DiskBus;

namespace Provisioner.Engine.Inventory;

/// <summary>A node of the stack as it exists on a host, read back from libvirt.</summary>
public sealed record ObservedNode
{
    /// <summary>The node's name in the stack.</summary>
    public required string Name { get; init; }

    /// <summary>The host it was found on.</summary>
    public required string Host { get; init; }

    /// <summary>The libvirt domain name.</summary>
    public required string DomainName { get; init; }

    /// <summary>The domain's UUID.</summary>
    public required Guid Uuid { get; init; }

    /// <summary>Our metadata on the domain.</summary>
    public required NodeMetadata Metadata { get; init; }

    /// <summary>The domain's run state.</summary>
    public required DomainState State { get; init; }

    /// <summary>vCPUs in the persistent definition.</summary>
    public required int Cpus { get; init; }

    /// <summary>Memory in the persistent definition.</summary>
    public required long MemoryMiB { get; init; }

    /// <summary>The libvirt network its first interface is attached to.</summary>
    public string? NetworkName { get; init; }

    /// <summary>The MAC address of its first interface.</summary>
    public string? MacAddress { get; init; }

    /// <summary>The bus the root disk is on.</summary>
    public DiskBus? DiskBus { get; init; }

    /// <summary>Path of the root disk file.</summary>
    public string? RootDiskPath { get; init; }

    /// <summary>Size of the root disk, when its volume was found.</summary>
    public ulong? RootDiskCapacityBytes { get; init; }

    /// <summary>The golden image volume the root disk is a linked clone of.</summary>
    public string? BackingVolumeName { get; init; }

    /// <summary>Whether the cloud-init seed is still attached, i.e. the node never finished its first boot.</summary>
    public required bool SeedAttached { get; init; }

    /// <summary>True once the node booted, answered with its pinned key and dropped its seed.</summary>
    public bool IsReady => !SeedAttached && State == DomainState.Running;
}

/// <summary>One of the stack's networks as it exists on a host.</summary>
public sealed record ObservedNetwork
{
    /// <summary>The network's name in the stack.</summary>
    public required string Name { get; init; }

    /// <summary>The libvirt network name.</summary>
    public required string LibvirtName { get; init; }

    /// <summary>Our metadata on the network.</summary>
    public required NetworkMetadata Metadata { get; init; }

    /// <summary>Whether it is running.</summary>
    public required bool Active { get; init; }

    /// <summary>The DHCP reservations it holds, by MAC address (lower case).</summary>
    public required IReadOnlyDictionary<string, DhcpHost> Reservations { get; init; }
}

/// <summary>Everything of one stack found on one host.</summary>
public sealed record ObservedHost
{
    /// <summary>The host's name in the stack.</summary>
    public required string Host { get; init; }

    /// <summary>Whether the stack's storage pool exists, and is running.</summary>
    public required bool PoolExists { get; init; }

    /// <summary>Whether the pool is active.</summary>
    public required bool PoolActive { get; init; }

    /// <summary>Names of every volume in the stack's pool.</summary>
    public required IReadOnlySet<string> Volumes { get; init; }

    /// <summary>
    /// Every golden image volume in the pool, with the pool's volumes that are linked clones of it: any stack's disks,
    /// or anyone else's. An image with clones must stay; one without may go.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> GoldenClones { get; init; } = new Dictionary<string, IReadOnlyList<string>>();

    /// <summary>The stack's networks on this host, by stack network name.</summary>
    public required IReadOnlyDictionary<string, ObservedNetwork> Networks { get; init; }

    /// <summary>The stack's nodes on this host, by node name.</summary>
    public required IReadOnlyDictionary<string, ObservedNode> Nodes { get; init; }

    /// <summary>Domains whose metadata says they belong to this stack but could not be read (named, with the reason).</summary>
    public IReadOnlyList<string> Unreadable { get; init; } = [];
}
