using System.Collections.Concurrent;
using Provisioner.Core.Audit;
using Provisioner.Core.Stacks;
using Provisioner.Core.Templates;
using Provisioner.Engine.Access;
using Provisioner.Engine.Audit;
using Provisioner.Engine.Graph;
using Provisioner.Engine.Hardening;
using Provisioner.Engine.Phases;
using Provisioner.Engine.Tests.TestDriver;
using Provisioner.Remote.Sessions;

namespace Provisioner.Engine.Tests.Phases;

/// <summary>Phases after up, on the test driver: when they run, on which nodes, and what a failure does.</summary>
public sealed class StackPhaseTests : IDisposable
{
    private const string TwoWorkers = """
        - name: w
          role: worker
          count: 2
          cpus: 1
          memoryMiB: 1024
          diskGiB: 4
          network: cluster
        """;

    private readonly TestDriverLab _lab = new(hosts: 1);

    public void Dispose() => _lab.Dispose();

    [Fact]
    public async Task UpAsync_WithPhase_RunsItAfterNodesExistWithCreatedNodesMarked()
    {
        var phase = new RecordingPhase();
        var engine = _lab.Engine(o => o with { Phases = [phase], Access = new NoAccess() });
        var stack = _lab.Stack(TwoWorkers);

        var first = await engine.UpAsync(stack, TestContext.Current.CancellationToken);
        var second = await engine.UpAsync(stack, TestContext.Current.CancellationToken);

        Assert.Equal(2, phase.Contexts.Count);
        Assert.Equal(["w-1", "w-2"], phase.Contexts[0].Nodes.Select(n => n.Name));
        Assert.All(phase.Contexts[0].Nodes, n => Assert.StartsWith("ssh-ed25519 ", n.HostPublicKey, StringComparison.Ordinal));
        Assert.Equal(["w-1", "w-2"], phase.Contexts[0].CreatedNodes.Order(StringComparer.Ordinal));
        // The no-op run still runs the phase (the audit), with nothing created.
        Assert.Empty(phase.Contexts[1].CreatedNodes);
        Assert.False(second.Changed);
        Assert.False(second.AnythingChanged);
        Assert.Equal("recording", Assert.Single(first.Phases).Phase);
    }

    [Fact]
    public async Task UpAsync_PhaseNodes_LimitsThePhaseToThoseNodes()
    {
        var phase = new RecordingPhase();
        var engine = _lab.Engine(o => o with { Phases = [phase], Access = new NoAccess() });

        await engine.UpAsync(_lab.Stack(TwoWorkers), new UpOptions { PhaseNodes = ["w-2"] }, TestContext.Current.CancellationToken);

        Assert.Equal(["w-2"], Assert.Single(phase.Contexts).Nodes.Select(n => n.Name));
    }

    [Fact]
    public async Task UpAsync_PhaseThrows_FailsWithTheStepNamedAndNodesKept()
    {
        var engine = _lab.Engine(o => o with { Phases = [new RecordingPhase { Throw = true }], Access = new NoAccess() });
        var stack = _lab.Stack(TwoWorkers);

        var e = await Assert.ThrowsAsync<StepFailedException>(() => engine.UpAsync(stack, TestContext.Current.CancellationToken));

        Assert.Equal("phase/recording", e.StepId);
        var (_, nodes) = await engine.StatusAsync(stack, TestContext.Current.CancellationToken);
        Assert.Equal(2, nodes.Count);
    }

    [Fact]
    public async Task RunPhasesAsync_UnknownNode_ThrowsNamingIt()
    {
        var engine = _lab.Engine(o => o with { Access = new NoAccess() });
        var stack = _lab.Stack(TwoWorkers);
        await engine.UpAsync(stack, TestContext.Current.CancellationToken);

        var e = await Assert.ThrowsAsync<UnknownNodeException>(() => engine.RunPhasesAsync(stack, [new RecordingPhase()], ["w-9"], TestContext.Current.CancellationToken));

        Assert.Equal("w-9", e.Node);
        Assert.Contains("'w-9'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AuditPhase_NodeUnreachable_ReportsAnErrorForThatNodeInsteadOfThrowing()
    {
        var hardening = new NodeHardening(TemplateRenderer.CreateDefault());
        var engine = _lab.Engine(o => o with { Access = new NoAccess() });
        var stack = _lab.Stack(TwoWorkers);
        await engine.UpAsync(stack, TestContext.Current.CancellationToken);

        var results = await engine.RunPhasesAsync(stack, [new AuditPhase(hardening, new AuditRunner())], null, TestContext.Current.CancellationToken);

        var audit = Assert.IsType<AuditPhaseResult>(Assert.Single(results));
        Assert.True(audit.Failed);
        Assert.Equal(["w-1", "w-2"], audit.Reports.Select(r => r.Node));
        Assert.All(audit.Reports, r =>
        {
            var result = Assert.Single(r.Results);
            Assert.Equal(AuditPhase.ReachableCheckId, result.Id);
            Assert.Equal(AuditStatus.Error, result.Status);
            Assert.Contains("no route in this test", result.Found, StringComparison.Ordinal);
        });
    }

    [Fact]
    public void NodeHardening_FirstBoot_CarriesTheBundlesFilesAndCommands()
    {
        var hardening = new NodeHardening(TemplateRenderer.CreateDefault());
        var stack = _lab.Stack(TwoWorkers);
        var bundle = hardening.Render(stack, "w-1");
        var node = new Planning.DesiredNode
        {
            Definition = stack.FindNode("w-1")!,
            Host = "h1",
            Addresses = NodeAddressing.Assign(stack)["w-1"],
            DefinitionHash = "x",
            DomainName = "lab-w-1",
            RootVolume = "lab-w-1-root",
            SeedVolume = "lab-w-1-seed",
            LibvirtNetwork = "lab-cluster",
        };

        var extras = hardening.FirstBoot(stack, node);

        Assert.Equal(bundle.Files.Select(f => f.Path), extras.Files.Select(f => f.Path));
        Assert.Contains(extras.Files, f => f.Path == "/etc/docker/daemon.json");
        Assert.Equal(bundle.Activation.Select(a => string.Join(' ', a.Argv)), extras.Commands.Select(c => string.Join(' ', c)));
    }

    private sealed class RecordingPhase : IStackPhase
    {
        public ConcurrentQueue<StackPhaseContext> Queue { get; } = new();

        public List<StackPhaseContext> Contexts => [.. Queue];

        public bool Throw { get; init; }

        public string Name => "recording";

        public Task<StackPhaseResult> RunAsync(StackPhaseContext context, CancellationToken cancellationToken)
        {
            Queue.Enqueue(context);
            if (Throw)
            {
                throw new InvalidOperationException("phase broke");
            }
            return Task.FromResult(new StackPhaseResult { Phase = Name, Summary = $"{context.Nodes.Count} node(s)" });
        }
    }

    private sealed class NoAccess : INodeAccess
    {
        public Task<IRemoteSession> OpenAsync(StackDefinition stack, NodeStatus node, CancellationToken cancellationToken) =>
            throw new NodeAccessException($"node '{node.Name}': no route in this test");
    }
}
