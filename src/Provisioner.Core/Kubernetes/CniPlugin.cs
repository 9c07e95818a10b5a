namespace Provisioner.Core.Kubernetes;

/// <summary>
/// The pod network: a pinned manifest fetched from a configured source and applied only after its SHA-256 matched.
/// </summary>
/// <remarks>
/// Calico is the default because it enforces NetworkPolicy (CIS 5.3.1; flannel does not), installs from one
/// plain manifest (Cilium needs Helm or its own CLI), and reads the pod CIDR from kubeadm's configuration. Its
/// VXLAN manifest (<c>calico-vxlan.yaml</c>: no BGP, no IP-in-IP) needs exactly one port between nodes, VXLAN
/// 4789/udp, which the host firewall can express as a port rule (<see cref="KubernetesFirewallPorts"/>); the
/// default <c>calico.yaml</c> would need BGP and IP protocol 4. The manifest runs calico-node privileged with
/// host networking in kube-system, one of the reasons kube-system is exempt from Pod Security
/// (see <see cref="ClusterComponents"/>).
/// </remarks>
public sealed record CniPlugin
{
    /// <summary>Calico release the default manifest URL points at.</summary>
    public const string DefaultCalicoRelease = "v3.29.0";

    /// <summary>Default manifest URL (Calico's VXLAN manifest). Its checksum has no default: it must be pinned in configuration.</summary>
    public static readonly Uri DefaultCalicoManifest = new($"https://raw.githubusercontent.com/projectcalico/calico/{DefaultCalicoRelease}/manifests/calico-vxlan.yaml");

    /// <summary>The VXLAN port Calico's VXLAN manifest uses between nodes (IANA's).</summary>
    public const int CalicoVxlanPort = 4789;

    /// <summary>Plugin name, e.g. <c>calico</c>.</summary>
    public required string Name { get; init; }

    /// <summary>Where the manifest is fetched from (upstream or an internal mirror).</summary>
    public required Uri ManifestUrl { get; init; }

    /// <summary>Lower-case hex SHA-256 the fetched manifest must have, or null when not configured (then the CNI step cannot run).</summary>
    public string? ManifestSha256 { get; init; }

    /// <summary>The workloads the manifest installs and what they need.</summary>
    public required IReadOnlyList<ClusterComponent> Components { get; init; }

    /// <summary>Calico from <paramref name="manifestUrl"/> (default: <see cref="DefaultCalicoManifest"/>) pinned to <paramref name="sha256"/>.</summary>
    public static CniPlugin Calico(Uri? manifestUrl = null, string? sha256 = null) => new()
    {
        Name = "calico",
        ManifestUrl = manifestUrl ?? DefaultCalicoManifest,
        ManifestSha256 = sha256?.ToLowerInvariant(),
        Components =
        [
            new("calico-node (Calico DaemonSet)", "kube-system", ["privileged", "hostNetwork", "hostPath volumes (CNI binaries and configuration, /lib/modules, /run/xtables.lock)"]),
            new("calico-kube-controllers (Calico Deployment)", "kube-system", []),
        ],
    };
}
