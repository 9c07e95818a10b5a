using System.Globalization;
using System.Xml;
using System.Xml.Linq;
using Provisioner.Core.Stacks;

namespace Provisioner.Core.Templates;

/// <summary>
/// Provisioner's metadata on a node's domain. The infrastructure is the state: reading this block
/// back tells which stack and node a domain belongs to and which definition it was created from.
/// </summary>
public sealed record NodeMetadata
{
    /// <summary>Stack name.</summary>
    public required string Stack { get; init; }

    /// <summary>Node name within the stack.</summary>
    public required string Node { get; init; }

    /// <summary>Node role, e.g. <c>docker</c>, <c>control-plane</c>, <c>worker</c>, <c>sandbox</c>.</summary>
    public required string Role { get; init; }

    /// <summary>Hash of the definition the domain was created from, to detect drift.</summary>
    public required string DefinitionHash { get; init; }

    /// <summary>When the node was created.</summary>
    public required DateTimeOffset Created { get; init; }

    /// <summary>Fingerprint of the SSH host key injected through cloud-init (e.g. <c>SHA256:…</c>).</summary>
    public required string HostKeyFingerprint { get; init; }

    /// <summary>When a sandbox destroys itself; null for nodes that live until removed.</summary>
    public DateTimeOffset? Expires { get; init; }

    /// <summary>
    /// The node's SSH host public key as an OpenSSH line (<c>ssh-ed25519 AAAA…</c>). Public, so it may live in
    /// libvirt metadata; it lets any copy of the tool pin the key and write known_hosts files.
    /// </summary>
    public string? HostPublicKey { get; init; }

    /// <summary>
    /// Path of the root disk file on the host. Recorded because an NVMe disk given to QEMU through
    /// <c>&lt;qemu:commandline&gt;</c> is not a libvirt disk, and drivers that do not speak QEMU drop those arguments.
    /// </summary>
    public string? RootDiskPath { get; init; }

    /// <summary>The root disk's bus as the stack asked for it (<c>virtio</c> or <c>nvme</c>).</summary>
    public string? RootDiskBus { get; init; }

    /// <summary>
    /// The node's own published ports, for nodes whose definition lives in libvirt rather than in a stack file
    /// (sandboxes): recorded here like <see cref="Expires"/>, so every copy of the tool rebuilds the same firewall.
    /// Empty for nodes of stack files, whose ports are declared there.
    /// </summary>
    public IReadOnlyList<PublishedPortPolicy> PublishedPorts { get; init; } = [];

    /// <summary>
    /// Reads the block back from XML: either as virDomainGetMetadata returns it (an unqualified
    /// <c>&lt;node&gt;</c>), or from domain XML or any element containing the block, where elements are
    /// matched by <see cref="ProvisionerXml.NodeNamespace"/>, not by prefix.
    /// </summary>
    /// <exception cref="FormatException">The XML is not a node metadata block.</exception>
    public static NodeMetadata Parse(string xml)
    {
        var root = MetadataXml.Load(xml, ProvisionerXml.NodeNamespace, "node");
        return new NodeMetadata
        {
            Stack = MetadataXml.Required(root, "stack"),
            Node = MetadataXml.Required(root, "name"),
            Role = MetadataXml.Required(root, "role"),
            DefinitionHash = MetadataXml.Required(root, "definition-hash"),
            Created = MetadataXml.Time(root, "created") ?? throw new FormatException("node metadata lacks <created>"),
            HostKeyFingerprint = MetadataXml.Required(root, "host-key-fingerprint"),
            Expires = MetadataXml.Time(root, "expires"),
            HostPublicKey = MetadataXml.Optional(root, "host-key"),
            RootDiskPath = MetadataXml.Optional(root, "root-disk"),
            RootDiskBus = MetadataXml.Optional(root, "root-disk-bus"),
            PublishedPorts = ParsePublishedPorts(root),
        };
    }

    private static IReadOnlyList<PublishedPortPolicy> ParsePublishedPorts(XElement root)
    {
        var ns = root.Name.Namespace;
        var ports = new List<PublishedPortPolicy>();
        foreach (var element in root.Elements(ns + "published-port"))
        {
            var portText = MetadataXml.Required(element, "port");
            if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            {
                throw new FormatException($"metadata <published-port><port> '{portText}' is not a port (1-65535)");
            }
            var protocol = MetadataXml.Required(element, "protocol") switch
            {
                "tcp" => TransportProtocol.Tcp,
                "udp" => TransportProtocol.Udp,
                var other => throw new FormatException($"metadata <published-port><protocol> '{other}' is not tcp or udp"),
            };
            var from = new List<Ipv4Cidr>();
            foreach (var source in element.Elements(ns + "from"))
            {
                from.Add(Ipv4Cidr.TryParse(source.Value, out var cidr, out var error)
                    ? cidr
                    : throw new FormatException($"metadata <published-port><from> '{source.Value}' is not an IPv4 CIDR: {error}"));
            }
            if (from.Count == 0)
            {
                throw new FormatException($"metadata <published-port> {port}/{protocol.ToString().ToLowerInvariant()} has no <from>");
            }
            ports.Add(new PublishedPortPolicy { Port = port, Protocol = protocol, From = from.AsReadOnly() });
        }
        if (ports.Count == 0)
        {
            // The same empty list a metadata record gets by default, so records without ports stay equal.
            return Array.Empty<PublishedPortPolicy>();
        }
        return ports.AsReadOnly();
    }

