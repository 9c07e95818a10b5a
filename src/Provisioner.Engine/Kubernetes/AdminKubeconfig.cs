using System.Text;
using Provisioner.Core.Kubernetes;
using Provisioner.Core.Security;
using Provisioner.Core.Stacks;
using Provisioner.Engine.Access;
using Provisioner.Remote.Shell;

namespace Provisioner.Engine.Kubernetes;

/// <summary>Reads a cluster's admin kubeconfig back from its control planes (read-only; nothing is changed).</summary>
public static class AdminKubeconfig
{
    /// <summary>
    /// The admin kubeconfig from the first control plane of <paramref name="stack"/> (in name order) that has one,
    /// or null when none has (the cluster was never initialised). A secret: write it with mode 0600, never print it.
    /// </summary>
    /// <param name="stack">The stack.</param>
    /// <param name="nodes">The stack's nodes as they exist now.</param>
    /// <param name="access">How to reach them.</param>
    /// <param name="cancellationToken">Cancels the reads.</param>
    public static async Task<Secret?> ReadAsync(StackDefinition stack, IReadOnlyList<NodeStatus> nodes, INodeAccess access, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentNullException.ThrowIfNull(nodes);
        ArgumentNullException.ThrowIfNull(access);
        var controlPlanes = nodes
            .Where(n => stack.FindNode(n.Name)?.Role == NodeRole.ControlPlane && n.Address is not null)
            .OrderBy(n => n.Name, StringComparer.Ordinal);
        foreach (var node in controlPlanes)
        {
            var session = await access.OpenAsync(stack, node, cancellationToken).ConfigureAwait(false);
            await using (session.ConfigureAwait(false))
            {
                var exists = await session.RunAsync(ShellCommand.Create("test", "-f", KubernetesPaths.AdminKubeconfig).WithSudo(), cancellationToken).ConfigureAwait(false);
                if (exists.Succeeded)
                {
                    return new Secret(Encoding.UTF8.GetString(await session.DownloadAsync(KubernetesPaths.AdminKubeconfig, true, cancellationToken).ConfigureAwait(false)));
                }
            }
        }

        return null;
    }
}
