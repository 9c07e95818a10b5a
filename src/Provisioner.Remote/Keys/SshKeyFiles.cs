using System.Text;
using Provisioner.Core.Security;

namespace Provisioner.Remote.Keys;

/// <summary>Writes key files the way OpenSSH expects them, atomically and with the right permissions from creation.</summary>
public static class SshKeyFiles
{
    /// <summary>Mode of a private key file: readable and writable by the owner only (ssh refuses keys others can read).</summary>
    public const UnixFileMode PrivateKeyMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Mode of public files (public keys, known_hosts): world-readable, writable by the owner.</summary>
    public const UnixFileMode PublicFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    /// <summary>
    /// Writes a private key to <paramref name="path"/> with mode 0600. The file is created with that mode
    /// (there is no moment at which it is readable by others) and replaces any existing file atomically.
    /// </summary>
    public static Task WritePrivateKeyAsync(string path, Secret privateKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(privateKey);
        return AtomicFile.WriteAsync(path, Encoding.UTF8.GetBytes(privateKey.Reveal()), PrivateKeyMode, cancellationToken);
    }

    /// <summary>Writes a public key line (plus newline) to <paramref name="path"/> with mode 0644, atomically.</summary>
    public static Task WritePublicKeyAsync(string path, string publicKeyLine, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(publicKeyLine);
        _ = PinnedHostKey.FromPublicKeyLine(publicKeyLine);
        return AtomicFile.WriteAsync(path, Encoding.UTF8.GetBytes(publicKeyLine.TrimEnd() + "\n"), PublicFileMode, cancellationToken);
    }

    /// <summary>Writes both halves of <paramref name="keyPair"/>: the private key to <paramref name="privateKeyPath"/>, the public key to the same path plus <c>.pub</c>.</summary>
    public static async Task WriteKeyPairAsync(string privateKeyPath, SshKeyPair keyPair, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keyPair);
        await WritePrivateKeyAsync(privateKeyPath, keyPair.PrivateKeyOpenSsh, cancellationToken).ConfigureAwait(false);
        await WritePublicKeyAsync(privateKeyPath + ".pub", keyPair.PublicKeyOpenSsh, cancellationToken).ConfigureAwait(false);
    }
}
