namespace Provisioner.Core.Stacks;

/// <summary>
/// A validated stack: everything declared in <c>stacks/Pulumi.&lt;stack&gt;.yaml</c> under the
/// <c>provisioner:</c> config namespace. Produced only by <see cref="StackLoader"/>, which has
/// checked every field and every cross-field rule, so consumers can rely on it.
/// </summary>
public sealed record StackDefinition
{
    /// <summary>Stack name, from the file name <c>Pulumi.&lt;stack&gt;.yaml</c> (or given by Pulumi).</summary>
    public required string Name { get; init; }

    /// <summary>KVM hosts (<c>provisioner:hosts</c>), in declared order.</summary>
    public required IReadOnlyList<HostDefinition> Hosts { get; init; }

    /// <summary>Networks (<c>provisioner:networks</c>), in declared order.</summary>
    public required IReadOnlyList<NetworkDefinition> Networks { get; init; }

    /// <summary>The golden image every node boots from (<c>provisioner:image</c>).</summary>
    public required ImageDefinition Image { get; init; }

    /// <summary>Node pools as declared (<c>provisioner:nodes</c>).</summary>
    public required IReadOnlyList<NodePoolDefinition> NodePools { get; init; }

    /// <summary>
    /// Nodes after pool expansion, in declared order (pool by pool, <c>-1..N</c> within a pool).
    /// Names are unique.
    /// </summary>
    public required IReadOnlyList<NodeDefinition> Nodes { get; init; }

    /// <summary>Placement rules (<c>provisioner:placement</c>).</summary>
    public required PlacementRules Placement { get; init; }

    /// <summary>Admin access (<c>provisioner:access</c>).</summary>
    public required AccessSettings Access { get; init; }

    /// <summary>Virtualization settings (<c>provisioner:virtualization</c>); defaults when absent.</summary>
    public required VirtualizationSettings Virtualization { get; init; }

    /// <summary>Container runtime settings (<c>provisioner:runtime</c>); defaults when absent.</summary>
    public required RuntimeSettings Runtime { get; init; }

    /// <summary>Guest firewall settings (<c>provisioner:firewall</c>); defaults when absent.</summary>
    public required FirewallSettings Firewall { get; init; }

    /// <summary>Kubernetes cluster settings (<c>provisioner:kubernetes</c>), or <see langword="null"/> for no cluster.</summary>
    public KubernetesSettings? Kubernetes { get; init; }

    /// <summary>Host by name, or <see langword="null"/>.</summary>
    public HostDefinition? FindHost(string name) => Hosts.FirstOrDefault(h => string.Equals(h.Name, name, StringComparison.Ordinal));

    /// <summary>Network by name, or <see langword="null"/>.</summary>
    public NetworkDefinition? FindNetwork(string name) => Networks.FirstOrDefault(n => string.Equals(n.Name, name, StringComparison.Ordinal));

    /// <summary>Node by (expanded) name, or <see langword="null"/>.</summary>
    public NodeDefinition? FindNode(string name) => Nodes.FirstOrDefault(n => string.Equals(n.Name, name, StringComparison.Ordinal));

    /// <summary>The region a node must run in: its own <see cref="NodeDefinition.Region"/> or the stack's.</summary>
    public string RegionOf(NodeDefinition node)
    {
        ArgumentNullException.ThrowIfNull(node);
        return node.Region ?? Placement.Region;
    }
}

/// <summary>A KVM host the stack may place nodes on.</summary>
public sealed record HostDefinition
{
    /// <summary>Host name (a <see cref="Naming.ResourceName"/>), e.g. <c>osl-kvm-1</c>.</summary>
    public required string Name { get; init; }

    /// <summary>libvirt connection URI.</summary>
    public required LibvirtUri Uri { get; init; }

    /// <summary>Region, e.g. <c>oslo</c>: the unit of data residency.</summary>
    public required string Region { get; init; }

    /// <summary>Zone or rack within the region, e.g. <c>osl-a</c>, or <see langword="null"/>.</summary>
    public string? Zone { get; init; }

    /// <summary>The storage pool node disks are created in.</summary>
    public required StoragePoolDefinition Pool { get; init; }

    /// <summary>Optional caps on what this stack may allocate on the host.</summary>
    public HostLimits? Limits { get; init; }
}

/// <summary>Declared caps on what a stack may allocate on a host (each optional).</summary>
public sealed record HostLimits
{
    /// <summary>Most vCPUs the stack's nodes on this host may have in total.</summary>
    public int? Cpus { get; init; }

    /// <summary>Most memory (MiB) the stack's nodes on this host may have in total.</summary>
    public long? MemoryMiB { get; init; }
}

/// <summary>A libvirt storage pool on a host.</summary>
public sealed record StoragePoolDefinition
{
    /// <summary>libvirt pool name.</summary>
    public required string Name { get; init; }

