using System.Security.Cryptography;
using System.Text;
using Provisioner.Core.Kubernetes;
using Provisioner.Core.Kubernetes.Bootstrap;
using Provisioner.Engine.Kubernetes;
using Provisioner.Remote.Keys;
using Provisioner.Remote.Sessions;
using Provisioner.Remote.Shell;

namespace Provisioner.Engine.Tests.Kubernetes;

/// <summary>One recorded interaction with a node.</summary>
internal sealed record Recorded(string Node, string Kind, IReadOnlyList<string> Argv, bool Sudo, string? Path = null, UnixFileMode? Mode = null, string? Owner = null, string? Content = null)
{
    public string Text => Kind == "run" ? string.Join(' ', Argv) : $"{Kind} {Path}";
}

/// <summary>
/// A transport double for the executor's tests, not a Kubernetes simulator: it records every command and
/// file transfer in order and keeps a tiny model of each node's files and packages, so the inspection script's
/// output reflects what earlier steps "did". It answers kubeadm and kubectl with what the real tools print
/// (a token, a CSR list), and can be told to fail a command.
/// </summary>
internal sealed class RecordingNodeSessions : IKubernetesNodeSessions
{
    private static readonly PinnedHostKey HostKey = PinnedHostKey.FromPublicKeyLine("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK+sRot3zY7xLHWPOT3JtO/v8quf6VpTNZip6rjZdg8C");
    private readonly Dictionary<string, FakeNode> _nodes = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public RecordingNodeSessions(KubernetesClusterSpec spec, string cniSha256)
    {
        Spec = spec;
        CniSha256 = cniSha256;
        foreach (var node in spec.Nodes)
        {
            _nodes[node.Name] = new FakeNode(this, node);
        }
    }

    public KubernetesClusterSpec Spec { get; }

    public string CniSha256 { get; }

    public List<Recorded> Log { get; } = [];

    public List<string> TokensIssued { get; } = [];

    /// <summary>Commands (joined argv) that fail with exit code 1.</summary>
    public HashSet<string> Failing { get; } = [];

    public Task<IRemoteSession> GetAsync(string node, CancellationToken cancellationToken) => Task.FromResult<IRemoteSession>(_nodes[node]);

    public void ClearLog()
    {
        lock (_lock)
        {
            Log.Clear();
        }
    }

    private void Record(Recorded entry)
    {
        lock (_lock)
        {
            Log.Add(entry);
        }
    }

    private sealed class FakeNode(RecordingNodeSessions owner, ClusterNode node) : IRemoteSession
    {
        private readonly Dictionary<string, (string Sha, UnixFileMode Mode, string Owner, byte[] Bytes)> _files = new(StringComparer.Ordinal);
        private readonly Dictionary<string, string> _packages = new(StringComparer.Ordinal) { ["curl"] = "7.88.1-10+deb12u8" };
        private readonly HashSet<string> _held = new(StringComparer.Ordinal);

        public SshEndpoint Endpoint { get; } = new(node.Address.ToString(), "ops");

        public PinnedHostKey HostKey => RecordingNodeSessions.HostKey;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;

        public Task<CommandResult> RunAsync(ShellCommand command, CancellationToken cancellationToken) => RunAsync(command, Timeout.InfiniteTimeSpan, cancellationToken);

        public Task<CommandResult> RunAsync(ShellCommand command, TimeSpan timeout, CancellationToken cancellationToken)
        {
            var argv = command.Arguments;
            owner.Record(new Recorded(node.Name, "run", argv, command.UsesSudo));
            lock (owner._lock)
            {
                return Task.FromResult(Answer(argv) with { Command = command.CommandLine, Endpoint = Endpoint });
            }
        }

        public async Task UploadAsync(Stream content, string remotePath, UnixFileMode mode, string? fileOwner, CancellationToken cancellationToken)
        {
            using var buffer = new MemoryStream();
            await content.CopyToAsync(buffer, cancellationToken);
            await UploadAsync(buffer.ToArray(), remotePath, mode, fileOwner, cancellationToken);
        }

        public Task UploadAsync(ReadOnlyMemory<byte> content, string remotePath, UnixFileMode mode, string? fileOwner, CancellationToken cancellationToken)
        {
            var bytes = content.ToArray();
            owner.Record(new Recorded(node.Name, "upload", [], true, remotePath, mode, fileOwner, Encoding.UTF8.GetString(bytes)));
            lock (owner._lock)
            {
                _files[remotePath] = (Convert.ToHexStringLower(SHA256.HashData(bytes)), mode, fileOwner ?? "ops:ops", bytes);
            }

            return Task.CompletedTask;
        }

        public Task<byte[]> DownloadAsync(string remotePath, bool useSudo, CancellationToken cancellationToken)
        {
            owner.Record(new Recorded(node.Name, "download", [], useSudo, remotePath));
            lock (owner._lock)
            {
                return _files.TryGetValue(remotePath, out var file)
                    ? Task.FromResult(file.Bytes)
                    : throw new RemoteCommandException(Endpoint, "cat " + remotePath, 1, null, "No such file or directory");
            }
        }

