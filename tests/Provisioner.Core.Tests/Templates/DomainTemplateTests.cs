using System.Xml.Linq;
using Provisioner.Core.Templates;

namespace Provisioner.Core.Tests.Templates;

public sealed class DomainTemplateTests
{
    private static readonly XNamespace Prov = ProvisionerXml.NodeNamespace;
    private static readonly XNamespace Qemu = ProvisionerXml.QemuNamespace;

    public static TheoryData<DomainType, DiskBus, string> Variants => new()
    {
        { DomainType.Kvm, DiskBus.Virtio, "domain-kvm-virtio.out.xml" },
        { DomainType.Qemu, DiskBus.Virtio, "domain-qemu-virtio.out.xml" },
        { DomainType.Qemu, DiskBus.QemuPassthroughNvme, "domain-qemu-nvme-passthrough.out.xml" },
        { DomainType.Kvm, DiskBus.NativeNvme, "domain-kvm-nvme-native.out.xml" },
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void RenderDomain_Variant_MatchesGoldenFile(DomainType type, DiskBus bus, string golden)
    {
        var xml = Samples.Renderer().RenderDomain(Samples.Domain(type, bus));

        Golden.AssertMatches(golden, xml);
    }

    [Theory]
    [InlineData(DomainType.Kvm, "kvm")]
    [InlineData(DomainType.Qemu, "qemu")]
    public void RenderDomain_Type_SetsDomainTypeAttribute(DomainType type, string expected)
    {
        var domain = Render(Samples.Domain(type, DiskBus.Virtio));

        Assert.Equal(expected, (string?)domain.Attribute("type"));
    }

    [Fact]
    public void RenderDomain_Qemu_SetsTcgTranslationCache()
    {
        var domain = Render(Samples.Domain(DomainType.Qemu, DiskBus.Virtio) with { TcgTranslationCacheMiB = 96 });

        var cache = domain.Element("features")?.Element("tcg")?.Element("tb-cache");
        Assert.NotNull(cache);
        Assert.Equal("MiB", (string?)cache.Attribute("unit"));
        Assert.Equal("96", cache.Value);
        Assert.Null(domain.Element("cpu"));
    }

    [Fact]
    public void RenderDomain_Kvm_HasNoTcgFeatureAndPassesHostCpuThrough()
    {
        var domain = Render(Samples.Domain(DomainType.Kvm, DiskBus.Virtio));

        Assert.Null(domain.Element("features")?.Element("tcg"));
        Assert.NotNull(domain.Element("features")?.Element("acpi"));
        Assert.NotNull(domain.Element("features")?.Element("apic"));
        Assert.Equal("host-passthrough", (string?)domain.Element("cpu")?.Attribute("mode"));
    }

    [Fact]
    public void RenderDomain_Always_SetsIdentitySizeAndLifecycle()
    {
        var domain = Render(Samples.Domain(DomainType.Qemu, DiskBus.Virtio));

        Assert.Equal("dev-web-1", domain.Element("name")?.Value);
        Assert.Equal("6f1c2f0e-8d7a-4c3b-9a51-2b7e0d4c9f10", domain.Element("uuid")?.Value);
        Assert.Equal("2048", domain.Element("memory")?.Value);
        Assert.Equal("MiB", (string?)domain.Element("memory")?.Attribute("unit"));
        Assert.Equal("2", domain.Element("vcpu")?.Value);
        Assert.Equal("q35", (string?)domain.Element("os")?.Element("type")?.Attribute("machine"));
        Assert.Equal("destroy", domain.Element("on_crash")?.Value);
    }

    [Fact]
    public void RenderDomain_VirtioRoot_UsesVirtioBusWithDirectNativeIoAndDiscard()
    {
        var domain = Render(Samples.Domain(DomainType.Kvm, DiskBus.Virtio));

        var disks = domain.Element("devices")!.Elements("disk").ToList();
        var root = disks.Single(d => (string?)d.Element("target")?.Attribute("dev") == "vda");
        Assert.Equal("virtio", (string?)root.Element("target")?.Attribute("bus"));
        Assert.Equal("volume", (string?)root.Attribute("type"));
        Assert.Equal("prov-dev", (string?)root.Element("source")?.Attribute("pool"));
        Assert.Equal("dev-web-1.qcow2", (string?)root.Element("source")?.Attribute("volume"));
        var driver = root.Element("driver")!;
        Assert.Equal("qcow2", (string?)driver.Attribute("type"));
        Assert.Equal("none", (string?)driver.Attribute("cache"));
        Assert.Equal("native", (string?)driver.Attribute("io"));
        Assert.Equal("unmap", (string?)driver.Attribute("discard"));
        Assert.Equal("1", (string?)root.Element("boot")?.Attribute("order"));
    }

    [Theory]
    [InlineData(DiskBus.Virtio, "vdb")]
    [InlineData(DiskBus.QemuPassthroughNvme, "vda")]
    [InlineData(DiskBus.NativeNvme, "vda")]
    public void RenderDomain_Seed_IsReadOnlyVirtioDiskNotSataCdrom(DiskBus bus, string expectedDev)
    {
        var domain = Render(Samples.Domain(DomainType.Qemu, bus));

        var seed = domain.Element("devices")!.Elements("disk")
            .Single(d => (string?)d.Element("source")?.Attribute("file") == "/var/lib/provisioner/pools/dev/dev-web-1-seed.iso");
        Assert.Equal("disk", (string?)seed.Attribute("device"));
        Assert.Equal("virtio", (string?)seed.Element("target")?.Attribute("bus"));
        Assert.Equal(expectedDev, (string?)seed.Element("target")?.Attribute("dev"));
        Assert.Equal("raw", (string?)seed.Element("driver")?.Attribute("type"));
        Assert.NotNull(seed.Element("readonly"));
        Assert.DoesNotContain(domain.Descendants("target"), t => (string?)t.Attribute("bus") is "sata" or "ide");
        Assert.DoesNotContain(domain.Descendants("disk"), d => (string?)d.Attribute("device") == "cdrom");
    }

    [Fact]
    public void RenderDomain_NoSeed_OmitsSeedDisk()
    {
        var domain = Render(Samples.Domain(DomainType.Qemu, DiskBus.Virtio) with { CloudInitSeed = null });

        Assert.Single(domain.Element("devices")!.Elements("disk"));
    }

    [Fact]
    public void RenderDomain_QemuPassthroughNvme_PassesDriveAndDeviceToQemu()
    {
        var domain = Render(Samples.Domain(DomainType.Qemu, DiskBus.QemuPassthroughNvme));

        Assert.Equal(Qemu.NamespaceName, domain.GetNamespaceOfPrefix("qemu")?.NamespaceName);
        var args = domain.Element(Qemu + "commandline")!.Elements(Qemu + "arg").Select(a => (string?)a.Attribute("value")).ToList();
        Assert.Equal(
            [
                "-drive",
                "file=/var/lib/provisioner/pools/dev/dev-web-1.qcow2,format=qcow2,if=none,id=nvme0drive,cache=none,aio=native,discard=unmap",
                "-device",
                "nvme,serial=prov-dev-web-1,drive=nvme0drive,bus=pcie.0,addr=0x10,bootindex=1",
            ],
            args);
        // The root disk is not a libvirt <disk>; only the seed is.
        var disk = Assert.Single(domain.Element("devices")!.Elements("disk"));
        Assert.Equal("2", (string?)disk.Element("boot")?.Attribute("order"));
        Assert.Empty(domain.Element("devices")!.Elements("controller"));
    }

    [Fact]
    public void RenderDomain_QemuPassthroughPathWithComma_DoublesCommaForQemu()
    {
        var spec = Samples.Domain(DomainType.Qemu, DiskBus.QemuPassthroughNvme) with
        {
            RootDisk = Samples.Domain(DomainType.Qemu, DiskBus.QemuPassthroughNvme).RootDisk with
            {
                Source = DiskSource.FromFile("/srv/a,format=raw,file=/etc/shadow"),
            },
        };

        var args = Render(spec).Element(Qemu + "commandline")!.Elements(Qemu + "arg").Select(a => (string?)a.Attribute("value")).ToList();

        Assert.StartsWith("file=/srv/a,,format=raw,,file=/etc/shadow,format=qcow2,", args[1], StringComparison.Ordinal);
    }

    [Fact]
    public void RenderDomain_QemuPassthroughOnVolume_IsRejected()
    {
        var spec = Samples.Domain(DomainType.Qemu, DiskBus.QemuPassthroughNvme) with
        {
            RootDisk = new RootDiskSpec { Source = DiskSource.FromVolume("p", "v"), Bus = DiskBus.QemuPassthroughNvme, Serial = "s1" },
        };

        var e = Assert.Throws<RenderModelException>(() => Samples.Renderer().RenderDomain(spec));
        Assert.Equal("domain.rootDisk.source", e.FieldPath);
    }

    [Fact]
    public void RenderDomain_NativeNvme_UsesNvmeBusAndController()
    {
        var domain = Render(Samples.Domain(DomainType.Kvm, DiskBus.NativeNvme));

        var root = domain.Element("devices")!.Elements("disk").Single(d => (string?)d.Element("target")?.Attribute("bus") == "nvme");
        Assert.Equal("prov-dev-web-1", root.Element("serial")?.Value);
        var controller = Assert.Single(domain.Element("devices")!.Elements("controller"));
        Assert.Equal("nvme", (string?)controller.Attribute("type"));
        Assert.Null(domain.Element(Qemu + "commandline"));
    }

    [Theory]
    [InlineData(DiskBus.NativeNvme)]
    [InlineData(DiskBus.QemuPassthroughNvme)]
    public void RenderDomain_NvmeWithoutSerial_IsRejected(DiskBus bus)
    {
        var sample = Samples.Domain(DomainType.Qemu, bus);
        var spec = sample with { RootDisk = sample.RootDisk with { Serial = null } };

        var e = Assert.Throws<RenderModelException>(() => Samples.Renderer().RenderDomain(spec));
        Assert.Equal("domain.rootDisk.serial", e.FieldPath);
    }

    [Fact]
    public void RenderDomain_Always_HasSerialLogConsoleAgentChannelRngAndBalloon()
    {
        var devices = Render(Samples.Domain(DomainType.Qemu, DiskBus.Virtio)).Element("devices")!;

        var serial = devices.Element("serial")!;
        Assert.Equal("pty", (string?)serial.Attribute("type"));
        Assert.Equal("/var/log/libvirt/qemu/dev-web-1-serial.log", (string?)serial.Element("log")?.Attribute("file"));
        Assert.Equal("off", (string?)serial.Element("log")?.Attribute("append"));
        Assert.Equal("serial", (string?)devices.Element("console")?.Element("target")?.Attribute("type"));
        var channel = devices.Element("channel")!;
        Assert.Equal("unix", (string?)channel.Attribute("type"));
        Assert.Equal("virtio", (string?)channel.Element("target")?.Attribute("type"));
        Assert.Equal("org.qemu.guest_agent.0", (string?)channel.Element("target")?.Attribute("name"));
        Assert.Equal("virtio", (string?)devices.Element("rng")?.Attribute("model"));
        Assert.Equal("/dev/urandom", devices.Element("rng")?.Element("backend")?.Value);
        Assert.Equal("virtio", (string?)devices.Element("memballoon")?.Attribute("model"));
    }

    [Fact]
    public void RenderDomain_Interface_IsVirtioOnNamedNetworkWithLowerCaseMac()
    {
        var spec = Samples.Domain(DomainType.Qemu, DiskBus.Virtio) with
        {
            Interfaces = [new NetworkInterfaceSpec { Network = "prov-dev", MacAddress = "52:54:00:AB:CD:EF" }],
        };

        var nic = Assert.Single(Render(spec).Element("devices")!.Elements("interface"));

        Assert.Equal("network", (string?)nic.Attribute("type"));
        Assert.Equal("prov-dev", (string?)nic.Element("source")?.Attribute("network"));
        Assert.Equal("52:54:00:ab:cd:ef", (string?)nic.Element("mac")?.Attribute("address"));
        Assert.Equal("virtio", (string?)nic.Element("model")?.Attribute("type"));
    }

    [Fact]
    public void RenderDomain_Metadata_IsInProvisionerNamespaceAndParsesBack()
    {
        var xml = Samples.Renderer().RenderDomain(Samples.Domain(DomainType.Qemu, DiskBus.Virtio));

        var block = XElement.Parse(xml).Element("metadata")!.Element(Prov + "node");
        Assert.NotNull(block);
        Assert.Equal(Samples.NodeMetadata(), NodeMetadata.Parse(xml));
    }

    [Fact]
    public void RenderDomain_KernelBoot_SetsKernelInitrdAndCommandLine()
    {
        var spec = Samples.Domain(DomainType.Qemu, DiskBus.Virtio) with
        {
            KernelBoot = new DirectKernelBoot { KernelPath = "/boot/vmlinuz", InitrdPath = "/boot/initrd.img", CommandLine = "root=/dev/vda console=ttyS0" },
        };

        var os = Render(spec).Element("os")!;

        Assert.Equal("/boot/vmlinuz", os.Element("kernel")?.Value);
        Assert.Equal("/boot/initrd.img", os.Element("initrd")?.Value);
        Assert.Equal("root=/dev/vda console=ttyS0", os.Element("cmdline")?.Value);
    }

    [Fact]
    public void RenderDomain_TypeNotChosen_IsRejected()
    {
        var spec = Samples.Domain(DomainType.Qemu, DiskBus.Virtio) with { Type = default };

        var e = Assert.Throws<RenderModelException>(() => Samples.Renderer().RenderDomain(spec));

        Assert.Equal("domain.type", e.FieldPath);
    }

    [Theory]
    [InlineData("a/b")]
    [InlineData("x y")]
    [InlineData("<evil>")]
    [InlineData("")]
    public void RenderDomain_BadName_IsRejectedNamingField(string name)
    {
        var spec = Samples.Domain(DomainType.Qemu, DiskBus.Virtio) with { Name = name };

        var e = Assert.Throws<RenderModelException>(() => Samples.Renderer().RenderDomain(spec));

        Assert.Equal("domain.name", e.FieldPath);
        Assert.Contains($"'{name}'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RenderDomain_BadMac_IsRejectedNamingField()
    {
        var spec = Samples.Domain(DomainType.Qemu, DiskBus.Virtio) with
        {
            Interfaces = [new NetworkInterfaceSpec { Network = "n", MacAddress = "52:54:00:12:34" }],
        };

        var e = Assert.Throws<RenderModelException>(() => Samples.Renderer().RenderDomain(spec));

        Assert.Equal("domain.interfaces[0].macAddress", e.FieldPath);
    }

    [Fact]
    public void RenderDomain_BadMetadata_IsRejectedNamingDomainPath()
    {
        var spec = Samples.Domain(DomainType.Qemu, DiskBus.Virtio) with { Metadata = Samples.NodeMetadata() with { Role = "" } };

        var e = Assert.Throws<RenderModelException>(() => Samples.Renderer().RenderDomain(spec));

        Assert.Equal("domain.metadata.role", e.FieldPath);
    }

    private static XElement Render(DomainSpec spec) => XElement.Parse(Samples.Renderer().RenderDomain(spec));
}
