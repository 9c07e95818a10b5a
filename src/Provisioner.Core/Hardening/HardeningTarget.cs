using Provisioner.Core.Kubernetes;
using Provisioner.Core.Stacks;
using Provisioner.Core.Templates;

namespace Provisioner.Core.Hardening;

/// <summary>
/// What to harden: one node of a validated stack and, for a Kubernetes node, what the cluster needs
/// from its firewall (<see cref="KubernetesFirewallPorts"/>). Build it with <see cref="For"/>.
/// </summary>
public sealed record HardeningTarget
{
    /// <summary>The validated stack.</summary>
    public required StackDefinition Stack { get; init; }

    /// <summary>The node being hardened (one of <see cref="StackDefinition.Nodes"/>).</summary>
    public required NodeDefinition Node { get; init; }

    /// <summary>
    /// The cluster's inbound and forwarding needs with addresses resolved, or <see langword="null"/> when the node
    /// does not run Kubernetes.
    /// </summary>
    public KubernetesFirewallNeeds? Cluster { get; init; }

    /// <summary>The pod network of the node's cluster, or <see langword="null"/>.</summary>
    public Ipv4Cidr? PodCidr => Cluster is null ? null : Stack.Kubernetes?.PodCidr;

    /// <summary>Whether this node runs Kubernetes (the stack declares a cluster and the node is control plane or worker).</summary>
    public bool IsClusterNode => Stack.Kubernetes is not null && Node.Role is NodeRole.ControlPlane or NodeRole.Worker;

    /// <summary>The target for node <paramref name="nodeName"/> of <paramref name="stack"/>.</summary>
    /// <param name="stack">The validated stack.</param>
    /// <param name="nodeName">A node of the stack.</param>
    /// <exception cref="ArgumentException">The node is not in the stack.</exception>
    /// <exception cref="RenderModelException">The cluster's settings cannot be turned into firewall rules; the message names the field.</exception>
    public static HardeningTarget For(StackDefinition stack, string nodeName)
    {
        ArgumentNullException.ThrowIfNull(stack);
        var node = stack.FindNode(nodeName) ?? throw new ArgumentException($"node '{nodeName}' is not in stack '{stack.Name}'", nameof(nodeName));
        var target = new HardeningTarget { Stack = stack, Node = node };
        if (!target.IsClusterNode)
        {
            return target;
        }
        try
        {
            return target with { Cluster = KubernetesFirewallPorts.For(stack) };
        }
        catch (KubernetesConfigurationException e)
        {
            throw new RenderModelException(e.Field, e.Message[(e.Field.Length + 2)..]);
        }
    }
}
