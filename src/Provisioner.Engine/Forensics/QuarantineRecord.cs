using System.Globalization;
using System.Xml;
using System.Xml.Linq;
using Provisioner.Core.Templates;

namespace Provisioner.Engine.Forensics;

/// <summary>
/// Who quarantined a node, when and why, kept in the node's domain metadata so every copy of the tool sees it.
/// It lives in a namespace of its own beside the node block (<see cref="Namespace"/>), because libvirt keeps one
/// element per namespace and the node block is rewritten by other operations (expiry, drift); a replaced node's new
/// domain has no quarantine block, which is what releases it.
/// </summary>
public sealed record QuarantineRecord
{
    /// <summary>Namespace of the <c>&lt;quarantine&gt;</c> block in a domain's <c>&lt;metadata&gt;</c>.</summary>
    public const string Namespace = "https://provisioner.dev/xmlns/node-quarantine/1";

    /// <summary>Prefix used with <see cref="Namespace"/>.</summary>
    public const string Prefix = "provq";

    /// <summary>Why the node was quarantined (free text from the operator).</summary>
    public required string Reason { get; init; }

    /// <summary>Who quarantined it.</summary>
    public required string Operator { get; init; }

    /// <summary>When it was first quarantined.</summary>
    public required DateTimeOffset Since { get; init; }

    /// <summary>Whether the guest was paused as well.</summary>
    public bool Paused { get; init; }

    /// <summary>MAC addresses whose link was cut.</summary>
    public IReadOnlyList<string> Interfaces { get; init; } = [];

    /// <summary>The last complete evidence set captured from the node, or null.</summary>
    public string? EvidencePath { get; init; }

    /// <summary>How far a reprovisioning got (<see cref="ReprovisionStep"/> names), or null.</summary>
    public string? Step { get; init; }

    /// <summary>Renders the block for virDomainSetMetadata (unqualified: libvirt applies the namespace itself).</summary>
    public string ToXml()
    {
        var root = new XElement("quarantine",
            new XElement("reason", Reason),
            new XElement("operator", Operator),
            new XElement("since", Since.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture)),
            new XElement("paused", Paused ? "true" : "false"),
            Interfaces.Select(i => new XElement("interface", i)));
        if (EvidencePath is not null)
        {
            root.Add(new XElement("evidence", EvidencePath));
        }

        if (Step is not null)
        {
            root.Add(new XElement("step", Step));
        }

        return root.ToString(SaveOptions.DisableFormatting);
    }

    /// <summary>Reads the block back (as virDomainGetMetadata returns it, or qualified inside domain XML).</summary>
    /// <exception cref="FormatException">The XML is not a quarantine block.</exception>
    public static QuarantineRecord Parse(string xml)
    {
        ArgumentNullException.ThrowIfNull(xml);
        XElement root;
        try
        {
            root = UntrustedXml.Load(xml);
        }
        catch (XmlException e)
        {
            throw new FormatException($"quarantine metadata is not well-formed XML: {e.Message}", e);
        }

        XNamespace ns = Namespace;
        var block = root.Name.LocalName == "quarantine" ? root : root.Descendants(ns + "quarantine").FirstOrDefault()
            ?? throw new FormatException($"no <quarantine> element in namespace {Namespace}");
        var n = block.Name.Namespace;
        string Required(string name) => block.Element(n + name)?.Value ?? throw new FormatException($"quarantine metadata lacks <{name}>");
        return new QuarantineRecord
        {
            Reason = Required("reason"),
            Operator = Required("operator"),
            Since = DateTimeOffset.Parse(Required("since"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal),
            Paused = block.Element(n + "paused")?.Value == "true",
            Interfaces = [.. block.Elements(n + "interface").Select(e => e.Value)],
            EvidencePath = block.Element(n + "evidence")?.Value,
            Step = block.Element(n + "step")?.Value,
        };
    }
}

/// <summary>The steps of <c>node reprovision</c>, recorded as they complete so a re-run continues.</summary>
public static class ReprovisionStep
{
    /// <summary>Cut off (and possibly paused).</summary>
    public const string Quarantined = "quarantined";

    /// <summary>Evidence captured and its manifest written.</summary>
    public const string Captured = "captured";
}
