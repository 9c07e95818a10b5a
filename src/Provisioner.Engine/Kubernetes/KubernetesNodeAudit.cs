using Provisioner.Core.Audit;
using Provisioner.Core.Hardening;
using Provisioner.Core.Kubernetes;
using Provisioner.Core.Kubernetes.Audit;
using Provisioner.Core.Stacks;

namespace Provisioner.Engine.Kubernetes;

/// <summary>
/// The CIS Kubernetes checks the audit adds for cluster nodes (<c>NodeHardening.AdditionalChecks</c>): the API
/// server, controller manager and scheduler arguments, authentication, encryption and Pod Security configuration
/// on control planes, the kubelet settings and file modes on every cluster node.
/// </summary>
public static class KubernetesNodeAudit
{
    /// <summary>
    /// The Kubernetes checks for <paramref name="node"/> of <paramref name="stack"/> (beyond the runtime and firewall
    /// checks of <paramref name="bundle"/>); empty when the stack declares no cluster or the node is not in it.
    /// </summary>
    /// <exception cref="KubernetesConfigurationException">A cluster setting cannot be bootstrapped.</exception>
    public static IReadOnlyList<AuditCheck> ChecksFor(StackDefinition stack, NodeDefinition node, HardeningBundle bundle)
    {
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(bundle);
        if (stack.Kubernetes is null || node.Role is not (NodeRole.ControlPlane or NodeRole.Worker))
        {
            return [];
        }

        var spec = KubernetesClusterSpec.From(stack);
        // The Pod Security check reads the profile, version and exemptions, which do not depend on user namespaces.
        var rules = spec.PodSecurity(new UserNamespaceCapability(false, "not needed by the audit"));
        var checks = KubernetesAuditChecks.For(spec, rules)
            .Where(c => c.Scope == AuditScope.AllNodes || node.Role == NodeRole.ControlPlane);
        return AuditChecks.FromKubernetes(checks);
    }
}
