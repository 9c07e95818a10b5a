using System.Collections.Frozen;

namespace Provisioner.Core.Kubernetes.Check;

/// <summary>
/// Everything the cluster enforces on pods, in one place: the Pod Security Admission <c>restricted</c> profile at
/// a pinned policy version, and the project's own ValidatingAdmissionPolicies for what <c>restricted</c> leaves
/// out. Both the rendered admission configuration and policies (<see cref="KubernetesDocuments.AdmissionPolicies"/>) and the offline
/// checker (<see cref="ManifestChecker"/>) are built from an instance of this type, so the allow-lists cannot
/// drift apart.
/// </summary>
/// <remarks>
/// The Pod Security checks are modelled on the upstream check registry
/// (<c>k8s.io/pod-security-admission/policy</c>) as of Kubernetes 1.36: which checks exist, the minimum policy
/// version of each revision, and which baseline checks restricted overrides.
/// </remarks>
public sealed record PodSecurityRuleSet
{
    /// <summary>The seed policy's volume allow-list (the classic restricted PodSecurityPolicy).</summary>
    public static readonly IReadOnlyList<string> SeedVolumeTypes =
        ["configMap", "emptyDir", "projected", "secret", "downwardAPI", "csi", "persistentVolumeClaim", "ephemeral"];

    /// <summary>Capabilities restricted lets a container add back after dropping ALL.</summary>
    public static readonly IReadOnlyList<string> RestrictedAddableCapabilities = ["NET_BIND_SERVICE"];

    /// <summary>Lowest and highest group id the seed policy allows for fsGroup and supplementalGroups (MustRunAs 1-65535).</summary>
    public const long MinimumGroupId = 1;

    /// <inheritdoc cref="MinimumGroupId"/>
    public const long MaximumGroupId = 65535;

