using System.Collections.Concurrent;
using Provisioner.Core.Stacks;
using Provisioner.Engine.Access;
using Provisioner.Engine.Execution;
using Provisioner.Engine.Forensics;
using Provisioner.Engine.Hosts;
using Provisioner.Engine.Phases;
using Provisioner.Engine.Replacement;
using Provisioner.Engine.Tests.Forensics;
using Provisioner.Engine.Tests.TestDriver;
using Provisioner.Remote.Sessions;

namespace Provisioner.Engine.Tests.Replacement;

/// <summary>
/// Replacement on libvirt's test driver (real domains, volumes and metadata) with the Kubernetes API served on
/// loopback by the test: what is destroyed, what is kept, in which order, and how a re-run continues.
/// </summary>
public sealed class NodeReplacerTests : IDisposable
{
    private const string TwoWorkers = """
        - name: a
          role: worker
          cpus: 1
          memoryMiB: 1024
          diskGiB: 4
          diskBus: virtio
          network: cluster
        - name: b
          role: worker
          cpus: 1
          memoryMiB: 1024
          diskGiB: 4
          diskBus: virtio
          network: cluster
        """;

    private const string Cluster = """
        - name: cp
          role: control-plane
          count: 1
          cpus: 2
          memoryMiB: 2048
          diskGiB: 8
          diskBus: virtio
          network: cluster
        - name: w
          role: worker
          count: 1
          cpus: 2
          memoryMiB: 2048
          diskGiB: 8
          diskBus: virtio
          network: cluster
        """;

    private const string KubernetesSection = """
          provisioner:kubernetes:
            version: 1.34.2
            controlPlaneEndpoint: 10.240.0.10
        """;

    private readonly TestDriverLab _lab = new(hosts: 1);
    private readonly ForensicsLab _forensics;
    private readonly FakeKubernetesApi _api = new();
    private readonly k8s.Kubernetes _client;
    private readonly RecordingPhase _harden = new("harden");
    private readonly RecordingPhase _audit = new("audit");
    private readonly StackEngine _engine;

    public NodeReplacerTests()
    {
        _forensics = new ForensicsLab(_lab);
        _client = new k8s.Kubernetes(new k8s.KubernetesClientConfiguration { Host = _api.Url });
        _engine = new StackEngine(_lab.Engine().Options with { Access = new UnusedAccess() });
    }

    public void Dispose()
    {
        _client.Dispose();
        _api.Dispose();
        _forensics.Dispose();
        _lab.Dispose();
    }

    [Fact]
    public async Task ReplaceAsync_NoCluster_NewIdentitySameAddressOnlyThatNodeTouched()
    {
        var stack = _lab.Stack(TwoWorkers);
        var before = (await _engine.UpAsync(stack, Ct)).Nodes.ToDictionary(n => n.Name);
        var evidence = Path.Combine(_forensics.EvidenceRoot, "lab", "a", "20261128T110000Z", "memory.elf");
        Directory.CreateDirectory(Path.GetDirectoryName(evidence)!);
        await File.WriteAllTextAsync(evidence, "evidence", Ct);
        _lab.Time.Advance(TimeSpan.FromMinutes(5));

        var result = await Replacer().ReplaceAsync(stack, "a", "alice", null, Ct);

        Assert.NotEqual(before["a"].HostKeyFingerprint, result.Node.HostKeyFingerprint);
        Assert.Equal(before["a"].HostKeyFingerprint, result.OldHostKeyFingerprint);
        Assert.Equal(before["a"].Address, result.Node.Address);
        Assert.True(result.Node.Created > before["a"].Created);
        var after = (await _engine.StatusAsync(stack, Ct)).Nodes.ToDictionary(n => n.Name);
        Assert.Equal(before["b"], after["b"]);
        Assert.Equal(["a"], _harden.Seen);
        Assert.Equal(["a"], _audit.Seen);
        Assert.True(result.AuditPassed);
        Assert.Equal(
            [("drain", StepOutcome.Skipped), ("recreate", StepOutcome.Done), ("harden", StepOutcome.Done), ("rejoin", StepOutcome.Skipped), ("audit", StepOutcome.Done)],
            result.Timeline.Select(s => (s.Name, s.Outcome)));
        Assert.Equal("the stack has no Kubernetes cluster", result.Timeline[0].Detail);
        Assert.Equal("evidence", await File.ReadAllTextAsync(evidence, Ct));
        Assert.Contains("the node was not quarantined before its replacement", result.Notes);
        var progress = await ReplacementProgress.ReadAsync(Path.Combine(_forensics.EvidenceRoot, "lab", "a"), Ct);
        Assert.Equal(ReplacementStep.Done, progress!.Step);
        Assert.Empty(_api.Calls);
    }

