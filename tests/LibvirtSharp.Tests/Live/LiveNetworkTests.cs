using System.Net;
using System.Xml.Linq;

namespace LibvirtSharp.Tests.Live;

[Collection(nameof(LiveLibvirt))]
public sealed class LiveNetworkTests(LiveLibvirtFixture fixture)
{
    [Fact]
    public void FixtureNetwork_IsActivePersistentNatOnAssignedSubnet()
    {
        fixture.SkipIfUnavailable();
        var network = fixture.Network;

        Assert.True(network.IsActive);
        Assert.True(network.IsPersistent);
        Assert.Equal($"lvt{fixture.RunId}", network.BridgeName);
        var xml = XDocument.Parse(network.GetXml(inactive: true));
        Assert.Equal($"10.231.{fixture.Octet}.1", (string?)xml.Root!.Element("ip")!.Attribute("address"));
        using var byUuid = fixture.Connection.LookupNetwork(network.Uuid);
        Assert.Equal(network.Name, byUuid.Name);
    }

    [Fact]
    public void Autostart_SetAndReset_RoundTrips()
    {
        fixture.SkipIfUnavailable();

        fixture.Network.Autostart = true;
        Assert.True(fixture.Network.Autostart);
        fixture.Network.Autostart = false;

        Assert.False(fixture.Network.Autostart);
    }

    [Fact]
    public void Update_DhcpHostLiveAndConfig_AppearsInBoth()
    {
        fixture.SkipIfUnavailable();
        var ip = $"10.231.{fixture.Octet}.20";
        var host = new XElement("host",
            new XAttribute("mac", LiveLibvirtFixture.NewMac()), new XAttribute("name", "lvtest-reserved"), new XAttribute("ip", ip)).ToString();

        fixture.Network.Update(NetworkUpdateCommand.AddLast, NetworkUpdateSection.IPDhcpHost, host);
        try
        {
            Assert.Contains(XDocument.Parse(fixture.Network.GetXml()).Descendants("host"), h => (string?)h.Attribute("ip") == ip);
            Assert.Contains(XDocument.Parse(fixture.Network.GetXml(inactive: true)).Descendants("host"), h => (string?)h.Attribute("ip") == ip);
        }
        finally
        {
            fixture.Network.Update(NetworkUpdateCommand.Delete, NetworkUpdateSection.IPDhcpHost, host);
        }

        Assert.DoesNotContain(XDocument.Parse(fixture.Network.GetXml()).Descendants("host"), h => (string?)h.Attribute("ip") == ip);
    }

    [Fact]
    public void Update_DeleteMissingHost_ThrowsWithLibvirtMessage()
    {
        fixture.SkipIfUnavailable();
        var host = new XElement("host", new XAttribute("mac", "52:54:00:00:00:01"), new XAttribute("ip", $"10.231.{fixture.Octet}.21")).ToString();

        var ex = Assert.Throws<LibvirtException>(() =>
            fixture.Network.Update(NetworkUpdateCommand.Delete, NetworkUpdateSection.IPDhcpHost, host));

        Assert.False(string.IsNullOrWhiteSpace(ex.LibvirtMessage));
    }

    [Fact]
    public void GetDhcpLeases_UnknownMac_ReturnsEmpty()
    {
        fixture.SkipIfUnavailable();

        Assert.Empty(fixture.Network.GetDhcpLeases("52:54:00:ff:ff:fe"));
    }

    [Fact]
    public async Task GetDhcpLeases_FirmwareGuest_GetsLeaseInNetworkRange()
    {
        fixture.SkipIfUnavailable();
        var address = await fixture.SharedGuestLeaseAsync().WaitAsync(TimeSpan.FromMinutes(6), TestContext.Current.CancellationToken);

        var lease = Assert.Single(fixture.Network.GetDhcpLeases(fixture.SharedMac));

        Assert.Equal(IPAddress.Parse(address), lease.Address);
        Assert.StartsWith($"10.231.{fixture.Octet}.", address);
        Assert.Equal(24, lease.Prefix);
        Assert.Equal(fixture.SharedMac, lease.MacAddress);
        Assert.Equal(fixture.Network.BridgeName, lease.Interface);
        Assert.True(lease.ExpiryTime > DateTimeOffset.FromUnixTimeSeconds(1_700_000_000));
        Assert.Contains(fixture.Network.GetDhcpLeases(), l => l.MacAddress == fixture.SharedMac);
    }

    [Fact]
    public void TransientNetwork_CreateAndDestroy_OnRealDaemon()
    {
        fixture.SkipIfUnavailable();
        var name = $"lvtest-tnet-{Guid.NewGuid():N}"[..20];
        var octet = fixture.Octet + 100 > 254 ? fixture.Octet - 90 : fixture.Octet + 100;

        using var network = fixture.Connection.CreateTransientNetwork(TestXml.NatNetwork(name, Math.Clamp(octet, 2, 254), bridge: "lvt" + name[^8..], dhcp: false));

        Assert.True(network.IsActive);
        Assert.False(network.IsPersistent);
        network.Destroy();
        Assert.Null(fixture.Connection.TryLookupNetwork(name));
    }
}
