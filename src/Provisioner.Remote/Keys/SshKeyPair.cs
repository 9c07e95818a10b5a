using System.Security.Cryptography;
using System.Text;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;
using Provisioner.Core.Security;

namespace Provisioner.Remote.Keys;

/// <summary>
/// An SSH key pair generated in-process, in the encodings OpenSSH reads: the private key as an unencrypted
/// <c>openssh-key-v1</c> PEM file, the public key as an <c>authorized_keys</c>/<c>.pub</c> line.
/// Used both for host keys (injected through cloud-init, then pinned) and for client keys.
/// </summary>
public sealed class SshKeyPair
{
    internal const string Ed25519Algorithm = "ssh-ed25519";
    internal const int Ed25519KeySize = 32;

    private const string PemBegin = "-----BEGIN OPENSSH PRIVATE KEY-----";
    private const string PemEnd = "-----END OPENSSH PRIVATE KEY-----";
    private const string Magic = "openssh-key-v1\0";

    // ssh-keygen wraps the base64 body at 70 columns.
    private const int PemLineLength = 70;

    // Unencrypted keys are padded to the cipher block size of "none", which OpenSSH takes as 8.
    private const int PaddingBlockSize = 8;

    private SshKeyPair(Secret privateKey, PinnedHostKey publicKey, string comment)
    {
        PrivateKeyOpenSsh = privateKey;
        PublicKey = publicKey;
        Comment = comment;
        PublicKeyOpenSsh = comment.Length == 0 ? publicKey.ToPublicKeyLine() : publicKey.ToPublicKeyLine() + " " + comment;
    }

    /// <summary>The private key as OpenSSH PEM text (<c>-----BEGIN OPENSSH PRIVATE KEY-----</c>), unencrypted.</summary>
    public Secret PrivateKeyOpenSsh { get; }

    /// <summary>The public key line: <c>ssh-ed25519 AAAA… comment</c>.</summary>
    public string PublicKeyOpenSsh { get; }

    /// <summary>The public key, for pinning when this pair is a host key.</summary>
    public PinnedHostKey PublicKey { get; }

    /// <summary>The SHA-256 fingerprint, exactly as <c>ssh-keygen -lf</c> prints it.</summary>
    public string Fingerprint => PublicKey.Fingerprint;

    /// <summary>The comment stored in both keys (may be empty).</summary>
    public string Comment { get; }

    /// <summary>Generates a new Ed25519 key pair from the operating system's secure random generator.</summary>
    /// <param name="comment">Stored in the public key line and the private key, e.g. <c>provisioner@node-1</c>.
    /// Printable text without line breaks; may be empty.</param>
    public static SshKeyPair GenerateEd25519(string comment)
    {
        ValidateComment(comment);
        var privateKey = new Ed25519PrivateKeyParameters(new SecureRandom());
        var seed = privateKey.GetEncoded();
        var publicKey = privateKey.GeneratePublicKey().GetEncoded();
        try
        {
            return Create(seed, publicKey, comment);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(seed);
        }
    }

    /// <summary>
    /// Reads back an unencrypted Ed25519 private key in OpenSSH format (as produced by <see cref="GenerateEd25519"/>
    /// or <c>ssh-keygen -t ed25519 -N ''</c>), for example one kept in the tool's state.
    /// </summary>
    /// <exception cref="FormatException">The text is not an unencrypted OpenSSH Ed25519 private key, or it is inconsistent.</exception>
    public static SshKeyPair FromPrivateKeyOpenSsh(Secret privateKeyOpenSsh)
    {
        ArgumentNullException.ThrowIfNull(privateKeyOpenSsh);
        var text = privateKeyOpenSsh.Reveal().Trim();
        if (!text.StartsWith(PemBegin, StringComparison.Ordinal) || !text.EndsWith(PemEnd, StringComparison.Ordinal))
        {
            throw new FormatException("not an OpenSSH private key: the BEGIN/END OPENSSH PRIVATE KEY lines are missing.");
        }

        byte[] data;
        try
        {
            data = Convert.FromBase64String(text[PemBegin.Length..^PemEnd.Length]);
        }
        catch (FormatException ex)
        {
            throw new FormatException("not an OpenSSH private key: the body is not base64.", ex);
        }

        try
        {
            return Parse(data);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(data);
        }
    }

