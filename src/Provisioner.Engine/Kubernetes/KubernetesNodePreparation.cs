using Provisioner.Core.CloudInit;
using Provisioner.Core.Kubernetes;
using Provisioner.Core.Kubernetes.Bootstrap;
using Provisioner.Core.Security;
using Provisioner.Core.Stacks;
using Provisioner.Engine.Planning;

namespace Provisioner.Engine.Kubernetes;

/// <summary>
/// What a cluster node's first boot does for Kubernetes, before any package is installed: the kernel modules
/// (overlay, br_netfilter) loaded now and at boot, the kernel settings pod networking and the kubelet's
/// <c>protectKernelDefaults</c> need, swap off for good, and containerd with its CRI plugin on and the systemd
/// cgroup driver. The files are byte for byte the ones the bootstrap manages (<see cref="KubernetesNodeFiles"/>),
/// so the Kubernetes phase finds them in place and does not write them again.
/// </summary>
public sealed class KubernetesNodePreparation
{
    private static readonly FileActivation[] FirstBootActivations = [FileActivation.KernelModules, FileActivation.Sysctl, FileActivation.Containerd];

    private readonly KubernetesTemplates _templates;

    /// <summary>Creates the preparation over <paramref name="templates"/>.</summary>
    public KubernetesNodePreparation(KubernetesTemplates templates)
    {
        ArgumentNullException.ThrowIfNull(templates);
        _templates = templates;
    }

    /// <summary>
    /// The first-boot files and commands for <paramref name="node"/>; <see cref="NodeProvisioningExtras.None"/> when the
    /// stack declares no cluster or the node is not a control plane or worker.
    /// </summary>
    /// <exception cref="KubernetesConfigurationException">A cluster setting cannot be bootstrapped.</exception>
    public NodeProvisioningExtras FirstBoot(StackDefinition stack, DesiredNode node)
    {
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentNullException.ThrowIfNull(node);
        var files = FilesFor(stack, node.Name);
        if (files.Count == 0)
        {
            return NodeProvisioningExtras.None;
        }

        return new NodeProvisioningExtras
        {
            Files = [.. files.Select(f => new CloudInitFile
            {
                Path = f.Path,
                Content = f.Content.Reveal(),
                Permissions = "0" + Convert.ToString((int)f.Mode, 8),
                Owner = f.Owner,
            })],
            Commands = FirstBootCommands,
        };
    }

    /// <summary>The commands after the files: modules now, kernel settings, swap off, containerd restarted with CRI.</summary>
    public static IReadOnlyList<IReadOnlyList<string>> FirstBootCommands { get; } =
    [
        ["modprobe", "-a", "overlay", "br_netfilter"],
        ["sysctl", "--system"],
        ["sh", "-c", NodeScripts.DisableSwap, "sh"],
        ["systemctl", "restart", "containerd"],
    ];

    /// <summary>The managed files of <paramref name="nodeName"/> that its first boot writes (none for a node outside the cluster).</summary>
    public IReadOnlyList<ManagedFile> FilesFor(StackDefinition stack, string nodeName)
    {
        ArgumentNullException.ThrowIfNull(stack);
        if (stack.Kubernetes is null)
        {
            return [];
        }

        var spec = KubernetesClusterSpec.From(stack);
        if (spec.FindNode(nodeName) is not { } member)
        {
            return [];
        }

        // Only host files are written here; the placeholders feed the control-plane files, which are filtered out.
        var rules = spec.PodSecurity(new UserNamespaceCapability(false, string.Empty));
        var placeholder = new Secret(string.Empty);
        return [.. KubernetesNodeFiles.For(spec, member, null, rules, placeholder, _templates).Where(f => FirstBootActivations.Contains(f.Activation))];
    }
}
