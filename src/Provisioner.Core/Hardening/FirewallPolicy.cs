using Provisioner.Core.Kubernetes;
using Provisioner.Core.Stacks;
using Provisioner.Core.Templates;

namespace Provisioner.Core.Hardening;

/// <summary>What an input rule matches: a port-based transport, or an IP protocol without ports.</summary>
public enum FirewallProtocol
{
    /// <summary>TCP, with ports.</summary>
    Tcp,

    /// <summary>UDP, with ports.</summary>
    Udp,

    /// <summary>VRRP (IP protocol 112): keepalived between control planes.</summary>
    Vrrp,
}

/// <summary>Inbound traffic the node's input chain accepts (beyond loopback, replies, DHCP and rate-limited ICMP).</summary>
public sealed record InputAllowance
{
    /// <summary>What it is for (<c>ssh</c>, <c>kube-apiserver</c>, …); shown in plans and the audit, never written into a rule.</summary>
    public required string Name { get; init; }

    /// <summary>Protocol.</summary>
    public required FirewallProtocol Protocol { get; init; }

    /// <summary>Port or range for TCP and UDP; <see langword="null"/> for IP protocols.</summary>
    public PortRange? Ports { get; init; }

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

/// <summary>Traffic the forward chain passes by address (pods on a Kubernetes node).</summary>
/// <param name="Source">Source network.</param>
/// <param name="Destination">Destination network, or <see langword="null"/> for anywhere.</param>
/// <param name="Reason">Why; never written into a rule.</param>
public sealed record ForwardAllowance(Ipv4Cidr Source, Ipv4Cidr? Destination, string Reason);

/// <summary>
/// The host firewall of one node, derived from the stack (and, on Kubernetes nodes, the cluster's needs):
/// what the rendered ruleset enforces and what the audit expects to find. Every value is validated here,
/// with the field path of the stack definition, before anything is rendered.
/// </summary>
public sealed record FirewallPolicy
{
    /// <summary>Ports the input chain accepts, in rule order (same protocol and ports merged into one rule).</summary>
    public required IReadOnlyList<InputAllowance> Input { get; init; }

    /// <summary>Published container ports (and NodePorts) and their allowed sources, in declared order.</summary>
    public required IReadOnlyList<PublishedPortAllowance> Published { get; init; }

    /// <summary>Address-based forwarding (pods), empty on nodes without Kubernetes.</summary>
    public IReadOnlyList<ForwardAllowance> Forward { get; init; } = [];

    /// <summary>The pod network, for a Kubernetes node; <see langword="null"/> otherwise.</summary>
    public Ipv4Cidr? PodCidr { get; init; }

    /// <summary>Whether the node runs Kubernetes.</summary>
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
            new() { Name = "ssh", Protocol = FirewallProtocol.Tcp, Ports = PortRange.Of(22), Sources = admin },
        };

        var forward = new List<ForwardAllowance>();
        Ipv4Cidr? podCidr = null;
        if (target.IsClusterNode)
        {
            var needs = target.Cluster
                ?? throw new RenderModelException("hardening.cluster", "is missing for a Kubernetes node; build the target with HardeningTarget.For");
            podCidr = target.PodCidr;
            var isControlPlane = target.Node.Role == NodeRole.ControlPlane;
            var rules = needs.Inbound.Select((rule, index) => (rule, index)).Where(r => isControlPlane || !r.rule.ControlPlaneOnly);
            foreach (var group in rules.GroupBy(r => (Protocol(r.rule, r.index), Ports(r.rule, r.index))))
            {
                var sources = group.SelectMany(r => CheckedSources($"hardening.cluster.inbound[{r.index}].sourceAddresses", r.rule.SourceAddresses, "is empty")).ToList();
                input.Add(new InputAllowance
                {
                    Name = string.Join(", ", group.Select(r => r.rule.Name)),
                    Protocol = group.Key.Item1,
                    Ports = group.Key.Item2,
                    Sources = CidrSet.Normalize(sources),
                });
            }
            forward.AddRange(needs.Forward.Select(f => new ForwardAllowance(f.Source, f.Destination, f.Reason)));
        }

        // The stack's published ports, then the node's own (its pool's), each checked with the path it was declared at.
        var published = new List<PublishedPortAllowance>();
        AddPublished(published, stack.Firewall?.PublishedPorts ?? [], Path("firewall.publishedPorts"));
        var poolIndex = stack.NodePools.ToList().FindIndex(p => p.Name == target.Node.Pool);
        AddPublished(published, target.Node.PublishedPorts ?? [], Path($"nodes[{(poolIndex >= 0 ? poolIndex : target.Node.Name)}].publishedPorts"));

        return new FirewallPolicy { Input = input.AsReadOnly(), Published = published.AsReadOnly(), Forward = forward.AsReadOnly(), PodCidr = podCidr };
    }

    private static void AddPublished(List<PublishedPortAllowance> published, IReadOnlyList<PublishedPortPolicy> policies, string listPath)
    {
        for (var i = 0; i < policies.Count; i++)
        {
            var policy = policies[i];
            var path = $"{listPath}[{i}]";
            if (policy is null)
            {
                throw new RenderModelException(path, "is null");
            }
            CheckPorts($"{path}.port", PortRange.Of(policy.Port));
            if (policy.Protocol is not (TransportProtocol.Tcp or TransportProtocol.Udp))
            {
                throw new RenderModelException($"{path}.protocol", $"'{(int)policy.Protocol}' is not a transport protocol (tcp or udp)");
            }
            var sources = CheckedSources($"{path}.from", policy.From, "is empty; list the source networks allowed (write 0.0.0.0/0 to allow everyone)");
            if (published.Any(p => p.Port == policy.Port && p.Protocol == policy.Protocol))
            {
                throw new RenderModelException($"{path}.port", $"{policy.Port}/{FirewallToken.ProtocolName(policy.Protocol)} has a policy already");
            }
            published.Add(new PublishedPortAllowance { Protocol = policy.Protocol, Port = policy.Port, Sources = sources });
        }
    }

    private static FirewallProtocol Protocol(KubernetesFirewallRule rule, int index) => rule.Protocol switch
    {
        KubernetesTrafficProtocol.Tcp => FirewallProtocol.Tcp,
        KubernetesTrafficProtocol.Udp => FirewallProtocol.Udp,
        KubernetesTrafficProtocol.Vrrp => FirewallProtocol.Vrrp,
        _ => throw new RenderModelException($"hardening.cluster.inbound[{index}].protocol", $"'{(int)rule.Protocol}' is not a protocol the firewall knows"),
    };

    private static PortRange? Ports(KubernetesFirewallRule rule, int index)
    {
        var path = $"hardening.cluster.inbound[{index}]";
        if (rule.Protocol is KubernetesTrafficProtocol.Tcp or KubernetesTrafficProtocol.Udp)
        {
            if (rule.FromPort is not { } from)
            {
                throw new RenderModelException($"{path}.fromPort", "is required for tcp and udp");
            }
            var ports = new PortRange(from, rule.ToPort ?? from);
            CheckPorts($"{path}.fromPort", ports);
            return ports;
        }
        if (rule.FromPort is not null || rule.ToPort is not null)
        {
            throw new RenderModelException($"{path}.fromPort", $"{rule.Protocol} has no ports");
        }
        return null;
    }

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
}
