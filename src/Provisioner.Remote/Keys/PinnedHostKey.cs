using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;

namespace Provisioner.Remote.Keys;

/// <summary>
/// The host key a server must present, known before the first connection (the tool generates host keys
/// and injects them through cloud-init), so there is no trust on first use. Matching compares the whole
/// public key blob, not a fingerprint string.
/// </summary>
public sealed class PinnedHostKey : IEquatable<PinnedHostKey>
{
    private readonly ImmutableArray<byte> _blob;

    private PinnedHostKey(string algorithm, ImmutableArray<byte> blob)
    {
        Algorithm = algorithm;
        _blob = blob;
        Fingerprint = HostKeyFingerprint.Compute(blob.AsSpan());
    }

    /// <summary>The key type named inside the blob, e.g. <c>ssh-ed25519</c>.</summary>
    public string Algorithm { get; }

    /// <summary>The public key in SSH wire encoding.</summary>
    public ReadOnlySpan<byte> Blob => _blob.AsSpan();

    /// <summary>The SHA-256 fingerprint as <c>ssh-keygen -lf</c> prints it.</summary>
    public string Fingerprint { get; }

    /// <summary>Pins the key in an OpenSSH public key line: <c>type base64 [comment]</c>.</summary>
    /// <exception cref="FormatException">The line is malformed, or its type does not match the type inside the blob.</exception>
    public static PinnedHostKey FromPublicKeyLine(string publicKeyLine)
    {
        ArgumentNullException.ThrowIfNull(publicKeyLine);
        var parts = publicKeyLine.Trim().Split([' ', '\t'], 3, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2)
        {
            throw new FormatException($"'{Shorten(publicKeyLine)}' is not an OpenSSH public key line (expected 'type base64 [comment]').");
        }

        byte[] blob;
        try
        {
            blob = Convert.FromBase64String(parts[1]);
        }
        catch (FormatException ex)
        {
            throw new FormatException($"the key data of public key line '{Shorten(publicKeyLine)}' is not base64.", ex);
        }

        var key = FromBlob(blob);
        if (!string.Equals(key.Algorithm, parts[0], StringComparison.Ordinal))
        {
            throw new FormatException($"public key line says type '{parts[0]}' but its key data is of type '{key.Algorithm}'.");
        }

        return key;
    }

    /// <summary>Pins a public key blob (SSH wire encoding).</summary>
    /// <exception cref="FormatException">The blob is not a well-formed SSH public key.</exception>
    public static PinnedHostKey FromBlob(ReadOnlySpan<byte> blob)
    {
        var reader = new SshWireReader(blob);
        string algorithm;
        try
        {
            algorithm = Encoding.ASCII.GetString(reader.String());
            if (algorithm.Length == 0 || algorithm.Any(c => c is <= ' ' or > '~'))
            {
                throw new FormatException("the key type is not a printable name");
            }

            if (algorithm == SshKeyPair.Ed25519Algorithm)
            {
                if (reader.String().Length != SshKeyPair.Ed25519KeySize || !reader.AtEnd)
                {
                    throw new FormatException("an ssh-ed25519 key is 32 bytes with nothing after it");
                }
            }
            else if (reader.AtEnd)
            {
                throw new FormatException("no key data follows the key type");
            }
        }
        catch (FormatException ex)
        {
            throw new FormatException($"not an SSH public key blob: {ex.Message}.", ex);
        }

        return new PinnedHostKey(algorithm, [.. blob]);
    }

    /// <summary>The key as an OpenSSH public key line without comment: <c>type base64</c>.</summary>
    public string ToPublicKeyLine() => Algorithm + " " + Convert.ToBase64String(_blob.AsSpan());

    /// <summary>Whether <paramref name="presentedBlob"/> is exactly the pinned key.</summary>
    public bool Matches(ReadOnlySpan<byte> presentedBlob) =>
        presentedBlob.Length == _blob.Length && CryptographicOperations.FixedTimeEquals(presentedBlob, _blob.AsSpan());

    /// <summary>
    /// The SSH host key signature algorithms that use this key type (an RSA key signs with
    /// <c>rsa-sha2-512</c>, <c>rsa-sha2-256</c> or <c>ssh-rsa</c>); the client offers only these, so the
    /// server cannot pick another of its host keys.
    /// </summary>
    public IReadOnlyList<string> HostKeyAlgorithms => Algorithm switch
    {
        "ssh-rsa" => ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
        _ => [Algorithm],
    };

    /// <inheritdoc />
    public bool Equals(PinnedHostKey? other) => other is not null && Matches(other.Blob);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as PinnedHostKey);

    /// <inheritdoc />
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Fingerprint);

    /// <summary>The algorithm and fingerprint, e.g. <c>ssh-ed25519 SHA256:…</c>.</summary>
    public override string ToString() => Algorithm + " " + Fingerprint;

    private static string Shorten(string value) => value.Length <= 60 ? value : value[..57] + "...";
}
