using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Provisioner.Core.Kubernetes;
using Provisioner.Core.Kubernetes.Bootstrap;
using Provisioner.Core.Stacks;
using Provisioner.Engine.Kubernetes;

namespace Provisioner.Engine.Tests.Kubernetes;

/// <summary>
/// The executor's command sequence against <see cref="RecordingNodeSessions"/>, a transport double that records
/// what would go over SSH and models only enough node state for inspection to see earlier steps.
/// </summary>
public sealed class ClusterBootstrapExecutorTests
{
    private const string CniSha256 = "0f3e9d1c2b4a5968778695a4b3c2d1e0f0e1d2c3b4a5968778695a4b3c2d1e0f";

    private const string StackYaml = """
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
              sha256: CNISHA
        """;

    private static KubernetesClusterSpec Spec(int workers = 2) =>
        KubernetesClusterSpec.From(StackLoader.Parse(StackYaml.Replace("WORKERS", workers.ToString(), StringComparison.Ordinal).Replace("CNISHA", CniSha256, StringComparison.Ordinal), "lab", "test"));

    private static ClusterBootstrapExecutor Executor(RecordingNodeSessions sessions) =>
        new(sessions, KubernetesTemplates.CreateDefault(), new FakeTimeProvider(), NullLogger.Instance);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task UpAsync_NewCluster_InitsJoinsAndReturnsKubeconfigAsSecret()
    {
        var sessions = new RecordingNodeSessions(Spec(), CniSha256);

        var result = await Executor(sessions).UpAsync(Spec(), null, Ct);

        Assert.NotNull(result.AdminKubeconfig);
        Assert.Equal(Core.Security.Secret.Redacted, result.AdminKubeconfig!.ToString());
        Assert.Equal(result.Plan.Steps.Count, result.Completed.Count);
        var runs = sessions.Log.Where(r => r.Kind == "run").ToList();
        Assert.All(runs, r => Assert.True(r.Sudo, r.Text));
        Assert.Single(runs, r => r.Node == "cp-1" && r.Text == $"kubeadm init --config {KubernetesPaths.KubeadmInit} --skip-token-print");
        Assert.Equal(["cp-2", "cp-3", "worker-1", "worker-2"], runs.Where(r => r.Text == $"kubeadm join --config {KubernetesPaths.KubeadmJoin}").Select(r => r.Node));
    }

