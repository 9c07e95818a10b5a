using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Provisioner.Core.Kubernetes;
using Provisioner.Core.Stacks;
using Provisioner.Engine;
using Provisioner.Engine.Access;
using Provisioner.Remote.Keys;
using Provisioner.Remote.Sessions;
using Provisioner.Remote.Shell;

namespace Provisioner.Cli.Tests;

/// <summary><c>k8s check</c> over the manifest corpus and <c>k8s kubeconfig</c> against the test driver with a stand-in SSH access.</summary>
public sealed class KubernetesCommandsTests : IDisposable
{
    private const string KubeconfigText = "apiVersion: v1\nkind: Config\nusers:\n- name: kubernetes-admin\n  user:\n    client-key-data: c2VjcmV0LWtleS1kYXRh\n";

    private static readonly string Corpus = Path.Combine(RepoRoot(), "tests", "corpus", "k8s-check");

    private readonly CliLab _lab = new();

    public void Dispose() => _lab.Dispose();

    private string ClusterStack(string nodes) => _lab.StackYaml(nodes) + "\n  provisioner:kubernetes:\n    version: 1.33.4\n";

    private const string ClusterNodes = """
            - name: cp
              role: control-plane
              cpus: 1
              memoryMiB: 1024
              diskGiB: 4
              diskBus: virtio
              network: net
            - name: worker
              role: worker
              cpus: 1
              memoryMiB: 1024
              diskGiB: 4
              diskBus: virtio
              network: net
        """;

