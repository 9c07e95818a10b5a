using System.Xml.Linq;

namespace LibvirtSharp.Tests.TestDriver;

public sealed class NetworkTests : IDisposable
{
    private readonly Connection _conn = TestDriverConnection.Open();

    public void Dispose() => _conn.Dispose();

    [Fact]
    public void DefineNetwork_StartDestroyUndefine_FollowsLifecycle()
    {
        var name = TestXml.UniqueName();
        using var network = _conn.DefineNetwork(TestXml.NatNetwork(name, 10));

        Assert.Equal(name, network.Name);
        Assert.True(network.IsPersistent);
        Assert.False(network.IsActive);
        network.Start();
        Assert.True(network.IsActive);
        Assert.StartsWith("lvt", network.BridgeName);
        network.Destroy();
        Assert.False(network.IsActive);
        network.Undefine();

        Assert.Null(_conn.TryLookupNetwork(name));
    }

    [Fact]
    public void LookupNetwork_ByNameAndUuid_FindsSameNetwork()
    {
        using var network = _conn.DefineNetwork(TestXml.NatNetwork(TestXml.UniqueName(), 11));

        using var byName = _conn.LookupNetwork(network.Name);
        using var byUuid = _conn.LookupNetwork(network.Uuid);

        Assert.Equal(network.Uuid, byName.Uuid);
        Assert.Equal(network.Name, byUuid.Name);
    }

    [Fact]
    public void LookupNetwork_Missing_ThrowsNoNetwork()
    {
        var ex = Assert.Throws<LibvirtException>(() => _conn.LookupNetwork("lvtest-missing"));

        Assert.Equal(ErrorCode.NoNetwork, ex.Code);
        Assert.True(ex.IsNotFound);
        Assert.Null(_conn.TryLookupNetwork("lvtest-missing"));
        Assert.Throws<LibvirtException>(() => _conn.LookupNetwork(Guid.NewGuid()));
    }

    [Fact]
    public void CreateTransientNetwork_IsActiveAndVanishesOnDestroy()
    {
        var name = TestXml.UniqueName();
        using var network = _conn.CreateTransientNetwork(TestXml.NatNetwork(name, 12));

        Assert.True(network.IsActive);
        Assert.False(network.IsPersistent);
        network.Destroy();

        Assert.Null(_conn.TryLookupNetwork(name));
    }

    [Fact]
    public void Autostart_SetAndGet_RoundTrips()
    {
        using var network = _conn.DefineNetwork(TestXml.NatNetwork(TestXml.UniqueName(), 13));

        network.Autostart = true;

        Assert.True(network.Autostart);
    }

    [Fact]
    public void GetXml_ReturnsDefinition()
    {
        using var network = _conn.DefineNetwork(TestXml.NatNetwork(TestXml.UniqueName(), 14));

        // The test driver has no separate inactive XML (flag 0x1 unsupported); the live tier covers it.
        var xml = XDocument.Parse(network.GetXml());

        Assert.Equal("10.231.14.1", (string?)xml.Root!.Element("ip")!.Attribute("address"));
    }

    [Fact]
    public void ListNetworks_IncludesDefaultAndDefined()
    {
        using var network = _conn.DefineNetwork(TestXml.NatNetwork(TestXml.UniqueName(), 15));

        var all = _conn.ListNetworks();
        try
        {
            Assert.Contains(all, n => n.Name == "default");
            Assert.Contains(all, n => n.Uuid == network.Uuid);
        }
        finally
        {
            foreach (var n in all)
            {
                n.Dispose();
            }
        }
    }

    [Fact]
    public void Update_AddDhcpHost_AppearsInXml()
    {
        using var network = _conn.DefineNetwork(TestXml.NatNetwork(TestXml.UniqueName(), 16));
        network.Start();
        var host = new XElement("host",
            new XAttribute("mac", "52:54:00:23:16:10"), new XAttribute("name", "lvtest-guest"), new XAttribute("ip", "10.231.16.10")).ToString();

        network.Update(NetworkUpdateCommand.AddLast, NetworkUpdateSection.IPDhcpHost, host);

        var live = XDocument.Parse(network.GetXml());
        Assert.Contains(live.Descendants("host"), h => (string?)h.Attribute("ip") == "10.231.16.10");

        network.Update(NetworkUpdateCommand.Delete, NetworkUpdateSection.IPDhcpHost, host);
        Assert.DoesNotContain(XDocument.Parse(network.GetXml()).Descendants("host"), h => (string?)h.Attribute("ip") == "10.231.16.10");
    }

    [Fact]
    public void DefineNetwork_InvalidXml_ThrowsWithLibvirtMessage()
    {
        var ex = Assert.Throws<LibvirtException>(() => _conn.DefineNetwork("<network><name>x</name><ip address='nonsense'/></network>"));

        Assert.False(ex.IsNotFound);
        Assert.False(string.IsNullOrWhiteSpace(ex.LibvirtMessage));
    }

    [Fact]
    public void GetDhcpLeases_TestDriver_ThrowsNoSupport()
    {
        using var network = _conn.LookupNetwork("default");

        var ex = Assert.Throws<LibvirtException>(() => network.GetDhcpLeases());

        Assert.Equal(ErrorCode.NoSupport, ex.Code);
    }
}
