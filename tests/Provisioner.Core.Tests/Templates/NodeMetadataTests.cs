using System.Xml.Linq;
using Provisioner.Core.Templates;
using Ipv4Cidr = Provisioner.Core.Stacks.Ipv4Cidr;
using PublishedPortPolicy = Provisioner.Core.Stacks.PublishedPortPolicy;
using TransportProtocol = Provisioner.Core.Stacks.TransportProtocol;

namespace Provisioner.Core.Tests.Templates;

public sealed class NodeMetadataTests
{
    [Fact]
    public void RenderNodeMetadata_Sample_MatchesGoldenFile() =>
        Golden.AssertMatches("node-metadata.out.xml", Samples.Renderer().RenderNodeMetadata(Samples.NodeMetadata() with
        {
            Expires = Samples.Created.AddHours(2),
        }).Markup + "\n");

    [Fact]
    public void RenderNodeMetadata_WithPublishedPorts_MatchesGoldenFileAndRoundTrips()
    {
        var metadata = Samples.NodeMetadata() with
        {
            Role = "sandbox",
            PublishedPorts =
            [
                new PublishedPortPolicy { Port = 8080, Protocol = TransportProtocol.Tcp, From = [Ipv4Cidr.Parse("10.1.2.0/24"), Ipv4Cidr.Parse("192.0.2.7/32")] },
                new PublishedPortPolicy { Port = 5353, Protocol = TransportProtocol.Udp, From = [Ipv4Cidr.Parse("0.0.0.0/0")] },
            ],
        };

        var markup = Samples.Renderer().RenderNodeMetadata(metadata).Markup;
        var parsed = NodeMetadata.Parse(markup);
        var inDomain = NodeMetadata.Parse(Samples.Renderer().RenderDomain(Samples.Domain(DomainType.Qemu, DiskBus.Virtio) with { Metadata = metadata }));

        Golden.AssertMatches("node-metadata-published-ports.out.xml", markup + "\n");
        foreach (var read in new[] { parsed, inDomain })
        {
            Assert.Equal(metadata with { PublishedPorts = [] }, read with { PublishedPorts = [] });
            Assert.Equal([(8080, TransportProtocol.Tcp), (5353, TransportProtocol.Udp)], read.PublishedPorts.Select(p => (p.Port, p.Protocol)));
            Assert.Equal(metadata.PublishedPorts[0].From, read.PublishedPorts[0].From);
            Assert.Equal(metadata.PublishedPorts[1].From, read.PublishedPorts[1].From);
        }
    }

