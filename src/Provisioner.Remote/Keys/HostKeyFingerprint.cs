using System.Security.Cryptography;

namespace Provisioner.Remote.Keys;

/// <summary>
/// SHA-256 fingerprints of SSH public keys in the form OpenSSH prints them
/// (<c>ssh-keygen -lf</c>, <c>ssh</c>'s host key prompts): <c>SHA256:</c> followed by unpadded base64.
/// </summary>
/// <remarks>Fingerprints are for people to compare. Pinning compares the full key blob (<see cref="PinnedHostKey"/>).</remarks>
public static class HostKeyFingerprint
{
    /// <summary>The prefix of every fingerprint.</summary>
    public const string Prefix = "SHA256:";

    /// <summary>The fingerprint of a public key blob (the SSH wire encoding, the base64 part of a public key line).</summary>
    public static string Compute(ReadOnlySpan<byte> publicKeyBlob)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(publicKeyBlob, hash);
        return Prefix + Convert.ToBase64String(hash).TrimEnd('=');
    }

    /// <summary>The fingerprint of an OpenSSH public key line (<c>ssh-ed25519 AAAA… comment</c>).</summary>
    /// <exception cref="FormatException">The line is not a well-formed public key line.</exception>
    public static string FromPublicKeyLine(string publicKeyLine) => PinnedHostKey.FromPublicKeyLine(publicKeyLine).Fingerprint;

    /// <summary>
    /// Parses a fingerprint as OpenSSH prints it and returns the 32-byte SHA-256 digest it encodes.
    /// </summary>
    /// <exception cref="FormatException">The text is not <c>SHA256:</c> followed by 43 characters of unpadded base64.</exception>
    public static byte[] Parse(string fingerprint)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        if (!TryParse(fingerprint, out var digest))
        {
            throw new FormatException($"'{fingerprint}' is not an OpenSSH SHA256 fingerprint (SHA256: followed by 43 base64 characters).");
        }

        return digest;
    }

    /// <summary>Tries to parse a fingerprint; see <see cref="Parse"/>.</summary>
    public static bool TryParse(string? fingerprint, out byte[] digest)
    {
        digest = [];
        if (fingerprint is null || !fingerprint.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var encoded = fingerprint[Prefix.Length..];
        if (encoded.Length != 43)
        {
            return false;
        }

        var buffer = new byte[33];
        if (!Convert.TryFromBase64String(encoded + "=", buffer, out var written) || written != SHA256.HashSizeInBytes)
        {
            return false;
        }

        digest = buffer[..written];
        // Reject non-canonical encodings (stray low bits in the last character) so each digest has one spelling.
        return string.Equals(Prefix + Convert.ToBase64String(digest).TrimEnd('='), fingerprint, StringComparison.Ordinal);
    }
}
