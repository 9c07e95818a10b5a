using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Provisioner.Core.Kubernetes.Check;
using Provisioner.Core.Stacks;

namespace Provisioner.Core.Kubernetes;

/// <summary>A cluster node with its role and address.</summary>
/// <param name="Name">Node (and host) name.</param>
/// <param name="Role">Control plane or worker.</param>
/// <param name="Address">Its cluster address.</param>
public sealed record ClusterNode(string Name, NodeRole Role, Ipv4Address Address);

/// <summary>A configuration problem that stops the bootstrap, naming the field.</summary>
public sealed class KubernetesConfigurationException(string field, string message)
    : Exception($"{field}: {message}")
{
    /// <summary>The configuration field, e.g. <c>provisioner:kubernetes.version</c>.</summary>
    public string Field { get; } = field;
}

/// <summary>
/// Everything the rendering and the bootstrap plan need about one cluster, derived from a validated stack's
/// <c>provisioner:kubernetes</c> section (<see cref="KubernetesSettings"/>), with the computed parts made explicit: node addresses, the API endpoint,
/// the package channel, the installed components and the Pod Security exemptions that follow from them.
/// </summary>
public sealed partial record KubernetesClusterSpec
{
    /// <summary>The API server's port on every control-plane node and on the virtual IP.</summary>
    public const int ApiServerPort = 6443;

    /// <summary>Cluster name (the stack name).</summary>
    public required string ClusterName { get; init; }

    /// <summary>Pinned release.</summary>
    public required KubernetesVersion Version { get; init; }

    /// <summary>The stable API address: the virtual IP, or the first control plane's address when no VIP is declared.</summary>
    public required Ipv4Address Endpoint { get; init; }

    /// <summary>Whether <see cref="Endpoint"/> is a virtual IP held by keepalived on the control planes.</summary>
    public required bool EndpointIsVirtual { get; init; }

    /// <summary>Prefix length of the control-plane network (for the VIP).</summary>
    public required int EndpointPrefixLength { get; init; }

    /// <summary>Pod network.</summary>
    public required Ipv4Cidr PodCidr { get; init; }

    /// <summary>Service network.</summary>
    public required Ipv4Cidr ServiceCidr { get; init; }

    /// <summary>Control-plane nodes in ordinal name order; the first is where <c>kubeadm init</c> runs.</summary>
    public required IReadOnlyList<ClusterNode> ControlPlanes { get; init; }

    /// <summary>Worker nodes in ordinal name order.</summary>
    public required IReadOnlyList<ClusterNode> Workers { get; init; }

    /// <summary>APT repository of the Kubernetes packages (flat pkgs.k8s.io layout: suite <c>/</c>, key at <c>Release.key</c>).</summary>
    public required Uri PackageRepository { get; init; }

    /// <summary>Whether <see cref="PackageRepository"/> came from the stack (a mirror) rather than the upstream default.</summary>
    public required bool PackageRepositoryConfigured { get; init; }

    /// <summary>Pinned SHA-256 of the repository signing key, or null.</summary>
    public string? PackageKeySha256 { get; init; }

    /// <summary>The pod network plugin.</summary>
    public required CniPlugin Cni { get; init; }

    /// <summary>kubelet <c>podPidsLimit</c>.</summary>
    public required int PodPidsLimit { get; init; }

    /// <summary>Control-plane image registry, or null for upstream.</summary>
    public string? ImageRepository { get; init; }

    /// <summary>What the project installs into the cluster.</summary>
    public required IReadOnlyList<ClusterComponent> Components { get; init; }

    /// <summary>Namespaces exempt from Pod Security and the project's policies, computed from <see cref="Components"/>.</summary>
    public required IReadOnlyList<NamespaceExemption> Exemptions { get; init; }

    /// <summary>All nodes, control planes first.</summary>
    public IEnumerable<ClusterNode> Nodes => ControlPlanes.Concat(Workers);

    /// <summary>The first control plane, where the cluster is initialised.</summary>
    public ClusterNode FirstControlPlane => ControlPlanes[0];

    /// <summary><c>https://ENDPOINT:6443</c>.</summary>
    public string ApiServerUrl => $"https://{Endpoint}:{ApiServerPort}";

    /// <summary>
    /// VRRP router id of the cluster's virtual IP (1-255), derived from the cluster name so clusters sharing a
    /// segment rarely collide and every run agrees.
    /// </summary>
    public int VirtualRouterId => 1 + (int)(BinaryPrimitives.ReadUInt32BigEndian(SHA256.HashData(Encoding.UTF8.GetBytes("vrrp\0" + ClusterName))) % 255);

