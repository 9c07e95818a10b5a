using System.Text.Json;
using Provisioner.Core.Kubernetes;

namespace Provisioner.Core.Stacks;

/// <summary>
/// Hardened container runtime settings (<c>provisioner:runtime</c>). The hardened daemon.json
/// baseline lives in the template; this only records deliberate, explained deviations from it.
/// </summary>
public sealed record RuntimeSettings
{
    /// <summary>No overrides: the hardened baseline as is.</summary>
    public static readonly RuntimeSettings Default = new() { DaemonOverrides = [] };

    /// <summary>Overrides of top-level daemon.json keys, each with the reason it is needed.</summary>
    public required IReadOnlyList<DaemonJsonOverride> DaemonOverrides { get; init; }
}

/// <summary>One daemon.json key set to a value other than the hardened baseline's, and why.</summary>
public sealed record DaemonJsonOverride
{
    /// <summary>Top-level daemon.json key, e.g. <c>log-opts</c>.</summary>
    public required string Key { get; init; }

    /// <summary>The JSON value to set (any JSON type).</summary>
    public required JsonElement Value { get; init; }

    /// <summary>Why the baseline is not good enough here; shown in plans and audit reports.</summary>
    public required string Reason { get; init; }
}

/// <summary>Transport protocol of a published port.</summary>
public enum TransportProtocol
{
    /// <summary>TCP (<c>tcp</c>).</summary>
    Tcp,

    /// <summary>UDP (<c>udp</c>).</summary>
    Udp,
}

/// <summary>Names of <see cref="TransportProtocol"/> as written in stack files, rules and output.</summary>
public static class TransportProtocols
{
    /// <summary><c>tcp</c> or <c>udp</c>.</summary>
    public static string Name(TransportProtocol protocol) => protocol == TransportProtocol.Udp ? "udp" : "tcp";
}

/// <summary>Guest firewall settings (<c>provisioner:firewall</c>). Inbound is denied by default.</summary>
public sealed record FirewallSettings
{
    /// <summary>No published ports reachable from outside.</summary>
    public static readonly FirewallSettings Default = new() { PublishedPorts = [] };

    /// <summary>Published container ports and who may reach them (enforced in <c>DOCKER-USER</c> and our own forward chain).</summary>
    public required IReadOnlyList<PublishedPortPolicy> PublishedPorts { get; init; }
}

/// <summary>A published container port reachable from the listed networks only.</summary>
public sealed record PublishedPortPolicy
{
    /// <summary>Port 1-65535.</summary>
    public required int Port { get; init; }

    /// <summary>Protocol.</summary>
    public required TransportProtocol Protocol { get; init; }

    /// <summary>Source networks allowed (at least one; <c>0.0.0.0/0</c> must be written out).</summary>
    public required IReadOnlyList<Ipv4Cidr> From { get; init; }
}

/// <summary>
/// Kubernetes cluster settings (<c>provisioner:kubernetes</c>): everything the bootstrap needs that is not
/// derived from the nodes. Validated by the loader (field paths and values in every error).
/// </summary>
public sealed record KubernetesSettings
{
    /// <summary>Default pod network.</summary>
    public static readonly Ipv4Cidr DefaultPodCidr = Ipv4Cidr.Parse("10.244.0.0/16");

    /// <summary>Default service network.</summary>
    public static readonly Ipv4Cidr DefaultServiceCidr = Ipv4Cidr.Parse("10.96.0.0/12");

    /// <summary>Default kubelet <c>podPidsLimit</c> (CIS 4.2.13).</summary>
    public const int DefaultPodPidsLimit = 4096;

    /// <summary>
    /// The pinned release, an exact patch release of 1.32 or newer (<c>1.33.4</c>): the packages are pinned
    /// and held at it and kubeadm's <c>kubernetesVersion</c> names it.
    /// </summary>
    public required KubernetesVersion Version { get; init; }

    /// <summary>
    /// APT repository of the Kubernetes packages in pkgs.k8s.io's flat layout (an internal mirror for
    /// air-gapped sites), or <see langword="null"/> for the upstream channel of <see cref="Version"/>'s minor.
    /// </summary>
    public Uri? PackageSource { get; init; }

    /// <summary>
    /// Lower-case hex SHA-256 of the repository's signing key (<c>Release.key</c>), or <see langword="null"/> to
    /// trust it over HTTPS. Required for a plain-HTTP mirror.
    /// </summary>
    public string? PackageKeySha256 { get; init; }

    /// <summary>Where the CNI (Calico VXLAN) manifest is fetched from, or <see langword="null"/> for the pinned upstream release.</summary>
    public Uri? CniManifestUrl { get; init; }

    /// <summary>
    /// Lower-case hex SHA-256 the CNI manifest must have. No default: without it the manifest is never
    /// applied (the bootstrap plan reports a blocker) rather than trusted unverified.
    /// </summary>
    public string? CniManifestSha256 { get; init; }

    /// <summary>Most processes one pod may run (kubelet <c>podPidsLimit</c>, CIS 4.2.13).</summary>
    public int PodPidsLimit { get; init; } = DefaultPodPidsLimit;

    /// <summary>Registry of the control-plane images (kubeadm <c>imageRepository</c>, e.g. an air-gapped mirror), or <see langword="null"/> for upstream.</summary>
    public string? ImageRepository { get; init; }

    /// <summary>Pod network; must not overlap stack networks or <see cref="ServiceCidr"/>.</summary>
    public required Ipv4Cidr PodCidr { get; init; }

    /// <summary>Service network; must not overlap stack networks or <see cref="PodCidr"/>.</summary>
    public required Ipv4Cidr ServiceCidr { get; init; }

    /// <summary>
    /// Virtual IP of the API server endpoint (held by keepalived on the control planes), in the static range of
    /// the control-plane network (never handed to a node), or <see langword="null"/> to use the first
    /// control-plane node (a single point of failure).
    /// </summary>
    public Ipv4Address? ControlPlaneEndpoint { get; init; }
}
