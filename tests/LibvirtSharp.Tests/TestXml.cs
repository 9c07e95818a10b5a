using System.Xml.Linq;

namespace LibvirtSharp.Tests;

/// <summary>XML documents the tests feed to libvirt, built with LINQ to XML.</summary>
internal static class TestXml
{
    public const string MetadataNamespace = "https://provisioner.example/libvirt-tests/1";

    public static string UniqueName(string prefix = "lvtest") => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    /// <summary>A domain for the test driver.</summary>
    public static string TestDomain(string name, Guid? uuid = null, int memoryMiB = 64, string? mac = null) =>
        new XElement("domain", new XAttribute("type", "test"),
            new XElement("name", name),
            uuid is null ? null : new XElement("uuid", uuid.Value.ToString()),
            new XElement("memory", new XAttribute("unit", "MiB"), memoryMiB),
            new XElement("vcpu", 1),
            new XElement("os", new XElement("type", "hvm")),
            new XElement("devices",
                mac is null ? null : new XElement("interface", new XAttribute("type", "network"),
                    new XElement("mac", new XAttribute("address", mac)),
                    new XElement("source", new XAttribute("network", "default"))))).ToString();

    /// <summary>A NAT network in the 10.231.0.0/16 range assigned to this test suite.</summary>
    public static string NatNetwork(string name, int thirdOctet, string? bridge = null, bool dhcp = true) =>
        new XElement("network",
            new XElement("name", name),
            new XElement("forward", new XAttribute("mode", "nat")),
            new XElement("bridge", new XAttribute("name", bridge ?? ("lvt" + name[^8..])), new XAttribute("stp", "on"), new XAttribute("delay", 0)),
            new XElement("ip", new XAttribute("address", $"10.231.{thirdOctet}.1"), new XAttribute("netmask", "255.255.255.0"),
                dhcp
                    ? new XElement("dhcp", new XElement("range",
                        new XAttribute("start", $"10.231.{thirdOctet}.100"), new XAttribute("end", $"10.231.{thirdOctet}.199")))
                    : null)).ToString();

    /// <summary>A directory storage pool.</summary>
    public static string DirPool(string name, string path) =>
        new XElement("pool", new XAttribute("type", "dir"),
            new XElement("name", name),
            new XElement("target", new XElement("path", path))).ToString();

    /// <summary>A file volume.</summary>
    public static string Volume(string name, ulong capacityBytes, string format = "raw", string? backingPath = null, string? backingFormat = null) =>
        new XElement("volume",
            new XElement("name", name),
            new XElement("capacity", new XAttribute("unit", "bytes"), capacityBytes),
            new XElement("allocation", new XAttribute("unit", "bytes"), 0),
            new XElement("target", new XElement("format", new XAttribute("type", format))),
            backingPath is null ? null : new XElement("backingStore",
                new XElement("path", backingPath),
                new XElement("format", new XAttribute("type", backingFormat ?? "raw")))).ToString();

    /// <summary>A snapshot description.</summary>
    public static string Snapshot(string name) =>
        new XElement("domainsnapshot", new XElement("name", name), new XElement("description", "test snapshot")).ToString();

    /// <summary>A metadata element in the tests' namespace.</summary>
    public static string Metadata(string owner) =>
        new XElement(XName.Get("owner", MetadataNamespace), new XAttribute("team", owner)).ToString();
}
