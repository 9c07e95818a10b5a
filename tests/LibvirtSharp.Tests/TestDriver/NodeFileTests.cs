using System.Xml.Linq;

namespace LibvirtSharp.Tests.TestDriver;

/// <summary>The test driver loaded from node files the test writes: two mock hosts with their own inventory.</summary>
public sealed class NodeFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("lvtest-node-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static XElement Domain(string name, Guid uuid, int memoryMiB) =>
        new("domain", new XAttribute("type", "test"),
            new XElement("name", name),
            new XElement("uuid", uuid),
            new XElement("memory", new XAttribute("unit", "MiB"), memoryMiB),
            new XElement("vcpu", 2),
            new XElement("os", new XElement("type", "hvm")));

    private static XElement Network(string name, int thirdOctet) =>
        XElement.Parse(TestXml.NatNetwork(name, thirdOctet, bridge: "lvtnf" + thirdOctet));

    private static XElement Pool(string name, string path, params string[] volumes) =>
        new("pool", new XAttribute("type", "dir"),
            new XElement("name", name),
            new XElement("target", new XElement("path", path)),
            volumes.Select(v => XElement.Parse(TestXml.Volume(v, 1024 * 1024 * 1024))));

    private string WriteNode(string file, int cpus, int mhz, int memoryMiB, params XElement[] content)
    {
        var node = new XElement("node",
            new XElement("cpu",
                new XElement("mhz", mhz),
                new XElement("model", "x86_64"),
                new XElement("active", cpus),
                new XElement("nodes", 1),
                new XElement("sockets", 1),
                new XElement("cores", cpus / 2),
                new XElement("threads", 2)),
            new XElement("memory", memoryMiB * 1024),
            content);
        var path = Path.Combine(_dir, file);
        node.Save(path);
        return "test://" + path;
    }

    [Fact]
    public void Open_TwoNodeFiles_EachHostHasItsOwnInventory()
    {
        var oslo1Vm = Guid.NewGuid();
        var oslo2Vm = Guid.NewGuid();
        var uri1 = WriteNode("oslo-1.xml", 8, 2400, 16384,
            Domain("web-1", oslo1Vm, 512), Domain("web-2", Guid.NewGuid(), 256),
            Network("lan-a", 40), Network("lan-b", 41),
            Pool("images", "/lvtest/oslo-1/images", "base.qcow2", "web-1.qcow2"), Pool("scratch", "/lvtest/oslo-1/scratch"));
        var uri2 = WriteNode("oslo-2.xml", 4, 2000, 8192,
            Domain("db-1", oslo2Vm, 1024),
            Network("lan-c", 42),
            Pool("images", "/lvtest/oslo-2/images", "db-1.qcow2"));

        using var host1 = Connection.Open(uri1);
        using var host2 = Connection.Open(uri2);

        Assert.Equal(uri1, host1.Uri);
        Assert.Equal(new NodeInfo("x86_64", 16384UL * 1024 * 1024, 8, 2400, 1, 1, 4, 2), host1.GetNodeInfo());
        Assert.Equal(new NodeInfo("x86_64", 8192UL * 1024 * 1024, 4, 2000, 1, 1, 2, 2), host2.GetNodeInfo());

        AssertNames(host1.ListDomains(), ["web-1", "web-2"]);
        AssertNames(host2.ListDomains(), ["db-1"]);
        using (var web1 = host1.LookupDomain(oslo1Vm))
        {
            Assert.Equal("web-1", web1.Name);
            Assert.Equal(512UL * 1024 * 1024, web1.GetInfo().MaxMemoryBytes);
        }

        Assert.Null(host2.TryLookupDomain(oslo1Vm));
        using (var db1 = host2.LookupDomain("db-1"))
        {
            Assert.Equal(oslo2Vm, db1.Uuid);
        }

        AssertNames(host1.ListNetworks(), ["lan-a", "lan-b"]);
        AssertNames(host2.ListNetworks(), ["lan-c"]);
        AssertNames(host1.ListStoragePools(), ["images", "scratch"]);

        using var images1 = host1.LookupStoragePool("images");
        using var images2 = host2.LookupStoragePool("images");
        Assert.NotEqual(images1.Uuid, images2.Uuid);
        AssertNames(images1.ListVolumes(), ["base.qcow2", "web-1.qcow2"]);
        AssertNames(images2.ListVolumes(), ["db-1.qcow2"]);
        using var volume = images1.LookupVolume("base.qcow2");
        Assert.Equal(1024UL * 1024 * 1024, volume.GetInfo().CapacityBytes);
    }

    [Fact]
    public void Open_NodeFileDomains_CanBeDrivenThroughLifecycle()
    {
        var uri = WriteNode("oslo-3.xml", 2, 1000, 2048, Domain("vm-a", Guid.NewGuid(), 128));
        using var host = Connection.Open(uri);
        using var vm = host.LookupDomain("vm-a");

        if (vm.IsActive)
        {
            vm.Destroy();
        }

        vm.Start();
        vm.Suspend();
        Assert.Equal(DomainState.Paused, vm.GetState());
        vm.Resume();
        vm.Destroy();
        vm.Undefine();

        Assert.Empty(host.ListDomains());
    }

    [Fact]
    public void Open_MalformedNodeFile_ThrowsWithLibvirtMessage()
    {
        var path = Path.Combine(_dir, "broken.xml");
        File.WriteAllText(path, "<node><cpu>");

        var ex = Assert.Throws<LibvirtException>(() => Connection.Open("test://" + path));

        Assert.False(string.IsNullOrWhiteSpace(ex.LibvirtMessage));
    }

    private static void AssertNames<T>(IReadOnlyList<T> items, string[] expected)
        where T : IDisposable
    {
        try
        {
            var names = items.Select(i => i switch
            {
                Domain d => d.Name,
                Network n => n.Name,
                StoragePool p => p.Name,
                StorageVolume v => v.Name,
                _ => throw new InvalidOperationException(),
            }).Order().ToArray();
            Assert.Equal(expected.Order().ToArray(), names);
        }
        finally
        {
            foreach (var item in items)
            {
                item.Dispose();
            }
        }
    }
}
