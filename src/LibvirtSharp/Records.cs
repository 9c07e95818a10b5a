using System.Net;

namespace LibvirtSharp;

/// <summary>Facts about the host's processors and memory (<c>virNodeInfo</c>).</summary>
/// <param name="Model">CPU model, for example <c>x86_64</c>.</param>
/// <param name="MemoryBytes">Host memory.</param>
/// <param name="Cpus">Number of active CPUs.</param>
/// <param name="MhZ">Expected CPU frequency; 0 if unknown.</param>
/// <param name="Nodes">NUMA cells (1 for uniform memory access).</param>
/// <param name="Sockets">CPU sockets per NUMA cell.</param>
/// <param name="CoresPerSocket">Cores per socket.</param>
/// <param name="ThreadsPerCore">Threads per core.</param>
public sealed record NodeInfo(
    string Model, ulong MemoryBytes, uint Cpus, uint MhZ, uint Nodes, uint Sockets, uint CoresPerSocket, uint ThreadsPerCore);

/// <summary>Basic facts about a domain (<c>virDomainInfo</c>).</summary>
/// <param name="State">Run state.</param>
/// <param name="MaxMemoryBytes">Maximum memory the domain may use.</param>
/// <param name="MemoryBytes">Memory the domain currently has.</param>
/// <param name="VirtualCpus">Number of virtual CPUs.</param>
/// <param name="CpuTime">CPU time used.</param>
public sealed record DomainInfo(DomainState State, ulong MaxMemoryBytes, ulong MemoryBytes, int VirtualCpus, TimeSpan CpuTime);

/// <summary>An IP address with its prefix length.</summary>
/// <param name="Address">The address.</param>
/// <param name="Prefix">Prefix length in bits.</param>
public readonly record struct IPAddressPrefix(IPAddress Address, int Prefix)
{
    /// <summary>Formats as <c>address/prefix</c>.</summary>
    public override string ToString() => $"{Address}/{Prefix}";
}

/// <summary>A guest network interface and its addresses.</summary>
/// <param name="Name">Interface name as the source reports it (the host tap device for leases, the guest name for the agent).</param>
/// <param name="MacAddress">Hardware address, when known.</param>
/// <param name="Addresses">IPv4 and IPv6 addresses.</param>
public sealed record DomainInterface(string Name, string? MacAddress, IReadOnlyList<IPAddressPrefix> Addresses);

/// <summary>A DHCP lease handed out by a libvirt network (<c>virNetworkDHCPLease</c>).</summary>
/// <param name="Interface">Network bridge the lease is on.</param>
/// <param name="ExpiryTime">When the lease expires.</param>
/// <param name="Address">Leased address.</param>
/// <param name="Prefix">Prefix length of the network.</param>
/// <param name="MacAddress">Client MAC address (IPv4 leases).</param>
/// <param name="Hostname">Host name the client sent, if any.</param>
/// <param name="ClientId">Client id or DUID, if any.</param>
public sealed record DhcpLease(
    string Interface, DateTimeOffset ExpiryTime, IPAddress Address, int Prefix, string? MacAddress, string? Hostname, string? ClientId);

/// <summary>Size and state of a storage pool (<c>virStoragePoolInfo</c>).</summary>
/// <param name="State">Pool state.</param>
/// <param name="CapacityBytes">Logical size.</param>
/// <param name="AllocationBytes">Space in use.</param>
/// <param name="AvailableBytes">Free space.</param>
public sealed record StoragePoolInfo(StoragePoolState State, ulong CapacityBytes, ulong AllocationBytes, ulong AvailableBytes);

/// <summary>Size of a storage volume (<c>virStorageVolInfo</c>).</summary>
/// <param name="Type">Kind of volume.</param>
/// <param name="CapacityBytes">Logical size as the guest sees it.</param>
/// <param name="AllocationBytes">Space used on the host.</param>
public sealed record StorageVolumeInfo(StorageVolumeType Type, ulong CapacityBytes, ulong AllocationBytes);

/// <summary>A domain lifecycle event (<c>VIR_DOMAIN_EVENT_ID_LIFECYCLE</c>).</summary>
public sealed class DomainLifecycleEventArgs : EventArgs
{
    /// <summary>Creates the event data.</summary>
    public DomainLifecycleEventArgs(string domainName, Guid domainUuid, DomainEventType eventType, int detail)
    {
        DomainName = domainName;
        DomainUuid = domainUuid;
        EventType = eventType;
        Detail = detail;
    }

    /// <summary>Name of the domain the event is about.</summary>
    public string DomainName { get; }

    /// <summary>UUID of the domain the event is about.</summary>
    public Guid DomainUuid { get; }

    /// <summary>What happened.</summary>
    public DomainEventType EventType { get; }

    /// <summary>
    /// libvirt's detail code for <see cref="EventType"/> (for example for <see cref="DomainEventType.Stopped"/>:
    /// 0 shutdown, 1 destroyed, 2 crashed, 3 migrated, 4 saved, 5 failed, 6 from snapshot).
    /// </summary>
    public int Detail { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{DomainName} {EventType} ({Detail})";
}
