using System.Collections.Concurrent;
using Provisioner.Core.Stacks;
using Provisioner.Engine.Access;
using Provisioner.Engine.Phases;
using Provisioner.Engine.Sandboxes;
using Provisioner.Engine.Tests.TestDriver;

namespace Provisioner.Engine.Tests.Sandboxes;

/// <summary>Sandboxes on libvirt's test driver: one mock host, real libvirt calls, a fake clock.</summary>
public sealed class SandboxServiceTests : IDisposable
{
    private readonly TestDriverLab _lab = new(hosts: 1, region: "local", cpus: 8, memoryGiB: 24, media: "ssd");
    private readonly string _lockDir = Directory.CreateTempSubdirectory("sbtest-lock-").FullName;

    public void Dispose()
    {
        _lab.Dispose();
        Directory.Delete(_lockDir, recursive: true);
    }

    private SandboxService Service() => new(_lab.Engine(o => o with { Access = new NoAccess() }), SandboxHost.Local with { Uri = _lab.Uri(_lab.HostNames[0]) }, _lab.Time);

    private static Ipv4Cidr C(string text) => Ipv4Cidr.Parse(text);

    private static readonly (int, TransportProtocol)[] Http = [(8080, TransportProtocol.Tcp)];

    private static SandboxRequest Request(string name, int hours = 2, long memory = 1024) =>
        new() { Spec = new SandboxSpec { Name = name, MemoryMiB = memory, DiskGiB = 4 }, Ttl = TimeSpan.FromHours(hours) };

    [Fact]
    public void Build_FromInventoryEquivalentSpecs_IsAValidStack()
    {
        var stack = SandboxStackBuilder.Build(SandboxHost.Local with { Emulation = SandboxEmulation.Force }, [new SandboxSpec { Name = "sb-0001" }]);

        Assert.Equal("sandbox", stack.Name);
        var node = Assert.Single(stack.Nodes);
        Assert.Equal(Core.Stacks.NodeRole.Sandbox, node.Role);
        Assert.Equal(2048, node.MemoryMiB);
        Assert.True(stack.Virtualization.AllowEmulation);
        Assert.Equal(Core.Stacks.VirtualizationType.Qemu, stack.Virtualization.DomainType);
        Assert.Empty(SandboxStackBuilder.Build(SandboxHost.Local, []).Nodes);
    }

    [Fact]
    public async Task UpAsync_SecondSandbox_LeavesFirstUnchanged()
    {
        var service = Service();
        var ct = TestContext.Current.CancellationToken;
        var first = await service.UpAsync(Request("sb-aaaa"), ct);
        var before = (await _lab.Engine().InventoryAsync(service.StackWith([]), ct)).Single();

        var second = await service.UpAsync(Request("sb-bbbb", hours: 1), ct);

        var after = (await _lab.Engine().InventoryAsync(service.StackWith([]), ct)).ToDictionary(n => n.Name);
        Assert.Equal(before.Uuid, after["sb-aaaa"].Uuid);
        Assert.Equal(before.Metadata, after["sb-aaaa"].Metadata);
        Assert.Equal(_lab.Time.GetUtcNow().AddHours(2), first.Expires);
        Assert.Equal(_lab.Time.GetUtcNow().AddHours(1), second.Expires);
        Assert.NotEqual(first.Address, second.Address);
        Assert.StartsWith("10.78.0.", second.Address);
        // The rebuilt stack plans nothing for the existing sandboxes.
        var plan = await _lab.Engine().PreviewAsync(service.StackWith(SandboxStackBuilder.FromInventory(after.Values)), ct);
        Assert.False(plan.HasChanges, string.Join("; ", plan.Changes.Select(c => $"{c.Name} {c.Change} {c.Reason} {string.Join(",", c.Properties)}")));
    }

    [Fact]
    public async Task UpAsync_NameTaken_FailsBeforeCreating()
    {
        var service = Service();
        var ct = TestContext.Current.CancellationToken;
        await service.UpAsync(Request("sb-aaaa"), ct);

        var e = await Assert.ThrowsAsync<SandboxInputException>(() => service.UpAsync(Request("sb-aaaa"), ct));

        Assert.Contains("already exists", e.Message);
    }

