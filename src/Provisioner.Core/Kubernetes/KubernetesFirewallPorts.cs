using Provisioner.Core.Stacks;

namespace Provisioner.Core.Kubernetes;

/// <summary>Who may send the traffic a rule admits.</summary>
public enum FirewallSourceSet
{
    /// <summary>The control-plane nodes' addresses.</summary>
    ControlPlaneNodes,

    /// <summary>Every cluster node's address.</summary>
    ClusterNodes,

    /// <summary>The stack's admin networks (<c>provisioner:access.adminCidrs</c>).</summary>
    AdminNetworks,

    /// <summary>The pod network.</summary>
    PodNetwork,
}

/// <summary>Transport of a rule: a port-based protocol, or an IP protocol without ports.</summary>
public enum KubernetesTrafficProtocol
{
    /// <summary>TCP.</summary>
    Tcp,

    /// <summary>UDP.</summary>
    Udp,

    /// <summary>VRRP (IP protocol 112), keepalived between control planes.</summary>
    Vrrp,
}

/// <summary>Inbound traffic a node must accept for the cluster to work.</summary>
/// <param name="Name">Short name, e.g. <c>kube-apiserver</c>.</param>
/// <param name="Protocol">Transport.</param>
/// <param name="FromPort">First port (null for IP protocols without ports).</param>
/// <param name="ToPort">Last port (equal to <paramref name="FromPort"/> for one port).</param>
/// <param name="Sources">Who may send it, symbolically.</param>
/// <param name="SourceAddresses">The same, resolved for this stack (node addresses as /32).</param>
/// <param name="ControlPlaneOnly">Whether only control planes accept it (otherwise every cluster node).</param>
/// <param name="Reason">Why.</param>
public sealed record KubernetesFirewallRule(
    string Name, KubernetesTrafficProtocol Protocol, int? FromPort, int? ToPort, FirewallSourceSet Sources,
    IReadOnlyList<Ipv4Cidr> SourceAddresses, bool ControlPlaneOnly, string Reason);

/// <summary>Traffic the forward chain (default drop) must pass for pods.</summary>
/// <param name="Source">Source network.</param>
/// <param name="Destination">Destination network, or null for anywhere.</param>
/// <param name="Reason">Why.</param>
public sealed record KubernetesForwardRule(Ipv4Cidr Source, Ipv4Cidr? Destination, string Reason);

/// <summary>Everything the guest firewall must admit on cluster nodes.</summary>
/// <param name="Inbound">Inbound rules.</param>
/// <param name="Forward">Forwarding rules (established and related return traffic is assumed allowed).</param>
public sealed record KubernetesFirewallNeeds(IReadOnlyList<KubernetesFirewallRule> Inbound, IReadOnlyList<KubernetesForwardRule> Forward);

/// <summary>
/// What the guest firewall (default-deny inbound, default-drop forward) must allow on cluster nodes, as data the
/// firewall helper consumes: no Kubernetes port is reachable from anywhere but the nodes, the pod network and the
/// admin networks. NodePorts (30000-32767) are not opened: services reach the outside through the stack's
/// published-port policy, never implicitly. The controller manager's and scheduler's ports (10257, 10259) are
/// bound to 127.0.0.1 and need no rule.
/// </summary>
public static class KubernetesFirewallPorts
{
    /// <summary>The needs of <paramref name="stack"/>'s cluster; empty when it declares none.</summary>
    public static KubernetesFirewallNeeds For(StackDefinition stack)
    {
        ArgumentNullException.ThrowIfNull(stack);
        if (stack.Kubernetes is null)
        {
            return new KubernetesFirewallNeeds([], []);
        }

        var spec = KubernetesClusterSpec.From(stack);
        return For(spec, stack.Access.AdminCidrs);
    }

    /// <summary>The needs of <paramref name="spec"/> with <paramref name="adminNetworks"/>.</summary>
    public static KubernetesFirewallNeeds For(KubernetesClusterSpec spec, IReadOnlyList<Ipv4Cidr> adminNetworks)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(adminNetworks);
        IReadOnlyList<Ipv4Cidr> Resolve(FirewallSourceSet set) => set switch
        {
            FirewallSourceSet.ControlPlaneNodes => spec.ControlPlanes.Select(n => Host(n.Address)).ToList(),
            FirewallSourceSet.ClusterNodes => spec.Nodes.Select(n => Host(n.Address)).ToList(),
            FirewallSourceSet.AdminNetworks => adminNetworks,
            FirewallSourceSet.PodNetwork => [spec.PodCidr],
            _ => throw new ArgumentOutOfRangeException(nameof(set)),
        };

        KubernetesFirewallRule Rule(string name, KubernetesTrafficProtocol protocol, int? from, int? to, FirewallSourceSet sources, bool controlPlaneOnly, string reason) =>
            new(name, protocol, from, to, sources, Resolve(sources), controlPlaneOnly, reason);

        const int api = KubernetesClusterSpec.ApiServerPort;
        var inbound = new List<KubernetesFirewallRule>
        {
            Rule("kube-apiserver", KubernetesTrafficProtocol.Tcp, api, api, FirewallSourceSet.ClusterNodes, true, "kubelets and kube-proxy reach the API server (directly and through the virtual IP)"),
            Rule("kube-apiserver-admin", KubernetesTrafficProtocol.Tcp, api, api, FirewallSourceSet.AdminNetworks, true, "operators run kubectl against the API endpoint"),
            Rule("kube-apiserver-pods", KubernetesTrafficProtocol.Tcp, api, api, FirewallSourceSet.PodNetwork, true, "pods reach the API server through the kubernetes Service (DNAT to the control planes)"),
            Rule("etcd", KubernetesTrafficProtocol.Tcp, 2379, 2380, FirewallSourceSet.ControlPlaneNodes, true, "etcd clients and peers between control planes"),
            Rule("kubelet", KubernetesTrafficProtocol.Tcp, 10250, 10250, FirewallSourceSet.ControlPlaneNodes, false, "the API server reaches kubelets (logs, exec, port-forward)"),
            Rule("calico-vxlan", KubernetesTrafficProtocol.Udp, CniPlugin.CalicoVxlanPort, CniPlugin.CalicoVxlanPort, FirewallSourceSet.ClusterNodes, false, "Calico carries pod traffic between nodes in VXLAN"),
        };
        if (spec.EndpointIsVirtual)
        {
            inbound.Add(Rule("keepalived-vrrp", KubernetesTrafficProtocol.Vrrp, null, null, FirewallSourceSet.ControlPlaneNodes, true, "keepalived elects the holder of the API server's virtual IP"));
        }

        var forward = new List<KubernetesForwardRule>
        {
            new(spec.PodCidr, null, "pods reach other pods, services (after kube-proxy's DNAT) and, masqueraded, the outside"),
        };
        forward.AddRange(spec.Nodes.Select(n => new KubernetesForwardRule(Host(n.Address), spec.PodCidr, $"node {n.Name} reaches pods (admission webhooks, metrics, hostNetwork components)")));
        return new KubernetesFirewallNeeds(inbound, forward);
    }

    private static Ipv4Cidr Host(Ipv4Address address) => Ipv4Cidr.Parse($"{address}/32");
}
