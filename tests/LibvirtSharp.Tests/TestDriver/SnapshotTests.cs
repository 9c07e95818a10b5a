using System.Xml.Linq;

namespace LibvirtSharp.Tests.TestDriver;

public sealed class SnapshotTests : IDisposable
{
    private readonly Connection _conn = TestDriverConnection.Open();

    public void Dispose() => _conn.Dispose();

    [Fact]
    public void CreateSnapshot_ListLookupDelete_Work()
    {
        using var domain = _conn.DefineDomain(TestXml.TestDomain(TestXml.UniqueName()));
        domain.Start();

        using (var s1 = domain.CreateSnapshot(TestXml.Snapshot("s1")))
        {
            Assert.Equal("s1", s1.Name);
            Assert.True(s1.IsCurrent);
            Assert.Equal("s1", (string?)XDocument.Parse(s1.GetXml()).Root!.Element("name"));
        }

        using (var s2 = domain.CreateSnapshot(TestXml.Snapshot("s2")))
        {
            Assert.True(s2.IsCurrent);
        }

        var all = domain.ListSnapshots();
        try
        {
            Assert.Equal(["s1", "s2"], all.Select(s => s.Name).Order());
        }
        finally
        {
            foreach (var s in all)
            {
                s.Dispose();
            }
        }

        using (var current = domain.GetCurrentSnapshot())
        {
            Assert.Equal("s2", current!.Name);
        }

        using (var s1 = domain.LookupSnapshot("s1"))
        {
            s1.Revert();
            Assert.True(s1.IsCurrent);
            s1.Delete();
        }

        Assert.Null(domain.TryLookupSnapshot("s1"));
        var ex = Assert.Throws<LibvirtException>(() => domain.LookupSnapshot("s1"));
        Assert.Equal(ErrorCode.NoDomainSnapshot, ex.Code);
        Assert.True(ex.IsNotFound);
    }

    [Fact]
    public void GetCurrentSnapshot_None_ReturnsNull()
    {
        using var domain = _conn.DefineDomain(TestXml.TestDomain(TestXml.UniqueName()));

        Assert.Null(domain.GetCurrentSnapshot());
        Assert.Empty(domain.ListSnapshots());
    }

    [Fact]
    public void CreateSnapshot_InvalidXml_ThrowsWithLibvirtMessage()
    {
        using var domain = _conn.DefineDomain(TestXml.TestDomain(TestXml.UniqueName()));

        var ex = Assert.Throws<LibvirtException>(() => domain.CreateSnapshot("<domainsnapshot><name>x</domainsnapshot>"));

        Assert.False(string.IsNullOrWhiteSpace(ex.LibvirtMessage));
    }
}
