using Provisioner.Core.Naming;
using Provisioner.Core.Stacks;

namespace Provisioner.Engine.Planning;

/// <summary>The golden image a stack's nodes are cloned from, as far as it is known.</summary>
/// <param name="Name">Image name from the stack (e.g. <c>debian-12</c>).</param>
/// <param name="Sha256">SHA-256 of the image file; null while the image is not built yet.</param>
public sealed record ImageReference(string Name, string? Sha256)
{
    /// <summary>The volume name of the image on each host, once its checksum is known.</summary>
    public string? VolumeName => Sha256 is null ? null : LibvirtNames.GoldenVolume(Name, Sha256);

    /// <summary>Name of the empty marker volume recording that the uploaded image was verified on the host.</summary>
    public string? VerifiedMarkerName => VolumeName is null ? null : MarkerFor(VolumeName);

    /// <summary>The verification marker's name for a golden image volume.</summary>
    public static string MarkerFor(string volumeName) => LibvirtNames.GoldenMarker(volumeName);
}

/// <summary>One node as the stack wants it, with everything derived from the definition.</summary>
public sealed record DesiredNode
{
    /// <summary>The node's definition.</summary>
    public required NodeDefinition Definition { get; init; }

    /// <summary>Its name.</summary>
    public string Name => Definition.Name;

    /// <summary>The host placement chose (or where it already runs).</summary>
    public required string Host { get; init; }

    /// <summary>Its stable MAC and IPv4 address.</summary>
    public required NodeAddresses Addresses { get; init; }

    /// <summary>Hash of the fields that define it.</summary>
    public required string DefinitionHash { get; init; }

    /// <summary>libvirt domain name.</summary>
    public required string DomainName { get; init; }

    /// <summary>Root volume name.</summary>
    public required string RootVolume { get; init; }

    /// <summary>Seed volume name.</summary>
    public required string SeedVolume { get; init; }

    /// <summary>libvirt network name.</summary>
    public required string LibvirtNetwork { get; init; }

    /// <summary>The role as written in metadata and shown to users.</summary>
    public string RoleName => RoleNames.Of(Definition.Role);
}

/// <summary>The one spelling of node roles outside the model.</summary>
public static class RoleNames
{
    /// <summary><c>control-plane</c>, <c>worker</c> or <c>sandbox</c>.</summary>
    public static string Of(NodeRole role) => role switch
    {
        NodeRole.ControlPlane => "control-plane",
        NodeRole.Worker => "worker",
        _ => "sandbox",
    };
}
