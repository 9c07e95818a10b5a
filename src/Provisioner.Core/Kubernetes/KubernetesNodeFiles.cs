using System.Security.Cryptography;
using System.Text;
using Provisioner.Core.Kubernetes.Check;
using Provisioner.Core.Security;
using Provisioner.Core.Stacks;

namespace Provisioner.Core.Kubernetes;

/// <summary>What has to happen on a node after a group of files changed.</summary>
public enum FileActivation
{
    /// <summary>Nothing: the file is read when used.</summary>
    None,

    /// <summary>Load the kernel modules (<c>modprobe</c>).</summary>
    KernelModules,

    /// <summary>Apply the kernel settings (<c>sysctl --system</c>).</summary>
    Sysctl,

    /// <summary>Restart containerd.</summary>
    Containerd,

    /// <summary>Refresh the package lists (<c>apt-get update</c>).</summary>
    PackageSource,

    /// <summary>Reload keepalived.</summary>
    Keepalived,

    /// <summary>Restart the API server (it reads these files at start only).</summary>
    ApiServer,
}

/// <summary>A file the bootstrap owns on a node: its desired content, mode and owner.</summary>
public sealed record ManagedFile
{
    /// <summary>Absolute path.</summary>
    public required string Path { get; init; }

    /// <summary>Content; secret for files holding keys.</summary>
    public required Secret Content { get; init; }

    /// <summary>Whether the content is a secret (then it is never shown in plans or logs).</summary>
    public required bool IsSecret { get; init; }

    /// <summary>Mode.</summary>
    public required UnixFileMode Mode { get; init; }

    /// <summary>Owner as <c>user:group</c>.</summary>
    public string Owner { get; init; } = "root:root";

    /// <summary>What to do after it changed.</summary>
    public required FileActivation Activation { get; init; }

    /// <summary>Lower-case hex SHA-256 of the UTF-8 content, compared with what the node has.</summary>
    public string Sha256 => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Content.Reveal())));
}

/// <summary>The files the bootstrap keeps on each node.</summary>
public static class KubernetesNodeFiles
{
    /// <summary>0600.</summary>
    public const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>0644.</summary>
    public const UnixFileMode WorldReadable = OwnerReadWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    /// <summary>0700.</summary>
    public const UnixFileMode OwnerOnlyExecutable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>
    /// The managed files of <paramref name="node"/>.
    /// </summary>
    /// <param name="spec">The cluster.</param>
    /// <param name="node">The node.</param>
    /// <param name="facts">What was observed on the node (containerd version, cluster interface), or null.</param>
    /// <param name="rules">The Pod Security rules (admission configuration on control planes).</param>
    /// <param name="encryptionConfiguration">The encryption configuration every control plane shares.</param>
    /// <param name="templates">The templates.</param>
    public static IReadOnlyList<ManagedFile> For(
        KubernetesClusterSpec spec, ClusterNode node, NodeFacts? facts, PodSecurityRuleSet rules, Secret encryptionConfiguration, KubernetesTemplates templates)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(encryptionConfiguration);
        ArgumentNullException.ThrowIfNull(templates);
        var containerd2 = UserNamespaceCapability.TryMajorMinor(facts?.ContainerdVersion, out var containerd) && containerd.Major >= 2;
        var files = new List<ManagedFile>
        {
            Public(KubernetesPaths.ModulesLoad, templates.Read("modules-load.conf"), WorldReadable, FileActivation.KernelModules),
            Public(KubernetesPaths.Sysctl, Sysctl(templates), WorldReadable, FileActivation.Sysctl),
            Public(KubernetesPaths.ContainerdConfig, templates.Read(containerd2 ? "containerd-config-v3.toml" : "containerd-config-v2.toml"), WorldReadable, FileActivation.Containerd),
            Public(KubernetesPaths.AptSource, templates.Render("kubernetes.sources.sbn", new Dictionary<string, object?>
            {
                ["minor"] = spec.Version.MinorTag,
                ["origin"] = spec.PackageRepositoryConfigured ? "configured source" : "upstream",
                ["uri"] = spec.PackageRepository.AbsoluteUri,
                ["keyring"] = KubernetesPaths.AptKeyring,
            }), WorldReadable, FileActivation.PackageSource),
            Public(KubernetesPaths.AptPreferences, templates.Render("kubernetes-preferences.sbn", new Dictionary<string, object?>
            {
                ["version"] = spec.Version.ToString(),
            }), WorldReadable, FileActivation.PackageSource),
        };

