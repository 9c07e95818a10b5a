using System.Security.Cryptography;
using System.Xml.Linq;

namespace LibvirtSharp.Tests.Live;

[Collection(nameof(LiveLibvirt))]
public sealed class LiveStorageTests(LiveLibvirtFixture fixture)
{
    private const ulong MiB = 1024 * 1024;

    private static string Name(string stem) => $"{stem}-{Guid.NewGuid():N}"[..(stem.Length + 9)];

    [Fact]
    public void Pool_IsRunningDirectoryPoolWithCapacity()
    {
        fixture.SkipIfUnavailable();

        var info = fixture.Pool.GetInfo();

        Assert.Equal(StoragePoolState.Running, info.State);
        Assert.True(info.CapacityBytes > 0);
        Assert.True(info.AvailableBytes <= info.CapacityBytes);
        Assert.Equal(fixture.PoolDirectory, (string?)XDocument.Parse(fixture.Pool.GetXml()).Root!.Element("target")!.Element("path"));
    }

    [Fact]
    public void UploadDownload_ThroughStreams_RoundTripsBytesAndReportsProgress()
    {
        fixture.SkipIfUnavailable();
        using var volume = fixture.Pool.CreateVolume(TestXml.Volume(Name("updown") + ".img", 8 * MiB));
        var payload = RandomNumberGenerator.GetBytes((int)(3 * MiB + 12345));
        var uploaded = new List<long>();

        volume.Upload(new MemoryStream(payload), MiB, (ulong)payload.Length, new SyncProgress(uploaded.Add), TestContext.Current.CancellationToken);

        Assert.Equal(payload.Length, uploaded[^1]);
        Assert.True(uploaded.Count > 1);
        using var part = new MemoryStream();
        var downloaded = new List<long>();
        var got = volume.Download(part, MiB, (ulong)payload.Length, new SyncProgress(downloaded.Add), TestContext.Current.CancellationToken);
        Assert.Equal(payload.Length, got);
        Assert.Equal(payload, part.ToArray());
        Assert.Equal(payload.Length, downloaded[^1]);

        using var whole = new MemoryStream();
        Assert.Equal((long)(8 * MiB), volume.Download(whole, 0, 0, ct: TestContext.Current.CancellationToken));
        Assert.All(whole.ToArray().AsSpan(0, (int)MiB).ToArray(), b => Assert.Equal(0, b));
        volume.Delete();
    }

    [Fact]
    public async Task UploadAsync_DownloadAsync_RunOnPoolThread()
    {
        fixture.SkipIfUnavailable();
        using var volume = fixture.Pool.CreateVolume(TestXml.Volume(Name("async") + ".img", MiB));
        var payload = RandomNumberGenerator.GetBytes((int)MiB);

        await volume.UploadAsync(new MemoryStream(payload), 0, 0, ct: TestContext.Current.CancellationToken); // 0 = all of the source
        using var back = new MemoryStream();
        await volume.DownloadAsync(back, 0, 0, ct: TestContext.Current.CancellationToken);

        Assert.Equal(payload, back.ToArray());
        volume.Delete();
    }

    [Fact]
    public void Upload_CancelledMidway_AbortsStreamAndThrows()
    {
        fixture.SkipIfUnavailable();
        using var volume = fixture.Pool.CreateVolume(TestXml.Volume(Name("cancel") + ".img", 16 * MiB));
        using var cts = new CancellationTokenSource();
        var source = new MemoryStream(new byte[16 * MiB]);

        Assert.Throws<OperationCanceledException>(() =>
            volume.Upload(source, 0, 16 * MiB, new SyncProgress(sent => { if (sent >= (long)MiB) cts.Cancel(); }), cts.Token));

        Assert.True(source.Position < source.Length);
        // The aborted stream leaves the volume usable.
        volume.Upload(new MemoryStream(new byte[MiB]), 0, MiB, ct: TestContext.Current.CancellationToken);
        volume.Delete();
    }

    [Fact]
    public void Download_CancelledMidway_AbortsStreamAndThrows()
    {
        fixture.SkipIfUnavailable();
        using var volume = fixture.Pool.CreateVolume(TestXml.Volume(Name("dlcancel") + ".img", 16 * MiB));
        using var cts = new CancellationTokenSource();
        using var sink = new MemoryStream();

        Assert.Throws<OperationCanceledException>(() =>
            volume.Download(sink, 0, 0, new SyncProgress(got => { if (got >= (long)MiB) cts.Cancel(); }), cts.Token));

        Assert.InRange(sink.Length, (long)MiB, (long)(16 * MiB) - 1);
        volume.Delete();
    }

    [Fact]
    public void Upload_SourceShorterThanLength_ThrowsEndOfStream()
    {
        fixture.SkipIfUnavailable();
        using var volume = fixture.Pool.CreateVolume(TestXml.Volume(Name("short") + ".img", 4 * MiB));

        var ex = Assert.Throws<EndOfStreamException>(() => volume.Upload(new MemoryStream(new byte[1000]), 0, 4 * MiB, ct: TestContext.Current.CancellationToken));

        Assert.Contains(volume.Name, ex.Message);
        volume.Delete();
    }

