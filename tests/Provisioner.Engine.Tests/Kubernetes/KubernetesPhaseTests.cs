using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Provisioner.Core.Kubernetes;
using Provisioner.Core.Kubernetes.Bootstrap;
using Provisioner.Core.Stacks;
using Provisioner.Engine.Access;
using Provisioner.Engine.Tests.Hardening;
using Provisioner.Engine.Kubernetes;
using Provisioner.Engine.Phases;
using Provisioner.Remote.Sessions;

namespace Provisioner.Engine.Tests.Kubernetes;

/// <summary>The bootstrap as a phase: node sessions through <see cref="INodeAccess"/>, results, secrets and idempotence.</summary>
public sealed class KubernetesPhaseTests
{
    internal const string CniSha256 = "0f3e9d1c2b4a5968778695a4b3c2d1e0f0e1d2c3b4a5968778695a4b3c2d1e0f";

    internal const string StackYaml = """
        config:
          provisioner:hosts:
            - name: kvm-1
              uri: qemu:///system
              region: oslo
              pool: {name: p, path: /srv/p, media: nvme}
          provisioner:networks:
            - name: cluster
              cidr: 10.20.0.0/24
              mode: nat
          provisioner:image:
            name: debian-12
          provisioner:nodes:
            - name: cp
              role: control-plane
              count: 3
              cpus: 2
              memoryMiB: 4096
              diskGiB: 20
              diskBus: virtio
              network: cluster
            - name: worker
              role: worker
              count: WORKERS
              cpus: 2
              memoryMiB: 4096
              diskGiB: 20
              diskBus: virtio
              network: cluster
          provisioner:placement:
            region: oslo
            controlPlaneAntiAffinity: false
          provisioner:access:
            user: ops
            sshPublicKeys: []
            adminCidrs: [192.0.2.0/24]
          provisioner:kubernetes:
            version: 1.34.2
            controlPlaneEndpoint: 10.20.0.10
            cni:
              sha256: 0f3e9d1c2b4a5968778695a4b3c2d1e0f0e1d2c3b4a5968778695a4b3c2d1e0f
        """;

    internal static StackDefinition Stack(int workers = 2) =>
        StackLoader.Parse(StackYaml.Replace("WORKERS", workers.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal), "lab", "test");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static KubernetesPhase Phase(Func<BootstrapStep, bool>? filter = null) =>
        new(KubernetesTemplates.CreateDefault(), NullLoggerFactory.Instance) { StepFilter = filter };

    private static StackPhaseContext Context(StackDefinition stack, INodeAccess access) => new()
    {
        Stack = stack,
        Nodes = [.. stack.Nodes.Select(n => new NodeStatus
        {
            Name = n.Name,
            Host = "kvm-1",
            Role = n.Role.ToString(),
            Address = null,
            State = "running",
            HostKeyFingerprint = "SHA256:x",
            Ready = true,
            Created = DateTimeOffset.UnixEpoch,
        })],
        CreatedNodes = new HashSet<string>(),
        Access = access,
        Time = new FakeTimeProvider(),
    };

    [Fact]
    public async Task RunAsync_StackWithoutCluster_NothingToDoAndNoNodeReached()
    {
        var stack = EngineHardeningSamples.Sandbox();
        var access = new RecordingAccess(null);

        var result = await Phase().RunAsync(Context(stack, access), Ct);

        Assert.Equal("kubernetes", result.Phase);
        Assert.False(result.Changed);
        Assert.False(result.Failed);
        Assert.Contains("declares no Kubernetes cluster", result.Summary, StringComparison.Ordinal);
        Assert.Empty(result.Secrets);
        Assert.Empty(access.Opened);
    }

