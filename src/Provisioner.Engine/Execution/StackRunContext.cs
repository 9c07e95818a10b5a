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
}

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