        if (node.Role != NodeRole.ControlPlane)
        {
            return files;
        }

        if (spec.EndpointIsVirtual)
        {
            files.Add(Public(KubernetesPaths.KeepalivedCheck, templates.Render("check-apiserver.sh.sbn", new Dictionary<string, object?>
            {
                ["ca"] = KubernetesPaths.CaCertificate,
                ["port"] = KubernetesClusterSpec.ApiServerPort,
            }), OwnerOnlyExecutable, FileActivation.Keepalived));
            files.Add(Public(KubernetesPaths.KeepalivedConfig, Keepalived(spec, node, facts, templates), OwnerReadWrite, FileActivation.Keepalived));
        }

        files.Add(Public(KubernetesPaths.AdmissionConfiguration, KubernetesDocuments.AdmissionConfiguration(rules), OwnerReadWrite, FileActivation.ApiServer));
        files.Add(Public(KubernetesPaths.AuditPolicy, templates.Read("audit-policy.yaml"), OwnerReadWrite, FileActivation.ApiServer));
        files.Add(Public(KubernetesPaths.AuthenticationConfiguration, KubernetesDocuments.AuthenticationConfiguration(spec.Version), OwnerReadWrite, FileActivation.ApiServer));
        files.Add(new ManagedFile
        {
            Path = KubernetesPaths.EncryptionConfiguration,
            Content = encryptionConfiguration,
            IsSecret = true,
            Mode = OwnerReadWrite,
            Activation = FileActivation.ApiServer,
        });
        return files;
    }

    /// <summary>The sysctl file: pod networking and the kubelet's protectKernelDefaults values.</summary>
    public static string Sysctl(KubernetesTemplates templates)
    {
        ArgumentNullException.ThrowIfNull(templates);
        static List<object?> Settings(IEnumerable<(string Key, string Value)> items) =>
            items.Select(i => (object?)new Dictionary<string, object?> { ["key"] = i.Key, ["value"] = i.Value }).ToList();
        return templates.Render("sysctl.conf.sbn", new Dictionary<string, object?>
        {
            ["networking"] = Settings(NetworkingSysctls),
            ["kubelet"] = Settings(KubernetesHardening.KubeletKernelDefaults),
        });
    }

    /// <summary>Kernel settings pod networking needs.</summary>
    public static readonly IReadOnlyList<(string Key, string Value)> NetworkingSysctls =
    [
        ("net.bridge.bridge-nf-call-iptables", "1"),
        ("net.bridge.bridge-nf-call-ip6tables", "1"),
        ("net.ipv4.ip_forward", "1"),
    ];

    /// <summary>keepalived.conf for a control plane: priority by position (the first control plane highest), unicast to the others.</summary>
    public static string Keepalived(KubernetesClusterSpec spec, ClusterNode node, NodeFacts? facts, KubernetesTemplates templates)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(templates);
        var index = spec.ControlPlanes.ToList().FindIndex(n => n.Name == node.Name);
        if (index < 0)
        {
            throw new ArgumentException($"node {node.Name} is not a control plane", nameof(node));
        }

        return templates.Render("keepalived.conf.sbn", new Dictionary<string, object?>
        {
            ["cluster"] = spec.ClusterName,
            ["node"] = node.Name,
            ["vip"] = spec.Endpoint.ToString(),
            ["prefix"] = spec.EndpointPrefixLength,
            // Unknown until the node was inspected; the plan inspects before it writes this file.
            ["interface"] = facts?.ClusterInterface ?? "eth0",
            ["router_id"] = spec.VirtualRouterId,
            ["priority"] = 200 - (10 * Math.Min(index, 9)),
            ["address"] = node.Address.ToString(),
            ["check_script"] = KubernetesPaths.KeepalivedCheck,
            ["peers"] = spec.ControlPlanes.Where(n => n.Name != node.Name).Select(n => (object?)n.Address.ToString()).ToList(),
        });
    }

    private static ManagedFile Public(string path, string content, UnixFileMode mode, FileActivation activation) => new()
    {
        Path = path,
        Content = new Secret(content),
        IsSecret = false,
        Mode = mode,
        Activation = activation,
    };
}
