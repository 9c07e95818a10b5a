using System.Xml.Linq;
using LibvirtSharp;

namespace Provisioner.Engine.Forensics;

/// <summary>Cuts a domain's network interfaces from the host side, where the guest cannot undo it.</summary>
public interface INetworkIsolation
{
    /// <summary>Cuts the interface with <paramref name="macAddress"/>, live when the domain runs and in its persistent definition.</summary>
    void Cut(Domain domain, string macAddress);

    /// <summary>Whether the interface is cut in the running domain and in its persistent definition.</summary>
    bool IsCut(Domain domain, string macAddress);
}

/// <summary>
/// Sets the interface's link state to down through libvirt (<c>virDomainUpdateDeviceFlags</c>): the virtual cable is
/// unplugged in QEMU, so no frame leaves or reaches the guest whatever it does inside, and the persistent definition
/// keeps it unplugged across a restart.
/// </summary>
public sealed class LinkStateIsolation : INetworkIsolation
{
    /// <summary>The shared instance.</summary>
    public static readonly LinkStateIsolation Instance = new();

    /// <inheritdoc />
    public void Cut(Domain domain, string macAddress)
    {
        ArgumentNullException.ThrowIfNull(domain);
        if (domain.IsActive)
        {
            domain.SetInterfaceLinkState(macAddress, up: false, DomainModificationImpact.Live);
        }

        if (domain.IsPersistent)
        {
            domain.SetInterfaceLinkState(macAddress, up: false, DomainModificationImpact.Config);
        }
    }

    /// <inheritdoc />
    public bool IsCut(Domain domain, string macAddress)
    {
        ArgumentNullException.ThrowIfNull(domain);
        // Both where it matters now (the running guest) and where it matters after a restart (the definition).
        return (!domain.IsActive || Interfaces.LinkDown(domain.GetXml(), macAddress))
            && (!domain.IsPersistent || Interfaces.LinkDown(domain.GetXml(DomainXmlFlags.Inactive), macAddress));
    }
}

/// <summary>Reads interfaces out of domain XML.</summary>
public static class Interfaces
{
    /// <summary>The MAC addresses of every interface in <paramref name="domainXml"/>, in document order.</summary>
    public static IReadOnlyList<string> MacAddresses(string domainXml)
    {
        ArgumentNullException.ThrowIfNull(domainXml);
        return [.. XDocument.Parse(domainXml).Root?.Element("devices")?.Elements("interface")
            .Select(i => (string?)i.Element("mac")?.Attribute("address"))
            .OfType<string>() ?? []];
    }

    /// <summary>Whether the interface with <paramref name="macAddress"/> has <c>&lt;link state='down'/&gt;</c>.</summary>
    public static bool LinkDown(string domainXml, string macAddress)
    {
        ArgumentNullException.ThrowIfNull(domainXml);
        var iface = XDocument.Parse(domainXml).Root?.Element("devices")?.Elements("interface").FirstOrDefault(e =>
            string.Equals((string?)e.Element("mac")?.Attribute("address"), macAddress, StringComparison.OrdinalIgnoreCase));
        return iface is not null && (string?)iface.Element("link")?.Attribute("state") == "down";
    }
}