    [Fact]
    public void UploadDownload_DeletedVolume_ThrowsNoStorageVolume()
    {
        fixture.SkipIfUnavailable();
        using var volume = fixture.Pool.CreateVolume(TestXml.Volume(Name("gone") + ".img", MiB));
        volume.Delete();

        var up = Assert.Throws<LibvirtException>(() =>
            volume.Upload(new MemoryStream(new byte[MiB]), 0, MiB, ct: TestContext.Current.CancellationToken));
        var down = Assert.Throws<LibvirtException>(() =>
            volume.Download(Stream.Null, 0, 0, ct: TestContext.Current.CancellationToken));

        Assert.Equal(ErrorCode.NoStorageVolume, up.Code);
        Assert.Equal(ErrorCode.NoStorageVolume, down.Code);
        Assert.True(up.IsNotFound);
    }

    [Fact]
    public void CreateVolume_Qcow2WithBackingStore_RecordsBacking()
    {
        fixture.SkipIfUnavailable();
        using var baseVolume = fixture.Pool.CreateVolume(TestXml.Volume(Name("base") + ".img", 32 * MiB));

        using var overlay = fixture.Pool.CreateVolume(
            TestXml.Volume(Name("overlay") + ".qcow2", 32 * MiB, "qcow2", baseVolume.Path, "raw"));

        var xml = XDocument.Parse(overlay.GetXml());
        Assert.Equal("qcow2", (string?)xml.Root!.Element("target")!.Element("format")!.Attribute("type"));
        Assert.Equal(baseVolume.Path, (string?)xml.Root.Element("backingStore")!.Element("path"));
        Assert.True(overlay.GetInfo().AllocationBytes < 32 * MiB);
        overlay.Delete();
        baseVolume.Delete();
    }

    [Fact]
    public void CreateVolumeFrom_Clone_CopiesData()
    {
        fixture.SkipIfUnavailable();
        using var source = fixture.Pool.CreateVolume(TestXml.Volume(Name("src") + ".img", 2 * MiB));
        var payload = RandomNumberGenerator.GetBytes((int)(2 * MiB));
        source.Upload(new MemoryStream(payload), 0, 2 * MiB, ct: TestContext.Current.CancellationToken);

        using var clone = fixture.Pool.CreateVolumeFrom(TestXml.Volume(Name("clone") + ".qcow2", 2 * MiB, "qcow2"), source);

        Assert.Equal("qcow2", (string?)XDocument.Parse(clone.GetXml()).Root!.Element("target")!.Element("format")!.Attribute("type"));
        Assert.Equal(2 * MiB, clone.GetInfo().CapacityBytes);
        clone.Delete();
        using var rawClone = fixture.Pool.CreateVolumeFrom(TestXml.Volume(Name("rawclone") + ".img", 2 * MiB), source);
        using var back = new MemoryStream();
        rawClone.Download(back, 0, 0, ct: TestContext.Current.CancellationToken);
        Assert.Equal(payload, back.ToArray());
        rawClone.Delete();
        source.Delete();
    }

    [Fact]
    public void ResizeWipeDelete_Work()
    {
        fixture.SkipIfUnavailable();
        using var volume = fixture.Pool.CreateVolume(TestXml.Volume(Name("resize") + ".img", MiB));
        volume.Upload(new MemoryStream(Enumerable.Repeat((byte)0xAB, (int)MiB).ToArray()), 0, MiB, ct: TestContext.Current.CancellationToken);

        volume.Resize(4 * MiB);
        Assert.Equal(4 * MiB, volume.GetInfo().CapacityBytes);
        var shrink = Assert.Throws<LibvirtException>(() => volume.Resize(2 * MiB));
        Assert.False(string.IsNullOrWhiteSpace(shrink.LibvirtMessage));
        volume.Resize(2 * MiB, VolumeResizeFlags.Shrink);
        Assert.Equal(2 * MiB, volume.GetInfo().CapacityBytes);

        volume.Wipe();
        using var back = new MemoryStream();
        volume.Download(back, 0, MiB, ct: TestContext.Current.CancellationToken);
        Assert.All(back.ToArray(), b => Assert.Equal(0, b));

        var name = volume.Name;
        volume.Delete();
        Assert.Null(fixture.Pool.TryLookupVolume(name));
        Assert.Equal(ErrorCode.NoStorageVolume, Assert.Throws<LibvirtException>(() => volume.GetInfo()).Code);
    }

    [Fact]
    public void Refresh_PicksUpFileCreatedOutsideLibvirt()
    {
        fixture.SkipIfUnavailable();
        var name = Name("outside") + ".img";
        File.WriteAllBytes(Path.Combine(fixture.PoolDirectory, name), new byte[4096]);

        Assert.Null(fixture.Pool.TryLookupVolume(name));
        fixture.Pool.Refresh();

        using var volume = fixture.Pool.LookupVolume(name);
        Assert.Equal(4096UL, volume.GetInfo().CapacityBytes);
        var listed = fixture.Pool.ListVolumes();
        try
        {
            Assert.Contains(listed, v => v.Name == name);
        }
        finally
        {
            foreach (var v in listed)
            {
                v.Dispose();
            }
        }

        volume.Delete();
    }

    [Fact]
    public void TransientPool_OnRealDaemon_BuildsAndGoesAway()
    {
        fixture.SkipIfUnavailable();
        var name = Name("lvtest-tpool");
        var dir = Path.Combine(fixture.WorkDirectory, name);
        Directory.CreateDirectory(dir);

        using var pool = fixture.Connection.CreateTransientStoragePool(TestXml.DirPool(name, dir));

        Assert.True(pool.IsActive);
        Assert.False(pool.IsPersistent);
        pool.Destroy();
        Assert.Null(fixture.Connection.TryLookupStoragePool(name));
    }

    /// <summary>Reports synchronously on the calling thread (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class SyncProgress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}
