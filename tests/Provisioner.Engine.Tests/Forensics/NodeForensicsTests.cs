using LibvirtSharp;
using Provisioner.Engine.Forensics;
using Provisioner.Engine.Tests.TestDriver;

namespace Provisioner.Engine.Tests.Forensics;

/// <summary>Quarantine and capture against libvirt's test driver: real domains, metadata, core dumps and pause/resume.</summary>
public sealed class NodeForensicsTests : IDisposable
{
    private const string TwoNodes = """
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

    private readonly TestDriverLab _lab = new(hosts: 1);
    private readonly ForensicsLab _forensics;

    public NodeForensicsTests()
    {
        _forensics = new ForensicsLab(_lab);
    }

    public void Dispose()
    {
        _forensics.Dispose();
        _lab.Dispose();
    }

    [Fact]
    public async Task QuarantineAsync_RunningNode_CutsRecordsAndKeepsItRunning()
    {
        var stack = await UpAsync();

        var result = await new NodeQuarantine(_forensics.Options()).QuarantineAsync(stack, "a", Request("alice"), Ct);

        Assert.False(result.AlreadyQuarantined);
        Assert.Single(result.CutNow);
        Assert.Equal(DomainState.Running, result.State);
        using var domain = Domain("lab-a");
        var record = NodeQuarantine.Read(domain)!;
        Assert.Equal(("alice", "suspected compromise", _lab.Time.GetUtcNow()), (record.Operator, record.Reason, record.Since));
        Assert.Equal(result.CutNow, record.Interfaces);
        using var other = Domain("lab-b");
        Assert.Null(NodeQuarantine.Read(other));
    }

    [Fact]
    public async Task QuarantineAsync_Twice_KeepsFirstRecordAndCutsNothingMore()
    {
        var stack = await UpAsync();
        var quarantine = new NodeQuarantine(_forensics.Options());
        var first = await quarantine.QuarantineAsync(stack, "a", Request("alice"), Ct);
        _lab.Time.Advance(TimeSpan.FromHours(1));

        var second = await quarantine.QuarantineAsync(stack, "a", Request("bob") with { Pause = true }, Ct);

        Assert.True(second.AlreadyQuarantined);
        Assert.Empty(second.CutNow);
        Assert.Equal(1, _forensics.Isolation.Cuts);
        Assert.True(second.PausedNow);
        Assert.Equal(DomainState.Paused, second.State);
        Assert.Equal(first.Record with { Paused = true, Interfaces = second.Record.Interfaces }, second.Record);
        Assert.Equal(first.Record.Interfaces, second.Record.Interfaces);
    }

    [Fact]
    public async Task QuarantineAsync_DriverCannotChangeLinkState_FailsAndRecordsNothing()
    {
        var stack = await UpAsync();

        var error = await Assert.ThrowsAsync<QuarantineException>(() =>
            new NodeQuarantine(_forensics.Options(LinkStateIsolation.Instance)).QuarantineAsync(stack, "a", Request("alice"), Ct));

        Assert.Contains("NOT quarantined", error.Message, StringComparison.Ordinal);
        using var domain = Domain("lab-a");
        Assert.Null(NodeQuarantine.Read(domain));
    }

    [Fact]
    public async Task QuarantineAsync_UnknownNode_NamesTheStacksNodes()
    {
        var stack = await UpAsync();

        var error = await Assert.ThrowsAsync<NodeLookupException>(() =>
            new NodeQuarantine(_forensics.Options()).QuarantineAsync(stack, "zz", Request("alice"), Ct));

        Assert.Equal("stack 'lab' has no node 'zz' that exists (its nodes: a, b)", error.Message);
        Assert.Equal(0, _forensics.Isolation.Cuts);
    }

    [Fact]
    public async Task QuarantineAsync_NodeOfAnotherStack_NamesTheOwnerAndChangesNothing()
    {
        var stack = await UpAsync();
        var other = _lab.Stack("""
            - name: c
              role: worker
              cpus: 1
              memoryMiB: 1024
              diskGiB: 4
              diskBus: virtio
              network: cluster
            """, name: "other");
        await _lab.Engine().UpAsync(other, Ct);

        var error = await Assert.ThrowsAsync<NodeLookupException>(() =>
            new NodeQuarantine(_forensics.Options()).QuarantineAsync(stack, "c", Request("alice"), Ct));

        Assert.Equal("other", error.OwningStack);
        Assert.Contains("belongs to stack 'other'", error.Message, StringComparison.Ordinal);
        using var domain = Domain("other-c");
        Assert.Null(NodeQuarantine.Read(domain));
    }

    [Fact]
    public async Task CaptureAsync_QuarantinedNode_WritesHashedSetThatVerifiesAndResumesGuest()
    {
        var stack = await UpAsync();
        await new NodeQuarantine(_forensics.Options()).QuarantineAsync(stack, "a", Request("alice"), Ct);

        var result = await new EvidenceCapture(_forensics.Options()).CaptureAsync(stack, "a", new CaptureRequest { Operator = "alice" }, null, Ct);

        Assert.StartsWith(Path.Combine(_forensics.EvidenceRoot, "lab", "a", "20261128T120000Z"), result.Directory, StringComparison.Ordinal);
        Assert.Equal(["memory", "disk", "domain-xml", "domain-xml", "metadata", "metadata", "backing-image"], result.Manifest.Files.Select(f => f.Kind));
        // The root disk is an overlay: the golden image it is cloned from is kept with it, so the copy can be read elsewhere.
        var golden = result.Manifest.BackingVolume!;
        Assert.Equal(new[] { "lab-a-root", golden }.Order(StringComparer.Ordinal), _forensics.Disks.Downloaded.Order(StringComparer.Ordinal));
        Assert.Equal(FakeDiskContent.ContentOf("lab-a-root"), await File.ReadAllBytesAsync(Path.Combine(result.Directory, "disk0-lab-a-root"), Ct));
        Assert.Equal(FakeDiskContent.ContentOf(golden), await File.ReadAllBytesAsync(Path.Combine(result.Directory, $"backing-{golden}.qcow2"), Ct));
        Assert.Contains(result.Manifest.Notes, n => n.Contains($"qemu-img rebase -u -F qcow2 -b backing-{golden}.qcow2", StringComparison.Ordinal));
        Assert.True(result.Manifest.Quarantined);
        Assert.Equal("suspected compromise", result.Manifest.Reason);
        Assert.Contains(result.Manifest.Notes, n => n.Contains("no console log", StringComparison.Ordinal));
        Assert.False(File.Exists(Path.Combine(result.Directory, EvidenceManifest.IncompleteMarker)));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(result.Directory));
        Assert.All(Directory.GetFiles(result.Directory), f => Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(f)));
        var verified = await EvidenceVerifier.VerifyAsync(result.Directory, Ct);
        Assert.True(verified.Intact, string.Join("; ", verified.Failures));

        using var domain = Domain("lab-a");
        Assert.Equal(DomainState.Running, domain.GetState());
        var record = NodeQuarantine.Read(domain)!;
        Assert.Equal((result.Directory, ReprovisionStep.Captured), (record.EvidencePath, record.Step));
    }

    [Fact]
    public async Task CaptureAsync_TwiceInOneSecond_NeverWritesIntoTheEarlierSet()
    {
        var stack = await UpAsync();
        var capture = new EvidenceCapture(_forensics.Options());

        var first = await capture.CaptureAsync(stack, "a", new CaptureRequest { Operator = "alice" }, null, Ct);
        var second = await capture.CaptureAsync(stack, "a", new CaptureRequest { Operator = "alice" }, null, Ct);

        Assert.NotEqual(first.Directory, second.Directory);
        Assert.True((await EvidenceVerifier.VerifyAsync(first.Directory, Ct)).Intact);
    }

    [Fact]
    public async Task CaptureAsync_NotEnoughSpace_ThrowsAndWritesNothing()
    {
        var stack = await UpAsync();
        _forensics.FreeBytes = 512L * 1024 * 1024;

        var error = await Assert.ThrowsAsync<InsufficientEvidenceSpaceException>(() =>
            new EvidenceCapture(_forensics.Options()).CaptureAsync(stack, "a", new CaptureRequest { Operator = "alice" }, null, Ct));

        Assert.True(error.RequiredBytes > 1024L * 1024 * 1024);
        Assert.Contains("nothing was written", error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_forensics.EvidenceRoot));
        Assert.Empty(_forensics.Disks.Downloaded);
    }

    [Fact]
    public async Task CaptureAsync_DiskCopyFails_KeepsIncompleteSetAndResumesGuest()
    {
        var stack = await UpAsync();
        _forensics.Disks.FailWith = new IOException("stream broke");

        var error = await Assert.ThrowsAsync<EvidenceCaptureException>(() =>
            new EvidenceCapture(_forensics.Options()).CaptureAsync(stack, "a", new CaptureRequest { Operator = "alice" }, null, Ct));

        Assert.Contains("failed at disk", error.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(error.Directory!, EvidenceManifest.IncompleteMarker)));
        Assert.True(File.Exists(Path.Combine(error.Directory!, "memory.elf")));
        await Assert.ThrowsAsync<EvidenceManifestException>(() => EvidenceVerifier.VerifyAsync(error.Directory!, Ct));
        using var domain = Domain("lab-a");
        Assert.Equal(DomainState.Running, domain.GetState());
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static QuarantineRequest Request(string who) => new() { Reason = "suspected compromise", Operator = who };

    private async Task<Core.Stacks.StackDefinition> UpAsync()
    {
        var stack = _lab.Stack(TwoNodes);
        await _lab.Engine().UpAsync(stack, Ct);
        return stack;
    }

    private Domain Domain(string name) => _lab.Connection(_lab.HostNames[0]).LookupDomain(name);
}
