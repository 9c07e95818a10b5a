using System.Xml.Linq;

namespace LibvirtSharp.Tests.Live;

[Collection(nameof(LiveLibvirt))]
public sealed class LiveConnectionTests(LiveLibvirtFixture fixture)
{
    [Fact]
    public void Facts_SystemDaemon_ReportsQemuHost()
    {
        fixture.SkipIfUnavailable();
        var conn = fixture.Connection;

        Assert.Equal("qemu:///system", conn.Uri);
        Assert.Equal("QEMU", conn.HypervisorType);
        Assert.Equal(new Version(9, 0, 0), conn.LibvirtVersion);
        Assert.True(conn.HypervisorVersion.Major >= 7);
        Assert.Equal(Environment.MachineName, conn.Hostname.Split('.')[0]);
        Assert.True(conn.IsAlive);
        Assert.True(conn.IsSecure);
    }

    [Fact]
    public void GetNodeInfo_SystemDaemon_MatchesThisMachine()
    {
        fixture.SkipIfUnavailable();

        var info = fixture.Connection.GetNodeInfo();

        Assert.Equal((uint)Environment.ProcessorCount, info.Cpus);
        Assert.Equal("x86_64", info.Model);
        Assert.True(info.MemoryBytes > 1UL << 30);
        Assert.InRange(fixture.Connection.GetFreeMemoryBytes(), 1UL << 20, info.MemoryBytes);
    }

    [Fact]
    public void GetCapabilities_And_DomainCapabilities_DescribeQemu()
    {
        fixture.SkipIfUnavailable();

        var caps = XDocument.Parse(fixture.Connection.GetCapabilities());
        var domcaps = XDocument.Parse(fixture.Connection.GetDomainCapabilities("/usr/bin/qemu-system-x86_64", "x86_64", null, "qemu"));

        Assert.Contains(caps.Descendants("domain"), d => (string?)d.Attribute("type") == "qemu");
        Assert.Equal("domainCapabilities", domcaps.Root!.Name.LocalName);
        Assert.Equal("qemu", (string?)domcaps.Root.Element("domain"));
    }

    [Fact]
    public void GetDomainCapabilities_UnknownEmulator_ThrowsWithLibvirtMessage()
    {
        fixture.SkipIfUnavailable();

        var ex = Assert.Throws<LibvirtException>(() =>
            fixture.Connection.GetDomainCapabilities("/nonexistent/lvtest-qemu", null, null, null));

        Assert.Contains("/nonexistent/lvtest-qemu", ex.LibvirtMessage);
    }

    [Fact]
    public void SetKeepAlive_RemoteTransport_Works()
    {
        fixture.SkipIfUnavailable();
        using var conn = Connection.Open(LiveLibvirtFixture.SystemUri);

        conn.SetKeepAlive(5, 3);
        conn.SetKeepAlive(0, 0);

        Assert.True(conn.IsAlive);
    }

    [Fact]
    public void OpenReadOnly_SystemDaemon_QueriesWorkChangesDenied()
    {
        fixture.SkipIfUnavailable();
        using var conn = Connection.OpenReadOnly(LiveLibvirtFixture.SystemUri);

        Assert.Equal(fixture.Connection.Hostname, conn.Hostname);
        using var network = conn.LookupNetwork(fixture.Network.Name);
        var ex = Assert.Throws<LibvirtException>(network.Destroy);

        Assert.Equal(ErrorCode.OperationDenied, ex.Code);
        Assert.True(network.IsActive);
    }

    [Fact]
    public void ListNodeDevices_SystemDaemon_ListsHostDevices()
    {
        fixture.SkipIfUnavailable();

        var devices = fixture.Connection.ListNodeDevices();
        try
        {
            Assert.Contains(devices, d => d.Name == "computer");
            Assert.Contains(devices, d => d.Name.StartsWith("net_", StringComparison.Ordinal));
            var xml = XDocument.Parse(devices.First(d => d.Name == "computer").GetXml());
            Assert.Equal("computer", (string?)xml.Root!.Element("name"));
        }
        finally
        {
            foreach (var d in devices)
            {
                d.Dispose();
            }
        }
    }

    [Fact]
    public void Open_SshToUnresolvableHost_ThrowsWithLibvirtMessage()
    {
        fixture.SkipIfUnavailable();

        var ex = Assert.Throws<LibvirtException>(() =>
            Connection.Open("qemu+ssh://root@lvtest-no-such-host.invalid/system?keyfile=/nonexistent/key&no_tty=1"));

        Assert.False(string.IsNullOrWhiteSpace(ex.LibvirtMessage));
    }
}
