using Provisioner.Core.Templates;

namespace Provisioner.Core.Tests.Templates;

/// <summary>
/// Validates rendered XML against libvirt's own RELAX NG schemas with <c>virt-xml-validate</c>
/// (Debian package libvirt-clients; it runs <c>xmllint</c> from libxml2-utils), so the templates
/// are checked against the libvirt version installed on this host, not against our reading of its docs.
/// </summary>
public sealed class LibvirtSchemaTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tpltest-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<DomainType, DiskBus> ValidatableVariants => new()
    {
        { DomainType.Kvm, DiskBus.Virtio },
        { DomainType.Qemu, DiskBus.Virtio },
        { DomainType.Kvm, DiskBus.QemuPassthroughNvme },
        { DomainType.Qemu, DiskBus.QemuPassthroughNvme },
    };

    [Theory]
    [MemberData(nameof(ValidatableVariants))]
    public async Task RenderDomain_Variant_ValidatesAgainstLibvirtSchema(DomainType type, DiskBus bus)
    {
        await AssertValidAsync(Samples.Renderer().RenderDomain(Samples.Domain(type, bus)), "domain");
    }

    [Fact]
    public async Task RenderDomain_KernelBootWithoutSeed_ValidatesAgainstLibvirtSchema()
    {
        var spec = Samples.Domain(DomainType.Qemu, DiskBus.Virtio) with
        {
            CloudInitSeed = null,
            EmulatorPath = "/usr/bin/qemu-system-x86_64",
            KernelBoot = new DirectKernelBoot { KernelPath = "/k", InitrdPath = "/i", CommandLine = "console=ttyS0" },
            Metadata = Samples.NodeMetadata() with { Expires = Samples.Created.AddHours(1) },
        };

        await AssertValidAsync(Samples.Renderer().RenderDomain(spec), "domain");
    }

    [Fact]
    public async Task RenderDomain_NativeNvme_ValidatesWhereLibvirtKnowsNvmeBus()
    {
        var validator = ExternalTool.Require("virt-xml-validate", "libvirt-clients");
        var (_, stdout, _) = await ExternalTool.RunAsync(validator, ["--version"]);
        var version = Version.TryParse(stdout.Trim().Split(' ').Last(), out var v) ? v : new Version(0, 0);
        Assert.SkipUnless(version >= new Version(11, 5), $"libvirt {version} has no NVMe disk bus in its schema (needs >= 11.5; Debian 12 ships 9.0)");

        await AssertValidAsync(Samples.Renderer().RenderDomain(Samples.Domain(DomainType.Kvm, DiskBus.NativeNvme)), "domain");
    }

    [Fact]
    public async Task RenderNetwork_Nat_ValidatesAgainstLibvirtSchema() =>
        await AssertValidAsync(Samples.Renderer().RenderNetwork(Samples.NatNetwork()), "network");

    [Fact]
    public async Task RenderNetwork_Bridge_ValidatesAgainstLibvirtSchema() =>
        await AssertValidAsync(Samples.Renderer().RenderNetwork(Samples.BridgeNetwork()), "network");

    [Fact]
    public async Task RenderPool_Dir_ValidatesAgainstLibvirtSchema() =>
        await AssertValidAsync(Samples.Renderer().RenderPool(StorageTemplateTests.Pool()), "storagepool");

    [Fact]
    public async Task RenderVolume_LinkedClone_ValidatesAgainstLibvirtSchema() =>
        await AssertValidAsync(Samples.Renderer().RenderVolume(StorageTemplateTests.LinkedClone()), "storagevol");

    [Fact]
    public async Task RenderVolume_Raw_ValidatesAgainstLibvirtSchema() =>
        await AssertValidAsync(Samples.Renderer().RenderVolume(StorageTemplateTests.RawVolume()), "storagevol");

    private async Task AssertValidAsync(string xml, string schema)
    {
        var validator = ExternalTool.Require("virt-xml-validate", "libvirt-clients");
        ExternalTool.Require("xmllint", "libxml2-utils");
        var file = Path.Combine(_dir, $"{schema}.xml");
        await File.WriteAllTextAsync(file, xml, TestContext.Current.CancellationToken);

        var (exit, stdout, stderr) = await ExternalTool.RunAsync(validator, [file, schema]);

        Assert.True(exit == 0, $"virt-xml-validate {schema} failed ({exit}):\n{stdout}\n{stderr}\n{xml}");
    }
}
