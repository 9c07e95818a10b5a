using Provisioner.Core.CloudInit;
using Provisioner.Core.Security;
using YamlDotNet.RepresentationModel;

namespace Provisioner.Core.Tests.Hardening;

/// <summary>The bundle goes into cloud-init's user-data unchanged: every file and every command.</summary>
public sealed class HardeningCloudInitTests
{
    private static CloudInitSpec BaseSpec() => new()
    {
        HostName = "box",
        AdminUser = new CloudInitUser { Name = "ops", SshAuthorizedKeys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHRlc3R0ZXN0dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0 ops@example"] },
        HostKeys = [new SshHostKey { Type = SshHostKeyType.Ed25519, PrivateKey = new Secret("not a real key"), PublicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGZha2VmYWtlZmFrZWZha2VmYWtlZmFrZWZha2VmYWtl box" }],
        RunCommands = [["echo", "earlier"]],
        Network = new CloudInitNetwork { MacAddress = "52:54:00:12:34:56" },
    };

    [Fact]
    public void AddTo_RenderedUserData_CarriesEveryFileAndCommandVerbatim()
    {
        var bundle = HardeningSamples.Render(HardeningSamples.Cluster(), "cp-1");

        var documents = CloudInitRenderer.Render(bundle.AddTo(BaseSpec()));

        var yaml = new YamlStream();
        yaml.Load(new StringReader(documents.UserData.Reveal()));
        var root = (YamlMappingNode)yaml.Documents[0].RootNode;
        var files = ((YamlSequenceNode)root["write_files"]).Cast<YamlMappingNode>().ToList();
        foreach (var file in bundle.Files)
        {
            var written = Assert.Single(files, f => ((YamlScalarNode)f["path"]).Value == file.Path);
            Assert.Equal(file.Content, ((YamlScalarNode)written["content"]).Value);
            Assert.Equal(file.OctalMode, ((YamlScalarNode)written["permissions"]).Value);
            Assert.Equal("root:root", ((YamlScalarNode)written["owner"]).Value);
        }
        var commands = ((YamlSequenceNode)root["runcmd"]).Cast<YamlSequenceNode>()
            .Select(c => string.Join(' ', c.Cast<YamlScalarNode>().Select(s => s.Value)))
            .ToList();
        Assert.Equal(["echo earlier", .. bundle.Activation.Select(a => string.Join(' ', a.Argv))], commands);
    }
}