    [Fact]
    public async Task UpAsync_TooMuchMemory_PlanRejectedNothingCreated()
    {
        var service = Service();
        var ct = TestContext.Current.CancellationToken;

        await Assert.ThrowsAsync<PlanRejectedException>(() => service.UpAsync(Request("sb-huge", memory: 65536), ct));

        Assert.Empty(await service.ListAsync(ct));
    }

    [Fact]
    public async Task UpAsync_BootFails_RemovesSandboxAndNamesConsoleLog()
    {
        var service = Service();
        var ct = TestContext.Current.CancellationToken;
        await service.UpAsync(Request("sb-good"), ct);
        _lab.Readiness.FailFor["sb-bad"] = true;

        var e = await Assert.ThrowsAsync<SandboxOperationException>(() => service.UpAsync(Request("sb-bad"), ct));

        Assert.Equal("/var/log/libvirt/qemu/sandbox-sb-bad-console.log", e.ConsoleLogPath);
        Assert.Equal(["sb-good"], (await service.ListAsync(ct)).Select(s => s.Name));
    }

    [Fact]
    public async Task UpAsync_BootFailsKeepFailed_KeepsIt()
    {
        var service = Service();
        var ct = TestContext.Current.CancellationToken;
        _lab.Readiness.FailFor["sb-bad"] = true;

        await Assert.ThrowsAsync<SandboxOperationException>(() => service.UpAsync(Request("sb-bad") with { KeepFailed = true }, ct));

        Assert.Equal(["sb-bad"], (await service.ListAsync(ct)).Select(s => s.Name));
    }

    [Fact]
    public async Task ExtendAsync_AddsFromCurrentExpiry()
    {
        var service = Service();
        var ct = TestContext.Current.CancellationToken;
        await service.UpAsync(Request("sb-aaaa"), ct);
        _lab.Time.Advance(TimeSpan.FromMinutes(30));

        var expires = await service.ExtendAsync("sb-aaaa", TimeSpan.FromHours(1), ct);

        Assert.Equal(_lab.Time.GetUtcNow().AddMinutes(150), expires);
        Assert.Equal(expires, (await service.ListAsync(ct)).Single().Expires);
    }

    [Fact]
    public async Task ExtendAsync_Unknown_InputError()
    {
        var e = await Assert.ThrowsAsync<SandboxInputException>(() => Service().ExtendAsync("sb-none", TimeSpan.FromHours(1), TestContext.Current.CancellationToken));
        Assert.Contains("no sandbox named 'sb-none'", e.Message);
    }

    [Fact]
    public async Task DestroyAsync_OneOfTwo_ThenLast_RemovesNetworkAndPool()
    {
        var service = Service();
        var ct = TestContext.Current.CancellationToken;
        await service.UpAsync(Request("sb-aaaa"), ct);
        await service.UpAsync(Request("sb-bbbb"), ct);

        await service.DestroyAsync("sb-aaaa", ct);
        Assert.Equal(["sb-bbbb"], (await service.ListAsync(ct)).Select(s => s.Name));
        await service.DestroyAsync("sb-bbbb", ct);

        var connection = _lab.Connection(_lab.HostNames[0]);
        Assert.Empty(await service.ListAsync(ct));
        Assert.DoesNotContain(connection.ListNetworks(), n => n.Name.StartsWith("sandbox", StringComparison.Ordinal));
        Assert.DoesNotContain(connection.ListStoragePools(), p => p.Name == "sandbox");
    }

    [Fact]
    public async Task ReapAsync_RemovesOnlyExpiredAndIsIdempotent()
    {
        var service = Service();
        var ct = TestContext.Current.CancellationToken;
        await service.UpAsync(Request("sb-short", hours: 1), ct);
        await service.UpAsync(Request("sb-long", hours: 3), ct);

        Assert.Empty(await service.ReapAsync(_lockDir, ct));
        _lab.Time.Advance(TimeSpan.FromHours(2));
        var reaped = await service.ReapAsync(_lockDir, ct);
        var again = await service.ReapAsync(_lockDir, ct);

        Assert.Equal(["sb-short"], reaped);
        Assert.Empty(again);
        Assert.Equal(["sb-long"], (await service.ListAsync(ct)).Select(s => s.Name));
        _lab.Time.Advance(TimeSpan.FromHours(2));
        Assert.Equal(["sb-long"], await service.ReapAsync(_lockDir, ct));
        Assert.DoesNotContain(_lab.Connection(_lab.HostNames[0]).ListStoragePools(), p => p.Name == "sandbox");
    }