    [Fact]
    public async Task ReplaceAsync_QuarantinedNode_NewMachineIsNotQuarantined()
    {
        var stack = _lab.Stack(TwoWorkers);
        await _engine.UpAsync(stack, Ct);
        await new NodeQuarantine(_forensics.Options()).QuarantineAsync(stack, "a", new QuarantineRequest { Reason = "r", Operator = "alice" }, Ct);

        await Replacer().ReplaceAsync(stack, "a", "alice", null, Ct);

        using var domain = _lab.Connection(_lab.HostNames[0]).LookupDomain("lab-a");
        Assert.Null(NodeQuarantine.Read(domain));
    }

    [Fact]
    public async Task ReplaceAsync_UnknownNode_ThrowsAndWritesNoProgress()
    {
        var stack = _lab.Stack(TwoWorkers);
        await _engine.UpAsync(stack, Ct);

        await Assert.ThrowsAsync<NodeLookupException>(() => Replacer().ReplaceAsync(stack, "zz", "alice", null, Ct));

        Assert.False(Directory.Exists(Path.Combine(_forensics.EvidenceRoot, "lab", "zz")));
    }

    [Fact]
    public async Task ReplaceAsync_BootFailsThenReRun_ReportsHalfReplacedThenFinishes()
    {
        var stack = _lab.Stack(TwoWorkers);
        var before = (await _engine.UpAsync(stack, Ct)).Nodes.Single(n => n.Name == "a");
        _lab.Readiness.FailFor["a"] = true;

        var error = await Assert.ThrowsAsync<ReplacementException>(() => Replacer().ReplaceAsync(stack, "a", "alice", null, Ct));

        Assert.Equal(ReplacementStep.Recreating, error.Step);
        Assert.Contains("HALF-REPLACED", error.Message, StringComparison.Ordinal);
        Assert.Contains("run the same replace again", error.Message, StringComparison.Ordinal);
        Assert.Contains(error.Timeline, s => s is { Name: "recreate", Outcome: StepOutcome.Failed });

        _lab.Readiness.FailFor.Clear();
        var result = await Replacer().ReplaceAsync(stack, "a", "alice", null, Ct);

        Assert.Contains(result.Notes, n => n.StartsWith("continuing an interrupted replacement (last step: recreating", StringComparison.Ordinal));
        Assert.Equal(before.HostKeyFingerprint, result.OldHostKeyFingerprint);
        Assert.NotEqual(before.HostKeyFingerprint, result.Node.HostKeyFingerprint);
        Assert.True(result.Node.Ready);
    }

    [Fact]
    public async Task ReplaceAsync_InterruptedAfterTheMachineWasRemoved_ReRunCreatesIt()
    {
        var stack = _lab.Stack(TwoWorkers);
        var before = (await _engine.UpAsync(stack, Ct)).Nodes.Single(n => n.Name == "a");
        var directory = Path.Combine(_forensics.EvidenceRoot, "lab", "a");
        await new ReplacementProgress
        {
            Stack = "lab", Node = "a", Operator = "alice", Started = _lab.Time.GetUtcNow(), Step = ReplacementStep.Recreating,
            Updated = _lab.Time.GetUtcNow(), OldHostKeyFingerprint = before.HostKeyFingerprint,
        }.WriteAsync(directory, Ct);
        using (var host = HostSession.Open(stack.Hosts[0], _lab.Connector))
        {
            NodeOperations.Delete(host, "lab", "a");
        }

        var result = await Replacer().ReplaceAsync(stack, "a", "bob", null, Ct);

        Assert.True(result.Node.Ready);
        Assert.Equal(before.Address, result.Node.Address);
        Assert.Equal(before.HostKeyFingerprint, result.OldHostKeyFingerprint);
        Assert.DoesNotContain(result.Timeline, s => s.Name == "drain");
    }

