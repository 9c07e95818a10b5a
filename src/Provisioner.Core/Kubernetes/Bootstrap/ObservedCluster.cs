using Provisioner.Core.Security;

namespace Provisioner.Core.Kubernetes.Bootstrap;

/// <summary>A file as found on a node.</summary>
/// <param name="Sha256">Lower-case hex SHA-256 of its content.</param>
/// <param name="Mode">Its permission bits.</param>
/// <param name="Owner"><c>user:group</c>.</param>
public sealed record ObservedFile(string Sha256, UnixFileMode Mode, string Owner);

/// <summary>What the inspection found on one node.</summary>
public sealed record ObservedNode
{
    /// <summary>An empty node: nothing installed, no file present.</summary>
    public static readonly ObservedNode Empty = new();

    /// <summary>Kernel, containerd, cluster interface, swap.</summary>
    public NodeFacts Facts { get; init; } = new();

    /// <summary>Files found, by path (only paths the bootstrap asked about).</summary>
    public IReadOnlyDictionary<string, ObservedFile> Files { get; init; } = new Dictionary<string, ObservedFile>();

    /// <summary>Installed packages and their versions, by name.</summary>
    public IReadOnlyDictionary<string, string> Packages { get; init; } = new Dictionary<string, string>();

    /// <summary>Packages on hold.</summary>
    public IReadOnlySet<string> HeldPackages { get; init; } = new HashSet<string>();

    /// <summary>Whether the node has joined the cluster (its kubelet has a kubeconfig).</summary>
    public bool Joined => Files.ContainsKey(KubernetesPaths.KubeletKubeconfig);

    /// <summary>Whether the node runs a control-plane member (an API server static pod).</summary>
    public bool ControlPlaneMember => Files.ContainsKey(KubernetesPaths.ApiServerManifest);
}

/// <summary>What the inspection found in the cluster, read back from the nodes themselves (no state file).</summary>
public sealed record ObservedCluster
{
    /// <summary>Nothing exists yet.</summary>
    public static readonly ObservedCluster Empty = new();

    /// <summary>Inspected nodes by name; a node missing here is treated as empty.</summary>
    public IReadOnlyDictionary<string, ObservedNode> Nodes { get; init; } = new Dictionary<string, ObservedNode>();

    /// <summary>
    /// The encryption configuration found on a control plane, or null when none has one yet. Its key must
    /// never change under a running cluster (Secrets written with it would become unreadable), so it is read
    /// back and reused, never regenerated.
    /// </summary>
    public Secret? EncryptionConfiguration { get; init; }

    /// <summary>The node's observation, or <see cref="ObservedNode.Empty"/>.</summary>
    public ObservedNode Node(string name) => Nodes.TryGetValue(name, out var node) ? node : ObservedNode.Empty;
}
