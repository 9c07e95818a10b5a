using Provisioner.Core.Naming;

namespace Provisioner.Core.Tests.Naming;

public sealed class LibvirtNamesTests
{
    private const string Checksum = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08";

    [Fact]
    public void Names_FollowTheDocumentedShapes()
    {
        Assert.Equal("oslo-cp-1", LibvirtNames.Domain("oslo", "cp-1"));
        Assert.Equal("oslo-cp-1-root", LibvirtNames.RootVolume("oslo", "cp-1"));
        Assert.Equal("oslo-cp-1-seed", LibvirtNames.SeedVolume("oslo", "cp-1"));
        Assert.Equal("oslo-cluster", LibvirtNames.Network("oslo", "cluster"));
        Assert.Equal("golden-debian-12-9f86d081884c", LibvirtNames.GoldenVolume("debian-12", Checksum));
    }

    [Fact]
    public void Bridge_ShortStableAndDistinct()
    {
        var bridge = LibvirtNames.Bridge("dev", "default");
        Assert.Matches("^pv-[0-9a-f]{10}$", bridge);
        Assert.True(bridge.Length <= 15, "IFNAMSIZ");
        Assert.Equal(bridge, LibvirtNames.Bridge("dev", "default"));
        Assert.NotEqual(bridge, LibvirtNames.Bridge("dev2", "default"));
        Assert.NotEqual(LibvirtNames.Bridge("ab", "c"), LibvirtNames.Bridge("a", "bc"), StringComparer.Ordinal);
    }

    [Theory]
    [InlineData("../x", "n")]
    [InlineData("dev", "n'/><evil")]
    [InlineData("dev", "$(id)")]
    [InlineData("dev", "-rf")]
    [InlineData("Dev", "n")]
    [InlineData("averyverylongstackname", "n")]
    [InlineData("a-b", "c")]
    public void Domain_InvalidParts_Throw(string stack, string node)
    {
        Assert.Throws<ArgumentException>(() => LibvirtNames.Domain(stack, node));
        Assert.Throws<ArgumentException>(() => LibvirtNames.RootVolume(stack, node));
        Assert.Throws<ArgumentException>(() => LibvirtNames.SeedVolume(stack, node));
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("9f86d081884g7d65")]
    [InlineData("../../etc/passwd")]
    public void GoldenVolume_BadChecksum_Throws(string checksum) =>
        Assert.Throws<ArgumentException>(() => LibvirtNames.GoldenVolume("debian-12", checksum));

    [Fact]
    public void IsGoldenVolume_ImageAndMarker_Match()
    {
        var volume = LibvirtNames.GoldenVolume("debian-12", Checksum);

        Assert.True(LibvirtNames.IsGoldenVolume(volume));
        Assert.True(LibvirtNames.IsGoldenVolume(volume + "-ok"));
        Assert.Equal(volume + "-ok", LibvirtNames.GoldenMarker(volume));
        Assert.True(LibvirtNames.IsGoldenMarker(LibvirtNames.GoldenMarker(volume)));
        Assert.False(LibvirtNames.IsGoldenMarker(volume));
        Assert.False(LibvirtNames.IsGoldenMarker("golden-a-ok")); // node a's disk "ok" of a stack named golden is no marker
    }

    [Theory]
    [InlineData("golden-a-root")]                 // node a of a stack named "golden"
    [InlineData("golden-x-0123456789ab-root")]    // its node x-0123456789ab
    [InlineData("golden-x-0123456789ab-seed")]
    [InlineData("golden-debian-12-9F86D081884C")] // the engine writes lower case only
    [InlineData("golden-debian-12-9f86d08188")]
    [InlineData("golden--9f86d081884c")]
    [InlineData("golden-")]
    [InlineData("dev-a-root")]
    public void IsGoldenVolume_OtherVolumes_DoNotMatch(string volume) =>
        Assert.False(LibvirtNames.IsGoldenVolume(volume));

    [Fact]
    public void Network_InvalidName_Throws() => Assert.Throws<ArgumentException>(() => LibvirtNames.Network("dev", "net work"));
}
