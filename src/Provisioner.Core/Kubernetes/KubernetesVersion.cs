using System.Globalization;
using System.Text.RegularExpressions;

namespace Provisioner.Core.Kubernetes;

/// <summary>
/// A Kubernetes release <c>major.minor.patch</c>. Packages are pinned to the exact patch release and
/// kubeadm's <c>kubernetesVersion</c> must name it, so a version without a patch number cannot be
/// bootstrapped (<see cref="TryParse"/> says so).
/// </summary>
/// <param name="Major">Major version (1).</param>
/// <param name="Minor">Minor version, e.g. 34.</param>
/// <param name="Patch">Patch release, e.g. 2.</param>
public readonly partial record struct KubernetesVersion(int Major, int Minor, int Patch) : IComparable<KubernetesVersion>
{
    /// <summary>
    /// Oldest release the hardened bootstrap supports: 1.32 is the first with the structured
    /// <c>AuthenticationConfiguration</c> anonymous-endpoint allow-list on by default (KEP-4633 beta), which is
    /// how anonymous access is turned off (CIS 1.2.1) without breaking kubeadm's health probes of the API server.
    /// </summary>
    public static readonly KubernetesVersion MinimumSupported = new(1, 32, 0);

    /// <summary>Newest minor release whose Pod Security checks this tool models (see <see cref="Check.PodSecurityRuleSet"/>).</summary>
    public static readonly KubernetesVersion NewestModelled = new(1, 36, 0);

    /// <summary>Parses <c>1.34.2</c> or <c>v1.34.2</c>.</summary>
    /// <param name="text">The version text.</param>
    /// <param name="version">The parsed version.</param>
    /// <param name="error">Why the text is refused (e.g. a missing patch number).</param>
    public static bool TryParse(string? text, out KubernetesVersion version, out string? error)
    {
        version = default;
        error = null;
        var match = text is null ? Match.Empty : VersionPattern().Match(text);
        if (!match.Success)
        {
            error = MinorOnlyPattern().IsMatch(text ?? string.Empty)
                ? "names no patch release; the packages are pinned to an exact release, e.g. 1.34.2"
                : "is not a Kubernetes version (major.minor.patch, e.g. 1.34.2)";
            return false;
        }

        version = new KubernetesVersion(
            int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture),
            int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture),
            int.Parse(match.Groups[3].Value, CultureInfo.InvariantCulture));
        return true;
    }

    /// <summary>Parses like <see cref="TryParse"/>, throwing <see cref="FormatException"/>.</summary>
    public static KubernetesVersion Parse(string text) =>
        TryParse(text, out var version, out var error) ? version : throw new FormatException($"'{text}' {error}");

    /// <summary><c>v1.34.2</c>, as kubeadm's <c>kubernetesVersion</c> wants it.</summary>
    public string Tag => string.Create(CultureInfo.InvariantCulture, $"v{Major}.{Minor}.{Patch}");

    /// <summary><c>v1.34</c>: the Pod Security policy version and the pkgs.k8s.io channel.</summary>
    public string MinorTag => string.Create(CultureInfo.InvariantCulture, $"v{Major}.{Minor}");

    /// <summary>Whether this release is at least <paramref name="major"/>.<paramref name="minor"/>.</summary>
    public bool AtLeast(int major, int minor) => Major > major || (Major == major && Minor >= minor);

    /// <inheritdoc />
    public int CompareTo(KubernetesVersion other) =>
        Major != other.Major ? Major.CompareTo(other.Major)
        : Minor != other.Minor ? Minor.CompareTo(other.Minor)
        : Patch.CompareTo(other.Patch);

    /// <summary>Orders versions.</summary>
    public static bool operator <(KubernetesVersion left, KubernetesVersion right) => left.CompareTo(right) < 0;

    /// <summary>Orders versions.</summary>
    public static bool operator >(KubernetesVersion left, KubernetesVersion right) => left.CompareTo(right) > 0;

    /// <summary>Orders versions.</summary>
    public static bool operator <=(KubernetesVersion left, KubernetesVersion right) => left.CompareTo(right) <= 0;

    /// <summary>Orders versions.</summary>
    public static bool operator >=(KubernetesVersion left, KubernetesVersion right) => left.CompareTo(right) >= 0;

    /// <summary><c>1.34.2</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Major}.{Minor}.{Patch}");

    [GeneratedRegex(@"^v?(1)\.(\d{1,3})\.(\d{1,4})\z", RegexOptions.CultureInvariant)]
    private static partial Regex VersionPattern();

    [GeneratedRegex(@"^v?1\.\d{1,3}\z", RegexOptions.CultureInvariant)]
    private static partial Regex MinorOnlyPattern();
}