    /// <summary>Absolute directory on the host backing the pool.</summary>
    public required string Path { get; init; }

    /// <summary>What the pool's storage is.</summary>
    public required StorageMedia Media { get; init; }
}

/// <summary>Kind of storage behind a pool.</summary>
public enum StorageMedia
{
    /// <summary>NVMe flash (<c>nvme</c>).</summary>
    Nvme,

    /// <summary>SATA/SAS flash (<c>ssd</c>).</summary>
    Ssd,

    /// <summary>Spinning disk (<c>hdd</c>).</summary>
    Hdd,
}

/// <summary>How a network reaches the outside.</summary>
public enum NetworkMode
{
    /// <summary>A libvirt NAT network the tool creates, with DHCP (<c>nat</c>).</summary>
    Nat,

    /// <summary>An existing host bridge (<c>bridge</c>).</summary>
    Bridge,
}

/// <summary>
/// A network nodes attach to. Addresses are split in two halves (see <see cref="StaticRange"/>
/// and <see cref="DhcpRange"/>): nodes get stable reserved addresses from the lower half, the upper
/// half is the dynamic DHCP range for anything else.
/// </summary>
public sealed record NetworkDefinition
{
    /// <summary>Network name.</summary>
    public required string Name { get; init; }

    /// <summary>The network, canonical, IPv4, prefix length 8-29.</summary>
    public required Ipv4Cidr Cidr { get; init; }

    /// <summary>NAT or bridge.</summary>
    public required NetworkMode Mode { get; init; }

    /// <summary>Existing host bridge for <see cref="NetworkMode.Bridge"/>; <see langword="null"/> for NAT.</summary>
    public string? Bridge { get; init; }

    /// <summary>Gateway: as declared, or the first address of the network.</summary>
    public required Ipv4Address Gateway { get; init; }

    /// <summary>
    /// Addresses reserved for nodes: from the second address of the network up to the last address
    /// of the lower half (10.77.0.2-10.77.0.127 for a /24). The gateway is skipped when it lies inside.
    /// </summary>
    public Ipv4Range StaticRange => new(Cidr.Network.Add(2), Cidr.Network.Add((uint)(Cidr.Size / 2) - 1));

    /// <summary>The dynamic DHCP range: the upper half without the broadcast address (10.77.0.128-10.77.0.254 for a /24).</summary>
    public Ipv4Range DhcpRange => new(Cidr.Network.Add((uint)(Cidr.Size / 2)), new Ipv4Address(Cidr.Broadcast.Value - 1));
}

/// <summary>The golden image nodes are cloned from.</summary>
public sealed record ImageDefinition
{
    /// <summary>Image name, e.g. <c>debian-12</c>.</summary>
    public required string Name { get; init; }

    /// <summary>Recipe directory under <c>images/</c> (a single name, e.g. <c>debian-12</c>); defaults to <see cref="Name"/>.</summary>
    public required string Recipe { get; init; }
}

/// <summary>What a node is for.</summary>
public enum NodeRole
{
    /// <summary>Kubernetes control plane (<c>control-plane</c>); spread over distinct hosts.</summary>
    ControlPlane,

    /// <summary>Kubernetes worker (<c>worker</c>).</summary>
    Worker,

    /// <summary>A stand-alone hardened VM with Docker (<c>sandbox</c>).</summary>
    Sandbox,
}

/// <summary>Bus the root disk is attached to.</summary>
public enum DiskBus
{
    /// <summary>virtio-blk (<c>virtio</c>).</summary>
    Virtio,

    /// <summary>Emulated NVMe controller (<c>nvme</c>); needs a host whose pool media is NVMe.</summary>
    Nvme,
}

/// <summary>A node pool as declared: <see cref="Count"/> absent means one node named exactly <see cref="Name"/>.</summary>
public sealed record NodePoolDefinition
{
    /// <summary>Pool name; also the node name when <see cref="Count"/> is absent.</summary>
    public required string Name { get; init; }

    /// <summary>Role of every node in the pool.</summary>
    public required NodeRole Role { get; init; }

    /// <summary>vCPUs per node.</summary>
    public required int Cpus { get; init; }

    /// <summary>Memory per node in MiB.</summary>
    public required long MemoryMiB { get; init; }

    /// <summary>Root disk size per node in GiB.</summary>
    public required int DiskGiB { get; init; }

    /// <summary>Root disk bus.</summary>
    public required DiskBus DiskBus { get; init; }

    /// <summary>Number of nodes <c>&lt;name&gt;-1..N</c>, or <see langword="null"/> for a single node named <see cref="Name"/>.</summary>
    public int? Count { get; init; }

    /// <summary>Network the nodes attach to.</summary>
    public required string Network { get; init; }