    [Fact]
    public async Task AllowAsync_NewSource_RecordsItInMetadataAndReappliesHardeningWithIt()
    {
        var service = Service();
        var ct = TestContext.Current.CancellationToken;
        await service.UpAsync(Request("sb-aaaa"), ct);
        await service.UpAsync(Request("sb-bbbb"), ct);
        var repair = new RecordingPhase();

        var result = await service.AllowAsync("sb-aaaa", Http, [C("10.1.2.0/24")], repair, ct);

        Assert.Equal(["8080/tcp from 10.1.2.0/24"], result.Opened.Select(o => o.ToString()));
        // The phase saw the stack with the sandbox's new port, and ran on that sandbox only.
        var context = Assert.Single(repair.Contexts);
        Assert.Equal(["sb-aaaa"], context.Nodes.Select(n => n.Name));
        var port = Assert.Single(context.Stack.FindNode("sb-aaaa")!.PublishedPorts);
        Assert.Equal((8080, TransportProtocol.Tcp), (port.Port, port.Protocol));
        Assert.Equal([C("10.1.2.0/24")], port.From);
        Assert.Empty(context.Stack.FindNode("sb-bbbb")!.PublishedPorts);
        // Any other copy of the tool reads it back from libvirt.
        var inventory = service.StackWith(SandboxStackBuilder.FromInventory(await _lab.Engine().InventoryAsync(service.StackWith([]), ct)));
        Assert.Equal([C("10.1.2.0/24")], Assert.Single(inventory.FindNode("sb-aaaa")!.PublishedPorts).From);
        Assert.Empty(inventory.FindNode("sb-bbbb")!.PublishedPorts);
    }

    [Fact]
    public async Task AllowAsync_MoreSources_KeepsThoseAllowedAndOpensOnlyWhatIsNew()
    {
        var service = Service();
        var ct = TestContext.Current.CancellationToken;
        await service.UpAsync(Request("sb-aaaa"), ct);
        await service.AllowAsync("sb-aaaa", Http, [C("10.1.0.0/16")], new RecordingPhase(), ct);
        var repair = new RecordingPhase();

        var result = await service.AllowAsync("sb-aaaa", [(8080, TransportProtocol.Tcp), (5353, TransportProtocol.Udp)], [C("10.1.2.0/24"), C("192.0.2.0/24")], repair, ct);

        Assert.Equal(["8080/tcp from 192.0.2.0/24", "5353/udp from 10.1.2.0/24", "5353/udp from 192.0.2.0/24"], result.Opened.Select(o => o.ToString()));
        var stack = Assert.Single(repair.Contexts).Stack;
        var ports = stack.FindNode("sb-aaaa")!.PublishedPorts;
        Assert.Equal([C("10.1.0.0/16"), C("192.0.2.0/24")], ports.Single(p => p.Port == 8080).From);
        Assert.Equal([C("10.1.2.0/24"), C("192.0.2.0/24")], ports.Single(p => p.Port == 5353).From);
    }

    [Fact]
    public async Task AllowAsync_AlreadyAllowed_ChangesNothingAndRunsNoPhase()
    {
        var service = Service();
        var ct = TestContext.Current.CancellationToken;
        await service.UpAsync(Request("sb-aaaa"), ct);
        await service.AllowAsync("sb-aaaa", Http, [C("10.0.0.0/8")], new RecordingPhase(), ct);
        var before = (await _lab.Engine().InventoryAsync(service.StackWith([]), ct)).Single().Metadata;
        var repair = new RecordingPhase();

        var result = await service.AllowAsync("sb-aaaa", Http, [C("10.1.2.0/24")], repair, ct);

        Assert.Empty(result.Opened);
        Assert.Empty(repair.Contexts);
        var after = (await _lab.Engine().InventoryAsync(service.StackWith([]), ct)).Single().Metadata;
        Assert.Equal(before.PublishedPorts.Single().From, after.PublishedPorts.Single().From);
    }

