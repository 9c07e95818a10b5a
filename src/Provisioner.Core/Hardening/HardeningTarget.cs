using Provisioner.Core.Stacks;

namespace Provisioner.Core.Hardening;

/// <summary>A node of the Kubernetes cluster, as the firewall of another node sees it.</summary>
/// <param name="Name">Node name.</param>
/// <param name="Role">Control plane or worker.</param>
/// <param name="Address">The node's IPv4 address on its network.</param>
public sealed record ClusterPeer(string Name, NodeRole Role, Ipv4Address Address);

/// <summary>A port the cluster network (CNI) uses between nodes, e.g. VXLAN 8472/udp.</summary>
/// <param name="Name">What it is for, shown in plans and the audit.</param>
/// <param name="Ports">Port or range.</param>
/// <param name="Protocol">Protocol.</param>
public sealed record ClusterPort(string Name, PortRange Ports, TransportProtocol Protocol)
{
    /// <summary>Flannel's VXLAN backend (Linux's VXLAN port).</summary>
    public static readonly ClusterPort FlannelVxlan = new("cni-vxlan", PortRange.Of(8472), TransportProtocol.Udp);

    /// <summary>Calico's BGP peering.</summary>
    public static readonly ClusterPort CalicoBgp = new("cni-bgp", PortRange.Of(179), TransportProtocol.Tcp);

    /// <summary>Calico's VXLAN mode (IANA's VXLAN port).</summary>
    public static readonly ClusterPort CalicoVxlan = new("cni-vxlan", PortRange.Of(4789), TransportProtocol.Udp);
}

/// <summary>
/// What to harden: one node of a validated stack, with the addresses of the cluster nodes its
/// firewall admits on cluster ports. Build it with <see cref="For"/>.
/// </summary>
public sealed record HardeningTarget
{
    /// <summary>The validated stack.</summary>
    public required StackDefinition Stack { get; init; }

    /// <summary>The node being hardened (one of <see cref="StackDefinition.Nodes"/>).</summary>
    public required NodeDefinition Node { get; init; }

    /// <summary>
    /// Every node of the Kubernetes cluster (control plane and workers), including this one; empty when
    /// the stack has no cluster or this node is not part of it.
    /// </summary>
    public IReadOnlyList<ClusterPeer> ClusterNodes { get; init; } = [];

    /// <summary>Ports the cluster network uses between nodes; Flannel's VXLAN port by default.</summary>
    public IReadOnlyList<ClusterPort> CniPorts { get; init; } = [ClusterPort.FlannelVxlan];

    /// <summary>Whether this node runs Kubernetes (the stack declares a cluster and the node is control plane or worker).</summary>
    public bool IsClusterNode => Stack.Kubernetes is not null && Node.Role is NodeRole.ControlPlane or NodeRole.Worker;

    /// <summary>
    /// The target for node <paramref name="nodeName"/> of <paramref name="stack"/>, with cluster peers
    /// taken from <paramref name="addresses"/> (as returned by <see cref="NodeAddressing.Assign"/>).
    /// </summary>
    /// <exception cref="ArgumentException">The node is not in the stack, or a cluster node has no address.</exception>
    public static HardeningTarget For(StackDefinition stack, string nodeName, IReadOnlyDictionary<string, NodeAddresses> addresses)
    {
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentNullException.ThrowIfNull(addresses);
        var node = stack.FindNode(nodeName) ?? throw new ArgumentException($"node '{nodeName}' is not in stack '{stack.Name}'", nameof(nodeName));
        var target = new HardeningTarget { Stack = stack, Node = node };
        if (!target.IsClusterNode)
        {
            return target;
        }

        var peers = new List<ClusterPeer>();
        foreach (var peer in stack.Nodes.Where(n => n.Role is NodeRole.ControlPlane or NodeRole.Worker))
        {
            if (!addresses.TryGetValue(peer.Name, out var address))
            {
                throw new ArgumentException($"cluster node '{peer.Name}' has no address", nameof(addresses));
            }
            peers.Add(new ClusterPeer(peer.Name, peer.Role, address.Ipv4Address));
        }
        return target with { ClusterNodes = peers.AsReadOnly() };
    }
}
