using System.Text.Json;
using Provisioner.Core.CloudInit;
using Provisioner.Core.Tests.Templates;

namespace Provisioner.Core.Tests.CloudInit;

/// <summary>
/// Checks the rendered documents with the real consumers: cloud-init's own schema validator and
/// network-config converter (Debian package cloud-init, the 22.4 that Debian 12 guests run), and
/// PyYAML's safe_load (python3-yaml), the parser cloud-init reads every document with.
/// </summary>
public sealed class CloudInitToolTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tpltest-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task UserData_Sample_PassesCloudInitSchema()
    {
        var cloudInit = ExternalTool.Require("cloud-init", "cloud-init");
        var file = await WriteAsync("user-data", CloudInitRenderer.Render(CloudInitSamples.Spec()).UserData.Reveal());

        var (exit, stdout, stderr) = await ExternalTool.RunAsync(cloudInit, ["schema", "-c", file]);

        Assert.True(exit == 0, $"cloud-init schema failed ({exit}): {stdout}\n{stderr}");
        Assert.Contains("Valid cloud-config", stdout + stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false, "eni")]
    [InlineData(false, "networkd")]
    [InlineData(true, "eni")]
    [InlineData(true, "networkd")]
    public async Task NetworkConfig_Variant_CloudInitConvertsItForDebian(bool isStatic, string output)
    {
        var cloudInit = ExternalTool.Require("cloud-init", "cloud-init");
        var spec = isStatic ? CloudInitSamples.StaticSpec() : CloudInitSamples.Spec();
        var file = await WriteAsync("network-config", CloudInitRenderer.Render(spec).NetworkConfig);
        var outDir = Path.Combine(_dir, "out");

        var (exit, stdout, stderr) = await ExternalTool.RunAsync(cloudInit, ["devel", "net-convert", "-p", file, "-k", "yaml", "-D", "debian", "-d", outDir, "-O", output]);

        Assert.True(exit == 0, $"net-convert failed ({exit}): {stdout}\n{stderr}");
        var rendered = string.Join("\n", Directory.GetFiles(outDir, "*", SearchOption.AllDirectories).Select(File.ReadAllText));
        // The interface is pinned to our MAC and named eth0 by a udev/link rule, whatever the renderer.
        Assert.Contains("52:54:00:12:34:56", rendered, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("eth0", rendered, StringComparison.Ordinal);
        if (isStatic)
        {
            Assert.Contains("10.77.0.11", rendered, StringComparison.Ordinal);
            Assert.Contains("10.77.0.1", rendered, StringComparison.Ordinal);
        }
        else
        {
            Assert.Contains(output == "eni" ? "inet dhcp" : "DHCP=ipv4", rendered, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(TemplateRendererTests.HostileValues), MemberType = typeof(TemplateRendererTests))]
    public async Task UserData_HostileValues_PyYamlSafeLoadSeesSameStrings(string value)
    {
        // Prefer the system interpreter: it is the one cloud-init runs on, with Debian's python3-yaml.
        var python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : ExternalTool.Require("python3", "python3");
        var (probe, _, _) = await ExternalTool.RunAsync(python, ["-c", "import yaml"]);
        Assert.SkipUnless(probe == 0, "python3 has no yaml module (Debian package python3-yaml)");
        var spec = CloudInitSamples.Spec() with
        {
            WriteFiles = [new CloudInitFile { Path = "/etc/x", Content = value }, new CloudInitFile { Path = "/etc/y", Content = value + "\n" + value + "\n" }],
            RunCommands = [["echo", value]],
        };
        var file = await WriteAsync("user-data", CloudInitRenderer.Render(spec).UserData.Reveal());

        var (exit, stdout, stderr) = await ExternalTool.RunAsync(python,
            ["-c", "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1], encoding='utf-8'))))", file]);

        Assert.True(exit == 0, $"yaml.safe_load failed ({exit}): {stderr}");
        using var json = JsonDocument.Parse(stdout);
        var root = json.RootElement;
        var files = root.GetProperty("write_files");
        Assert.Equal(value, files[0].GetProperty("content").GetString());
        Assert.Equal(value + "\n" + value + "\n", files[1].GetProperty("content").GetString());
        Assert.Equal(4, files[0].EnumerateObject().Count());
        Assert.Equal(["echo", value], root.GetProperty("runcmd")[0].EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(CloudInitSamples.PrivateKey, root.GetProperty("ssh_keys").GetProperty("ed25519_private").GetString());
        Assert.False(root.GetProperty("ssh_pwauth").GetBoolean());
        Assert.Equal(JsonValueKind.String, root.GetProperty("write_files")[0].GetProperty("permissions").ValueKind);
    }

    private async Task<string> WriteAsync(string name, string content)
    {
        var path = Path.Combine(_dir, name);
        await File.WriteAllTextAsync(path, content, TestContext.Current.CancellationToken);
        return path;
    }
}