    [Fact]
    public async Task AllowAsync_SshPortOrUnknownSandbox_InputErrorNothingRecorded()
    {
        var service = Service();
        var ct = TestContext.Current.CancellationToken;
        await service.UpAsync(Request("sb-aaaa"), ct);

        var ssh = await Assert.ThrowsAsync<SandboxInputException>(() => service.AllowAsync("sb-aaaa", [(22, TransportProtocol.Tcp)], [C("10.0.0.0/8")], new RecordingPhase(), ct));
        var unknown = await Assert.ThrowsAsync<SandboxInputException>(() => service.AllowAsync("sb-none", Http, [C("10.0.0.0/8")], new RecordingPhase(), ct));

        Assert.StartsWith("-p: 22/tcp", ssh.Message, StringComparison.Ordinal);
        Assert.Contains("no sandbox named 'sb-none'", unknown.Message, StringComparison.Ordinal);
        Assert.Empty((await _lab.Engine().InventoryAsync(service.StackWith([]), ct)).Single().Metadata.PublishedPorts);
    }

    [Fact]
    public async Task UpAsync_SpecWithPorts_RecordsThemAndRebuildPlansNothing()
    {
        var service = Service();
        var ct = TestContext.Current.CancellationToken;
        var ports = new[] { new PublishedPortPolicy { Port = 8443, Protocol = TransportProtocol.Tcp, From = [C("198.51.100.0/24")] } };

        await service.UpAsync(Request("sb-aaaa") with { Spec = Request("sb-aaaa").Spec with { PublishedPorts = ports } }, ct);

        var specs = SandboxStackBuilder.FromInventory(await _lab.Engine().InventoryAsync(service.StackWith([]), ct));
        Assert.Equal([C("198.51.100.0/24")], Assert.Single(Assert.Single(specs).PublishedPorts).From);
        var plan = await _lab.Engine().PreviewAsync(service.StackWith(specs), ct);
        Assert.False(plan.HasChanges);

        // `sandbox list` reads them back from the metadata.
        var listed = Assert.Single(await service.ListAsync(ct));
        var port = Assert.Single(listed.PublishedPorts);
        Assert.Equal((8443, TransportProtocol.Tcp), (port.Port, port.Protocol));
        Assert.Equal([C("198.51.100.0/24")], port.From);
    }

    [Fact]
    public void Union_WiderSourceAlreadyAllowed_OpensNothingAndKeepsThePolicy()
    {
        IReadOnlyList<PublishedPortPolicy> current = [new() { Port = 8080, Protocol = TransportProtocol.Tcp, From = [C("10.0.0.0/8")] }];

        var (policy, opened) = SandboxPortPolicy.Union(current, Http, [C("10.1.2.0/24"), C("10.0.0.0/8")]);

        Assert.Empty(opened);
        Assert.Same(current, policy);
    }

    [Fact]
    public void Build_SandboxWithPorts_EmitsThemAsTheNodesPublishedPorts()
    {
        var spec = new SandboxSpec { Name = "sb-0001", PublishedPorts = [new PublishedPortPolicy { Port = 53, Protocol = TransportProtocol.Udp, From = [C("10.1.2.0/24"), C("0.0.0.0/0")] }] };

        var stack = SandboxStackBuilder.Build(SandboxHost.Local, [spec, new SandboxSpec { Name = "sb-0002" }]);

        var port = Assert.Single(stack.FindNode("sb-0001")!.PublishedPorts);
        Assert.Equal((53, TransportProtocol.Udp), (port.Port, port.Protocol));
        Assert.Equal([C("10.1.2.0/24"), C("0.0.0.0/0")], port.From);
        Assert.Empty(stack.FindNode("sb-0002")!.PublishedPorts);
        Assert.Empty(stack.Firewall.PublishedPorts);
    }

    private sealed class RecordingPhase : IStackPhase
    {
        private readonly ConcurrentQueue<StackPhaseContext> _queue = new();

        public List<StackPhaseContext> Contexts => [.. _queue];

        public string Name => "harden";

        public Task<StackPhaseResult> RunAsync(StackPhaseContext context, CancellationToken cancellationToken)
        {
            _queue.Enqueue(context);
            return Task.FromResult(new StackPhaseResult { Phase = Name, Changed = true, Summary = "recorded" });
        }
    }

    private sealed class NoAccess : INodeAccess
    {
        public Task<Remote.Sessions.IRemoteSession> OpenAsync(StackDefinition stack, NodeStatus node, CancellationToken cancellationToken) =>
            throw new NodeAccessException($"node '{node.Name}': no route in this test");
    }
}
