using Provisioner.Core.Templates;

namespace Provisioner.Core.Tests.Templates;

/// <summary>
/// Feeds rendered XML to real libvirt through <c>virsh</c> (Debian package libvirt-clients) on the
/// built-in test driver (<c>test:///default</c>: libvirt's own parser, no daemon, state per connection,
/// so all steps run in one virsh process). This checks what the schema cannot: that libvirt accepts the
/// metadata in the form virDomainSetMetadata needs and returns it in a form NodeMetadata.Parse reads.
/// </summary>
public sealed class LibvirtTestDriverTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tpltest-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task DefineAndSetMetadata_RenderedXml_LibvirtReturnsMetadataWeParse()
    {
        var virsh = ExternalTool.Require("virsh", "libvirt-clients");
        var renderer = Samples.Renderer();
        var domainFile = Path.Combine(_dir, "domain.xml");
        await File.WriteAllTextAsync(domainFile, renderer.RenderDomain(Samples.Domain(DomainType.Qemu, DiskBus.Virtio)), TestContext.Current.CancellationToken);
        var updated = Samples.NodeMetadata() with { Role = "sandbox", Expires = Samples.Created.AddHours(4) };
        var fragment = renderer.RenderNodeMetadata(updated).Markup;
        Assert.DoesNotContain('\'', fragment);
        const string marker = "=====";

        var script = string.Join(" ; ",
            $"define '{domainFile}'",
            $"echo {marker}",
            $"metadata dev-web-1 --uri {ProvisionerXml.NodeNamespace}",
            $"echo {marker}",
            $"metadata dev-web-1 --uri {ProvisionerXml.NodeNamespace} --key {ProvisionerXml.Prefix} --set '{fragment}'",
            $"echo {marker}",
            $"metadata dev-web-1 --uri {ProvisionerXml.NodeNamespace}",
            $"echo {marker}",
            "dumpxml dev-web-1");
        var (exit, stdout, stderr) = await ExternalTool.RunAsync(virsh, ["-q", "-c", "test:///default", script]);

        Assert.True(exit == 0, $"virsh failed ({exit}): {stderr}\n{stdout}");
        var parts = stdout.Split(marker);
        Assert.Equal(5, parts.Length);
        Assert.Equal(Samples.NodeMetadata(), NodeMetadata.Parse(parts[1]));
        Assert.Equal(updated, NodeMetadata.Parse(parts[3]));
        Assert.Equal(updated, NodeMetadata.Parse(parts[4]));
    }

    [Fact]
    public async Task Define_EveryVariantLibvirtParses_IsAccepted()
    {
        var virsh = ExternalTool.Require("virsh", "libvirt-clients");
        var renderer = Samples.Renderer();
        var commands = new List<string>();
        foreach (var (type, bus, index) in new[] { (DomainType.Kvm, DiskBus.Virtio, 0), (DomainType.Qemu, DiskBus.Virtio, 1), (DomainType.Qemu, DiskBus.QemuPassthroughNvme, 2) })
        {
            var file = Path.Combine(_dir, $"d{index}.xml");
            var spec = Samples.Domain(type, bus) with { Name = $"tpltest-{index}", Uuid = Guid.NewGuid() };
            await File.WriteAllTextAsync(file, renderer.RenderDomain(spec), TestContext.Current.CancellationToken);
            commands.Add($"define '{file}'");
        }
        var networkFile = Path.Combine(_dir, "n.xml");
        await File.WriteAllTextAsync(networkFile, renderer.RenderNetwork(Samples.NatNetwork()), TestContext.Current.CancellationToken);
        commands.Add($"net-define '{networkFile}'");
        commands.Add("list --all --name");

        var (exit, stdout, stderr) = await ExternalTool.RunAsync(virsh, ["-q", "-c", "test:///default", string.Join(" ; ", commands)]);

        Assert.True(exit == 0, $"virsh failed ({exit}): {stderr}\n{stdout}");
        Assert.Contains("tpltest-2", stdout, StringComparison.Ordinal);
    }
}