    /// <summary>The Pod Security rules for these nodes (user namespaces only when <paramref name="capability"/> says they work).</summary>
    public PodSecurityRuleSet PodSecurity(UserNamespaceCapability capability) => PodSecurityRuleSet.For(Version, capability, Exemptions);

    /// <summary>The node with <paramref name="name"/>, or null.</summary>
    public ClusterNode? FindNode(string name) => Nodes.FirstOrDefault(n => n.Name == name);

    /// <summary>Derives the spec from <paramref name="stack"/>.</summary>
    /// <exception cref="KubernetesConfigurationException">
    /// The stack declares no cluster, or a setting cannot be bootstrapped (settings built in code rather than
    /// loaded, which the loader would have refused with the same field path).
    /// </exception>
    public static KubernetesClusterSpec From(StackDefinition stack)
    {
        ArgumentNullException.ThrowIfNull(stack);
        const string section = "provisioner:kubernetes";
        var settings = stack.Kubernetes ?? throw new KubernetesConfigurationException(section, "the stack declares no Kubernetes cluster");
        var version = settings.Version;
        if (version < KubernetesVersion.MinimumSupported)
        {
            throw new KubernetesConfigurationException($"{section}.version",
                $"'{version}' is older than {KubernetesVersion.MinimumSupported.Major}.{KubernetesVersion.MinimumSupported.Minor}: anonymous access cannot be limited to the health endpoints there, so CIS 1.2.1 would break kubeadm's API server probes");
        }

        if (settings.CniManifestSha256 is { } sha && !Sha256Pattern().IsMatch(sha))
        {
            throw new KubernetesConfigurationException($"{section}.cni.sha256", $"'{sha}' is not a SHA-256 in hex (64 characters)");
        }

        if (settings.PackageKeySha256 is { } keySha && !Sha256Pattern().IsMatch(keySha))
        {
            throw new KubernetesConfigurationException($"{section}.packageKeySha256", $"'{keySha}' is not a SHA-256 in hex (64 characters)");
        }

        if (settings.PodPidsLimit is < 64 or > 1_000_000)
        {
            throw new KubernetesConfigurationException($"{section}.podPidsLimit", $"{settings.PodPidsLimit} is not between 64 and 1000000");
        }

        if (settings.ImageRepository is { } registry && !ImageRepositoryPattern().IsMatch(registry))
        {
            throw new KubernetesConfigurationException($"{section}.imageRepository", $"'{registry}' is not a registry path (host[:port][/path])");
        }

        var addresses = NodeAddressing.Assign(stack);
        List<ClusterNode> Nodes(NodeRole role) => stack.Nodes
            .Where(n => n.Role == role)
            .OrderBy(n => n.Name, StringComparer.Ordinal)
            .Select(n => new ClusterNode(n.Name, role, addresses[n.Name].Ipv4Address))
            .ToList();
        var controlPlanes = Nodes(NodeRole.ControlPlane);
        if (controlPlanes.Count == 0)
        {
            throw new KubernetesConfigurationException("provisioner:nodes", "no node has role control-plane");
        }

        var cpNetwork = stack.FindNetwork(stack.FindNode(controlPlanes[0].Name)!.Network)!;
        var cni = CniPlugin.Calico(settings.CniManifestUrl, settings.CniManifestSha256);
        var components = ClusterComponents.For(cni);
        var configured = settings.PackageSource is not null;
        return new KubernetesClusterSpec
        {
            ClusterName = stack.Name,
            Version = version,
            Endpoint = settings.ControlPlaneEndpoint ?? controlPlanes[0].Address,
            EndpointIsVirtual = settings.ControlPlaneEndpoint is not null,
            EndpointPrefixLength = cpNetwork.Cidr.PrefixLength,
            PodCidr = settings.PodCidr,
            ServiceCidr = settings.ServiceCidr,
            ControlPlanes = controlPlanes,
            Workers = Nodes(NodeRole.Worker),
            PackageRepository = settings.PackageSource is { } source
                ? (source.AbsoluteUri.EndsWith('/') ? source : new Uri(source.AbsoluteUri + "/"))
                : new Uri($"https://pkgs.k8s.io/core:/stable:/{version.MinorTag}/deb/"),
            PackageRepositoryConfigured = configured,
            PackageKeySha256 = settings.PackageKeySha256?.ToLowerInvariant(),
            Cni = cni,
            PodPidsLimit = settings.PodPidsLimit,
            ImageRepository = settings.ImageRepository,
            Components = components,
            Exemptions = ClusterComponents.Exemptions(components),
        };
    }

    [GeneratedRegex("^[0-9a-fA-F]{64}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex Sha256Pattern();

    [GeneratedRegex(@"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(/[a-z0-9._-]+)*\z", RegexOptions.CultureInvariant)]
    private static partial Regex ImageRepositoryPattern();
}
