using Provisioner.Engine.Forensics;

namespace Provisioner.Engine.Tests.Forensics;

public sealed class EvidenceVerifierTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("reprov-verify-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task VerifyAsync_UntouchedSet_IsIntact()
    {
        await WriteSetAsync();

        var result = await EvidenceVerifier.VerifyAsync(_dir, TestContext.Current.CancellationToken);

        Assert.True(result.Intact);
        Assert.All(result.Files, f => Assert.Equal(EvidenceFileStatus.Intact, f.Status));
        Assert.Equal(2, result.Files.Count);
    }

    [Fact]
    public async Task VerifyAsync_OneByteChanged_NamesTheModifiedFile()
    {
        await WriteSetAsync();
        var bytes = await File.ReadAllBytesAsync(Path.Combine(_dir, "memory.elf"), TestContext.Current.CancellationToken);
        bytes[3] ^= 1;
        await File.WriteAllBytesAsync(Path.Combine(_dir, "memory.elf"), bytes, TestContext.Current.CancellationToken);

        var result = await EvidenceVerifier.VerifyAsync(_dir, TestContext.Current.CancellationToken);

        Assert.False(result.Intact);
        Assert.Equal(["memory.elf: modified"], result.Failures);
    }

    [Fact]
    public async Task VerifyAsync_FileRemovedAndOneAdded_ReportsMissingAndUnlisted()
    {
        await WriteSetAsync();
        File.Delete(Path.Combine(_dir, "domain.xml"));
        await File.WriteAllTextAsync(Path.Combine(_dir, "planted.sh"), "echo hi", TestContext.Current.CancellationToken);

        var result = await EvidenceVerifier.VerifyAsync(_dir, TestContext.Current.CancellationToken);

        Assert.Equal(["domain.xml: missing", "planted.sh: unlisted"], result.Failures);
    }

    [Fact]
    public async Task VerifyAsync_ManifestPointsOutsideDirectory_RefusesThatEntry()
    {
        await WriteSetAsync(extraName: "../../etc/hostname");

        var result = await EvidenceVerifier.VerifyAsync(_dir, TestContext.Current.CancellationToken);

        Assert.False(result.Intact);
        Assert.Contains(result.Problems, p => p.Contains("../../etc/hostname", StringComparison.Ordinal));
    }

    [Fact]
    public async Task VerifyAsync_NoManifestButIncompleteMarker_SaysCaptureIncomplete()
    {
        await File.WriteAllTextAsync(Path.Combine(_dir, EvidenceManifest.IncompleteMarker), "x", TestContext.Current.CancellationToken);

        var error = await Assert.ThrowsAsync<EvidenceManifestException>(() => EvidenceVerifier.VerifyAsync(_dir, TestContext.Current.CancellationToken));

        Assert.Contains("incomplete", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task VerifyAsync_ManifestFilePath_VerifiesItsDirectory()
    {
        await WriteSetAsync();

        var result = await EvidenceVerifier.VerifyAsync(Path.Combine(_dir, EvidenceManifest.FileName), TestContext.Current.CancellationToken);

        Assert.True(result.Intact);
    }

    private async Task WriteSetAsync(string? extraName = null)
    {
        var ct = TestContext.Current.CancellationToken;
        var files = new List<EvidenceFile>();
        foreach (var (name, content) in new[] { ("memory.elf", "\x7f" + "ELF memory"), ("domain.xml", "<domain/>") })
        {
            var path = Path.Combine(_dir, name);
            await File.WriteAllTextAsync(path, content, ct);
            var (bytes, sha) = await EvidenceVerifier.HashAsync(path, ct);
            files.Add(new EvidenceFile(name, "x", bytes, sha, null, DateTimeOffset.UnixEpoch));
        }

        if (extraName is not null)
        {
            files.Add(new EvidenceFile(extraName, "x", 1, new string('0', 64), null, DateTimeOffset.UnixEpoch));
        }

        var manifest = new EvidenceManifest
        {
            Stack = "lab", Node = "a", Domain = "lab-a", DomainUuid = Guid.Empty, Host = "h", HostUri = "test:///default",
            Operator = "alice", Quarantined = true, Started = DateTimeOffset.UnixEpoch, Completed = DateTimeOffset.UnixEpoch, Files = files,
        };
        await File.WriteAllTextAsync(Path.Combine(_dir, EvidenceManifest.FileName), manifest.ToJson(), ct);
    }
}
