using Provisioner.Core.CloudInit;
using Provisioner.Core.Stacks;
using Provisioner.Engine.Hosts;
using Provisioner.Engine.Keys;
using Provisioner.Engine.Planning;

namespace Provisioner.Engine;

/// <summary>What every step of one run shares: the stack, the admin key, the image and the open hosts.</summary>
public sealed class StackRunContext
{
    /// <summary>Creates the context.</summary>
    public StackRunContext(StackDefinition stack, AdminKey adminKey, ImageReference image, IReadOnlyDictionary<string, HostSession> hosts)
    {
        Stack = stack;
        AdminKey = adminKey;
        Image = image;
        Hosts = hosts;
    }

    /// <summary>The stack being applied.</summary>
    public StackDefinition Stack { get; }

    /// <summary>The stack's admin key.</summary>
    public AdminKey AdminKey { get; }

    /// <summary>The golden image.</summary>
    public ImageReference Image { get; }

    /// <summary>Open sessions by host name.</summary>
    public IReadOnlyDictionary<string, HostSession> Hosts { get; }

    /// <summary>
    /// Extra first-boot configuration per node (files and commands from the runtime, firewall and
    /// Kubernetes features), added to the node's cloud-init. Null adds nothing.
    /// </summary>
    public Func<DesiredNode, NodeProvisioningExtras>? Extras { get; init; }

    /// <summary>The expiry to record on nodes created in this run, by node name (sandboxes).</summary>
    public Func<string, DateTimeOffset?>? ExpiryFor { get; init; }

    /// <summary>What each host looked like when its first node step began, read once per run and host.</summary>
    internal System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<HostRunFacts>> HostFacts { get; } = new(StringComparer.Ordinal);
}

/// <summary>
/// Facts about a host shared by the node steps of one run: the golden volume's path, and the volumes and domains that
/// existed when the first node step on the host began. Node steps use them to skip lookups that cannot find anything
/// (on a busy host every libvirt call queues behind the others).
/// </summary>
internal sealed record HostRunFacts(string GoldenPath, IReadOnlySet<string> VolumesAtStart, IReadOnlySet<string> DomainsAtStart);

/// <summary>Files and commands a feature adds to a node's first boot.</summary>
public sealed record NodeProvisioningExtras
{
    /// <summary>Nothing extra.</summary>
    public static readonly NodeProvisioningExtras None = new();

    /// <summary>Files written before the commands run.</summary>
    public IReadOnlyList<CloudInitFile> Files { get; init; } = [];

    /// <summary>Commands (argv lists) run once at first boot, in order.</summary>
    public IReadOnlyList<IReadOnlyList<string>> Commands { get; init; } = [];

    /// <summary>These files and commands, then <paramref name="other"/>'s (its commands run after these).</summary>
    public NodeProvisioningExtras Then(NodeProvisioningExtras other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return new NodeProvisioningExtras { Files = [.. Files, .. other.Files], Commands = [.. Commands, .. other.Commands] };
    }
}
