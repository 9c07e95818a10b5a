using System.Text.Json;
using Provisioner.Engine.Forensics;

namespace Provisioner.Cli.Tests;

/// <summary><c>provisioner node ...</c> in-process: evidence verification for real on disk, quarantine against the test driver.</summary>
public sealed class NodeCommandsTests : IDisposable
{
    private readonly CliLab _lab = new();
    private readonly string _evidence = Directory.CreateTempSubdirectory("reprov-cli-").FullName;

    public void Dispose()
    {
        _lab.Dispose();
        Directory.Delete(_evidence, recursive: true);
    }

    [Fact]
    public async Task VerifyEvidence_IntactSet_ExitsZero()
    {
        await WriteSetAsync();

        var run = await _lab.RunAsync("node", "verify-evidence", _evidence);

        Assert.Equal(ExitCodes.Ok, run.ExitCode);
        Assert.Contains("evidence intact: 1 file(s)", run.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task VerifyEvidence_TamperedFile_ExitsOneNamingIt()
    {
        await WriteSetAsync();
        await File.AppendAllTextAsync(Path.Combine(_evidence, "memory.elf"), "!", TestContext.Current.CancellationToken);

        var run = await _lab.RunAsync("node", "verify-evidence", _evidence, "--json");

        Assert.Equal(ExitCodes.Failed, run.ExitCode);
        Assert.Contains("memory.elf: modified", run.StdErr, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(run.StdOut);
        Assert.False(json.RootElement.GetProperty("intact").GetBoolean());
        Assert.Equal("modified", json.RootElement.GetProperty("files")[0].GetProperty("status").GetString());
    }

    [Fact]
    public async Task VerifyEvidence_NotAnEvidenceSet_ExitsOne()
    {
        var run = await _lab.RunAsync("node", "verify-evidence", _evidence);

        Assert.Equal(ExitCodes.Failed, run.ExitCode);
        Assert.Contains("not an evidence set", run.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Quarantine_UnknownNode_ExitsTwoNamingTheStacksNodes()
    {
        _lab.WriteStack("t", _lab.StackYaml());
        Assert.Equal(0, (await _lab.RunAsync("up", "--stack", "t")).ExitCode);

        var run = await _lab.RunAsync("node", "quarantine", "nope", "--stack", "t", "--reason", "x", "--evidence-dir", _evidence);

        Assert.Equal(ExitCodes.BadInput, run.ExitCode);
        Assert.Contains("stack 't' has no node 'nope' that exists (its nodes: web)", run.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Quarantine_DriverWithoutLinkState_ExitsOneAndSaysNotQuarantined()
    {
        _lab.WriteStack("t", _lab.StackYaml());
        Assert.Equal(0, (await _lab.RunAsync("up", "--stack", "t")).ExitCode);

        var run = await _lab.RunAsync("node", "quarantine", "web", "--stack", "t", "--reason", "x", "--operator", "alice");

        Assert.Equal(ExitCodes.Failed, run.ExitCode);
        Assert.Contains("NOT quarantined", run.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Quarantine_MissingReason_ExitsTwo()
    {
        var run = await _lab.RunAsync("node", "quarantine", "web", "--stack", "t");

        Assert.Equal(ExitCodes.BadInput, run.ExitCode);
    }

    private async Task WriteSetAsync()
    {
        var ct = TestContext.Current.CancellationToken;
        var path = Path.Combine(_evidence, "memory.elf");
        await File.WriteAllTextAsync(path, "ELF", ct);
        var (bytes, sha) = await EvidenceVerifier.HashAsync(path, ct);
        var manifest = new EvidenceManifest
        {
            Stack = "t", Node = "web", Domain = "t-web", DomainUuid = Guid.Empty, Host = "localhost", HostUri = "test:///default", Operator = "alice",
            Quarantined = true, Started = DateTimeOffset.UnixEpoch, Completed = DateTimeOffset.UnixEpoch,
            Files = [new EvidenceFile("memory.elf", "memory", bytes, sha, null, DateTimeOffset.UnixEpoch)],
        };
        await File.WriteAllTextAsync(Path.Combine(_evidence, EvidenceManifest.FileName), manifest.ToJson(), ct);
    }
}
