using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf.WellKnownTypes;
using LibvirtSharp;
using Provisioner.Core.Naming;
using Provisioner.Pulumi.Composition;
using Provisioner.Pulumi.Protocol;
using Pulumirpc;

namespace Provisioner.Pulumi.Tests;

/// <summary>
/// Drift: a node created through the plugin on the real daemon (qemu:///system; the guest need not boot, so the
/// test composition's "domain runs" readiness is used), then powered off behind the plugin's back with libvirt
/// itself. Read shows what libvirt shows, the diff asks for a repair, and update repairs it.
/// </summary>
[Collection(SystemLibvirtSerial.Name)]
public sealed class SystemLibvirtDriftTests : IAsyncLifetime
{
    private const string NodeToken = "provisioner:index:Node";
    private readonly string _stack = SystemLibvirt.UniqueStack("pdrift");
    private readonly string _dir = Directory.CreateTempSubdirectory("pulumidrift-").FullName;
    private JsonObject? _config;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string PoolPath => $"/var/lib/provisioner/pulumitest/{_stack}";

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    [Fact]
    public async Task Read_NodePoweredOffBehindThePlugin_ShowsTheDrift_AndUpdateRepairsIt()
    {
        SystemLibvirt.Require();
        var image = Path.Combine(_dir, "golden.qcow2");
        SystemLibvirt.CreateQcow2(image, 1);
        _config = (JsonObject)JsonNode.Parse($$$"""
            {
              "hosts": [{"name": "localhost", "uri": "qemu:///system", "region": "local", "zone": "local",
                         "pool": {"name": "{{{_stack}}}", "path": "{{{PoolPath}}}", "media": "ssd"}}],
              "networks": [{"name": "net", "cidr": "10.81.0.0/25", "mode": "nat"}],
              "image": {"name": "debian-12"},
              "nodes": [{"name": "web", "role": "worker", "cpus": 1, "memoryMiB": 256, "diskGiB": 1, "diskBus": "virtio", "network": "net"}],
              "placement": {"region": "local"},
              "access": {"user": "ops", "sshPublicKeys": [], "adminCidrs": ["10.81.0.0/25"]},
              "virtualization": {"allowEmulation": true, "type": "qemu"}
            }
            """)!;
        var environment = new Dictionary<string, string?>
        {
            [ProviderEngine.TestImageVariable] = image,
            ["PROVISIONER_STATE_DIR"] = Path.Combine(_dir, "state"),
        };
        await using var plugin = await PluginProcess.StartAsync(environment, Ct);
        var client = plugin.Client;
        var config = PropertyValues.FromJsonObject(_config);
        var checkedConfig = await client.CheckConfigAsync(new CheckRequest { Urn = $"urn:pulumi:{_stack}::provisioner::pulumi:providers:provisioner::default", News = config }, cancellationToken: Ct);
        Assert.Empty(checkedConfig.Failures);
        await client.ConfigureAsync(new ConfigureRequest { Args = checkedConfig.Inputs, AcceptSecrets = true }, cancellationToken: Ct);

        var urn = $"urn:pulumi:{_stack}::provisioner::{NodeToken}::web";
        var inputs = (await client.CheckAsync(new CheckRequest { Urn = urn, Type = NodeToken, News = PulumiLab.Props(("name", Value.ForString("web"))) }, cancellationToken: Ct)).Inputs;
        var created = await client.CreateAsync(new CreateRequest { Urn = urn, Type = NodeToken, Properties = inputs }, cancellationToken: Ct);
        Assert.Equal("Running", created.Properties.Fields["state"].StringValue);
        Assert.StartsWith("10.81.0.", created.Properties.Fields["address"].StringValue, StringComparison.Ordinal);

        // Behind the plugin's back: power the guest off with libvirt directly.
        using (var connection = Connection.Open("qemu:///system"))
        using (var domain = connection.LookupDomain(LibvirtNames.Domain(_stack, "web")))
        {
            domain.Destroy();
        }

        var read = await client.ReadAsync(new ReadRequest { Id = created.Id, Urn = urn, Type = NodeToken, Properties = created.Properties, Inputs = inputs }, cancellationToken: Ct);
        Assert.Equal(created.Id, read.Id);
        Assert.Equal("Shutoff", read.Properties.Fields["state"].StringValue);
        Assert.False(read.Properties.Fields["ready"].BoolValue);

        var diff = await client.DiffAsync(new DiffRequest { Id = created.Id, Urn = urn, Type = NodeToken, Olds = read.Properties, News = inputs, OldInputs = inputs }, cancellationToken: Ct);
        Assert.Equal(DiffResponse.Types.DiffChanges.DiffSome, diff.Changes);
        Assert.Equal(PropertyDiff.Types.Kind.Update, diff.DetailedDiff["state"].Kind);
        Assert.Empty(diff.Replaces);

        var repaired = await client.UpdateAsync(new UpdateRequest { Id = created.Id, Urn = urn, Type = NodeToken, Olds = read.Properties, News = inputs, OldInputs = inputs }, cancellationToken: Ct);
        Assert.Equal("Running", repaired.Properties.Fields["state"].StringValue);

        await client.DeleteAsync(new DeleteRequest { Id = created.Id, Urn = urn, Type = NodeToken, Properties = repaired.Properties }, cancellationToken: Ct);
        var gone = await client.ReadAsync(new ReadRequest { Id = created.Id, Urn = urn, Type = NodeToken, Properties = repaired.Properties }, cancellationToken: Ct);
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

/// <summary>Tests on qemu:///system run one at a time (they share 10.81.0.0/24 and the machine's two cores).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SystemLibvirtSerial
{
    public const string Name = "qemu:///system";
}
