using Provisioner.Core.Stacks;
using Provisioner.Core.Templates;

namespace Provisioner.Core.Hardening;

/// <summary>Inbound traffic the node's input chain accepts on a port (beyond loopback, replies and rate-limited ICMP).</summary>
public sealed record InputAllowance
{
    /// <summary>What the port is for (<c>ssh</c>, <c>kube-apiserver</c>, …); shown in plans and the audit, never written into a rule.</summary>
    public required string Name { get; init; }

    /// <summary>Protocol.</summary>
    public required TransportProtocol Protocol { get; init; }

    /// <summary>Port or range.</summary>
    public required PortRange Ports { get; init; }

    /// <summary>Source networks, normalised (no overlaps, sorted).</summary>
    public required IReadOnlyList<Ipv4Cidr> Sources { get; init; }

    /// <summary>Whether any source is allowed.</summary>
    public bool AnySource => CidrSet.IsEverywhere(Sources);
}

/// <summary>A published container port (or Kubernetes NodePort) and who may reach it.</summary>
public sealed record PublishedPortAllowance
{
    /// <summary>Protocol.</summary>
    public required TransportProtocol Protocol { get; init; }

    /// <summary>The port as published on the node (the original destination port, before Docker's DNAT).</summary>
    public required int Port { get; init; }

    /// <summary>Source networks, normalised (no overlaps, sorted).</summary>
    public required IReadOnlyList<Ipv4Cidr> Sources { get; init; }

    /// <summary>Whether any source is allowed.</summary>
    public bool AnySource => CidrSet.IsEverywhere(Sources);
}

/// <summary>
/// The host firewall of one node, derived from the stack: what the rendered ruleset enforces and what
/// the audit expects to find. Every value is validated here, with the field path of the stack
/// definition, before anything is rendered.
/// </summary>
public sealed record FirewallPolicy
{
    /// <summary>Kubernetes API server.</summary>
    public const int KubeApiServerPort = 6443;

    /// <summary>kubelet API.</summary>
    public const int KubeletPort = 10250;

    /// <summary>etcd client and peer ports.</summary>
    public static readonly PortRange EtcdPorts = new(2379, 2380);

    /// <summary>The NodePort range; NodePorts are admitted by <see cref="Published"/> policies like published container ports.</summary>
    public static readonly PortRange NodePortRange = new(30000, 32767);

    /// <summary>Ports the input chain accepts, in rule order.</summary>
    public required IReadOnlyList<InputAllowance> Input { get; init; }

    /// <summary>Published container ports (and NodePorts) and their allowed sources, in declared order.</summary>
    public required IReadOnlyList<PublishedPortAllowance> Published { get; init; }

    /// <summary>The pod network, for a Kubernetes node; <see langword="null"/> otherwise.</summary>
    public Ipv4Cidr? PodCidr { get; init; }

    /// <summary>Whether the node runs Kubernetes (pod interfaces and cluster ports are allowed).</summary>
    public bool IsKubernetesNode => PodCidr is not null;

