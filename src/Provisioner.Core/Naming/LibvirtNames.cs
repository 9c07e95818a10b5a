using System.Security.Cryptography;
using System.Text;

namespace Provisioner.Core.Naming;

/// <summary>
/// Names of the libvirt objects the tool creates for a stack. Every part is checked against
/// <see cref="ResourceName"/> again here, so a name that skipped stack validation still cannot
/// reach libvirt XML or a file name.
/// </summary>
/// <remarks>
/// Identity of an object is carried by the tool's libvirt metadata, not by parsing these names;
/// the names only have to be unique per host and readable by an operator. They are: stack names
/// contain no '-' (<see cref="ResourceName.ExplainStack"/>), so <c>&lt;stack&gt;-</c> is an
/// unambiguous prefix; root and seed volumes differ in their suffix; golden volumes end in hex
/// digits, never in <c>root</c> or <c>seed</c>. The engine should still check the metadata owner
/// before changing an object it finds by name.
/// </remarks>
public static class LibvirtNames
{
    /// <summary>Length of the checksum prefix in golden volume names.</summary>
    public const int ShortChecksumLength = 12;

    /// <summary>Domain name of a node: <c>&lt;stack&gt;-&lt;node&gt;</c>.</summary>
    public static string Domain(string stack, string node)
    {
        Check(stack, node);
        return $"{stack}-{node}";
    }

    /// <summary>Root disk volume of a node: <c>&lt;stack&gt;-&lt;node&gt;-root</c>.</summary>
    public static string RootVolume(string stack, string node)
    {
        Check(stack, node);
        return $"{stack}-{node}-root";
    }

    /// <summary>Cloud-init seed volume of a node: <c>&lt;stack&gt;-&lt;node&gt;-seed</c>.</summary>
    public static string SeedVolume(string stack, string node)
    {
        Check(stack, node);
        return $"{stack}-{node}-seed";
    }

    /// <summary>libvirt network name of a stack network: <c>&lt;stack&gt;-&lt;network&gt;</c>.</summary>
    public static string Network(string stack, string network)
    {
        ResourceName.ThrowIfInvalidStack(stack, nameof(stack));
        ResourceName.ThrowIfInvalid(network, ResourceName.MaxNetworkLength, nameof(network));
        return $"{stack}-{network}";
    }

    /// <summary>
    /// Linux bridge name for a NAT network the tool creates: <c>pv-</c> and 10 hex digits of
    /// SHA-256 over stack and network (kept apart by a NUL). Interface names are limited to 15 characters (IFNAMSIZ),
    /// too short for <c>&lt;stack&gt;-&lt;network&gt;</c>, and libvirt's own <c>virbrN</c>
    /// numbering is not stable across hosts.
    /// </summary>
    public static string Bridge(string stack, string network)
    {
        _ = Network(stack, network);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"bridge\0{stack}\0{network}"));
        return "pv-" + Convert.ToHexStringLower(hash, 0, 5);
    }

    /// <summary>Prefix of every golden image volume, so leftovers can be recognised by name.</summary>
    public const string GoldenVolumePrefix = "golden-";

    /// <summary>
    /// Golden image volume: <c>golden-&lt;image&gt;-&lt;first 12 hex digits of checksum&gt;</c>.
    /// The checksum is the image's SHA-256 in hex, so a rebuilt image gets a new volume and
    /// existing nodes keep their backing file.
    /// </summary>
    public static string GoldenVolume(string image, string sha256Hex)
    {
        ResourceName.ThrowIfInvalid(image, ResourceName.MaxImageLength, nameof(image));
        ArgumentNullException.ThrowIfNull(sha256Hex);
        if (sha256Hex.Length < ShortChecksumLength || !sha256Hex.All(c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f') or (>= 'A' and <= 'F')))
        {
            throw new ArgumentException(
                $"{ResourceName.Quote(sha256Hex)} is not a hex checksum of at least {ShortChecksumLength} digits",
                nameof(sha256Hex));
        }

        return $"{GoldenVolumePrefix}{image}-{sha256Hex[..ShortChecksumLength].ToLowerInvariant()}";
    }

    /// <summary>Suffix of a golden image's verification marker volume (created once the upload read back intact).</summary>
    public const string GoldenMarkerSuffix = "-ok";

    /// <summary>The verification marker's name for the golden image volume <paramref name="goldenVolume"/>.</summary>
    public static string GoldenMarker(string goldenVolume)
    {
        ArgumentNullException.ThrowIfNull(goldenVolume);
        return goldenVolume + GoldenMarkerSuffix;
    }

    /// <summary>Whether <paramref name="volumeName"/> is a golden image's verification marker (not the image itself).</summary>
    public static bool IsGoldenMarker(string volumeName) =>
        IsGoldenVolume(volumeName) && volumeName.EndsWith(GoldenMarkerSuffix, StringComparison.Ordinal);

    /// <summary>
    /// Whether <paramref name="volumeName"/> is a golden image volume (<see cref="GoldenVolume"/>) or its verification
    /// marker (<see cref="GoldenMarker"/>). Matched on the whole shape, not the prefix alone: a stack may be named
    /// <c>golden</c>, and its nodes' <c>golden-…-root</c> disks are not images.
    /// </summary>
    public static bool IsGoldenVolume(string volumeName)
    {
        ArgumentNullException.ThrowIfNull(volumeName);
        if (!volumeName.StartsWith(GoldenVolumePrefix, StringComparison.Ordinal))
        {
            return false;
        }

        var name = volumeName.EndsWith(GoldenMarkerSuffix, StringComparison.Ordinal) ? volumeName[..^GoldenMarkerSuffix.Length] : volumeName;
        var dash = name.LastIndexOf('-');
        return dash > GoldenVolumePrefix.Length
            && name.Length - dash - 1 == ShortChecksumLength
            && name[(dash + 1)..].All(c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f'))
            && ResourceName.IsValid(name[GoldenVolumePrefix.Length..dash], ResourceName.MaxImageLength);
    }

    private static void Check(string stack, string node)
    {
        ResourceName.ThrowIfInvalidStack(stack, nameof(stack));
        ResourceName.ThrowIfInvalid(node, ResourceName.MaxNodeLength, nameof(node));
    }
}
