using System.Globalization;
using System.Text.Json.Nodes;
using Google.Protobuf.WellKnownTypes;
using Provisioner.Pulumi.Composition;
using Provisioner.Pulumi.Protocol;
using Pulumirpc;

namespace Provisioner.Pulumi.Tests;

/// <summary>
/// A plugin on libvirt's test driver: a <c>test:///</c> host file, a golden image file and a state directory of
/// its own, all in a temp folder. The plugin runs the test composition (<see cref="ProviderEngine.TestImageVariable"/>).
/// </summary>
public sealed class PulumiLab : IAsyncDisposable
{
    private readonly string _dir;

    public PulumiLab(string stack = "conformance")
    {
        StackName = stack;
        _dir = Directory.CreateTempSubdirectory("pulumitest-").FullName;
        HostFile = Path.Combine(_dir, "osl-kvm-1.xml");
        File.WriteAllText(HostFile, """
            <node>
              <cpu><mhz>3000</mhz><model>x86_64</model><active>16</active><nodes>1</nodes><sockets>1</sockets><cores>16</cores><threads>1</threads></cpu>
              <memory>67108864</memory>
            </node>
            """);
        ImageFile = Path.Combine(_dir, "golden.qcow2");
        var bytes = new byte[128 * 1024];
        new Random(7).NextBytes(bytes);
        File.WriteAllBytes(ImageFile, bytes);
        StateDirectory = Path.Combine(_dir, "state");
    }

    public string StackName { get; }

    public string HostFile { get; }

    public string ImageFile { get; }

    public string StateDirectory { get; }

    public string Urn(string type, string name) => $"urn:pulumi:{StackName}::provisioner::{type}::{name}";

    public string ProviderUrn => Urn("pulumi:providers:provisioner", "default");

    public Dictionary<string, string?> Environment => new()
    {
        [ProviderEngine.TestImageVariable] = ImageFile,
        ["PROVISIONER_STATE_DIR"] = StateDirectory,
    };

    /// <summary>The stack definition as provider config (keys without namespace, as Pulumi passes them).</summary>
    public JsonObject ConfigJson(int workerCpus = 1, string uri = "") => (JsonObject)JsonNode.Parse($$$"""
        {
          "hosts": [{"name": "osl-kvm-1", "uri": "{{{(uri.Length > 0 ? uri : "test://" + HostFile)}}}", "region": "oslo", "zone": "osl-a",
                     "pool": {"name": "{{{StackName}}}-pool", "path": "/var/lib/provisioner/{{{StackName}}}", "media": "nvme"}}],
          "networks": [{"name": "cluster", "cidr": "10.81.0.0/24", "mode": "nat"}],
          "image": {"name": "debian-12"},
          "nodes": [
            {"name": "web", "role": "worker", "cpus": {{{workerCpus.ToString(CultureInfo.InvariantCulture)}}}, "memoryMiB": 512, "diskGiB": 2, "diskBus": "virtio", "network": "cluster"},
            {"name": "db", "role": "worker", "cpus": 1, "memoryMiB": 512, "diskGiB": 2, "diskBus": "nvme", "network": "cluster"}
          ],
          "placement": {"region": "oslo"},
          "access": {"user": "ops", "sshPublicKeys": [], "adminCidrs": ["10.81.0.0/24"]},
          "virtualization": {"allowEmulation": true, "type": "qemu"}
        }
        """)!;

    public Struct Config(int workerCpus = 1) => PropertyValues.FromJsonObject(ConfigJson(workerCpus));

    public static Struct Props(params (string Key, Value Value)[] fields)
    {
        var s = new Struct();
        foreach (var (key, value) in fields)
        {
            s.Fields[key] = value;
        }

        return s;
    }

    public Task<PluginProcess> StartAsync() => PluginProcess.StartAsync(Environment, TestContext.Current.CancellationToken);

    /// <summary>Starts a plugin, checks and configures it with <paramref name="config"/> (default: <see cref="Config"/>).</summary>
    public async Task<PluginProcess> StartConfiguredAsync(Struct? config = null)
    {
        var plugin = await StartAsync();
        config ??= Config();
        var checkedConfig = await plugin.Client.CheckConfigAsync(new CheckRequest { Urn = ProviderUrn, News = config });
        Assert.Empty(checkedConfig.Failures);
        await plugin.Client.ConfigureAsync(new ConfigureRequest { Args = checkedConfig.Inputs, AcceptSecrets = true, AcceptResources = true });
        return plugin;
    }

    public ValueTask DisposeAsync()
    {
        Directory.Delete(_dir, recursive: true);
        return ValueTask.CompletedTask;
    }
}