    [Fact]
    public async Task Check_GoodCorpus_ExitsZeroWithSummary()
    {
        var files = Directory.GetFiles(Path.Combine(Corpus, "good"), "*.yaml").Order(StringComparer.Ordinal).ToArray();

        var run = await _lab.RunAsync(["k8s", "check", "--kubernetes-version", "1.34.2", .. files]);

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("0 with violations, 0 violations, 0 unreadable files", run.StdOut, StringComparison.Ordinal);
        Assert.Contains("Pod Security: restricted at v1.34", run.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_DefaultVersion_NewestModelledSoOldNamespacePinsAreFlagged()
    {
        var run = await _lab.RunAsync("k8s", "check", Path.Combine(Corpus, "good", "namespace-restricted.yaml"));

        Assert.Equal(1, run.ExitCode);
        Assert.Contains($"restricted at v{KubernetesVersion.NewestModelled.Major}.{KubernetesVersion.NewestModelled.Minor}", run.StdErr, StringComparison.Ordinal);
        Assert.Contains("enforce-version", run.StdOut, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1.34", "names no patch release")]
    [InlineData("1.31.2", "older than 1.32")]
    public async Task Check_BadKubernetesVersion_ExitsTwo(string version, string message)
    {
        var run = await _lab.RunAsync("k8s", "check", "--kubernetes-version", version, Path.Combine(Corpus, "good", "pod-restricted.yaml"));

        Assert.Equal(2, run.ExitCode);
        Assert.Contains(message, run.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_PrivilegedPod_ExitsOneNamingRuleAndFieldPath()
    {
        var run = await _lab.RunAsync("k8s", "check", Path.Combine(Corpus, "bad", "privileged.yaml"));

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("Pod/privileged PodSecurity/privileged spec.containers[0].securityContext.privileged:", run.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_RootGroup_ReportsTheProjectPolicy()
    {
        var run = await _lab.RunAsync("k8s", "check", Path.Combine(Corpus, "bad", "root-group.yaml"));

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("AdmissionPolicy/", run.StdOut, StringComparison.Ordinal);
        Assert.Contains("fsGroup", run.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_Json_OneDocumentWithViolationsAndExitCode()
    {
        var run = await _lab.RunAsync("k8s", "check", "--json", Path.Combine(Corpus, "bad", "privileged.yaml"), Path.Combine(Corpus, "good", "deployment-restricted.yaml"));

        Assert.Equal(1, run.ExitCode);
        using var json = JsonDocument.Parse(run.StdOut);
        Assert.Equal(1, json.RootElement.GetProperty("exitCode").GetInt32());
        var files = json.RootElement.GetProperty("files");
        Assert.Equal(2, files.GetArrayLength());
        var violation = files[0].GetProperty("objects")[0].GetProperty("violations")[0];
        Assert.Equal("PodSecurity", violation.GetProperty("source").GetString());
        Assert.Equal("spec.containers[0].securityContext.privileged", violation.GetProperty("path").GetString());
        Assert.Empty(files[1].GetProperty("objects")[0].GetProperty("violations").EnumerateArray());
    }

    [Fact]
    public async Task Check_MissingAndUnparsableFiles_ExitTwo()
    {
        var broken = Path.Combine(_lab.Root, "broken.yaml");
        await File.WriteAllTextAsync(broken, "kind: Pod\nspec: [unclosed\n", TestContext.Current.CancellationToken);

        var run = await _lab.RunAsync("k8s", "check", broken, Path.Combine(_lab.Root, "missing.yaml"));

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("broken.yaml: cannot parse", run.StdOut, StringComparison.Ordinal);
        Assert.Contains("missing.yaml: cannot parse: cannot read", run.StdOut, StringComparison.Ordinal);
        Assert.Contains("2 unreadable files", run.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_WithStack_UsesTheClustersVersionAndSaysUserNamespacesAreUnknown()
    {
        _lab.WriteStack("t", ClusterStack(ClusterNodes));

        var run = await _lab.RunAsync("k8s", "check", "--stack", "t", Path.Combine(Corpus, "good", "deployment-restricted.yaml"));

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("restricted at v1.33 (enforce, audit, warn) on Kubernetes 1.33.4", run.StdErr, StringComparison.Ordinal);
        Assert.Contains("has not been inspected yet", run.StdErr, StringComparison.Ordinal);
        Assert.Equal(0, _lab.OpenCount);
    }

    [Fact]
    public async Task Check_StackWithoutCluster_ExitsTwo()
    {
        _lab.WriteStack("t", _lab.StackYaml());

        var run = await _lab.RunAsync("k8s", "check", "--stack", "t", Path.Combine(Corpus, "good", "deployment-restricted.yaml"));

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("declares no Kubernetes cluster", run.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_NoFile_UsageError()
    {
        var run = await _lab.RunAsync("k8s", "check");

        Assert.Equal(2, run.ExitCode);
    }

    [Fact]
    public async Task Kubeconfig_ClusterInitialised_WrittenWithMode0600AndNeverPrinted()
    {
        _lab.WriteStack("t", ClusterStack(ClusterNodes));
        Assert.Equal(0, (await _lab.RunAsync("up", "--stack", "t")).ExitCode);
        var access = new StandInAccess(KubeconfigText);
        var target = Path.Combine(_lab.WorkDir, "t.kubeconfig");
        // A loose file already there must not keep its mode.
        await File.WriteAllTextAsync(target, "old", TestContext.Current.CancellationToken);
        File.SetUnixFileMode(target, (UnixFileMode)0b110_100_100);

        var run = await RunAsync(access, "k8s", "kubeconfig", "--stack", "t");

        Assert.Equal(0, run.ExitCode);
        Assert.Equal(KubeconfigText, await File.ReadAllTextAsync(target, TestContext.Current.CancellationToken));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(target));
        Assert.DoesNotContain("c2VjcmV0", run.StdOut + run.StdErr, StringComparison.Ordinal);
        Assert.Contains($"written to {target} (mode 0600)", run.StdOut, StringComparison.Ordinal);
        Assert.Equal(["cp"], access.Opened);
        Assert.Empty(Directory.GetFiles(_lab.WorkDir, ".*.tmp"));
    }

    [Fact]
    public async Task Kubeconfig_OutJson_PrintsPathOnly()
    {
        _lab.WriteStack("t", ClusterStack(ClusterNodes));
        Assert.Equal(0, (await _lab.RunAsync("up", "--stack", "t")).ExitCode);
        var target = Path.Combine(_lab.Root, "out", "admin.conf");

        var run = await RunAsync(new StandInAccess(KubeconfigText), "k8s", "kubeconfig", "--stack", "t", "--out", target, "--json");

        Assert.Equal(0, run.ExitCode);
        using var json = JsonDocument.Parse(run.StdOut);
        Assert.Equal(target, json.RootElement.GetProperty("path").GetString());
        Assert.DoesNotContain("c2VjcmV0", run.StdOut, StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(target));
    }

    [Fact]
    public async Task Kubeconfig_ClusterNotInitialised_ExitsOneAndWritesNothing()
    {
        _lab.WriteStack("t", ClusterStack(ClusterNodes));
        Assert.Equal(0, (await _lab.RunAsync("up", "--stack", "t")).ExitCode);

        var run = await RunAsync(new StandInAccess(null), "k8s", "kubeconfig", "--stack", "t");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("has not been initialised", run.StdErr, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_lab.WorkDir, "t.kubeconfig")));
    }

    private async Task<CliRun> RunAsync(INodeAccess access, params string[] args)
    {
        using var stdout = new StringWriter(CultureInfo.InvariantCulture);
        using var stderr = new StringWriter(CultureInfo.InvariantCulture);
        var environment = new CliEnvironment
        {
            Out = stdout,
            Error = stderr,
            WorkingDirectory = _lab.WorkDir,
            EngineFactory = loggers => _lab.CreateEngine(loggers) with { Access = access },
            LoggerFactory = _ => NullLoggerFactory.Instance,
            StateDirectory = _lab.Root,
        };
        var code = await CliApp.RunAsync(args, environment, TestContext.Current.CancellationToken);
        return new CliRun(code, stdout.ToString(), stderr.ToString());
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Provisioner.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("repository root (Provisioner.sln) not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Control planes that hold <paramref name="kubeconfig"/> at the admin path (or nothing when null).</summary>
    private sealed class StandInAccess(string? kubeconfig) : INodeAccess
    {
        public List<string> Opened { get; } = [];

        public Task<IRemoteSession> OpenAsync(StackDefinition stack, NodeStatus node, CancellationToken cancellationToken)
        {
            Opened.Add(node.Name);
            return Task.FromResult<IRemoteSession>(new StandInSession(node.Address ?? "0.0.0.0", kubeconfig));
        }
    }

    private sealed class StandInSession(string address, string? kubeconfig) : IRemoteSession
    {
        public SshEndpoint Endpoint { get; } = new(address, "ops");

        public PinnedHostKey HostKey { get; } = PinnedHostKey.FromPublicKeyLine("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK+sRot3zY7xLHWPOT3JtO/v8quf6VpTNZip6rjZdg8C");

        public Task<CommandResult> RunAsync(ShellCommand command, CancellationToken cancellationToken) => RunAsync(command, TimeSpan.FromMinutes(1), cancellationToken);

        public Task<CommandResult> RunAsync(ShellCommand command, TimeSpan timeout, CancellationToken cancellationToken) =>
            Task.FromResult(command.CommandLine.EndsWith($"test -f {KubernetesPaths.AdminKubeconfig}", StringComparison.Ordinal) && kubeconfig is not null
                ? new CommandResult(0, string.Empty, string.Empty)
                : new CommandResult(1, string.Empty, string.Empty));

        public Task UploadAsync(Stream content, string remotePath, UnixFileMode mode, string? owner, CancellationToken cancellationToken) => throw new InvalidOperationException("read-only");

        public Task UploadAsync(ReadOnlyMemory<byte> content, string remotePath, UnixFileMode mode, string? owner, CancellationToken cancellationToken) => throw new InvalidOperationException("read-only");

        public Task<byte[]> DownloadAsync(string remotePath, bool useSudo, CancellationToken cancellationToken) =>
            remotePath == KubernetesPaths.AdminKubeconfig && useSudo && kubeconfig is not null
                ? Task.FromResult(Encoding.UTF8.GetBytes(kubeconfig))
                : throw new InvalidOperationException("no such file");

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
