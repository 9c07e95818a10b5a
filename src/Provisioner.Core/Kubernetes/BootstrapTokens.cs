using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Provisioner.Core.Security;

namespace Provisioner.Core.Kubernetes;

/// <summary>
/// Bootstrap tokens (<c>[a-z0-9]{6}.[a-z0-9]{16}</c>), certificate keys (32 bytes hex) and encryption keys
/// (32 bytes base64), generated from the system's cryptographic random source.
/// </summary>
public static partial class BootstrapTokens
{
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>A new random bootstrap token.</summary>
    public static Secret NewToken() =>
        new(RandomNumberGenerator.GetString(Alphabet, 6) + "." + RandomNumberGenerator.GetString(Alphabet, 16));

    /// <summary>A new kubeadm certificate key (AES-256 key as 64 hex digits).</summary>
    public static Secret NewCertificateKey() => new(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)));

    /// <summary>A new key for the encryption configuration (32 bytes, base64).</summary>
    public static Secret NewEncryptionKey() => new(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));

    /// <summary>The public id (the part before the dot) of a token, safe to log and to pass on a command line.</summary>
    public static string IdOf(Secret token)
    {
        Validate(token);
        return token.Reveal()[..6];
    }

    /// <summary>Throws unless <paramref name="token"/> is a well-formed bootstrap token.</summary>
    public static void Validate(Secret token)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (!TokenPattern().IsMatch(token.Reveal()))
        {
            throw new ArgumentException("not a bootstrap token ([a-z0-9]{6}.[a-z0-9]{16})", nameof(token));
        }
    }

    /// <summary>Whether <paramref name="text"/> is a well-formed bootstrap token.</summary>
    public static bool IsToken(string text) => text is not null && TokenPattern().IsMatch(text);

    /// <summary>Throws unless <paramref name="key"/> is 64 hex digits.</summary>
    public static void ValidateCertificateKey(Secret key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!CertificateKeyPattern().IsMatch(key.Reveal()))
        {
            throw new ArgumentException("not a certificate key (64 hex digits)", nameof(key));
        }
    }

    [GeneratedRegex("^[a-z0-9]{6}\\.[a-z0-9]{16}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex TokenPattern();

    [GeneratedRegex("^[0-9a-f]{64}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex CertificateKeyPattern();
}