    /// <summary>Every volume source field of a PodSpec volume, so an unknown key is not mistaken for a type.</summary>
    public static readonly FrozenSet<string> KnownVolumeTypes = new[]
    {
        "awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder", "configMap", "csi", "downwardAPI",
        "emptyDir", "ephemeral", "fc", "flexVolume", "flocker", "gcePersistentDisk", "gitRepo", "glusterfs",
        "hostPath", "image", "iscsi", "nfs", "persistentVolumeClaim", "photonPersistentDisk", "portworxVolume",
        "projected", "quobyte", "rbd", "scaleIO", "secret", "storageos", "vsphereVolume",
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>The Kubernetes release the API servers run; decides what the binary's checks accept regardless of the pinned version.</summary>
    public required KubernetesVersion ClusterVersion { get; init; }

    /// <summary>The policy version enforce/audit/warn are pinned to (the cluster's minor release).</summary>
    public required KubernetesVersion PolicyVersion { get; init; }

    /// <summary>Whether tenant pods must set <c>hostUsers: false</c> (only when every node can honour it).</summary>
    public required bool RequireUserNamespaces { get; init; }

    /// <summary>Why user namespaces are or are not required, stated in plans and reports.</summary>
    public required string UserNamespaceStatement { get; init; }

    /// <summary>Namespaces exempt from Pod Security and from the project's policies, each with its reasons.</summary>
    public required IReadOnlyList<NamespaceExemption> Exemptions { get; init; }

    /// <summary>The <c>v1.34</c> form of <see cref="PolicyVersion"/>.</summary>
    public string PolicyVersionTag => PolicyVersion.MinorTag;

    /// <summary>
    /// Volume types the <c>restricted</c> profile accepts on this cluster. <c>image</c> was added to the
    /// restricted check in place (not behind a new policy version) in 1.33, so it depends on the binary.
    /// </summary>
    public IReadOnlyList<string> RestrictedVolumeTypes => ClusterVersion.AtLeast(1, 33)
        ? ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image", "persistentVolumeClaim", "projected", "secret"]
        : ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"];

    /// <summary>Sysctls the baseline (and so restricted) profile accepts at the pinned version.</summary>
    public IReadOnlyList<string> SafeSysctls
    {
        get
        {
            var list = new List<string>
            {
                "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
                "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start",
            };
            if (PolicyVersion.AtLeast(1, 27))
            {
                list.Add("net.ipv4.ip_local_reserved_ports");
            }

            if (PolicyVersion.AtLeast(1, 29))
            {
                list.AddRange(["net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes"]);
            }

            if (PolicyVersion.AtLeast(1, 32))
            {
                list.AddRange(["net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"]);
            }

            return list;
        }
    }

    /// <summary>SELinux types the baseline profile accepts at the pinned version (the empty string means unset).</summary>
    public IReadOnlyList<string> AllowedSeLinuxTypes => PolicyVersion.AtLeast(1, 31)
        ? ["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"]
        : ["", "container_t", "container_init_t", "container_kvm_t"];

    /// <summary>Whether probe and lifecycle <c>host</c> fields are forbidden (baseline, policy 1.34+).</summary>
    public bool ForbidsProbeHosts => PolicyVersion.AtLeast(1, 34);

    /// <summary>
    /// Whether restricted skips <c>runAsNonRoot</c>/<c>runAsUser</c> for pods with <c>hostUsers: false</c>
    /// (policy 1.35+, KEP-127). The seed policy required MustRunAsNonRoot for every pod, so when this is true the
    /// project adds a policy of its own for exactly the pods restricted no longer covers.
    /// </summary>
    public bool RestrictedRelaxesRunAsNonRootForUserNamespaces => PolicyVersion.AtLeast(1, 35);

    /// <summary>Whether <paramref name="ns"/> is exempt from Pod Security and the project's policies.</summary>
    public bool IsExempt(string? ns) => ns is not null && Exemptions.Any(e => string.Equals(e.Namespace, ns, StringComparison.Ordinal));

    /// <summary>The project's own policies in force under this rule set, in a stable order.</summary>
    public IReadOnlyList<AdmissionPolicyRule> ProjectPolicies
    {
        get
        {
            var rules = new List<AdmissionPolicyRule>
            {
                AdmissionPolicyRule.ReadOnlyRootFilesystem,
                AdmissionPolicyRule.NoRootGroup,
                AdmissionPolicyRule.VolumeTypes,
            };
            if (RestrictedRelaxesRunAsNonRootForUserNamespaces)
            {
                rules.Add(AdmissionPolicyRule.RunAsNonRootWithUserNamespaces);
            }

            if (RequireUserNamespaces)
            {
                rules.Add(AdmissionPolicyRule.UserNamespaces);
            }

            rules.Add(AdmissionPolicyRule.NamespacePodSecurityLabels);
            return rules;
        }
    }

    /// <summary>
    /// What is enforced, for the head of <c>k8s check</c> output and for plans: the profile and version, the
    /// exemptions with their reasons, the project's policies, and the user-namespace statement.
    /// </summary>
    public IReadOnlyList<string> Describe() =>
    [
        $"Pod Security: restricted at {PolicyVersionTag} (enforce, audit, warn) on Kubernetes {ClusterVersion}",
        .. Exemptions.Select(e => $"exempt namespace {e.Namespace}: {string.Join("; ", e.Reasons)}"),
        .. ProjectPolicies.Select(p => $"policy {p.Name}: {p.SeedClause}"),
        UserNamespaceStatement,
    ];

    /// <summary>
    /// The rules of a cluster this project bootstraps at <paramref name="version"/>, for <c>k8s check</c> without a
    /// stack at hand: the exemptions of the default components (Calico), and user namespaces required or not as
    /// the caller says (a stack's nodes decide it otherwise, see <see cref="UserNamespaceCapability"/>).
    /// </summary>
    public static PodSecurityRuleSet ForProjectDefaults(KubernetesVersion version, bool requireUserNamespaces) => For(
        version,
        requireUserNamespaces
            ? new UserNamespaceCapability(true, "tenant pods must run in their own user namespace (hostUsers: false), as asked")
            : new UserNamespaceCapability(false, "hostUsers: false is not required (nodes not known to support user namespaces)"),
        ClusterComponents.Exemptions(ClusterComponents.For(CniPlugin.Calico())));

    /// <summary>
    /// The rule set for a cluster at <paramref name="version"/> with the given exemptions and node capability.
    /// </summary>
    public static PodSecurityRuleSet For(KubernetesVersion version, UserNamespaceCapability capability, IReadOnlyList<NamespaceExemption> exemptions)
    {
        ArgumentNullException.ThrowIfNull(capability);
        ArgumentNullException.ThrowIfNull(exemptions);
        // Pin to the cluster's own minor, clamped to what this tool models: a newer pin would ask the checker
        // for checks it does not know.
        var policy = version.CompareTo(KubernetesVersion.NewestModelled) > 0 ? KubernetesVersion.NewestModelled : version;
        return new PodSecurityRuleSet
        {
            ClusterVersion = version,
            PolicyVersion = new KubernetesVersion(policy.Major, policy.Minor, 0),
            RequireUserNamespaces = capability.Supported,
            UserNamespaceStatement = capability.Statement,
            Exemptions = exemptions,
        };
    }
}

/// <summary>A namespace exempt from Pod Security and the project's policies, and the components that need it.</summary>
/// <param name="Namespace">The namespace.</param>
/// <param name="Reasons">One line per component that runs privileged there, saying what it needs.</param>
public sealed record NamespaceExemption(string Namespace, IReadOnlyList<string> Reasons);
