using Provisioner.Core.Security;
using Provisioner.Remote;

namespace Provisioner.Engine.Keys;

/// <summary>
/// The administrator key pair the tool uses to reach a stack's nodes, kept on the machine the
/// tool runs on (the only secret that outlives a run). The private key file is created with
/// mode 0600 from the start, so there is no moment when another user could read it.
/// </summary>
/// <remarks>Thread-safe: creation is serialised by an exclusive file create.</remarks>
public sealed class StackKeyStore
{
    private readonly string _root;

    /// <summary>Keeps keys under <paramref name="root"/>, one folder per stack.</summary>
    public StackKeyStore(string root)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        _root = root;
    }

    /// <summary>
    /// The default location: <c>$PROVISIONER_STATE_DIR</c>, else <c>$XDG_STATE_HOME/provisioner</c>,
    /// else <c>~/.local/state/provisioner</c>.
    /// </summary>
    public static StackKeyStore Default() => new(Path.Combine(StateDirectory.Resolve(), "keys"));

    /// <summary>The folder holding one stack's keys and known_hosts file.</summary>
    public string StackDirectory(string stack) => Path.Combine(_root, stack);

    /// <summary>Path of the stack's private key file (for the <c>ssh -i</c> line shown to users).</summary>
    public string PrivateKeyPath(string stack) => Path.Combine(StackDirectory(stack), "id_ed25519");

    /// <summary>Path of the known_hosts file that pins every node's host key.</summary>
    public string KnownHostsPath(string stack) => Path.Combine(StackDirectory(stack), "known_hosts");

    /// <summary>Loads the stack's admin key pair, generating it on first use.</summary>
    public AdminKey GetOrCreate(string stack)
    {
        var dir = StackDirectory(stack);
        Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var privatePath = PrivateKeyPath(stack);
        var publicPath = privatePath + ".pub";

        if (!File.Exists(privatePath))
        {
            var generated = SshKeyPair.GenerateEd25519($"provisioner-{stack}");
            try
            {
                using (var stream = new FileStream(privatePath, new FileStreamOptions
                {
                    Mode = FileMode.CreateNew,
                    Access = FileAccess.Write,
                    UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                }))
                using (var writer = new StreamWriter(stream))
                {
                    writer.Write(generated.PrivateKeyOpenSsh.Reveal());
                }

                File.WriteAllText(publicPath, generated.PublicKeyOpenSsh + "\n");
            }
            catch (IOException) when (File.Exists(privatePath))
            {
                // Another process created it first; use theirs.
            }
        }

        var privateKey = new Secret(File.ReadAllText(privatePath));
        var publicKey = File.Exists(publicPath)
            ? File.ReadAllText(publicPath).Trim()
            : SshKeyPair.FromPrivateKeyOpenSsh(privateKey).PublicKeyOpenSsh;
        return new AdminKey(privatePath, privateKey, publicKey);
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
