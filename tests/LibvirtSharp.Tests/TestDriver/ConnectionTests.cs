using System.Xml.Linq;

namespace LibvirtSharp.Tests.TestDriver;

public sealed class ConnectionTests
{
    [Fact]
    public void Open_TestDefault_ReportsDriverFacts()
    {
        using var conn = TestDriverConnection.OpenDefault();

        Assert.Equal("test:///default", conn.Uri);
        Assert.Equal("TEST", conn.HypervisorType);
        Assert.False(string.IsNullOrEmpty(conn.Hostname));
        Assert.Equal(new Version(9, 0, 0), conn.LibvirtVersion);
        Assert.Equal(new Version(0, 0, 2), conn.HypervisorVersion);
        Assert.Equal(new Version(9, 0, 0), Connection.ClientLibraryVersion);
        Assert.True(conn.IsAlive);
        Assert.True(conn.IsSecure);
        Assert.False(conn.IsReadOnly);
    }

    [Fact]
    public void OpenDefault_TwiceInOneProcess_SharesOneMockHost()
    {
        // Pins a libvirt fact the test suites rely on: in-process test:///default connections share state,
        // while each test:///<node file> connection gets a private host.
        using var first = TestDriverConnection.OpenDefault();
        using var second = TestDriverConnection.OpenDefault();
        var name = TestXml.UniqueName();
        using var domain = first.DefineDomain(TestXml.TestDomain(name));
        try
        {
            using var seen = second.TryLookupDomain(name);
            Assert.NotNull(seen);
            using var isolated = TestDriverConnection.Open();
            Assert.Null(isolated.TryLookupDomain(name));
        }
        finally
        {
            domain.Undefine();
        }
    }

    [Fact]
    public void GetCapabilities_TestDriver_ReturnsCapabilitiesXml()
    {
        using var conn = TestDriverConnection.OpenDefault();

        var caps = XDocument.Parse(conn.GetCapabilities());

        Assert.Equal("capabilities", caps.Root!.Name.LocalName);
        Assert.NotNull(caps.Root.Element("host"));
    }

    [Fact]
    public void GetDomainCapabilities_TestDriver_ThrowsNoSupport()
    {
        using var conn = TestDriverConnection.OpenDefault();

        var ex = Assert.Throws<LibvirtException>(() => conn.GetDomainCapabilities(null, null, null, null));

        Assert.Equal(ErrorCode.NoSupport, ex.Code);
        Assert.Contains("virConnectGetDomainCapabilities", ex.LibvirtMessage);
    }

    [Fact]
    public void GetNodeInfo_TestDefault_ReturnsMockHost()
    {
        using var conn = TestDriverConnection.OpenDefault();

        var info = conn.GetNodeInfo();

        // The test driver's fixed default host.
        Assert.Equal(new NodeInfo("i686", 3UL * 1024 * 1024 * 1024, 16, 1400, 2, 2, 2, 2), info);
    }

    [Fact]
    public void GetFreeMemoryBytes_TestDefault_IsPositive()
    {
        using var conn = TestDriverConnection.OpenDefault();

        Assert.True(conn.GetFreeMemoryBytes() > 0);
    }

    [Fact]
    public void SetKeepAlive_TestDriver_ThrowsNoSupportAndConnectionStaysAlive()
    {
        using var conn = TestDriverConnection.OpenDefault();

        var ex = Assert.Throws<LibvirtException>(() => conn.SetKeepAlive(5, 3));

        Assert.Equal(ErrorCode.NoSupport, ex.Code);
        Assert.True(conn.IsAlive);
    }

    [Fact]
    public void Open_UnknownScheme_ThrowsWithLibvirtMessage()
    {
        var ex = Assert.Throws<LibvirtException>(() => Connection.Open("nosuchdriver:///system"));

        Assert.Equal(ErrorCode.NoConnect, ex.Code);
        Assert.False(string.IsNullOrWhiteSpace(ex.LibvirtMessage));
        Assert.Contains(ex.LibvirtMessage, ex.Message);
        Assert.False(ex.IsNotFound);
    }

    [Fact]
    public void Open_MissingNodeFile_ThrowsWithLibvirtMessage()
    {
        var ex = Assert.Throws<LibvirtException>(() => Connection.Open("test:///nonexistent/lvtest-node.xml"));

        Assert.Contains("lvtest-node.xml", ex.LibvirtMessage);
    }

    [Fact]
    public void OpenReadOnly_DefineDomain_ThrowsOperationDenied()
    {
        using var conn = Connection.OpenReadOnly(TestDriverConnection.DefaultUri);

        Assert.True(conn.IsReadOnly);
        using var existing = conn.LookupDomain("test");
        var ex = Assert.Throws<LibvirtException>(() => conn.DefineDomain(TestXml.TestDomain("lvtest-ro")));

        Assert.Equal(ErrorCode.OperationDenied, ex.Code);
    }

    [Fact]
    public void Dispose_Twice_IsHarmlessAndLaterCallsThrowObjectDisposed()
    {
        var conn = TestDriverConnection.OpenDefault();

        conn.Dispose();
        conn.Dispose();

        Assert.Throws<ObjectDisposedException>(() => conn.Hostname);
    }

    [Fact]
    public void ListNodeDevices_TestDefault_ReturnsDevicesWithXml()
    {
        using var conn = TestDriverConnection.OpenDefault();

        var devices = conn.ListNodeDevices();
        try
        {
            Assert.NotEmpty(devices);
            Assert.Contains(devices, d => d.Name == "computer");
            foreach (var device in devices)
            {
                Assert.Equal("device", XDocument.Parse(device.GetXml()).Root!.Name.LocalName);
            }

            using var computer = conn.LookupNodeDevice("computer");
            Assert.Null(computer.ParentName);
        }
        finally
        {
            foreach (var device in devices)
            {
                device.Dispose();
            }
        }
    }

    [Fact]
    public void LookupNodeDevice_Missing_ThrowsNotFound()
    {
        using var conn = TestDriverConnection.OpenDefault();

        var ex = Assert.Throws<LibvirtException>(() => conn.LookupNodeDevice("lvtest-no-such-device"));

        Assert.Equal(ErrorCode.NoNodeDevice, ex.Code);
        Assert.True(ex.IsNotFound);
    }
}
