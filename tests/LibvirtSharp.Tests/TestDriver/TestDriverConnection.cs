using System.Xml.Linq;

namespace LibvirtSharp.Tests.TestDriver;

/// <summary>
/// Connections to libvirt's test driver. Within one process every <c>test:///default</c> connection shares one
/// mock host while any of them is open, so tests running in parallel would see each other's domains and events.
/// <see cref="Open"/> therefore gives each test its own host, loaded from a node file with the same inventory as
/// the default host; <see cref="OpenDefault"/> is only for facts about <c>test:///default</c> itself.
/// </summary>
internal static class TestDriverConnection
{
    public const string DefaultUri = "test:///default";

    /// <summary>The shared built-in host; do not change it from tests.</summary>
    public static Connection OpenDefault() => Connection.Open(DefaultUri);

    /// <summary>A private mock host: a running domain "test", an active network "default", an active pool "default-pool".</summary>
    public static Connection Open()
    {
        var path = Path.Combine(Path.GetTempPath(), $"lvtest-node-{Guid.NewGuid():N}.xml");
        new XElement("node",
            new XElement("domain", new XAttribute("type", "test"),
                new XElement("name", "test"),
                new XElement("memory", new XAttribute("unit", "MiB"), 8),
                new XElement("os", new XElement("type", "hvm"))),
            new XElement("network",
                new XElement("name", "default"),
                new XElement("bridge", new XAttribute("name", "virbr0")),
                new XElement("forward"),
                new XElement("ip", new XAttribute("address", "10.231.1.1"), new XAttribute("netmask", "255.255.255.0"))),
            new XElement("pool", new XAttribute("type", "dir"),
                new XElement("name", "default-pool"),
                new XElement("target", new XElement("path", "/default-pool")))).Save(path);
        try
        {
            // The driver reads the file once, while opening.
            return Connection.Open("test://" + path);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
