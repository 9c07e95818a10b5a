using System.Globalization;
using System.Xml.Linq;
using Provisioner.Core.Templates;

namespace Provisioner.Engine.Hosts;

/// <summary>
/// What one host's libvirt says it can do, read from its capabilities and domain capabilities
/// XML. The engine decides the domain type, NVMe strategy and disk ownership from this, never
/// from assumptions about the machine.
/// </summary>
public sealed record HostCapabilities
{
    /// <summary>Domain types libvirt offers for x86_64 HVM guests (<c>kvm</c>, <c>qemu</c>, <c>test</c>).</summary>
    public required IReadOnlySet<string> DomainTypes { get; init; }

    /// <summary>The emulator binary for x86_64 guests, when the driver names one.</summary>
    public string? Emulator { get; init; }

    /// <summary>Whether libvirt itself supports <c>bus='nvme'</c> disks (libvirt 11.5 and later).</summary>
    public required bool NativeNvmeDisks { get; init; }

    /// <summary>
    /// The uid:gid QEMU runs as under the DAC security driver (e.g. <c>64055:64055</c>), so files
    /// libvirt will not relabel (NVMe passthrough drives) can be created with the right owner.
    /// </summary>
    public (int Uid, int Gid)? QemuDacOwner { get; init; }

    /// <summary>True for libvirt's built-in test driver, which accepts any domain type.</summary>
    public bool IsTestDriver => DomainTypes.Contains("test");

    /// <summary>Parses the host's capabilities and (optional) domain capabilities XML.</summary>
    public static HostCapabilities Parse(string capabilitiesXml, string? domainCapabilitiesXml)
    {
        var caps = UntrustedXml.Load(capabilitiesXml);
        var x86Guests = caps.Elements("guest")
            .Where(g => (string?)g.Element("os_type") == "hvm")
            .Select(g => g.Element("arch"))
            .Where(a => a is not null && (string?)a.Attribute("name") is "x86_64" or "i686")
            .Cast<XElement>()
            .ToList();
        var preferred = x86Guests.FirstOrDefault(a => (string?)a.Attribute("name") == "x86_64") ?? x86Guests.FirstOrDefault();
        var types = new HashSet<string>(
            x86Guests.SelectMany(a => a.Elements("domain")).Select(d => (string?)d.Attribute("type")).OfType<string>(),
            StringComparer.Ordinal);

        (int, int)? owner = null;
        foreach (var label in caps.Element("host")?.Elements("secmodel")
                     .Where(m => (string?)m.Element("model") == "dac")
                     .SelectMany(m => m.Elements("baselabel")) ?? [])
        {
            if (TryParseDacLabel(label.Value, out var parsed))
            {
                owner = parsed;
                break;
            }
        }

        return new HostCapabilities
        {
            DomainTypes = types,
            Emulator = (string?)preferred?.Element("emulator"),
            NativeNvmeDisks = domainCapabilitiesXml is not null && DomainCapabilitiesOfferNvme(domainCapabilitiesXml),
            QemuDacOwner = owner,
        };
    }

    private static bool DomainCapabilitiesOfferNvme(string xml)
    {
        var root = UntrustedXml.Load(xml);
        var busEnum = root.Element("devices")?.Element("disk")?.Elements("enum")
            .FirstOrDefault(e => (string?)e.Attribute("name") == "bus");
        return busEnum?.Elements("value").Any(v => v.Value == "nvme") ?? false;
    }

    private static bool TryParseDacLabel(string text, out (int Uid, int Gid) owner)
    {
        // "+64055:+64055": the plus means numeric ids, not names.
        owner = default;
        var parts = text.Trim().Split(':');
        if (parts.Length == 2
            && int.TryParse(parts[0].TrimStart('+'), NumberStyles.None, CultureInfo.InvariantCulture, out var uid)
            && int.TryParse(parts[1].TrimStart('+'), NumberStyles.None, CultureInfo.InvariantCulture, out var gid))
        {
            owner = (uid, gid);
            return true;
        }

        return false;
    }

}