    private static SshKeyPair Parse(byte[] data)
    {
        var magic = Encoding.ASCII.GetBytes(Magic);
        if (!data.AsSpan().StartsWith(magic))
        {
            throw new FormatException("not an OpenSSH private key: the openssh-key-v1 magic is missing.");
        }

        var reader = new SshWireReader(data.AsSpan(magic.Length));
        var cipher = reader.Utf8String();
        var kdf = reader.Utf8String();
        reader.String();
        if (cipher != "none" || kdf != "none")
        {
            throw new FormatException($"the OpenSSH private key is encrypted (cipher '{cipher}', kdf '{kdf}'); only unencrypted keys are supported.");
        }

        if (reader.UInt32() != 1)
        {
            throw new FormatException("the OpenSSH private key file must hold exactly one key.");
        }

        var publicBlob = reader.String();
        var privateSection = new SshWireReader(reader.String());
        if (privateSection.UInt32() != privateSection.UInt32())
        {
            throw new FormatException("the OpenSSH private key's check integers differ (corrupt, or wrongly decrypted).");
        }

        var type = privateSection.Utf8String();
        if (type != Ed25519Algorithm)
        {
            throw new FormatException($"the OpenSSH private key is of type '{type}'; only {Ed25519Algorithm} is supported.");
        }

        var publicKey = privateSection.String().ToArray();
        var secret = privateSection.String();
        var comment = privateSection.Utf8String();
        if (publicKey.Length != Ed25519KeySize || secret.Length != 2 * Ed25519KeySize)
        {
            throw new FormatException("the OpenSSH Ed25519 private key has wrong key lengths.");
        }

        var seed = secret[..Ed25519KeySize].ToArray();
        try
        {
            var derived = new Ed25519PrivateKeyParameters(seed).GeneratePublicKey().GetEncoded();
            if (!derived.AsSpan().SequenceEqual(publicKey) || !secret[Ed25519KeySize..].SequenceEqual(publicKey))
            {
                throw new FormatException("the OpenSSH Ed25519 private key does not match its public key.");
            }

            var pair = Create(seed, publicKey, comment);
            if (!pair.PublicKey.Matches(publicBlob))
            {
                throw new FormatException("the public key in the OpenSSH private key file does not match the private key.");
            }

            return pair;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(seed);
        }
    }

    private static SshKeyPair Create(byte[] seed, byte[] publicKey, string comment)
    {
        var publicBlob = new SshWireWriter().String(Ed25519Algorithm).String(publicKey).ToArray();

        var checkInt = (uint)RandomNumberGenerator.GetInt32(int.MinValue, int.MaxValue);
        var privateSection = new SshWireWriter()
            .UInt32(checkInt)
            .UInt32(checkInt)
            .String(Ed25519Algorithm)
            .String(publicKey);
        var secret = new byte[2 * Ed25519KeySize];
        seed.CopyTo(secret, 0);
        publicKey.CopyTo(secret, Ed25519KeySize);
        privateSection.String(secret).String(comment);
        CryptographicOperations.ZeroMemory(secret);
        for (byte pad = 1; privateSection.Length % PaddingBlockSize != 0; pad++)
        {
            privateSection.Raw([pad]);
        }

        var file = new SshWireWriter()
            .Raw(Encoding.ASCII.GetBytes(Magic))
            .String("none")
            .String("none")
            .String(ReadOnlySpan<byte>.Empty)
            .UInt32(1)
            .String(publicBlob);
        var privateBytes = privateSection.ToArray();
        file.String(privateBytes);
        CryptographicOperations.ZeroMemory(privateBytes);
        privateSection.Clear();

        var fileBytes = file.ToArray();
        file.Clear();
        var base64 = Convert.ToBase64String(fileBytes);
        CryptographicOperations.ZeroMemory(fileBytes);

        var pem = new StringBuilder();
        pem.Append(PemBegin).Append('\n');
        for (var i = 0; i < base64.Length; i += PemLineLength)
        {
            pem.Append(base64.AsSpan(i, Math.Min(PemLineLength, base64.Length - i))).Append('\n');
        }

        pem.Append(PemEnd).Append('\n');
        return new SshKeyPair(new Secret(pem.ToString()), PinnedHostKey.FromBlob(publicBlob), comment);
    }

    private static void ValidateComment(string comment)
    {
        ArgumentNullException.ThrowIfNull(comment);
        for (var i = 0; i < comment.Length; i++)
        {
            if (char.IsControl(comment[i]))
            {
                throw new ArgumentException(
                    $"key comment '{comment.ReplaceLineEndings(" ")}' contains a control character at index {i}; it must be one printable line.",
                    nameof(comment));
            }
        }

        Shell.ShellQuote.Validate(comment, nameof(comment));
    }
}