        private CommandResult Answer(IReadOnlyList<string> arguments)
        {
            var argv = arguments.ToArray();
            var text = string.Join(' ', argv);
            if (owner.Failing.Any(f => text.Contains(f, StringComparison.Ordinal)))
            {
                return new CommandResult(1, string.Empty, "simulated failure");
            }

            if (argv is ["sh", "-c", var script, "sh", .. var args])
            {
                return Script(script, args);
            }

            switch (argv)
            {
                case ["kubeadm", "init", "--config", ..]:
                    Create(KubernetesPaths.AdminKubeconfig, "apiVersion: v1\nkind: Config\n# admin credentials\n", 0b110_000_000);
                    Create(KubernetesPaths.CaCertificate, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", 0b110_100_100);
                    JoinedFiles(controlPlane: true);
                    return Ok();
                case ["kubeadm", "join", ..]:
                    JoinedFiles(node.Role == Core.Stacks.NodeRole.ControlPlane);
                    return Ok();
                case ["kubeadm", "token", "create", ..]:
                    var token = $"t{owner.TokensIssued.Count:D5}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}";
                    owner.TokensIssued.Add(token);
                    return Ok(token + "\n");
                case ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", .. var packages]:
                    foreach (var package in packages.Where(p => !p.StartsWith('-')))
                    {
                        _packages[package] = package.StartsWith("kube", StringComparison.Ordinal) ? owner.Spec.Version + "-1.1" : "1.0";
                    }

                    return Ok();
                case ["apt-mark", "hold", .. var held]:
                    _held.UnionWith(held);
                    return Ok();
                case ["test", "-f", var path]:
                    return _files.ContainsKey(path) ? Ok() : new CommandResult(1, string.Empty, string.Empty);
                case ["kubectl", "--kubeconfig", _, "get", "csr", "-o", "json"]:
                    return Ok(Csrs());
                default:
                    return Ok();
            }
        }

        private CommandResult Script(string script, string[] args)
        {
            if (script == NodeScripts.Inspect)
            {
                var output = new StringBuilder("kernel\t6.1.0-28-cloud-amd64\ncontainerd\t1.6.20~ds1\ninterface\tenp1s0\n");
                foreach (var (name, version) in _packages)
                {
                    output.Append($"package\t{name}\t{version}\tii \n");
                }

                foreach (var held in _held)
                {
                    output.Append($"held\t{held}\n");
                }

                foreach (var path in args.Skip(1).Where(_files.ContainsKey))
                {
                    var f = _files[path];
                    output.Append($"file\t{path}\t{Convert.ToString((int)f.Mode, 8)}\t{f.Owner}\t{f.Sha}\n");
                }

                return Ok(output.ToString());
            }

            if (script == NodeScripts.InstallHostPackages)
            {
                foreach (var package in args)
                {
                    _packages[package] = "1.0";
                }
            }
            else if (script == NodeScripts.InstallRepositoryKey)
            {
                Create(args[2], "-----BEGIN PGP PUBLIC KEY BLOCK-----\n", 0b110_100_100);
            }
            else if (script == NodeScripts.ApplyVerifiedManifest)
            {
                _files[args[2]] = (args[1], (UnixFileMode)0b110_000_000, "root:root", []);
            }
            else if (script == NodeScripts.ChmodExisting)
            {
                var mode = (UnixFileMode)Convert.ToInt32(args[0], 8);
                foreach (var path in args.Skip(1).Where(_files.ContainsKey))
                {
                    _files[path] = _files[path] with { Mode = mode };
                }
            }

            return Ok();
        }

        private void JoinedFiles(bool controlPlane)
        {
            Create(KubernetesPaths.KubeletKubeconfig, "kubelet", 0b110_000_000);
            Create(KubernetesPaths.KubeletConfig, "kubelet config", 0b110_100_100);
            Create(KubernetesPaths.KubeletDropIn, "drop-in", 0b110_100_100);
            Create(KubernetesPaths.CaCertificate, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", 0b110_100_100);
            if (controlPlane)
            {
                foreach (var requirement in KubernetesPaths.ModeRequirements.Where(r => !r.AllNodes))
                {
                    Create(requirement.Path, requirement.Path, 0b110_000_000);
                }
            }
        }

        private void Create(string path, string content, int mode)
        {
            var bytes = Encoding.UTF8.GetBytes(content);
            _files[path] = (Convert.ToHexStringLower(SHA256.HashData(bytes)), (UnixFileMode)mode, "root:root", bytes);
        }

        private string Csrs() =>
            System.Text.Json.JsonSerializer.Serialize(new
            {
                items = owner.Spec.Nodes.Select(n => new
                {
                    metadata = new { name = "csr-" + n.Name },
                    spec = new { request = Csr(n), signerName = "kubernetes.io/kubelet-serving", username = $"system:node:{n.Name}", groups = new[] { "system:nodes" } },
                }),
            });

        private static string Csr(ClusterNode n)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new System.Security.Cryptography.X509Certificates.CertificateRequest($"O=system:nodes, CN=system:node:{n.Name}", key, HashAlgorithmName.SHA256);
            var san = new System.Security.Cryptography.X509Certificates.SubjectAlternativeNameBuilder();
            san.AddDnsName(n.Name);
            san.AddIpAddress(System.Net.IPAddress.Parse(n.Address.ToString()));
            request.CertificateExtensions.Add(san.Build());
            return Convert.ToBase64String(Encoding.ASCII.GetBytes(request.CreateSigningRequestPem()));
        }

        private static CommandResult Ok(string stdout = "") => new(0, stdout, string.Empty);
    }
}
