using System.Text.Json;

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

/// <summary>Kubernetes cluster settings (<c>provisioner:kubernetes</c>).</summary>
public sealed record KubernetesSettings
{
    /// <summary>Default pod network.</summary>
    public static readonly Ipv4Cidr DefaultPodCidr = Ipv4Cidr.Parse("10.244.0.0/16");

    /// <summary>Default service network.</summary>
    public static readonly Ipv4Cidr DefaultServiceCidr = Ipv4Cidr.Parse("10.96.0.0/12");

    /// <summary>Kubernetes version <c>major.minor</c> or <c>major.minor.patch</c>, e.g. <c>1.31</c>.</summary>
    public required string Version { get; init; }

    /// <summary>
    /// APT repository the Kubernetes packages come from (an air-gapped mirror or upstream), or
    /// <see langword="null"/> when none is configured (the bootstrap then cannot install packages).
    /// </summary>
    public Uri? PackageSource { get; init; }

    /// <summary>Pod network; must not overlap stack networks or <see cref="ServiceCidr"/>.</summary>
    public required Ipv4Cidr PodCidr { get; init; }

    /// <summary>Service network; must not overlap stack networks or <see cref="PodCidr"/>.</summary>
    public required Ipv4Cidr ServiceCidr { get; init; }

    /// <summary>
    /// Virtual IP of the API server endpoint, in the static range of the control-plane network
    /// (never handed to a node), or <see langword="null"/> to use the first control-plane node.
    /// </summary>
    public Ipv4Address? ControlPlaneEndpoint { get; init; }
}
