using System.Net;

namespace Provisioner.Core.Templates;

/// <summary>How guests on a network reach the outside.</summary>
public enum NetworkMode
{
    /// <summary>A libvirt-managed bridge with dnsmasq (DHCP, DNS) and NAT to the host's uplink.</summary>
    Nat = 1,

    /// <summary>Guests join an existing host bridge; the LAN provides addressing.</summary>
    Bridge = 2,
}

/// <summary>A fixed DHCP lease.</summary>
public sealed record DhcpHost
{
    /// <summary>The guest interface's MAC address.</summary>
    public required string MacAddress { get; init; }

    /// <summary>The IPv4 address it always gets.</summary>
    public required IPAddress Address { get; init; }

    /// <summary>Host name handed out with the lease (one DNS label).</summary>
    public required string HostName { get; init; }
}

/// <summary>The IPv4 side of a NAT network: gateway, prefix, DHCP pool and fixed leases.</summary>
public sealed record NetworkIpv4Spec
{
    /// <summary>The host's address on the network, which guests use as gateway and DNS server.</summary>
    public required IPAddress Gateway { get; init; }

    /// <summary>Prefix length, e.g. 24.</summary>
    public required int PrefixLength { get; init; }

    /// <summary>First address of the DHCP pool.</summary>
    public required IPAddress DhcpStart { get; init; }

    /// <summary>Last address of the DHCP pool.</summary>
    public required IPAddress DhcpEnd { get; init; }

    /// <summary>Fixed leases.</summary>
    public IReadOnlyList<DhcpHost> Hosts { get; init; } = [];
}

/// <summary>Everything that goes into a stack's libvirt network XML.</summary>
public sealed record NetworkSpec
{
    /// <summary>Network name.</summary>
    public required string Name { get; init; }

    /// <summary>Network UUID, when re-defining an existing network.</summary>
    public Guid? Uuid { get; init; }

    /// <summary>NAT or an existing host bridge.</summary>
    public required NetworkMode Mode { get; init; }

    /// <summary>
    /// Bridge interface name (at most 15 characters, the kernel's IFNAMSIZ). For NAT the bridge libvirt
    /// creates, derived deterministically by the caller; for bridge mode the existing host bridge, e.g. <c>br0</c>.
    /// </summary>
    public required string BridgeName { get; init; }

    /// <summary>Addressing for NAT mode; must be null in bridge mode.</summary>
    public NetworkIpv4Spec? Ipv4 { get; init; }

    /// <summary>DNS domain served by dnsmasq to guests (NAT mode), e.g. <c>dev.internal</c>.</summary>
    public string? DomainName { get; init; }

    /// <summary>Our metadata block.</summary>
    public required NetworkMetadata Metadata { get; init; }
}

/// <summary>A directory storage pool.</summary>
public sealed record StoragePoolSpec
{
    /// <summary>Pool name.</summary>
    public required string Name { get; init; }

    /// <summary>Absolute path of the directory on the host.</summary>
    public required string Path { get; init; }
}

/// <summary>The image a linked-clone volume is layered on.</summary>
public sealed record BackingStoreSpec
{
    /// <summary>Absolute path of the backing image on the host.</summary>
    public required string Path { get; init; }

    /// <summary>Format of the backing image.</summary>
    public required DiskFormat Format { get; init; }
}

/// <summary>A storage volume.</summary>
public sealed record StorageVolumeSpec
{
    /// <summary>Volume name, e.g. <c>web-1.qcow2</c>.</summary>
    public required string Name { get; init; }

    /// <summary>Virtual size in bytes.</summary>
    public required long CapacityBytes { get; init; }

    /// <summary>Image format.</summary>
    public required DiskFormat Format { get; init; }

    /// <summary>Backing image for a linked clone; qcow2 only.</summary>
    public BackingStoreSpec? BackingStore { get; init; }

    /// <summary>
    /// Owner and mode of the file libvirt creates; needed for files QEMU opens without libvirt's help
    /// (NVMe passthrough), which libvirt never chowns to the QEMU user itself.
    /// </summary>
    public VolumePermissionsSpec? Permissions { get; init; }
}

/// <summary>Numeric owner, group and octal mode of a volume's file.</summary>
public sealed record VolumePermissionsSpec
{
    /// <summary>Owning uid.</summary>
    public required int Owner { get; init; }

    /// <summary>Owning gid.</summary>
    public required int Group { get; init; }

    /// <summary>Octal mode, e.g. <c>0600</c>.</summary>
    public required string Mode { get; init; }
}
