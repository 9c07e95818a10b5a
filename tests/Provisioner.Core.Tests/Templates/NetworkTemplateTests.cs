using System.Net;
using System.Xml.Linq;
using Provisioner.Core.Templates;

namespace Provisioner.Core.Tests.Templates;

public sealed class NetworkTemplateTests
{
    [Fact]
    public void RenderNetwork_Nat_MatchesGoldenFile() =>
        Golden.AssertMatches("network-nat.out.xml", Samples.Renderer().RenderNetwork(Samples.NatNetwork()));

    [Fact]
    public void RenderNetwork_Bridge_MatchesGoldenFile() =>
        Golden.AssertMatches("network-bridge.out.xml", Samples.Renderer().RenderNetwork(Samples.BridgeNetwork()));

    [Fact]
    public void RenderNetwork_Nat_ForwardsWithNatAndKeepsDnsOnWithoutIpv6()
    {
        var network = Render(Samples.NatNetwork());

        Assert.Equal("nat", (string?)network.Element("forward")?.Attribute("mode"));
        Assert.Equal("prov-1a2b3c4d", (string?)network.Element("bridge")?.Attribute("name"));
        Assert.Equal("yes", (string?)network.Element("dns")?.Attribute("enable"));
        Assert.Equal("dev.internal", (string?)network.Element("domain")?.Attribute("name"));
        var ip = Assert.Single(network.Elements("ip"));
        Assert.Equal("ipv4", (string?)ip.Attribute("family"));
        Assert.Equal("10.77.0.1", (string?)ip.Attribute("address"));
        Assert.Equal("24", (string?)ip.Attribute("prefix"));
        Assert.Equal("10.77.0.100", (string?)ip.Element("dhcp")?.Element("range")?.Attribute("start"));
        Assert.Equal("10.77.0.199", (string?)ip.Element("dhcp")?.Element("range")?.Attribute("end"));
        var hosts = ip.Element("dhcp")!.Elements("host").ToList();
        Assert.Equal(["52:54:00:12:34:56", "52:54:00:12:34:57"], hosts.Select(h => (string?)h.Attribute("mac")));
        Assert.Equal(["10.77.0.11", "10.77.0.12"], hosts.Select(h => (string?)h.Attribute("ip")));
        Assert.Equal(["web-1", "web-2"], hosts.Select(h => (string?)h.Attribute("name")));
        Assert.Null(network.Element("ipv6"));
    }

    [Fact]
    public void RenderNetwork_Bridge_UsesExistingBridgeWithoutAddressing()
    {
        var network = Render(Samples.BridgeNetwork());

        Assert.Equal("bridge", (string?)network.Element("forward")?.Attribute("mode"));
        Assert.Equal("br0", (string?)network.Element("bridge")?.Attribute("name"));
        Assert.Empty(network.Elements("ip"));
        Assert.Null(network.Element("uuid"));
    }

    [Fact]
    public void RenderNetwork_Metadata_ParsesBack()
    {
        var xml = Samples.Renderer().RenderNetwork(Samples.NatNetwork());

        Assert.Equal(Samples.NetworkMetadata(), NetworkMetadata.Parse(xml));
    }

    [Fact]
    public void RenderNetwork_BridgeNameLongerThanIfnamsiz_IsRejected()
    {
        var spec = Samples.NatNetwork() with { BridgeName = "prov-0123456789a" };

        var e = Assert.Throws<RenderModelException>(() => Samples.Renderer().RenderNetwork(spec));

        Assert.Equal("network.bridgeName", e.FieldPath);
    }

    [Fact]
    public void RenderNetwork_NatWithoutAddressing_IsRejected()
    {
        var e = Assert.Throws<RenderModelException>(() => Samples.Renderer().RenderNetwork(Samples.NatNetwork() with { Ipv4 = null }));

        Assert.Equal("network.ipv4", e.FieldPath);
    }

    [Fact]
    public void RenderNetwork_DhcpRangeOutsideSubnet_IsRejected()
    {
        var spec = Samples.NatNetwork() with { Ipv4 = Samples.NatNetwork().Ipv4! with { DhcpEnd = IPAddress.Parse("10.78.0.10") } };

        var e = Assert.Throws<RenderModelException>(() => Samples.Renderer().RenderNetwork(spec));

        Assert.Equal("network.ipv4.dhcpEnd", e.FieldPath);
        Assert.Contains("10.78.0.10", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RenderNetwork_GatewayInsideDhcpRange_IsRejected()
    {
        var spec = Samples.NatNetwork() with { Ipv4 = Samples.NatNetwork().Ipv4! with { Gateway = IPAddress.Parse("10.77.0.150") } };

        var e = Assert.Throws<RenderModelException>(() => Samples.Renderer().RenderNetwork(spec));

        Assert.Equal("network.ipv4.gateway", e.FieldPath);
    }

    [Fact]
    public void RenderNetwork_Ipv6Gateway_IsRejected()
    {
        var spec = Samples.NatNetwork() with { Ipv4 = Samples.NatNetwork().Ipv4! with { Gateway = IPAddress.IPv6Loopback } };

        var e = Assert.Throws<RenderModelException>(() => Samples.Renderer().RenderNetwork(spec));

        Assert.Equal("network.ipv4.gateway", e.FieldPath);
    }

    [Fact]
    public void RenderNetwork_BadHostName_IsRejectedNamingIndex()
    {
        var ipv4 = Samples.NatNetwork().Ipv4!;
        var spec = Samples.NatNetwork() with
        {
            Ipv4 = ipv4 with { Hosts = [ipv4.Hosts[0], ipv4.Hosts[1] with { HostName = "web 2'" }] },
        };

        var e = Assert.Throws<RenderModelException>(() => Samples.Renderer().RenderNetwork(spec));

        Assert.Equal("network.ipv4.hosts[1].hostName", e.FieldPath);
    }

    private static XElement Render(NetworkSpec spec) => XElement.Parse(Samples.Renderer().RenderNetwork(spec));
}
