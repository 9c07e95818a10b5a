using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf.WellKnownTypes;
using Provisioner.Pulumi.Protocol;
using Pulumirpc;

namespace Provisioner.Pulumi.Tests;

/// <summary>
/// Live: a one-node stack brought up through the plugin, driven as the engine drives it, with the production
/// composition (the CLI's EngineFactory: golden image from the recipe cache, SSH readiness with pinned host keys,
/// hardening at first boot, audit after up) on a real guest under qemu:///system (TCG), then destroyed.
/// </summary>
[Collection(SystemLibvirtSerial.Name)]
public sealed class LivePluginTests : IAsyncLifetime
{
    private const string NodeToken = "provisioner:index:Node";
    private readonly string _stack = SystemLibvirt.UniqueStack("plive");
    private readonly string _dir = Directory.CreateTempSubdirectory("pulumilive-").FullName;
    private JsonObject? _config;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string PoolPath => $"/var/lib/provisioner/pulumitest/{_stack}";

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    [Fact(Timeout = 45 * 60 * 1000)]
    public async Task Up_OneNodeThroughThePlugin_BootsHardenedAuditsAndDestroys()
    {
        SystemLibvirt.Require();
        _config = (JsonObject)JsonNode.Parse($$$"""
            {
              "hosts": [{"name": "localhost", "uri": "qemu:///system", "region": "local", "zone": "local",
                         "pool": {"name": "{{{_stack}}}", "path": "{{{PoolPath}}}", "media": "ssd"}}],
              "networks": [{"name": "net", "cidr": "10.81.0.128/25", "mode": "nat"}],
              "image": {"name": "debian-12", "recipe": "debian-12"},
              "nodes": [{"name": "web", "role": "worker", "cpus": 1, "memoryMiB": 1024, "diskGiB": 4, "diskBus": "virtio", "network": "net"}],
              "placement": {"region": "local"},
              "access": {"user": "ops", "sshPublicKeys": [], "adminCidrs": ["10.81.0.128/25", "127.0.0.0/8"]},
              "virtualization": {"allowEmulation": true, "type": "qemu"}
            }
            """)!;
        var environment = new Dictionary<string, string?> { ["PROVISIONER_STATE_DIR"] = Path.Combine(_dir, "state") };
        await using var plugin = await PluginProcess.StartAsync(environment, Ct);
        var client = plugin.Client;
        var checkedConfig = await client.CheckConfigAsync(new CheckRequest { Urn = $"urn:pulumi:{_stack}::provisioner::pulumi:providers:provisioner::default", News = PropertyValues.FromJsonObject(_config) }, cancellationToken: Ct);
        Assert.Empty(checkedConfig.Failures);
        await client.ConfigureAsync(new ConfigureRequest { Args = checkedConfig.Inputs, AcceptSecrets = true, AcceptResources = true }, cancellationToken: Ct);

        var urn = $"urn:pulumi:{_stack}::provisioner::{NodeToken}::web";
        var inputs = (await client.CheckAsync(new CheckRequest { Urn = urn, Type = NodeToken, News = PulumiLab.Props(("name", Value.ForString("web"))) }, cancellationToken: Ct)).Inputs;
        var preview = await client.CreateAsync(new CreateRequest { Urn = urn, Type = NodeToken, Properties = inputs, Preview = true }, cancellationToken: Ct);
        Assert.Equal(PropertyValues.Unknown, preview.Properties.Fields["address"].StringValue);

        var created = await client.CreateAsync(new CreateRequest { Urn = urn, Type = NodeToken, Properties = inputs, Timeout = 40 * 60 }, cancellationToken: Ct);
        var state = created.Properties;
        Assert.True(state.Fields["ready"].BoolValue, plugin.Stderr);
        Assert.Equal("Running", state.Fields["state"].StringValue);
        Assert.StartsWith("10.81.0.", state.Fields["address"].StringValue, StringComparison.Ordinal);
        Assert.StartsWith("SHA256:", state.Fields["hostKeyFingerprint"].StringValue, StringComparison.Ordinal);
        Assert.Contains("audit", state.Fields["auditSummary"].StringValue, StringComparison.Ordinal);
        Assert.True(PropertyValues.IsSecret(state.Fields["adminPrivateKey"], out _));

        var audit = await client.InvokeAsync(new InvokeRequest { Tok = "provisioner:index:getAudit", Args = new Struct() }, cancellationToken: Ct);
        Assert.False(string.IsNullOrWhiteSpace(audit.Return.Fields["summary"].StringValue));
        Assert.NotEmpty(audit.Return.Fields["phases"].ListValue.Values);

        await client.DeleteAsync(new DeleteRequest { Id = created.Id, Urn = urn, Type = NodeToken, Properties = state, Timeout = 600 }, cancellationToken: Ct);
        var gone = await client.ReadAsync(new ReadRequest { Id = created.Id, Urn = urn, Type = NodeToken, Properties = state }, cancellationToken: Ct);
        Assert.Equal(string.Empty, gone.Id);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_config is not null)
            {
                await SystemLibvirt.DestroyAsync(_stack, JsonSerializer.SerializeToElement(_config), Path.Combine(_dir, "state"));
            }
        }
        finally
        {
            Directory.Delete(_dir, recursive: true);
            if (Directory.Exists(PoolPath))
            {
                Directory.Delete(PoolPath, recursive: true);
            }
        }
    }
}
