using System.Globalization;
using System.Text.RegularExpressions;

namespace Provisioner.Core.Kubernetes;

/// <summary>What the tool observed on a node that decides what the node's runtime can do.</summary>
public sealed record NodeFacts
{
    /// <summary>Kernel release as <c>uname -r</c> prints it, e.g. <c>6.1.0-28-cloud-amd64</c>, or null when unknown.</summary>
    public string? KernelRelease { get; init; }

    /// <summary>containerd version as <c>containerd --version</c> reports it, e.g. <c>1.6.20~ds1</c>, or null when not installed.</summary>
    public string? ContainerdVersion { get; init; }

    /// <summary>The network interface that holds the node's cluster address (for keepalived), or null when unknown.</summary>
    public string? ClusterInterface { get; init; }

    /// <summary>Whether swap is active or configured in <c>/etc/fstab</c>.</summary>
    public bool SwapEnabled { get; init; }
}

/// <summary>
/// Whether the nodes can run pods in their own user namespace (<c>hostUsers: false</c>) for real: Kubernetes 1.33
/// or newer (user namespaces on by default), Linux 6.3 or newer (idmapped mounts on tmpfs, which the kubelet needs
/// for the service account token and other projected volumes) and containerd 2.0 or newer on every node. When any
/// node falls short the policy requiring it is not rendered, and <see cref="Statement"/> says why instead of pretending.
/// </summary>
/// <param name="Supported">Whether every requirement holds on every node.</param>
/// <param name="Statement">A sentence for plans and reports naming what is missing where.</param>
public sealed partial record UserNamespaceCapability(bool Supported, string Statement)
{
    /// <summary>Minimum kernel (major, minor).</summary>
    public static readonly (int Major, int Minor) MinimumKernel = (6, 3);

    /// <summary>Minimum containerd (major, minor).</summary>
    public static readonly (int Major, int Minor) MinimumContainerd = (2, 0);

    /// <summary>Evaluates the requirements for <paramref name="version"/> over <paramref name="nodes"/> (by node name).</summary>
    public static UserNamespaceCapability Evaluate(KubernetesVersion version, IReadOnlyDictionary<string, NodeFacts?> nodes)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        var missing = new List<string>();
        if (!version.AtLeast(1, 33))
        {
            missing.Add($"Kubernetes {version} is older than 1.33");
        }

        foreach (var (name, facts) in nodes.OrderBy(n => n.Key, StringComparer.Ordinal))
        {
            if (facts is null)
            {
                missing.Add($"node {name} has not been inspected yet");
                continue;
            }

            if (!TryMajorMinor(facts.KernelRelease, out var kernel))
            {
                missing.Add($"node {name}: kernel version unknown");
            }
            else if (kernel.CompareTo(MinimumKernel) < 0)
            {
                missing.Add($"node {name}: kernel {facts.KernelRelease} is older than {MinimumKernel.Major}.{MinimumKernel.Minor}");
            }

            if (!TryMajorMinor(facts.ContainerdVersion, out var containerd))
            {
                missing.Add($"node {name}: containerd version unknown");
            }
            else if (containerd.CompareTo(MinimumContainerd) < 0)
            {
                missing.Add($"node {name}: containerd {facts.ContainerdVersion} is older than {MinimumContainerd.Major}.{MinimumContainerd.Minor}");
            }
        }

        return missing.Count == 0
            ? new UserNamespaceCapability(true, "tenant pods must run in their own user namespace (hostUsers: false): every node supports it")
            : new UserNamespaceCapability(false,
                "hostUsers: false is NOT required: the nodes cannot honour it (" + string.Join("; ", missing) + "); tenant pods share the host's user namespace");
    }

    /// <summary>Reads the leading <c>major.minor</c> of a version string such as <c>6.1.0-28-cloud-amd64</c> or <c>v2.0.1</c>.</summary>
    internal static bool TryMajorMinor(string? text, out (int Major, int Minor) version)
    {
        version = default;
        var match = text is null ? Match.Empty : LeadingVersion().Match(text);
        if (!match.Success)
        {
            return false;
        }

        version = (int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture));
        return true;
    }

    [GeneratedRegex(@"^v?(\d{1,4})\.(\d{1,4})", RegexOptions.CultureInvariant)]
    private static partial Regex LeadingVersion();
}
