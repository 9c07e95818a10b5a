using Provisioner.Core.Stacks;
using Provisioner.Core.Templates;

namespace Provisioner.Engine.Hosts;

/// <summary>
/// Chooses a host's domain type. Production hosts run KVM; software emulation (TCG) is used only
/// when the stack says so explicitly, and never as a silent fallback when KVM is missing.
/// </summary>
public static class VirtualizationChoice
{
    /// <summary>The domain type for guests on host <paramref name="host"/> with <paramref name="capabilities"/>, as <paramref name="settings"/> ask.</summary>
    /// <exception cref="HostCapabilityException">The host cannot give what the stack asks for.</exception>
    public static DomainType Choose(string host, HostCapabilities capabilities, VirtualizationSettings settings)
    {
        ArgumentNullException.ThrowIfNull(capabilities);
        ArgumentNullException.ThrowIfNull(settings);

        // libvirt's test driver is a mock that accepts any type: render what production would get.
        if (capabilities.IsTestDriver)
        {
            return settings.DomainType == VirtualizationType.Qemu ? DomainType.Qemu : DomainType.Kvm;
        }

        var offered = string.Join(", ", capabilities.DomainTypes.Order(StringComparer.Ordinal));
        switch (settings.DomainType)
        {
            case VirtualizationType.Qemu:
                // The validator has already refused type 'qemu' without allowEmulation.
                return capabilities.DomainTypes.Contains("qemu")
                    ? DomainType.Qemu
                    : throw new HostCapabilityException(host, $"the stack asks for software emulation but libvirt offers only: {offered}");
            case VirtualizationType.Kvm:
                return capabilities.DomainTypes.Contains("kvm")
                    ? DomainType.Kvm
                    : throw new HostCapabilityException(host, $"the stack asks for KVM but libvirt offers only: {offered}");
            default:
                if (capabilities.DomainTypes.Contains("kvm"))
                {
                    return DomainType.Kvm;
                }

                if (settings.AllowEmulation && capabilities.DomainTypes.Contains("qemu"))
                {
                    return DomainType.Qemu;
                }

                throw new HostCapabilityException(host,
                    $"libvirt offers no KVM (offered: {offered}); software emulation is slow and used only when " +
                    "the stack sets provisioner:virtualization.allowEmulation: true");
        }
    }
}

/// <summary>A host lacks something the stack needs; the message names the host and what is missing.</summary>
public sealed class HostCapabilityException : Exception
{
    /// <summary>Creates the exception.</summary>
    public HostCapabilityException(string host, string reason) : base($"host '{host}': {reason}") => Host = host;

    /// <summary>Creates the exception.</summary>
    public HostCapabilityException() => Host = string.Empty;

    /// <summary>Creates the exception.</summary>
    public HostCapabilityException(string message) : base(message) => Host = string.Empty;

    /// <summary>Creates the exception.</summary>
    public HostCapabilityException(string message, Exception inner) : base(message, inner) => Host = string.Empty;

    /// <summary>The host that lacks the capability.</summary>
    public string Host { get; }
}