    /// <summary>Derives the firewall of <paramref name="target"/>'s node.</summary>
    /// <exception cref="RenderModelException">A value cannot go into a rule; the message names its field path.</exception>
    public static FirewallPolicy For(HardeningTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        var stack = target.Stack;
        var access = stack.Access ?? throw new RenderModelException(Path("access"), "is required");
        var admin = CheckedSources(Path("access.adminCidrs"), access.AdminCidrs,
            "is empty; SSH is only allowed from admin networks, so at least one is required");

        var input = new List<InputAllowance>
        {
            new() { Name = "ssh", Protocol = TransportProtocol.Tcp, Ports = PortRange.Of(22), Sources = admin },
        };

        Ipv4Cidr? podCidr = null;
        if (target.IsClusterNode)
        {
            var kubernetes = stack.Kubernetes!;
            podCidr = kubernetes.PodCidr;
            var nodes = target.ClusterNodes;
            if (nodes.Count == 0)
            {
                throw new RenderModelException("hardening.clusterNodes", "is empty for a Kubernetes node; pass every cluster node's address");
            }
            var allNodes = CidrSet.Normalize(nodes.Select(n => CidrSet.Host(n.Address)));
            var controlPlane = CidrSet.Normalize(nodes.Where(n => n.Role == NodeRole.ControlPlane).Select(n => CidrSet.Host(n.Address)));
            // Pods reach the API server and kubelets of their own node with their pod address.
            var nodesAndPods = CidrSet.Normalize(allNodes.Append(kubernetes.PodCidr));
            if (target.Node.Role == NodeRole.ControlPlane)
            {
                if (controlPlane.Count == 0)
                {
                    throw new RenderModelException("hardening.clusterNodes", "holds no control-plane node");
                }
                // Admins run kubectl against the API server; it is the one cluster port they reach.
                input.Add(Allow("kube-apiserver", TransportProtocol.Tcp, PortRange.Of(KubeApiServerPort), CidrSet.Normalize(nodesAndPods.Concat(admin))));
                input.Add(Allow("etcd", TransportProtocol.Tcp, EtcdPorts, controlPlane));
            }
            input.Add(Allow("kubelet", TransportProtocol.Tcp, PortRange.Of(KubeletPort), nodesAndPods));
            for (var i = 0; i < target.CniPorts.Count; i++)
            {
                var port = target.CniPorts[i];
                CheckPorts($"hardening.cniPorts[{i}]", port.Ports);
                CheckProtocol($"hardening.cniPorts[{i}].protocol", port.Protocol);
                input.Add(Allow(port.Name, port.Protocol, port.Ports, allNodes));
            }
        }

        var published = new List<PublishedPortAllowance>();
        var policies = stack.Firewall?.PublishedPorts ?? [];
        for (var i = 0; i < policies.Count; i++)
        {
            var policy = policies[i];
            var path = Path($"firewall.publishedPorts[{i}]");
            if (policy is null)
            {
                throw new RenderModelException(path, "is null");
            }
            CheckPorts($"{path}.port", PortRange.Of(policy.Port));
            CheckProtocol($"{path}.protocol", policy.Protocol);
            var sources = CheckedSources($"{path}.from", policy.From, "is empty; list the source networks allowed (write 0.0.0.0/0 to allow everyone)");
            if (published.Any(p => p.Port == policy.Port && p.Protocol == policy.Protocol))
            {
                throw new RenderModelException($"{path}.port", $"{policy.Port}/{FirewallToken.ProtocolName(policy.Protocol)} has a policy already");
            }
            published.Add(new PublishedPortAllowance { Protocol = policy.Protocol, Port = policy.Port, Sources = sources });
        }

        return new FirewallPolicy { Input = input.AsReadOnly(), Published = published.AsReadOnly(), PodCidr = podCidr };
    }

    private static InputAllowance Allow(string name, TransportProtocol protocol, PortRange ports, IReadOnlyList<Ipv4Cidr> sources) =>
        new() { Name = name, Protocol = protocol, Ports = ports, Sources = sources };

    private static string Path(string field) => $"{StackLoader.Namespace}:{field}";

    private static IReadOnlyList<Ipv4Cidr> CheckedSources(string path, IReadOnlyList<Ipv4Cidr>? sources, string emptyMessage)
    {
        if (sources is null || sources.Count == 0)
        {
            throw new RenderModelException(path, emptyMessage);
        }
        foreach (var (cidr, index) in sources.Select((c, i) => (c, i)))
        {
            // Ipv4Cidr can only be made canonical by its parser; re-check in case of a hand-built default.
            if ((cidr.Network.Value & cidr.Mask) != cidr.Network.Value || cidr.PrefixLength is < 0 or > 32)
            {
                throw new RenderModelException($"{path}[{index}]", $"'{cidr}' is not a canonical IPv4 CIDR");
            }
        }
        return CidrSet.Normalize(sources);
    }

    private static void CheckPorts(string path, PortRange ports)
    {
        if (ports.First is < 1 or > 65535 || ports.Last is < 1 or > 65535 || ports.First > ports.Last)
        {
            throw new RenderModelException(path, $"'{ports}' is not a port or port range within 1-65535");
        }
    }

    private static void CheckProtocol(string path, TransportProtocol protocol)
    {
        if (protocol is not (TransportProtocol.Tcp or TransportProtocol.Udp))
        {
            throw new RenderModelException(path, $"'{(int)protocol}' is not a transport protocol (tcp or udp)");
        }
    }
}
