using System.Buffers.Binary;
using System.Text;

namespace Provisioner.Core.Stacks;

/// <summary>
/// An OpenSSH public key line (<c>type base64-blob [comment]</c>) that has been checked:
/// the type is one of <see cref="AllowedTypes"/>, the blob is valid base64, its embedded type
/// matches, and its fields have the shape the type demands (RSA keys at least 2048 bits).
/// </summary>
public sealed record SshPublicKey
{
    /// <summary>Key types accepted for admin access. DSA and RSA-SHA1-only legacy types are refused.</summary>
    public static readonly IReadOnlyList<string> AllowedTypes =
        ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa"];

    /// <summary>Smallest accepted RSA modulus.</summary>
    public const int MinRsaBits = 2048;

    /// <summary>Key type, e.g. <c>ssh-ed25519</c>.</summary>
    public required string Type { get; init; }

    /// <summary>The key blob in base64, exactly as given.</summary>
    public required string Blob { get; init; }

    /// <summary>The comment after the blob, or <see langword="null"/>.</summary>
    public string? Comment { get; init; }

    /// <summary>The key as one authorized_keys line: <c>type blob [comment]</c>.</summary>
    public override string ToString() => Comment is null ? $"{Type} {Blob}" : $"{Type} {Blob} {Comment}";

    /// <summary>Parses one public key line. <paramref name="error"/> says what is wrong without echoing the key.</summary>
    public static bool TryParse(string? line, out SshPublicKey? key, out string? error)
    {
        key = null;
        error = null;
        if (string.IsNullOrWhiteSpace(line))
        {
            error = "is empty";
            return false;
        }

        if (line.Any(c => c is < ' ' or > '~'))
        {
            error = "contains control or non-ASCII characters; a key is one printable line";
            return false;
        }

        var parts = line.Trim().Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2)
        {
            error = "is not an OpenSSH public key line (expected '<type> <base64> [comment]')";
            return false;
        }

        var type = parts[0];
        if (!AllowedTypes.Contains(type, StringComparer.Ordinal))
        {
            error = AllowedTypes.Any(t => parts[1].Equals(t, StringComparison.Ordinal))
                ? "starts with authorized_keys options; give the bare key line"
                : $"has key type '{Truncate(type)}', allowed: {string.Join(", ", AllowedTypes)}";
            return false;
        }

        byte[] blob;
        try
        {
            blob = Convert.FromBase64String(parts[1]);
        }
        catch (FormatException)
        {
            error = "has a key blob that is not valid base64";
            return false;
        }

        var reader = new BlobReader(blob);
        if (!reader.TryReadString(out var embeddedType) || !embeddedType.SequenceEqual(Encoding.ASCII.GetBytes(type)))
        {
            error = $"has a key blob whose embedded type does not match '{type}'";
            return false;
        }

        var shapeError = type switch
        {
            "ssh-ed25519" => CheckEd25519(ref reader),
            "ssh-rsa" => CheckRsa(ref reader),
            _ => CheckEcdsa(ref reader, type["ecdsa-sha2-".Length..]),
        };
        if (shapeError is null && !reader.AtEnd)
        {
            shapeError = "has trailing bytes after the key";
        }

        if (shapeError is not null)
        {
            error = $"is not a valid {type} key: {shapeError}";
            return false;
        }

        key = new SshPublicKey { Type = type, Blob = parts[1], Comment = parts.Length == 3 ? parts[2].Trim() : null };
        return true;
    }

    private static string? CheckEd25519(ref BlobReader reader) =>
        reader.TryReadString(out var point) && point.Length == 32 ? null : "the public key is not 32 bytes";

    private static string? CheckRsa(ref BlobReader reader)
    {
        if (!reader.TryReadString(out var exponent) || exponent.Length == 0 || !reader.TryReadString(out var modulus))
        {
            return "exponent or modulus missing";
        }

        // mpint: big-endian two's complement, a leading zero byte keeps a set top bit positive.
        var bytes = modulus.Length > 0 && modulus[0] == 0 ? modulus[1..] : modulus;
        var bits = bytes.Length == 0 ? 0 : ((bytes.Length - 1) * 8) + (32 - System.Numerics.BitOperations.LeadingZeroCount((uint)bytes[0]));
        return bits < MinRsaBits ? $"the modulus has {bits} bits, at least {MinRsaBits} required" : null;
    }

    private static string? CheckEcdsa(ref BlobReader reader, string curve)
    {
        if (!reader.TryReadString(out var curveName) || !curveName.SequenceEqual(Encoding.ASCII.GetBytes(curve)))
        {
            return $"the curve name is not '{curve}'";
        }

        var coordinateBytes = curve switch { "nistp256" => 32, "nistp384" => 48, _ => 66 };
        return reader.TryReadString(out var point) && point.Length == 1 + (2 * coordinateBytes) && point[0] == 4
            ? null
            : "the public point is not an uncompressed point of the curve";
    }

    private static string Truncate(string value) => value.Length <= 40 ? value : value[..40] + "…";

    private ref struct BlobReader(ReadOnlySpan<byte> data)
    {
        private ReadOnlySpan<byte> _rest = data;

        public readonly bool AtEnd => _rest.IsEmpty;

        public bool TryReadString(out ReadOnlySpan<byte> value)
        {
            value = default;
            if (_rest.Length < 4)
            {
                return false;
            }

            var length = BinaryPrimitives.ReadUInt32BigEndian(_rest);
            if (length > (uint)(_rest.Length - 4))
            {
                return false;
            }

            value = _rest.Slice(4, (int)length);
            _rest = _rest[(4 + (int)length)..];
            return true;
        }
    }
}
