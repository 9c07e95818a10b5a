namespace Provisioner.Core.Templates;

/// <summary>
/// XML namespaces of the metadata Provisioner writes into libvirt objects. The URIs identify our
/// metadata when it is read back (virDomainGetMetadata takes the URI), so they never change for a
/// given schema version: a new version gets a new URI.
/// </summary>
public static class ProvisionerXml
{
    /// <summary>Namespace of the <c>&lt;prov:node&gt;</c> block in a domain's <c>&lt;metadata&gt;</c>.</summary>
    public const string NodeNamespace = "https://provisioner.dev/xmlns/node/1";

    /// <summary>Namespace of the <c>&lt;prov:network&gt;</c> block in a network's <c>&lt;metadata&gt;</c>.</summary>
    public const string NetworkNamespace = "https://provisioner.dev/xmlns/network/1";

    /// <summary>The prefix (libvirt's metadata "key") used with both namespaces.</summary>
    public const string Prefix = "prov";

    /// <summary>libvirt's namespace for QEMU command-line passthrough in domain XML.</summary>
    public const string QemuNamespace = "http://libvirt.org/schemas/domain/qemu/1.0";
}
