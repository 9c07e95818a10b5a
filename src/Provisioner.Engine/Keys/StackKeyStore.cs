using Provisioner.Core.Security;
using Provisioner.Remote.Keys;

namespace Provisioner.Engine.Keys;

/// <summary>
/// The administrator key pair the tool uses to reach a stack's nodes, kept on the machine the
/// tool runs on: the only secret that outlives a run. Everything else about a stack is read back
/// from libvirt.
/// </summary>
/// <remarks>Thread-safe: creation is serialised by an exclusive create of the private key file.</remarks>
public sealed class StackKeyStore
{
    private readonly string _root;

    /// <summary>Keeps keys under <paramref name="root"/>, one folder per stack.</summary>
    public StackKeyStore(string root)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        _root = root;
    }

    /// <summary>The default location: <see cref="StateDirectory.Resolve"/>/keys.</summary>
    public static StackKeyStore Default() => new(Path.Combine(StateDirectory.Resolve(), "keys"));

    /// <summary>The folder holding one stack's keys and known_hosts file.</summary>
    public string StackDirectory(string stack) => Path.Combine(_root, stack);

    /// <summary>Path of the stack's private key file (for the <c>ssh -i</c> line shown to users).</summary>
    public string PrivateKeyPath(string stack) => Path.Combine(StackDirectory(stack), "id_ed25519");

    /// <summary>Path of the known_hosts file that pins every node's host key.</summary>
    public string KnownHostsPath(string stack) => Path.Combine(StackDirectory(stack), "known_hosts");

    /// <summary>Loads the stack's admin key pair, generating it on first use.</summary>
    public async Task<AdminKey> GetOrCreateAsync(string stack, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(StackDirectory(stack), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var privatePath = PrivateKeyPath(stack);
        if (!File.Exists(privatePath))
        {
            var generated = SshKeyPair.GenerateEd25519($"provisioner-{stack}");
            await SshKeyFiles.WriteKeyPairAsync(privatePath, generated, cancellationToken).ConfigureAwait(false);
        }

        var privateKey = new Secret(await File.ReadAllTextAsync(privatePath, cancellationToken).ConfigureAwait(false));
        var pair = SshKeyPair.FromPrivateKeyOpenSsh(privateKey);
        return new AdminKey(privatePath, privateKey, pair.PublicKeyOpenSsh);
    }

    /// <summary>Removes a stack's keys once the stack is destroyed.</summary>
    public void Delete(string stack)
    {
        var dir = StackDirectory(stack);
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

/// <summary>A stack's admin key: where it is, the private key (secret) and the public key line.</summary>
public sealed record AdminKey(string PrivateKeyPath, Secret PrivateKey, string PublicKeyOpenSsh);
