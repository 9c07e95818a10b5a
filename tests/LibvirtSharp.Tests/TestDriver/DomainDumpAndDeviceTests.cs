using System.Xml.Linq;

namespace LibvirtSharp.Tests.TestDriver;

public sealed class DomainDumpAndDeviceTests : IDisposable
{
    private readonly Connection _conn = TestDriverConnection.Open();
    private readonly string _dir = Directory.CreateTempSubdirectory("lvtest-dump-").FullName;

    public void Dispose()
    {
        _conn.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void CoreDump_RunningDomain_WritesFile()
    {
        using var domain = _conn.DefineDomain(TestXml.TestDomain(TestXml.UniqueName()));
        domain.Start();
        var path = Path.Combine(_dir, "core");

        domain.CoreDump(path);

        Assert.True(new FileInfo(path).Length > 0);
        Assert.True(domain.IsActive);
    }

    [Fact]
    public void CoreDump_CrashFlag_StopsDomain()
    {
        using var domain = _conn.DefineDomain(TestXml.TestDomain(TestXml.UniqueName()));
        domain.Start();

        domain.CoreDump(Path.Combine(_dir, "core-crash"), CoreDumpFlags.Crash);

        Assert.False(domain.IsActive);
    }

    [Fact]
    public void CoreDump_InactiveDomain_ThrowsOperationInvalid()
    {
        using var domain = _conn.DefineDomain(TestXml.TestDomain(TestXml.UniqueName()));

        var ex = Assert.Throws<LibvirtException>(() => domain.CoreDump(Path.Combine(_dir, "never")));

        Assert.Equal(ErrorCode.OperationInvalid, ex.Code);
    }

    [Fact]
    public void AttachDevice_TestDriver_ThrowsNoSupport()
    {
        using var domain = _conn.DefineDomain(TestXml.TestDomain(TestXml.UniqueName()));
        var nic = new XElement("interface", new XAttribute("type", "network"),
            new XElement("source", new XAttribute("network", "default"))).ToString();

        Assert.Equal(ErrorCode.NoSupport, Assert.Throws<LibvirtException>(() => domain.AttachDevice(nic)).Code);
        Assert.Equal(ErrorCode.NoSupport, Assert.Throws<LibvirtException>(() => domain.DetachDevice(nic)).Code);
    }

    [Fact]
    public void SetInterfaceLinkState_UnknownMac_ThrowsArgumentException()
    {
        using var domain = _conn.DefineDomain(TestXml.TestDomain(TestXml.UniqueName(), mac: "52:54:00:23:20:01"));
        domain.Start();

        var ex = Assert.Throws<ArgumentException>(() => domain.SetInterfaceLinkState("52:54:00:ff:ff:ff", up: false));

        Assert.Contains("52:54:00:ff:ff:ff", ex.Message);
    }

    [Fact]
    public void SetInterfaceLinkState_TestDriver_ThrowsNoSupportFromUpdateDevice()
    {
        using var domain = _conn.DefineDomain(TestXml.TestDomain(TestXml.UniqueName(), mac: "52:54:00:23:20:02"));
        domain.Start();

        var ex = Assert.Throws<LibvirtException>(() => domain.SetInterfaceLinkState("52:54:00:23:20:02", up: false));

        Assert.Equal(ErrorCode.NoSupport, ex.Code);
        Assert.True(domain.GetInterfaceLinkState("52:54:00:23:20:02"));
    }
}