    [Fact]
    public async Task ReplaceAsync_ClusterWorker_DrainsDeletesNodeObjectThenRecreates()
    {
        var stack = _lab.Stack(Cluster, extraHosts: KubernetesSection);
        await _engine.UpAsync(stack, Ct);
        _api.AddPod("shop", "web-1", "w-1");
        _api.AddPod("kube-system", "calico-node-1", "w-1", ownerKind: "DaemonSet");
        var rejoin = new RecordingRejoin();

        var result = await Replacer(rejoin: rejoin).ReplaceAsync(stack, "w-1", "alice", null, Ct);

        Assert.Equal(
            [("drain", StepOutcome.Done), ("etcd", StepOutcome.Skipped), ("delete-node-object", StepOutcome.Done), ("recreate", StepOutcome.Done),
             ("harden", StepOutcome.Done), ("rejoin", StepOutcome.Done), ("audit", StepOutcome.Done)],
            result.Timeline.Select(s => (s.Name, s.Outcome)));
        var calls = _api.Calls.ToList();
        Assert.Equal("GET /api/v1/nodes/w-1", calls[0]);
        Assert.Equal("PATCH /api/v1/nodes/w-1", calls[1]);
        Assert.Contains("POST /api/v1/namespaces/shop/pods/web-1/eviction", calls);
        Assert.Equal("DELETE /api/v1/nodes/w-1", calls[^1]);
        Assert.Equal(["w-1"], rejoin.Joined);
    }

    [Fact]
    public async Task ReplaceAsync_ControlPlane_RemovesEtcdMemberBeforeDeletingNodeObject()
    {
        var stack = _lab.Stack(Cluster, extraHosts: KubernetesSection);
        await _engine.UpAsync(stack, Ct);
        var order = new ConcurrentQueue<string>();
        var membership = new RecordingMembership(order, _api);

        var result = await Replacer(etcd: membership).ReplaceAsync(stack, "cp-1", "alice", null, Ct);

        Assert.Equal([7UL], membership.Removed);
        Assert.Equal(["etcd remove 7 (node object present: True)"], order);
        Assert.Contains(result.Timeline, s => s is { Name: "etcd", Outcome: StepOutcome.Done });
        Assert.False(_api.NodeExists);
    }

    [Fact]
    public async Task ReplaceAsync_DrainTimesOut_NothingDestroyedAndNodeStaysQuarantined()
    {
        var stack = _lab.Stack(Cluster, extraHosts: KubernetesSection);
        var before = (await _engine.UpAsync(stack, Ct)).Nodes.Single(n => n.Name == "w-1");
        await new NodeQuarantine(_forensics.Options()).QuarantineAsync(stack, "w-1", new QuarantineRequest { Reason = "r", Operator = "alice" }, Ct);
        _api.AddPod("shop", "db-0", "w-1");
        _api.RefuseEvictions = true;

        var error = await Assert.ThrowsAsync<DrainTimeoutException>(() => Replacer(drainTimeout: TimeSpan.FromMilliseconds(200)).ReplaceAsync(stack, "w-1", "alice", null, Ct));

        Assert.Contains("nothing was destroyed", error.Message, StringComparison.Ordinal);
        var after = (await _engine.StatusAsync(stack, Ct)).Nodes.Single(n => n.Name == "w-1");
        Assert.Equal(before.HostKeyFingerprint, after.HostKeyFingerprint);
        Assert.Equal(before.Created, after.Created);
        using var domain = _lab.Connection(_lab.HostNames[0]).LookupDomain("lab-w-1");
        Assert.NotNull(NodeQuarantine.Read(domain));
        Assert.True(_api.NodeExists);
        Assert.Empty(_harden.Seen);
        var progress = await ReplacementProgress.ReadAsync(Path.Combine(_forensics.EvidenceRoot, "lab", "w-1"), Ct);
        Assert.Equal(ReplacementStep.Draining, progress!.Step);
    }

    [Fact]
    public async Task ReprovisionAsync_CaptureFails_StopsBeforeReplacing()
    {
        var stack = _lab.Stack(TwoWorkers);
        var before = (await _engine.UpAsync(stack, Ct)).Nodes.Single(n => n.Name == "a");
        _forensics.FreeBytes = 1024;
        var reprovisioner = new NodeReprovisioner(new NodeQuarantine(_forensics.Options()), new EvidenceCapture(_forensics.Options()), Replacer(), _lab.Time);

        await Assert.ThrowsAsync<InsufficientEvidenceSpaceException>(() =>
            reprovisioner.ReprovisionAsync(stack, "a", new ReprovisionRequest { Reason = "r", Operator = "alice" }, null, null, Ct));

        var after = (await _engine.StatusAsync(stack, Ct)).Nodes.Single(n => n.Name == "a");
        Assert.Equal(before.HostKeyFingerprint, after.HostKeyFingerprint);
        using var domain = _lab.Connection(_lab.HostNames[0]).LookupDomain("lab-a");
        Assert.NotNull(NodeQuarantine.Read(domain));
        Assert.False(File.Exists(Path.Combine(_forensics.EvidenceRoot, "lab", "a", ReplacementProgress.FileName)));
    }

