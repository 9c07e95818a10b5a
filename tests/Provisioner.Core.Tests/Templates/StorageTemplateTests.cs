using System.Xml.Linq;
using Provisioner.Core.Templates;

namespace Provisioner.Core.Tests.Templates;

public sealed class StorageTemplateTests
{
    public static StoragePoolSpec Pool() => new() { Name = "prov-dev", Path = "/var/lib/provisioner/pools/dev" };

    public static StorageVolumeSpec LinkedClone() => new()
    {
        Name = "dev-web-1.qcow2",
        CapacityBytes = 10L * 1024 * 1024 * 1024,
        Format = DiskFormat.Qcow2,
        BackingStore = new BackingStoreSpec { Path = "/var/lib/provisioner/images/debian-12-golden.qcow2", Format = DiskFormat.Qcow2 },
    };

    public static StorageVolumeSpec RawVolume() => new() { Name = "dev-web-1-seed.iso", CapacityBytes = 65536, Format = DiskFormat.Raw };

    [Fact]
    public void RenderPool_Dir_MatchesGoldenFile() =>
        Golden.AssertMatches("pool-dir.out.xml", Samples.Renderer().RenderPool(Pool()));

    [Fact]
    public void RenderVolume_LinkedClone_MatchesGoldenFile() =>
        Golden.AssertMatches("volume-linked-clone.out.xml", Samples.Renderer().RenderVolume(LinkedClone()));

    [Fact]
    public void RenderVolume_Raw_MatchesGoldenFile() =>
        Golden.AssertMatches("volume-raw.out.xml", Samples.Renderer().RenderVolume(RawVolume()));

    [Fact]
    public void RenderPool_Dir_HasNameAndTargetPath()
    {
        var pool = XElement.Parse(Samples.Renderer().RenderPool(Pool()));

        Assert.Equal("dir", (string?)pool.Attribute("type"));
        Assert.Equal("prov-dev", pool.Element("name")?.Value);
        Assert.Equal("/var/lib/provisioner/pools/dev", pool.Element("target")?.Element("path")?.Value);
    }

    [Fact]
    public void RenderVolume_LinkedClone_HasCapacityFormatAndBackingStore()
    {
        var volume = XElement.Parse(Samples.Renderer().RenderVolume(LinkedClone()));

        Assert.Equal("10737418240", volume.Element("capacity")?.Value);
        Assert.Equal("bytes", (string?)volume.Element("capacity")?.Attribute("unit"));
        Assert.Equal("qcow2", (string?)volume.Element("target")?.Element("format")?.Attribute("type"));
        Assert.Equal("/var/lib/provisioner/images/debian-12-golden.qcow2", volume.Element("backingStore")?.Element("path")?.Value);
        Assert.Equal("qcow2", (string?)volume.Element("backingStore")?.Element("format")?.Attribute("type"));
    }

    [Fact]
    public void RenderVolume_RawWithBackingStore_IsRejected()
    {
        var spec = RawVolume() with { BackingStore = LinkedClone().BackingStore };

        var e = Assert.Throws<RenderModelException>(() => Samples.Renderer().RenderVolume(spec));

        Assert.Equal("volume.backingStore", e.FieldPath);
    }

    [Fact]
    public void RenderPool_RelativePath_IsRejected()
    {
        var e = Assert.Throws<RenderModelException>(() => Samples.Renderer().RenderPool(Pool() with { Path = "pools/dev" }));

        Assert.Equal("pool.path", e.FieldPath);
    }

    [Fact]
    public void RenderVolume_ZeroCapacity_IsRejected()
    {
        var e = Assert.Throws<RenderModelException>(() => Samples.Renderer().RenderVolume(RawVolume() with { CapacityBytes = 0 }));

        Assert.Equal("volume.capacityBytes", e.FieldPath);
    }
}
