using System.Text;
using Provisioner.Core.CloudInit;
using Provisioner.Core.Security;
using Provisioner.Core.Tests.Templates;

namespace Provisioner.Core.Tests.CloudInit;

/// <summary>
/// The seed image is checked by our own reader and by independent implementations: isoinfo and isovfy
/// (Debian package genisoimage), 7z (p7zip-full), blkid (util-linux), a FUSE mount (fuseiso) and,
/// where the kernel has iso9660 and mounting is permitted, a real loop mount.
/// </summary>
public sealed class NoCloudSeedTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tpltest-").FullName;

    public void Dispose()
    {
        Directory.Delete(_dir, recursive: true);
    }

    private static CloudInitDocuments Documents() => CloudInitRenderer.Render(CloudInitSamples.Spec());

    private static Dictionary<string, string> Expected(CloudInitDocuments d) => new()
    {
        ["meta-data"] = d.MetaData,
        ["user-data"] = d.UserData.Reveal(),
        ["network-config"] = d.NetworkConfig,
    };

    [Fact]
    public void Build_Sample_ReadsBackAllThreeDocumentsByJolietName()
    {
        var documents = Documents();

        var contents = NoCloudSeed.Read(NoCloudSeed.Build(documents, CloudInitSamples.Timestamp));

        Assert.Equal("cidata", contents.JolietVolumeId);
        Assert.Equal("CIDATA", contents.PrimaryVolumeId);
        Assert.Equal(Expected(documents).OrderBy(kv => kv.Key), contents.Files.ToDictionary(kv => kv.Key, kv => Encoding.UTF8.GetString(kv.Value)).OrderBy(kv => kv.Key));
    }

    [Fact]
    public void Build_Sample_PrimaryHierarchyHasLevelOneNames()
    {
        var contents = NoCloudSeed.Read(NoCloudSeed.Build(Documents(), CloudInitSamples.Timestamp));

        Assert.Equal(["META_DAT.", "NETWORK_.", "USER_DAT."], contents.PrimaryFiles.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(contents.Files["user-data"], contents.PrimaryFiles["USER_DAT."]);
    }

    [Fact]
    public void Build_SameInput_SameBytes()
    {
        var first = NoCloudSeed.Build(Documents(), CloudInitSamples.Timestamp);
        var second = NoCloudSeed.Build(Documents(), CloudInitSamples.Timestamp);

        Assert.Equal(first, second);
    }

    [Fact]
    public void Build_OtherTimestamp_SameFilesDifferentDates()
    {
        var first = NoCloudSeed.Build(Documents(), CloudInitSamples.Timestamp);
        var second = NoCloudSeed.Build(Documents(), CloudInitSamples.Timestamp.AddDays(1));

        Assert.NotEqual(first, second);
        Assert.Equal(first.Length, second.Length);
        Assert.Equal(NoCloudSeed.Read(first).Files["user-data"], NoCloudSeed.Read(second).Files["user-data"]);
    }

    [Fact]
    public void Build_Always_WholeSectorsWithDescriptorsAt16To18()
    {
        var image = NoCloudSeed.Build(Documents(), CloudInitSamples.Timestamp);

        Assert.Equal(0, image.Length % 2048);
        Assert.All(image.AsSpan(0, 16 * 2048).ToArray(), b => Assert.Equal(0, b));
        Assert.Equal([1, 2, 255], new[] { image[16 * 2048], image[17 * 2048], image[18 * 2048] });
        Assert.Equal("CD001", Encoding.ASCII.GetString(image, (16 * 2048) + 1, 5));
    }

    [Fact]
    public void Build_MultiSectorAndEmptyFiles_RoundTrip()
    {
        var big = string.Concat(Enumerable.Range(0, 900).Select(i => $"line {i}\n"));
        var documents = Documents() with { UserData = new Secret(big), NetworkConfig = string.Empty };

        var contents = NoCloudSeed.Read(NoCloudSeed.Build(documents, CloudInitSamples.Timestamp));

        Assert.True(big.Length > 3 * 2048);
        Assert.Equal(big, Encoding.UTF8.GetString(contents.Files["user-data"]));
        Assert.Empty(contents.Files["network-config"]);
        Assert.Equal(documents.MetaData, Encoding.UTF8.GetString(contents.Files["meta-data"]));
    }

    [Fact]
    public void Read_TruncatedImage_Throws()
    {
        var image = NoCloudSeed.Build(Documents(), CloudInitSamples.Timestamp);

        Assert.Throws<FormatException>(() => NoCloudSeed.Read(image.AsSpan(0, 20 * 2048)));
    }

    [Fact]
    public async Task Read_GenisoimageImage_ReadsJolietNames()
    {
        // Our reader against an image from an independent writer.
        var genisoimage = ExternalTool.Require("genisoimage", "genisoimage");
        var source = Directory.CreateDirectory(Path.Combine(_dir, "src")).FullName;
        foreach (var (name, content) in Expected(Documents()))
        {
            await File.WriteAllTextAsync(Path.Combine(source, name), content, TestContext.Current.CancellationToken);
        }
        var iso = Path.Combine(_dir, "g.iso");

        var (exit, _, stderr) = await ExternalTool.RunAsync(genisoimage, ["-quiet", "-o", iso, "-V", "cidata", "-J", source]);

        Assert.True(exit == 0, stderr);
        var contents = NoCloudSeed.Read(await File.ReadAllBytesAsync(iso, TestContext.Current.CancellationToken));
        Assert.Equal("cidata", contents.JolietVolumeId);
        Assert.Equal(Expected(Documents()).OrderBy(kv => kv.Key), contents.Files.ToDictionary(kv => kv.Key, kv => Encoding.UTF8.GetString(kv.Value)).OrderBy(kv => kv.Key));
    }

    [Fact]
    public async Task Isoinfo_SeedImage_SeesJolietVolumeAndExtractsEachFile()
    {
        var isoinfo = ExternalTool.Require("isoinfo", "genisoimage");
        var documents = Documents();
        var iso = await WriteImageAsync(documents);

        var (exit, info, stderr) = await ExternalTool.RunAsync(isoinfo, ["-d", "-i", iso]);
        Assert.True(exit == 0, stderr);
        Assert.Contains("Volume id: CIDATA", info, StringComparison.Ordinal);
        Assert.Contains("Joliet with UCS level 3 found", info, StringComparison.Ordinal);
        Assert.Contains("Logical block size is: 2048", info, StringComparison.Ordinal);

        var (_, listing, _) = await ExternalTool.RunAsync(isoinfo, ["-J", "-l", "-i", iso]);
        foreach (var (name, content) in Expected(documents))
        {
            Assert.Contains($" {name} ", listing + " ", StringComparison.Ordinal);
            var (x, extracted, err) = await ExternalTool.RunAsync(isoinfo, ["-J", "-i", iso, "-x", "/" + name]);
            Assert.True(x == 0, err);
            Assert.Equal(content, extracted);
        }
    }

    [Fact]
    public async Task Isovfy_SeedImage_ReportsNoErrors()
    {
        var isovfy = ExternalTool.Require("isovfy", "genisoimage");
        var iso = await WriteImageAsync(Documents());

        var (exit, stdout, stderr) = await ExternalTool.RunAsync(isovfy, [iso]);

        Assert.True(exit == 0, stderr);
        Assert.Contains("No errors found", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SevenZip_SeedImage_ExtractsIdenticalFiles()
    {
        var sevenZip = ExternalTool.Require("7z", "p7zip-full");
        var documents = Documents();
        var iso = await WriteImageAsync(documents);
        var output = Path.Combine(_dir, "7z-out");

        var (exit, stdout, stderr) = await ExternalTool.RunAsync(sevenZip, ["x", "-y", $"-o{output}", iso]);

        Assert.True(exit == 0, stdout + stderr);
        await AssertDirectoryHoldsAsync(output, documents);
    }

    [Fact]
    public async Task Blkid_SeedImage_IsIso9660LabelledCidata()
    {
        var blkid = ExternalTool.Require("blkid", "util-linux");
        var iso = await WriteImageAsync(Documents());

        var (exit, stdout, stderr) = await ExternalTool.RunAsync(blkid, ["-p", "-o", "export", iso]);

        Assert.True(exit == 0, stdout + stderr);
        var values = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
        Assert.Equal("iso9660", values["TYPE"]);
        // cloud-init's ds-identify and NoCloud accept 'cidata' or 'CIDATA'.
        Assert.Equal("cidata", values["LABEL"], ignoreCase: true);
    }

    [Fact]
    public async Task FuseMount_SeedImage_ShowsDocumentsUnderRealNames()
    {
        var fuseiso = ExternalTool.Require("fuseiso", "fuseiso");
        var fusermount = ExternalTool.Require("fusermount", "fuse");
        Assert.SkipUnless(File.Exists("/dev/fuse"), "no /dev/fuse: FUSE is unavailable in this environment");
        var documents = Documents();
        var iso = await WriteImageAsync(documents);
        var mountPoint = Directory.CreateDirectory(Path.Combine(_dir, "mnt")).FullName;

        var (exit, stdout, stderr) = await ExternalTool.RunAsync(fuseiso, [iso, mountPoint]);
        Assert.SkipUnless(exit == 0, $"fuseiso could not mount here ({exit}): {stdout}{stderr}");
        try
        {
            await AssertDirectoryHoldsAsync(mountPoint, documents);
        }
        finally
        {
            await ExternalTool.RunAsync(fusermount, ["-u", mountPoint]);
        }
    }

    /// <summary>
    /// cloud-init's own NoCloud data source (Debian package cloud-init, run by the system python3 it is
    /// installed for) reads the seed through a FUSE mount, as it would read the mounted device in a guest.
    /// </summary>
    [Fact]
    public async Task CloudInitNoCloudDataSource_MountedSeed_SeesOurInstanceHostNetworkAndUserData()
    {
        ExternalTool.Require("cloud-init", "cloud-init");
        const string python = "/usr/bin/python3";
        Assert.SkipUnless(File.Exists(python), $"{python} (the interpreter cloud-init is installed for) is missing");
        var fuseiso = ExternalTool.Require("fuseiso", "fuseiso");
        var fusermount = ExternalTool.Require("fusermount", "fuse");
        Assert.SkipUnless(File.Exists("/dev/fuse"), "no /dev/fuse: FUSE is unavailable in this environment");
        var documents = Documents();
        var iso = await WriteImageAsync(documents);
        var mountPoint = Directory.CreateDirectory(Path.Combine(_dir, "mnt")).FullName;
        var cloudDir = Directory.CreateDirectory(Path.Combine(_dir, "cloud")).FullName;
        Directory.CreateDirectory(Path.Combine(cloudDir, "seed"));
        // NoCloud's seed directory is <cloud_dir>/seed/nocloud; point it at the mounted image.
        File.CreateSymbolicLink(Path.Combine(cloudDir, "seed", "nocloud"), mountPoint);
        const string script = """
            import json, sys
            from cloudinit import helpers
            from cloudinit.sources.DataSourceNoCloud import DataSourceNoCloud
            paths = helpers.Paths({"cloud_dir": sys.argv[1], "run_dir": sys.argv[1] + "/run"})
            ds = DataSourceNoCloud({"datasource": {"NoCloud": {"fs_label": None}}}, None, paths)
            ok = ds.get_data()
            print(json.dumps({"ok": ok, "instance_id": ds.get_instance_id(), "hostname": ds.metadata.get("local-hostname"),
                              "network": ds.network_config, "userdata": ds.get_userdata_raw().decode("utf-8")}))
            """;

        var (exit, stdout, stderr) = await ExternalTool.RunAsync(fuseiso, [iso, mountPoint]);
        Assert.SkipUnless(exit == 0, $"fuseiso could not mount here ({exit}): {stdout}{stderr}");
        try
        {
            (exit, stdout, stderr) = await ExternalTool.RunAsync(python, ["-c", script, cloudDir]);
        }
        finally
        {
            await ExternalTool.RunAsync(fusermount, ["-u", mountPoint]);
        }

        Assert.True(exit == 0, $"cloud-init's NoCloud data source failed ({exit}): {stderr}");
        using var json = System.Text.Json.JsonDocument.Parse(stdout);
        var root = json.RootElement;
        Assert.True(root.GetProperty("ok").GetBoolean());
        Assert.Equal(documents.InstanceId, root.GetProperty("instance_id").GetString());
        Assert.Equal("web-1", root.GetProperty("hostname").GetString());
        Assert.Equal(documents.UserData.Reveal(), root.GetProperty("userdata").GetString());
        var network = root.GetProperty("network");
        Assert.Equal(2, network.GetProperty("version").GetInt32());
        Assert.Equal("52:54:00:12:34:56", network.GetProperty("ethernets").GetProperty("eth0").GetProperty("match").GetProperty("macaddress").GetString());
    }

    [Fact]
    public async Task KernelLoopMount_SeedImage_ShowsDocumentsUnderRealNames()
    {
        var mount = ExternalTool.Require("mount", "mount");
        var umount = ExternalTool.Require("umount", "mount");
        var filesystems = File.Exists("/proc/filesystems") ? await File.ReadAllTextAsync("/proc/filesystems", TestContext.Current.CancellationToken) : string.Empty;
        Assert.SkipUnless(filesystems.Contains("iso9660", StringComparison.Ordinal),
            "the running kernel has no iso9660 filesystem loaded (not in /proc/filesystems), so a loop mount is impossible here");
        var documents = Documents();
        var iso = await WriteImageAsync(documents);
        var mountPoint = Directory.CreateDirectory(Path.Combine(_dir, "loop")).FullName;

        var (exit, stdout, stderr) = await ExternalTool.RunAsync(mount, ["-t", "iso9660", "-o", "loop,ro", iso, mountPoint]);
        Assert.SkipUnless(exit == 0, $"loop mount is not permitted here ({exit}): {stdout}{stderr}");
        try
        {
            await AssertDirectoryHoldsAsync(mountPoint, documents);
        }
        finally
        {
            await ExternalTool.RunAsync(umount, [mountPoint]);
        }
    }

    private async Task<string> WriteImageAsync(CloudInitDocuments documents)
    {
        var path = Path.Combine(_dir, "seed.iso");
        await using var stream = File.Create(path);
        await NoCloudSeed.WriteAsync(documents, CloudInitSamples.Timestamp, stream, TestContext.Current.CancellationToken);
        return path;
    }

    private static async Task AssertDirectoryHoldsAsync(string directory, CloudInitDocuments documents)
    {
        var expected = Expected(documents);
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), Directory.GetFiles(directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        foreach (var (name, content) in expected)
        {
            Assert.Equal(content, await File.ReadAllTextAsync(Path.Combine(directory, name), TestContext.Current.CancellationToken));
        }
    }
}