    internal void Validate(string path)
    {
        Check.Text($"{path}.stack", Stack);
        Check.Text($"{path}.node", Node);
        Check.Text($"{path}.role", Role);
        Check.Text($"{path}.definitionHash", DefinitionHash);
        Check.Text($"{path}.hostKeyFingerprint", HostKeyFingerprint);
        for (var i = 0; i < (PublishedPorts?.Count ?? 0); i++)
        {
            var port = PublishedPorts![i] ?? throw new RenderModelException($"{path}.publishedPorts[{i}]", "is null");
            if (port.Port is < 1 or > 65535)
            {
                throw new RenderModelException($"{path}.publishedPorts[{i}].port", $"'{port.Port}' is not a port (1-65535)");
            }
            if (port.Protocol is not (TransportProtocol.Tcp or TransportProtocol.Udp))
            {
                throw new RenderModelException($"{path}.publishedPorts[{i}].protocol", $"'{(int)port.Protocol}' is not tcp or udp");
            }
            if (port.From is null || port.From.Count == 0)
            {
                throw new RenderModelException($"{path}.publishedPorts[{i}].from", "is empty");
            }
        }
        if (Expires is { } expires && expires <= Created)
        {
            throw new RenderModelException($"{path}.expires", $"'{MetadataXml.FormatTime(expires)}' is not after created '{MetadataXml.FormatTime(Created)}'");
        }
    }
}

/// <summary>Provisioner's metadata on a stack's libvirt network.</summary>
public sealed record NetworkMetadata
{
    /// <summary>Stack name.</summary>
    public required string Stack { get; init; }

    /// <summary>Network name within the stack.</summary>
    public required string Network { get; init; }

    /// <summary>Hash of the definition the network was created from.</summary>
    public required string DefinitionHash { get; init; }

    /// <summary>When the network was created.</summary>
    public required DateTimeOffset Created { get; init; }

    /// <summary>Reads the block back from XML, unqualified (virNetworkGetMetadata) or qualified by <see cref="ProvisionerXml.NetworkNamespace"/>.</summary>
    /// <exception cref="FormatException">The XML is not a network metadata block.</exception>
    public static NetworkMetadata Parse(string xml)
    {
        var root = MetadataXml.Load(xml, ProvisionerXml.NetworkNamespace, "network");
        return new NetworkMetadata
        {
            Stack = MetadataXml.Required(root, "stack"),
            Network = MetadataXml.Required(root, "name"),
            DefinitionHash = MetadataXml.Required(root, "definition-hash"),
            Created = MetadataXml.Time(root, "created") ?? throw new FormatException("network metadata lacks <created>"),
        };
    }

    internal void Validate(string path)
    {
        Check.Text($"{path}.stack", Stack);
        Check.Text($"{path}.network", Network);
        Check.Text($"{path}.definitionHash", DefinitionHash);
    }
}

internal static class MetadataXml
{
    private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'";

    public static string FormatTime(DateTimeOffset value) =>
        value.ToUniversalTime().ToString(TimeFormat, CultureInfo.InvariantCulture);

    public static XElement Load(string xml, string ns, string localName)
    {
        ArgumentNullException.ThrowIfNull(xml);
        XElement root;
        try
        {
            root = UntrustedXml.Load(xml);
        }
        catch (XmlException e)
        {
            throw new FormatException($"metadata is not well-formed XML: {e.Message}", e);
        }
        XNamespace xns = ns;
        // The qualified block itself, or inside any element that contains it (a whole <domain> or <network>).
        var block = root.Name == xns + localName ? root : root.Descendants(xns + localName).FirstOrDefault();
        // virDomainGetMetadata/virNetworkGetMetadata return the block unqualified, the namespace stripped.
        if (block is null && root.Name == XName.Get(localName) && root.Element("stack") is not null)
        {
            block = root;
        }
        return block ?? throw new FormatException($"no <{localName}> element in namespace {ns}");
    }

    public static string Required(XElement root, string name)
    {
        var element = root.Element(root.Name.Namespace + name) ?? throw new FormatException($"metadata lacks <{name}>");
        return element.Value;
    }

    public static string? Optional(XElement root, string name) => root.Element(root.Name.Namespace + name)?.Value;

    public static DateTimeOffset? Time(XElement root, string name)
    {
        var element = root.Element(root.Name.Namespace + name);
        if (element is null)
        {
            return null;
        }
        if (!DateTimeOffset.TryParse(element.Value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var value))
        {
            throw new FormatException($"metadata <{name}> '{element.Value}' is not a time");
        }
        return value;
    }
}
