using System.Net;
using Provisioner.Core.Templates;

namespace Provisioner.Core.Tests.Templates;

/// <summary>Fixed render models shared by the golden and semantic tests.</summary>
internal static class Samples
{
    public static readonly DateTimeOffset Created = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    public static TemplateRenderer Renderer() => TemplateRenderer.CreateDefault();

    public static NodeMetadata NodeMetadata() => new()
    {
        Stack = "dev",
        Node = "web-1",
        Role = "docker",
        DefinitionHash = "sha256:5d41402abc4b2a76b9719d911017c592",
        Created = Created,
        HostKeyFingerprint = "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU",
    };

    public static DomainSpec Domain(DomainType type, DiskBus bus) => new()
    {
        Name = "dev-web-1",
        Uuid = Guid.Parse("6f1c2f0e-8d7a-4c3b-9a51-2b7e0d4c9f10"),
        Type = type,
        VCpus = 2,
        MemoryMiB = 2048,
        RootDisk = new RootDiskSpec
        {
            Source = bus == DiskBus.QemuPassthroughNvme
                ? DiskSource.FromFile("/var/lib/provisioner/pools/dev/dev-web-1.qcow2")
                : DiskSource.FromVolume("prov-dev", "dev-web-1.qcow2"),
            Bus = bus,
            Serial = bus == DiskBus.Virtio ? null : "prov-dev-web-1",
        },
        CloudInitSeed = DiskSource.FromFile("/var/lib/provisioner/pools/dev/dev-web-1-seed.iso"),
        Interfaces = [new NetworkInterfaceSpec { Network = "prov-dev", MacAddress = "52:54:00:12:34:56" }],
        SerialLogPath = "/var/log/libvirt/qemu/dev-web-1-serial.log",
        Metadata = NodeMetadata(),
    };

    public static NetworkSpec NatNetwork() => new()
    {
        Name = "prov-dev",
        Uuid = Guid.Parse("0b7d6e3a-1c2f-4e5d-8a9b-3c4d5e6f7a8b"),
        Mode = NetworkMode.Nat,
        BridgeName = "prov-1a2b3c4d",
        DomainName = "dev.internal",
        Ipv4 = new NetworkIpv4Spec
        {
            Gateway = IPAddress.Parse("10.77.0.1"),
            PrefixLength = 24,
            DhcpStart = IPAddress.Parse("10.77.0.100"),
            DhcpEnd = IPAddress.Parse("10.77.0.199"),
            Hosts =
            [
                new DhcpHost { MacAddress = "52:54:00:12:34:56", Address = IPAddress.Parse("10.77.0.11"), HostName = "web-1" },
                new DhcpHost { MacAddress = "52:54:00:12:34:57", Address = IPAddress.Parse("10.77.0.12"), HostName = "web-2" },
            ],
        },
        Metadata = NetworkMetadata(),
    };

    public static NetworkSpec BridgeNetwork() => new()
    {
        Name = "prov-lan",
        Mode = NetworkMode.Bridge,
        BridgeName = "br0",
        Metadata = NetworkMetadata() with { Network = "lan" },
    };

    public static NetworkMetadata NetworkMetadata() => new()
    {
        Stack = "dev",
        Network = "default",
        DefinitionHash = "sha256:7d793037a0760186574b0282f2f435e7",
        Created = Created,
    };
}
