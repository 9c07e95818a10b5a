using System.Xml;
using System.Xml.Linq;

namespace Provisioner.Core.Templates;

/// <summary>
/// Parses XML that comes from a host (libvirt's domain, network and capabilities XML, metadata blocks): a host
/// is not trusted, so DTDs and external entities are refused. The one place that decides those reader settings.
/// </summary>
public static class UntrustedXml
{
    /// <summary>Parses <paramref name="xml"/> into its root element.</summary>
    /// <exception cref="XmlException">The text is not well-formed, or declares a DTD.</exception>
    public static XElement Load(string xml)
    {
        ArgumentNullException.ThrowIfNull(xml);
        using var reader = XmlReader.Create(new StringReader(xml), new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null });
        return XElement.Load(reader);
    }
}