    [Fact]
    public async Task ReprovisionAsync_AllSteps_QuarantinesCapturesReplacesAndKeepsEvidence()
    {
        var stack = _lab.Stack(TwoWorkers);
        await _engine.UpAsync(stack, Ct);
        var reprovisioner = new NodeReprovisioner(new NodeQuarantine(_forensics.Options()), new EvidenceCapture(_forensics.Options()), Replacer(), _lab.Time);

        var result = await reprovisioner.ReprovisionAsync(stack, "a", new ReprovisionRequest { Reason = "r", Operator = "alice" }, null, null, Ct);

        Assert.Equal(["quarantine", "capture", "drain", "recreate", "harden", "rejoin", "audit"], result.Replacement.Timeline.Select(s => s.Name));
        Assert.True((await EvidenceVerifier.VerifyAsync(result.EvidenceDirectory!, Ct)).Intact);
        Assert.DoesNotContain(result.Replacement.Notes, n => n.Contains("evidence", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ReplaceAsync_EvidenceRootInsideAStoragePool_RefusesBeforeTouchingAnything()
    {
        var stack = _lab.Stack(TwoWorkers);
        await _engine.UpAsync(stack, Ct);
        var replacer = new NodeReplacer(_engine, new NodeReplacerOptions
        {
            Forensics = _forensics.Options() with { EvidenceRoot = stack.Hosts[0].Pool.Path + "/evidence" },
        });

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => replacer.ReplaceAsync(stack, "a", "alice", null, Ct));

        Assert.Contains("overlaps storage pool", error.Message, StringComparison.Ordinal);
        Assert.Empty(_lab.Readiness.Waited.Where(n => n == "a").Skip(1));
    }

    [Fact]
    public async Task ReplaceNodeAsync_NodeNotInDefinition_ThrowsKeyNotFound()
    {
        var stack = _lab.Stack(TwoWorkers);

        var error = await Assert.ThrowsAsync<KeyNotFoundException>(() => _engine.ReplaceNodeAsync(stack, "zz", Ct));

        Assert.Equal("stack 'lab' defines no node 'zz'", error.Message);
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private NodeReplacer Replacer(IClusterRejoin? rejoin = null, IEtcdMembership? etcd = null, TimeSpan? drainTimeout = null) => new(_engine, new NodeReplacerOptions
    {
        // The drain polls a real API server over HTTP, so it waits on the real clock.
        Forensics = _forensics.Options() with { Time = TimeProvider.System },
        Repair = _harden,
        Audit = _audit,
        Kubernetes = _ => _client,
        Etcd = etcd is null ? null : (_, _, _) => Task.FromResult(etcd),
        Rejoin = rejoin,
        DrainTimeout = drainTimeout ?? TimeSpan.FromSeconds(20),
        DrainPollInterval = TimeSpan.FromMilliseconds(20),
    });

    private sealed class RecordingPhase(string name) : IStackPhase
    {
        public ConcurrentQueue<string> Seen { get; } = new();

        public string Name => name;

        public Task<StackPhaseResult> RunAsync(StackPhaseContext context, CancellationToken cancellationToken)
        {
            foreach (var node in context.Nodes)
            {
                Seen.Enqueue(node.Name);
            }

            return Task.FromResult(new StackPhaseResult { Phase = name, Summary = $"{name} ran on {context.Nodes.Count} node(s)" });
        }
    }

    private sealed class RecordingRejoin : IClusterRejoin
    {
        public ConcurrentQueue<string> Joined { get; } = new();

        public string? WhyNot(StackDefinition stack) => null;

        public Task<string> RejoinAsync(StackDefinition stack, NodeStatus node, CancellationToken cancellationToken)
        {
            Joined.Enqueue(node.Name);
            return Task.FromResult("joined");
        }
    }

    private sealed class RecordingMembership(ConcurrentQueue<string> order, FakeKubernetesApi api) : IEtcdMembership
    {
        public List<ulong> Removed { get; } = [];

        public Task<IReadOnlyList<EtcdMember>> ListAsync(CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<EtcdMember>>([new EtcdMember(7, "cp-1", []), new EtcdMember(8, "cp-2", []), new EtcdMember(9, "cp-3", [])]);

        public Task RemoveAsync(ulong id, CancellationToken cancellationToken)
        {
            Removed.Add(id);
            order.Enqueue($"etcd remove {id} (node object present: {api.NodeExists})");
            return Task.CompletedTask;
        }
    }

    private sealed class UnusedAccess : INodeAccess
    {
        public Task<IRemoteSession> OpenAsync(StackDefinition stack, NodeStatus node, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("the recording phases open no sessions");
    }
}