    [Theory]
    [InlineData("<port>0</port><protocol>tcp</protocol><from>10.0.0.0/8</from>", "not a port")]
    [InlineData("<port>80</port><protocol>sctp</protocol><from>10.0.0.0/8</from>", "not tcp or udp")]
    [InlineData("<port>80</port><protocol>tcp</protocol><from>10.0.0.1/8</from>", "not an IPv4 CIDR")]
    [InlineData("<port>80</port><protocol>tcp</protocol>", "has no <from>")]
    public void Parse_BadPublishedPort_IsRefused(string inner, string fragment)
    {
        var xml = $"<node><stack>s</stack><name>n</name><role>sandbox</role><definition-hash>h</definition-hash><created>2026-01-02T03:04:05Z</created><host-key-fingerprint>f</host-key-fingerprint><published-port>{inner}</published-port></node>";

        var e = Assert.Throws<FormatException>(() => NodeMetadata.Parse(xml));

        Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RenderNodeMetadata_ForSetMetadata_IsUnqualifiedNode()
    {
        // virDomainSetMetadata applies the namespace from its key and URI and refuses an element that declares one.
        var root = XElement.Parse(Samples.Renderer().RenderNodeMetadata(Samples.NodeMetadata()).Markup);

        Assert.Equal(XName.Get("node"), root.Name);
        Assert.Empty(root.Attributes());
        Assert.All(root.Elements(), e => Assert.Equal(string.Empty, e.Name.NamespaceName));
        Assert.Null(root.Element("expires"));
    }

    [Fact]
    public void Parse_InsideDomainXml_FindsQualifiedBlock()
    {
        var metadata = Samples.NodeMetadata() with { Expires = Samples.Created.AddDays(1) };
        var domain = XElement.Parse(Samples.Renderer().RenderDomain(Samples.Domain(DomainType.Qemu, DiskBus.Virtio) with { Metadata = metadata }));

        var block = domain.Element("metadata")!.Element(XName.Get("node", ProvisionerXml.NodeNamespace));

        Assert.NotNull(block);
        Assert.All(block.Elements(), e => Assert.Equal(ProvisionerXml.NodeNamespace, e.Name.NamespaceName));
        Assert.Equal(metadata, NodeMetadata.Parse(domain.ToString()));
    }

    [Fact]
    public void Parse_RenderedWithExpiry_RoundTrips()
    {
        var metadata = Samples.NodeMetadata() with { Expires = Samples.Created.AddMinutes(90.5), Created = Samples.Created.AddTicks(1234567) };

        var parsed = NodeMetadata.Parse(Samples.Renderer().RenderNodeMetadata(metadata).Markup);

        Assert.Equal(metadata, parsed);
    }

    [Fact]
    public void Parse_NonUtcOffset_RoundTripsToSameInstant()
    {
        var metadata = Samples.NodeMetadata() with { Created = new DateTimeOffset(2026, 5, 6, 7, 8, 9, TimeSpan.FromHours(2)) };

        var parsed = NodeMetadata.Parse(Samples.Renderer().RenderNodeMetadata(metadata).Markup);

        Assert.Equal(metadata.Created, parsed.Created);
        Assert.Equal(TimeSpan.Zero, parsed.Created.Offset);
    }

    [Fact]
    public void Parse_OtherPrefixAndDoubleQuotes_MatchesByNamespace()
    {
        // libvirt returns the block with the prefix it was given as "key" and its own quoting.
        const string xml = """
            <x:node xmlns:x="https://provisioner.dev/xmlns/node/1">
              <x:stack>s</x:stack><x:name>n</x:name><x:role>r</x:role><x:definition-hash>h</x:definition-hash>
              <x:created>2026-01-02T03:04:05Z</x:created><x:host-key-fingerprint>f</x:host-key-fingerprint>
            </x:node>
            """;

        var parsed = NodeMetadata.Parse(xml);

        Assert.Equal("s", parsed.Stack);
        Assert.Equal("n", parsed.Node);
        Assert.Equal(Samples.Created, parsed.Created);
        Assert.Null(parsed.Expires);
    }

    [Fact]
    public void Parse_WrongNamespace_Throws()
    {
        var xml = Samples.Renderer().RenderDomain(Samples.Domain(DomainType.Qemu, DiskBus.Virtio))
            .Replace(ProvisionerXml.NodeNamespace, "https://example.org/other", StringComparison.Ordinal);

        Assert.Throws<FormatException>(() => NodeMetadata.Parse(xml));
    }

    [Fact]
    public void Parse_Dtd_IsRefused()
    {
        const string xml = "<!DOCTYPE n [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><node xmlns='https://provisioner.dev/xmlns/node/1'><stack>&e;</stack></node>";

        Assert.Throws<FormatException>(() => NodeMetadata.Parse(xml));
    }

    [Fact]
    public void Parse_MissingField_NamesIt()
    {
        const string xml = "<node xmlns='https://provisioner.dev/xmlns/node/1'><stack>s</stack></node>";

        var e = Assert.Throws<FormatException>(() => NodeMetadata.Parse(xml));

        Assert.Contains("<name>", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RenderNodeMetadata_ExpiryNotAfterCreation_IsRejected()
    {
        var metadata = Samples.NodeMetadata() with { Expires = Samples.Created };

        var e = Assert.Throws<RenderModelException>(() => Samples.Renderer().RenderNodeMetadata(metadata));

        Assert.Equal("metadata.expires", e.FieldPath);
    }

    [Fact]
    public void NetworkMetadata_Rendered_RoundTrips()
    {
        var xml = Samples.Renderer().RenderNetworkMetadata(Samples.NetworkMetadata()).Markup;

        Assert.Equal(XName.Get("network"), XElement.Parse(xml).Name);
        Assert.Equal(Samples.NetworkMetadata(), NetworkMetadata.Parse(xml));
    }
}