    [Fact]
    public async Task RunAsync_NewCluster_KubeconfigOnlyAsSecretAndOneSessionPerNode()
    {
        var stack = Stack();
        var sessions = new RecordingNodeSessions(KubernetesClusterSpec.From(stack), CniSha256);
        var access = new RecordingAccess(sessions);

        var result = await Phase().RunAsync(Context(stack, access), Ct);

        Assert.True(result.Changed);
        Assert.False(result.Failed, string.Join("\n", result.Details));
        var kubeconfig = result.Secrets[KubernetesPhase.KubeconfigSecret];
        Assert.Equal(Core.Security.Secret.Redacted, kubeconfig.ToString());
        Assert.DoesNotContain(result.Details.Append(result.Summary), d => d.Contains(kubeconfig.Reveal(), StringComparison.Ordinal));
        Assert.Equal(stack.Nodes.Select(n => n.Name).Order(StringComparer.Ordinal), access.Opened.Order(StringComparer.Ordinal));
        Assert.Contains(result.Details, d => d.Contains("kubeadm init", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunAsync_ExistingCluster_ChangesNothing()
    {
        var stack = Stack();
        var sessions = new RecordingNodeSessions(KubernetesClusterSpec.From(stack), CniSha256);
        await Phase().RunAsync(Context(stack, new RecordingAccess(sessions)), Ct);
        sessions.ClearLog();

        var again = await Phase().RunAsync(Context(stack, new RecordingAccess(sessions)), Ct);

        Assert.False(again.Changed, string.Join("\n", again.Details));
        Assert.Contains("nothing to do", again.Summary, StringComparison.Ordinal);
        Assert.True(again.Secrets.ContainsKey(KubernetesPhase.KubeconfigSecret));
        Assert.DoesNotContain(sessions.Log, r => r.Kind == "upload");
    }

    [Fact]
    public async Task RunAsync_WorkerAdded_JoinsJustThatWorker()
    {
        var bigger = Stack(workers: 3);
        var sessions = new RecordingNodeSessions(KubernetesClusterSpec.From(bigger), CniSha256);
        await Phase().RunAsync(Context(Stack(workers: 2), new RecordingAccess(sessions)), Ct);
        sessions.ClearLog();

        var result = await Phase().RunAsync(Context(bigger, new RecordingAccess(sessions)), Ct);

        Assert.True(result.Changed);
        var joins = sessions.Log.Where(r => r.Text.StartsWith("kubeadm join", StringComparison.Ordinal)).Select(r => r.Node).ToList();
        Assert.Equal(["worker-3"], joins);
        // Other nodes only serve the token and the certificate approval; nothing is written to them.
        Assert.All(sessions.Log.Where(r => r.Kind == "upload"), r => Assert.Equal("worker-3", r.Node));
    }

    [Fact]
    public async Task RunAsync_WithoutKubernetesPackages_PreparesNodesOnlyAndSaysWhatWasLeft()
    {
        var stack = Stack();
        var sessions = new RecordingNodeSessions(KubernetesClusterSpec.From(stack), CniSha256);

        var result = await Phase(KubernetesPhase.WithoutKubernetesPackages).RunAsync(Context(stack, new RecordingAccess(sessions)), Ct);

        Assert.True(result.Changed);
        Assert.Contains("needing the Kubernetes packages not run", result.Summary, StringComparison.Ordinal);
        Assert.Empty(result.Secrets);
        Assert.DoesNotContain(sessions.Log, r => r.Argv.Count > 0 && r.Argv[0] is "kubeadm" or "kubectl");
        Assert.Contains(sessions.Log, r => r.Text == "systemctl restart containerd");
    }

    [Fact]
    public async Task RunAsync_NoCniChecksum_FailedWithTheBlockerInDetails()
    {
        var stack = Stack();
        var unpinned = stack with { Kubernetes = stack.Kubernetes! with { CniManifestSha256 = null } };
        var sessions = new RecordingNodeSessions(KubernetesClusterSpec.From(stack), CniSha256);

        var result = await Phase(KubernetesPhase.WithoutKubernetesPackages).RunAsync(Context(unpinned, new RecordingAccess(sessions)), Ct);

        Assert.True(result.Failed);
        Assert.Contains(result.Details, d => d.StartsWith("blocked: provisioner:kubernetes.cni.sha256", StringComparison.Ordinal));
    }

    [Fact]
    public async Task NodeAccessSessions_SameNodeTwice_OpensOnceAndUnknownNodeIsRefused()
    {
        var stack = Stack();
        var access = new RecordingAccess(new RecordingNodeSessions(KubernetesClusterSpec.From(stack), CniSha256));
        var sessions = new NodeAccessSessions(stack, Context(stack, access).Nodes.Where(n => n.Name != "worker-2"), access);
        await using (sessions)
        {
            var first = await sessions.GetAsync("cp-1", Ct);
            var second = await sessions.GetAsync("cp-1", Ct);

            Assert.Same(first, second);
            Assert.Equal(["cp-1"], access.Opened);
            var e = await Assert.ThrowsAsync<NodeAccessException>(() => sessions.GetAsync("worker-2", Ct));
            Assert.Contains("does not exist", e.Message, StringComparison.Ordinal);
        }
    }

    /// <summary>An <see cref="INodeAccess"/> over the executor's transport double that records which nodes were opened.</summary>
    private sealed class RecordingAccess(RecordingNodeSessions? sessions) : INodeAccess
    {
        public List<string> Opened { get; } = [];

        public Task<IRemoteSession> OpenAsync(StackDefinition stack, NodeStatus node, CancellationToken cancellationToken)
        {
            lock (Opened)
            {
                Opened.Add(node.Name);
            }

            return sessions?.GetAsync(node.Name, cancellationToken) ?? throw new InvalidOperationException("no node may be reached");
        }
    }
}
