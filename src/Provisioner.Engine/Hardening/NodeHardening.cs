using Provisioner.Core.Audit;
using Provisioner.Core.Hardening;
using Provisioner.Core.Stacks;
using Provisioner.Core.Templates;
using Provisioner.Engine.Planning;

namespace Provisioner.Engine.Hardening;

/// <summary>
/// The hardened Docker runtime and host firewall for a stack's nodes: the bundle each node gets, as
/// first-boot configuration (cloud-init) and as the checks its audit runs. Every node the project
/// creates gets it; the same bundle is what <see cref="HardeningApplier"/> re-applies over SSH.
/// </summary>
public sealed class NodeHardening
{
    private readonly HardeningRenderer _renderer;

    /// <summary>Creates the feature over <paramref name="templates"/>.</summary>
    public NodeHardening(TemplateRenderer templates)
    {
        ArgumentNullException.ThrowIfNull(templates);
        _renderer = new HardeningRenderer(templates);
    }

    /// <summary>
    /// Extra audit checks for a node beyond the runtime and firewall (the Kubernetes feature adds the
    /// CIS Kubernetes checks for cluster nodes). Null adds none.
    /// </summary>
    public Func<StackDefinition, NodeDefinition, HardeningBundle, IReadOnlyList<AuditCheck>>? AdditionalChecks { get; init; }

    /// <summary>The bundle for node <paramref name="node"/> of <paramref name="stack"/>.</summary>
    /// <exception cref="RenderModelException">A stack value cannot be rendered; the message names its field path.</exception>
    public HardeningBundle Render(StackDefinition stack, string node)
    {
        ArgumentNullException.ThrowIfNull(stack);
        return _renderer.Render(HardeningTarget.For(stack, node));
    }

    /// <summary>What the node's first boot writes and runs so it comes up hardened.</summary>
    public NodeProvisioningExtras FirstBoot(StackDefinition stack, DesiredNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var bundle = Render(stack, node.Name);
        return new NodeProvisioningExtras { Files = bundle.CloudInitFiles(), Commands = bundle.CloudInitRunCommands() };
    }

    /// <summary>The checks the audit runs on node <paramref name="node"/>.</summary>
    public IReadOnlyList<AuditCheck> ChecksFor(StackDefinition stack, string node)
    {
        ArgumentNullException.ThrowIfNull(stack);
        var bundle = Render(stack, node);
        var definition = stack.FindNode(node) ?? throw new ArgumentException($"node '{node}' is not in stack '{stack.Name}'", nameof(node));
        var checks = AuditChecks.For(bundle);
        var more = AdditionalChecks?.Invoke(stack, definition, bundle);
        return more is null || more.Count == 0 ? checks : [.. checks, .. more];
    }
}