    [Fact]
    public async Task UpAsync_EachJoin_TokenCreatedRightBeforeAndDeletedRightAfter()
    {
        var sessions = new RecordingNodeSessions(Spec(), CniSha256);

        await Executor(sessions).UpAsync(Spec(), null, Ct);
        var log = sessions.Log;

        foreach (var node in new[] { "cp-2", "cp-3", "worker-1", "worker-2" })
        {
            var join = log.FindIndex(r => r.Node == node && r.Text.StartsWith("kubeadm join", StringComparison.Ordinal));
            var create = log.FindLastIndex(join, r => r.Text.StartsWith("kubeadm token create --ttl 15m0s", StringComparison.Ordinal));
            Assert.Equal("cp-1", log[create].Node);
            // Between making the token and using it only the two files for the join are written.
            Assert.Equal(
                [$"run", $"upload {KubernetesPaths.DiscoveryKubeconfig}", $"upload {KubernetesPaths.KubeadmJoin}"],
                log.Skip(create + 1).Take(join - create - 1).Select(r => r.Kind == "run" ? "run" : r.Text));
            var token = sessions.TokensIssued[sessions.Log.Take(create + 1).Count(r => r.Text.StartsWith("kubeadm token create", StringComparison.Ordinal)) - 1];
            var joinConfig = log.Last(r => r.Node == node && r.Path == KubernetesPaths.KubeadmJoin && r.Index(log) < join);
            Assert.Contains(token, joinConfig.Content, StringComparison.Ordinal);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, joinConfig.Mode);
            Assert.Equal("root:root", joinConfig.Owner);
            var after = log.Skip(join + 1).Take(2).Select(r => (r.Node, r.Text)).ToList();
            Assert.Equal((node, $"rm -f {KubernetesPaths.KubeadmJoin} {KubernetesPaths.DiscoveryKubeconfig}"), after[0]);
            Assert.Equal(("cp-1", $"kubeadm token delete {token[..6]}"), after[1]);
        }
    }

    [Fact]
    public async Task UpAsync_ControlPlaneJoins_FollowAFreshCertificateUploadAndTheUploadIsDeletedAfter()
    {
        var sessions = new RecordingNodeSessions(Spec(), CniSha256);

        await Executor(sessions).UpAsync(Spec(), null, Ct);
        var texts = sessions.Log.Select(r => $"{r.Node} {r.Text}").ToList();

        var upload = texts.IndexOf($"cp-1 kubeadm init phase upload-certs --upload-certs --config {KubernetesPaths.KubeadmUploadCertificates}");
        var firstJoin = texts.FindIndex(t => t.StartsWith("cp-2 kubeadm join", StringComparison.Ordinal));
        var deleteCerts = texts.FindIndex(t => t.Contains("delete secret kubeadm-certs", StringComparison.Ordinal));
        var firstWorker = texts.FindIndex(t => t.StartsWith("worker-1 kubeadm join", StringComparison.Ordinal));
        Assert.True(upload > 0 && upload < firstJoin && firstJoin < deleteCerts && deleteCerts < firstWorker);
        var key = sessions.Log.Single(r => r.Path == KubernetesPaths.KubeadmUploadCertificates).Content!;
        var certificateKey = key.Split('\n').Single(l => l.StartsWith("certificateKey:", StringComparison.Ordinal)).Split('"')[1];
        Assert.Contains(certificateKey, sessions.Log.Last(r => r.Node == "cp-3" && r.Path == KubernetesPaths.KubeadmJoin).Content, StringComparison.Ordinal);
        Assert.DoesNotContain(sessions.Log.Single(r => r.Node == "worker-1" && r.Path == KubernetesPaths.KubeadmJoin).Content!, "certificateKey", StringComparison.Ordinal);
    }

    [Fact]
    public async Task UpAsync_SecretsNeverOnACommandLine()
    {
        var sessions = new RecordingNodeSessions(Spec(), CniSha256);

        await Executor(sessions).UpAsync(Spec(), null, Ct);
        var secrets = sessions.TokensIssued
            .Concat(sessions.Log.Where(r => r.Path == KubernetesPaths.EncryptionConfiguration).Select(r => r.Content!.Split("secret: \"")[1].Split('"')[0]))
            .ToList();

        Assert.NotEmpty(secrets);
        foreach (var run in sessions.Log.Where(r => r.Kind == "run"))
        {
            Assert.All(secrets, s => Assert.DoesNotContain(s, run.Text, StringComparison.Ordinal));
        }

        Assert.All(sessions.Log.Where(r => r.Path is not null && r.Content is not null && secrets.Any(s => r.Content.Contains(s, StringComparison.Ordinal))),
            r => Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, r.Mode));
    }

    [Fact]
    public async Task UpAsync_SameEncryptionKeyOnEveryControlPlane()
    {
        var sessions = new RecordingNodeSessions(Spec(), CniSha256);

        await Executor(sessions).UpAsync(Spec(), null, Ct);

        Assert.Single(sessions.Log.Where(r => r.Path == KubernetesPaths.EncryptionConfiguration).Select(r => r.Content).Distinct());
        Assert.Equal(["cp-1", "cp-2", "cp-3"], sessions.Log.Where(r => r.Path == KubernetesPaths.EncryptionConfiguration).Select(r => r.Node).Order());
    }

    [Fact]
    public async Task UpAsync_RunTwice_SecondRunChangesNothing()
    {
        var spec = Spec();
        var sessions = new RecordingNodeSessions(spec, CniSha256);
        await Executor(sessions).UpAsync(spec, null, Ct);
        sessions.ClearLog();

        var second = await Executor(sessions).UpAsync(spec, null, Ct);

        Assert.Empty(second.Plan.Steps);
        Assert.DoesNotContain(sessions.Log, r => r.Kind == "upload");
        Assert.All(sessions.Log.Where(r => r.Kind == "run"), r => Assert.True(r.Argv[0] is "sh" or "test", r.Text));
        Assert.NotNull(second.AdminKubeconfig);
    }

    [Fact]
    public async Task UpAsync_WorkerAdded_JoinsJustThatWorker()
    {
        var sessions = new RecordingNodeSessions(Spec(workers: 3), CniSha256);
        await Executor(sessions).UpAsync(Spec(workers: 2), null, Ct);
        sessions.ClearLog();

        var result = await Executor(sessions).UpAsync(Spec(workers: 3), null, Ct);

        Assert.All(result.Plan.Steps, s => Assert.Equal("worker-3", s.Node));
        Assert.Equal(["worker-3"], sessions.Log.Where(r => r.Text.StartsWith("kubeadm join", StringComparison.Ordinal)).Select(r => r.Node));
        Assert.DoesNotContain(sessions.Log, r => r.Kind == "upload" && r.Node != "worker-3");
        Assert.DoesNotContain(sessions.Log, r => r.Text.StartsWith("kubeadm init", StringComparison.Ordinal));
    }

    [Fact]
    public async Task UpAsync_WithoutPackages_RunsHostPreparationOnly()
    {
        var sessions = new RecordingNodeSessions(Spec(), CniSha256);

        var result = await Executor(sessions).UpAsync(Spec(), s => !s.RequiresKubernetesPackages, Ct);

        Assert.NotEmpty(result.Completed);
        Assert.Null(result.AdminKubeconfig);
        Assert.DoesNotContain(sessions.Log, r => r.Text.Contains("apt-get update", StringComparison.Ordinal) || (r.Argv.Count > 0 && r.Argv[0] == "kubeadm"));
        Assert.Contains(sessions.Log, r => r.Node == "worker-2" && r.Text == $"upload {KubernetesPaths.Sysctl}");
        Assert.Contains(sessions.Log, r => r.Node == "cp-3" && r.Text == "systemctl restart keepalived");
    }

    [Fact]
    public async Task UpAsync_JoinFails_TokenAndFilesStillRemovedAndStepNamed()
    {
        var sessions = new RecordingNodeSessions(Spec(), CniSha256);
        sessions.Failing.Add("kubeadm join");

        var e = await Assert.ThrowsAsync<KubernetesBootstrapException>(() => Executor(sessions).UpAsync(Spec(), null, Ct));

        Assert.Equal("cp-2", e.Step.Node);
        Assert.IsType<JoinNode>(e.Step.Action);
        var texts = sessions.Log.Select(r => $"{r.Node} {r.Text}").ToList();
        var join = texts.FindIndex(t => t.StartsWith("cp-2 kubeadm join", StringComparison.Ordinal));
        Assert.Equal($"cp-2 rm -f {KubernetesPaths.KubeadmJoin} {KubernetesPaths.DiscoveryKubeconfig}", texts[join + 1]);
        Assert.StartsWith("cp-1 kubeadm token delete ", texts[join + 2], StringComparison.Ordinal);
        Assert.DoesNotContain(sessions.TokensIssued[0], e.Message, StringComparison.Ordinal);
    }
}

internal static class RecordedExtensions
{
    public static int Index(this Recorded entry, List<Recorded> log) => log.IndexOf(entry);
}