    /// <summary>Host every node of the pool is pinned to, or <see langword="null"/>.</summary>
    public string? Host { get; init; }

    /// <summary>Region overriding the stack's placement region, or <see langword="null"/>.</summary>
    public string? Region { get; init; }

    /// <summary>
    /// Published ports every node of the pool opens in addition to the stack's <see cref="FirewallSettings.PublishedPorts"/>
    /// (<c>provisioner:nodes[i].publishedPorts</c>); a port/protocol may be declared in only one of the two places.
    /// </summary>
    public IReadOnlyList<PublishedPortPolicy> PublishedPorts { get; init; } = [];
}

/// <summary>One node (VM) after pool expansion.</summary>
public sealed record NodeDefinition
{
    /// <summary>Node name, unique in the stack; also the guest's host name.</summary>
    public required string Name { get; init; }

    /// <summary>Name of the pool the node came from (equal to <see cref="Name"/> for a single node).</summary>
    public required string Pool { get; init; }

    /// <summary>1-based index in the pool, or <see langword="null"/> for a single node.</summary>
    public int? Index { get; init; }

    /// <summary>Role.</summary>
    public required NodeRole Role { get; init; }

    /// <summary>vCPUs.</summary>
    public required int Cpus { get; init; }

    /// <summary>Memory in MiB.</summary>
    public required long MemoryMiB { get; init; }

    /// <summary>Root disk size in GiB.</summary>
    public required int DiskGiB { get; init; }

    /// <summary>Root disk bus.</summary>
    public required DiskBus DiskBus { get; init; }

    /// <summary>Network name.</summary>
    public required string Network { get; init; }

    /// <summary>Pinned host, or <see langword="null"/> to let placement choose.</summary>
    public string? Host { get; init; }

    /// <summary>Region override, or <see langword="null"/> for the stack's placement region.</summary>
    public string? Region { get; init; }

    /// <summary>
    /// The node's own published ports (its pool's <see cref="NodePoolDefinition.PublishedPorts"/>), opened in addition
    /// to the stack's. Guest configuration: not part of the <see cref="NodeDefinitionHash"/>, changed in place.
    /// </summary>
    public IReadOnlyList<PublishedPortPolicy> PublishedPorts { get; init; } = [];

    /// <summary>Memory in bytes.</summary>
    public ulong MemoryBytes => (ulong)MemoryMiB * 1024 * 1024;
}

/// <summary>Placement rules (<c>provisioner:placement</c>).</summary>
public sealed record PlacementRules
{
    /// <summary>Region every node must run in unless the node names its own: a hard constraint (data residency).</summary>
    public required string Region { get; init; }

    /// <summary>Put control-plane nodes on distinct hosts (default true).</summary>
    public bool ControlPlaneAntiAffinity { get; init; } = true;
}

/// <summary>Admin access (<c>provisioner:access</c>).</summary>
public sealed record AccessSettings
{
    /// <summary>Admin user created in every guest (not <c>root</c>).</summary>
    public required string User { get; init; }

    /// <summary>
    /// Extra SSH public keys allowed to log in as <see cref="User"/>. May be empty: the tool always
    /// adds its own per-stack admin key.
    /// </summary>
    public required IReadOnlyList<SshPublicKey> SshPublicKeys { get; init; }

    /// <summary>Networks SSH is allowed from (the guest firewall drops SSH from anywhere else).</summary>
    public required IReadOnlyList<Ipv4Cidr> AdminCidrs { get; init; }
}

/// <summary>Virtualization settings (<c>provisioner:virtualization</c>).</summary>
public sealed record VirtualizationSettings
{
    /// <summary>The defaults: hardware virtualization only.</summary>
    public static readonly VirtualizationSettings Default = new();

    /// <summary>
    /// Whether software emulation (libvirt domain type <c>qemu</c>, TCG) may be used when a host has
    /// no usable KVM. Default false: without it, a host without KVM is an error, never a silent fallback.
    /// </summary>
    public bool AllowEmulation { get; init; }

    /// <summary>
    /// Which domain type to use: <see cref="VirtualizationType.Auto"/> takes KVM when the host offers it
    /// (and emulation only when allowed and KVM is absent); <see cref="VirtualizationType.Qemu"/> forces
    /// software emulation, for hosts whose advertised KVM cannot run guests.
    /// </summary>
    public VirtualizationType DomainType { get; init; } = VirtualizationType.Auto;
}

/// <summary>The domain type a stack asks for.</summary>
public enum VirtualizationType
{
    /// <summary>KVM when offered; emulation only when allowed and KVM is missing.</summary>
    Auto,

    /// <summary>Hardware virtualization, required.</summary>
    Kvm,

    /// <summary>Software emulation (TCG), forced; requires allowEmulation.</summary>
    Qemu,
}
