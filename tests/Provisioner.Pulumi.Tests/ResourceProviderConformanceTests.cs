using System.Text.Json;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Provisioner.Pulumi.Protocol;
using Pulumirpc;

namespace Provisioner.Pulumi.Tests;

/// <summary>
/// Tier 4: the built plugin, started as the engine starts it, driven over gRPC through the whole lifecycle against
/// libvirt's test driver (real libvirt library, mock hypervisor, inside the plugin process).
/// </summary>
public sealed class ResourceProviderConformanceTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Start_PrintsOnlyThePortOnStdout_AndAnswersPluginInfo()
    {
        await using var lab = new PulumiLab();
        var plugin = await lab.StartAsync();
        await using (plugin)
        {
            var info = await plugin.Client.GetPluginInfoAsync(new Empty(), cancellationToken: Ct);
            Assert.Equal("0.1.0", info.Version);
            var handshake = await plugin.Client.HandshakeAsync(new ProviderHandshakeRequest { EngineAddress = "127.0.0.1:1" }, cancellationToken: Ct);
            Assert.True(handshake.AcceptSecrets);
            Assert.Equal(string.Empty, (await plugin.RestOfStdoutAsync()).Trim());
        }
    }

    [Fact]
    public async Task GetSchema_EveryResourceAndFunction_TypedDescribedAndSecretsMarked()
    {
        await using var lab = new PulumiLab();
        await using var plugin = await lab.StartAsync();
        var schema = JsonDocument.Parse((await plugin.Client.GetSchemaAsync(new GetSchemaRequest(), cancellationToken: Ct)).Schema).RootElement;

        Assert.Equal("provisioner", schema.GetProperty("name").GetString());
        var resources = schema.GetProperty("resources");
        Assert.True(resources.TryGetProperty("provisioner:index:Node", out var node));
        Assert.True(resources.TryGetProperty("provisioner:index:Sandbox", out _));
        Assert.True(schema.GetProperty("functions").TryGetProperty("provisioner:index:getPlacement", out _));
        Assert.True(schema.GetProperty("functions").TryGetProperty("provisioner:index:getAudit", out _));
        Assert.True(schema.GetProperty("functions").GetProperty("provisioner:index:getKubeconfig").GetProperty("outputs").GetProperty("properties").GetProperty("kubeconfig").GetProperty("secret").GetBoolean());
        Assert.True(node.GetProperty("properties").GetProperty("adminPrivateKey").GetProperty("secret").GetBoolean());
        Assert.True(resources.GetProperty("provisioner:index:Sandbox").GetProperty("properties").GetProperty("adminPrivateKey").GetProperty("secret").GetBoolean());

        // Every property anywhere in the schema has a type (or $ref) and a description.
        var undescribed = new List<string>();
        void Visit(JsonElement properties, string where)
        {
            foreach (var p in properties.EnumerateObject())
            {
                if (!p.Value.TryGetProperty("description", out var d) || string.IsNullOrWhiteSpace(d.GetString())
                    || !(p.Value.TryGetProperty("type", out _) || p.Value.TryGetProperty("$ref", out _)))
                {
                    undescribed.Add($"{where}.{p.Name}");
                }
            }
        }

        foreach (var r in resources.EnumerateObject())
        {
            Visit(r.Value.GetProperty("inputProperties"), r.Name + ".inputProperties");
            Visit(r.Value.GetProperty("properties"), r.Name + ".properties");
        }

        foreach (var t in schema.GetProperty("types").EnumerateObject())
        {
            Visit(t.Value.GetProperty("properties"), t.Name);
        }

        foreach (var f in schema.GetProperty("functions").EnumerateObject())
        {
            Visit(f.Value.GetProperty("inputs").GetProperty("properties"), f.Name + ".inputs");
            Visit(f.Value.GetProperty("outputs").GetProperty("properties"), f.Name + ".outputs");
        }

        Visit(schema.GetProperty("config").GetProperty("variables"), "config");
        Assert.Empty(undescribed);
    }

    [Fact]
    public async Task CheckConfig_BadStack_FailuresCarryTheCliPathsAndMessages()
    {
        await using var lab = new PulumiLab();
        await using var plugin = await lab.StartAsync();
        var good = await plugin.Client.CheckConfigAsync(new CheckRequest { Urn = lab.ProviderUrn, News = lab.Config() }, cancellationToken: Ct);
        Assert.Empty(good.Failures);

        var json = lab.ConfigJson();
        json["hosts"]![0]!["uri"] = "qemu+shh://h/system";
        json["nodes"]![0]!["cpus"] = 0;
        var bad = await plugin.Client.CheckConfigAsync(new CheckRequest { Urn = lab.ProviderUrn, News = PropertyValues.FromJsonObject(json) }, cancellationToken: Ct);
        Assert.Contains(bad.Failures, f => f.Property == "hosts[0].uri" && f.Reason.Contains("qemu+shh://h/system", StringComparison.Ordinal));
        Assert.Contains(bad.Failures, f => f.Property == "nodes[0].cpus");
    }

    [Fact]
    public async Task CheckConfig_ValuesAsJsonText_AcceptedLikeTheEngineSendsThem()
    {
        await using var lab = new PulumiLab();
        await using var plugin = await lab.StartAsync();
        var config = new Struct();
        foreach (var (key, value) in lab.ConfigJson())
        {
            config.Fields[key] = Value.ForString(value!.ToJsonString());
        }

        var result = await plugin.Client.CheckConfigAsync(new CheckRequest { Urn = lab.ProviderUrn, News = config }, cancellationToken: Ct);
        Assert.Empty(result.Failures);
    }

    [Fact]
    public async Task Check_Node_FillsTheDefinition_AndRejectsUnknownNamesAndDisagreements()
    {
        await using var lab = new PulumiLab();
        await using var plugin = await lab.StartConfiguredAsync();
        var urn = lab.Urn(NodeToken, "web");

        var ok = await plugin.Client.CheckAsync(new CheckRequest { Urn = urn, Type = NodeToken, News = PulumiLab.Props(("name", Value.ForString("web"))) }, cancellationToken: Ct);
        Assert.Empty(ok.Failures);
        Assert.Equal(512, ok.Inputs.Fields["memoryMiB"].NumberValue);
        Assert.Equal("virtio", ok.Inputs.Fields["diskBus"].StringValue);
        Assert.Equal("worker", ok.Inputs.Fields["role"].StringValue);

        var unknown = await plugin.Client.CheckAsync(new CheckRequest { Urn = urn, Type = NodeToken, News = PulumiLab.Props(("name", Value.ForString("nope"))) }, cancellationToken: Ct);
        Assert.Contains(unknown.Failures, f => f.Property == "name" && f.Reason.Contains("'nope'", StringComparison.Ordinal) && f.Reason.Contains("web, db", StringComparison.Ordinal));

        var disagree = await plugin.Client.CheckAsync(new CheckRequest { Urn = urn, Type = NodeToken, News = PulumiLab.Props(("name", Value.ForString("web")), ("cpus", Value.ForNumber(8))) }, cancellationToken: Ct);
        Assert.Contains(disagree.Failures, f => f.Property == "cpus");

        var missing = await plugin.Client.CheckAsync(new CheckRequest { Urn = urn, Type = NodeToken, News = new Struct() }, cancellationToken: Ct);
        Assert.Contains(missing.Failures, f => f.Property == "name");
    }

    [Fact]
    public async Task Lifecycle_Node_PreviewCreateReadDiffUpdateDelete()
    {
        await using var lab = new PulumiLab();
        var plugin = await lab.StartConfiguredAsync();
        await using var _ = plugin;
        var client = plugin.Client;
        var urn = lab.Urn(NodeToken, "web");
        var inputs = (await client.CheckAsync(new CheckRequest { Urn = urn, Type = NodeToken, News = PulumiLab.Props(("name", Value.ForString("web"))) }, cancellationToken: Ct)).Inputs;

        // Preview: what is not known before the node exists is unknown, the private key an unknown secret.
        var preview = await client.CreateAsync(new CreateRequest { Urn = urn, Type = NodeToken, Properties = inputs, Preview = true }, cancellationToken: Ct);
        Assert.Equal(PropertyValues.Unknown, preview.Properties.Fields["host"].StringValue);
        Assert.Equal(PropertyValues.Unknown, preview.Properties.Fields["address"].StringValue);
        Assert.True(PropertyValues.IsSecret(preview.Properties.Fields["adminPrivateKey"], out var unknownKey));
        Assert.Equal(PropertyValues.Unknown, unknownKey.StringValue);

        var created = await client.CreateAsync(new CreateRequest { Urn = urn, Type = NodeToken, Properties = inputs }, cancellationToken: Ct);
        Assert.Equal("conformance/web", created.Id);
        var state = created.Properties;
        Assert.Equal("osl-kvm-1", state.Fields["host"].StringValue);
        Assert.StartsWith("10.81.0.", state.Fields["address"].StringValue, StringComparison.Ordinal);
        Assert.Equal("Running", state.Fields["state"].StringValue);
        Assert.True(state.Fields["ready"].BoolValue);
        Assert.StartsWith("SHA256:", state.Fields["hostKeyFingerprint"].StringValue, StringComparison.Ordinal);
        Assert.Equal(1, state.Fields["cpus"].NumberValue);
        Assert.True(PropertyValues.IsSecret(state.Fields["adminPrivateKey"], out var key));
        Assert.Contains("PRIVATE KEY", key.StringValue, StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE KEY", plugin.Stderr, StringComparison.Ordinal);

        // The other node of the stack was not created: each node is its own resource.
        var placement = await client.InvokeAsync(new InvokeRequest { Tok = "provisioner:index:getPlacement", Args = new Struct() }, cancellationToken: Ct);
        var changes = placement.Return.Fields["placements"].ListValue.Values.ToDictionary(v => v.StructValue.Fields["node"].StringValue, v => v.StructValue.Fields["change"].StringValue);
        Assert.Equal("none", changes["web"]);
        Assert.Equal("create", changes["db"]);

        var read = await client.ReadAsync(new ReadRequest { Id = created.Id, Urn = urn, Type = NodeToken, Properties = state, Inputs = inputs }, cancellationToken: Ct);
        Assert.Equal(created.Id, read.Id);
        Assert.Equal("Running", read.Properties.Fields["state"].StringValue);

        var same = await client.DiffAsync(new DiffRequest { Id = created.Id, Urn = urn, Type = NodeToken, Olds = state, News = inputs, OldInputs = inputs }, cancellationToken: Ct);
        Assert.Equal(DiffResponse.Types.DiffChanges.DiffNone, same.Changes);

        // The stack now gives web two vCPUs: an in-place update, shown per property.
        await client.ConfigureAsync(new ConfigureRequest { Args = lab.Config(workerCpus: 2), AcceptSecrets = true }, cancellationToken: Ct);
        var newInputs = (await client.CheckAsync(new CheckRequest { Urn = urn, Type = NodeToken, Olds = inputs, News = PulumiLab.Props(("name", Value.ForString("web"))) }, cancellationToken: Ct)).Inputs;
        var diff = await client.DiffAsync(new DiffRequest { Id = created.Id, Urn = urn, Type = NodeToken, Olds = state, News = newInputs, OldInputs = inputs }, cancellationToken: Ct);
        Assert.Equal(DiffResponse.Types.DiffChanges.DiffSome, diff.Changes);
        Assert.True(diff.HasDetailedDiff);
        Assert.Equal(PropertyDiff.Types.Kind.Update, diff.DetailedDiff["cpus"].Kind);
        Assert.Empty(diff.Replaces);

        var replacing = newInputs.Clone();
        replacing.Fields["diskBus"] = Value.ForString("nvme");
        var replaceDiff = await client.DiffAsync(new DiffRequest { Id = created.Id, Urn = urn, Type = NodeToken, Olds = state, News = replacing }, cancellationToken: Ct);
        Assert.Equal(PropertyDiff.Types.Kind.UpdateReplace, replaceDiff.DetailedDiff["diskBus"].Kind);
        Assert.Contains("diskBus", replaceDiff.Replaces);

        var updatePreview = await client.UpdateAsync(new UpdateRequest { Id = created.Id, Urn = urn, Type = NodeToken, Olds = state, News = newInputs, Preview = true }, cancellationToken: Ct);
        Assert.Equal(2, updatePreview.Properties.Fields["cpus"].NumberValue);

        var updated = await client.UpdateAsync(new UpdateRequest { Id = created.Id, Urn = urn, Type = NodeToken, Olds = state, News = newInputs, OldInputs = inputs }, cancellationToken: Ct);
        Assert.Equal(2, updated.Properties.Fields["cpus"].NumberValue);
        Assert.Equal(state.Fields["address"], updated.Properties.Fields["address"]);

        await client.DeleteAsync(new DeleteRequest { Id = created.Id, Urn = urn, Type = NodeToken, Properties = updated.Properties, OldInputs = newInputs }, cancellationToken: Ct);
        var gone = await client.ReadAsync(new ReadRequest { Id = created.Id, Urn = urn, Type = NodeToken, Properties = updated.Properties }, cancellationToken: Ct);
        Assert.Equal(string.Empty, gone.Id);
    }

    [Fact]
    public async Task Replace_OneNode_DeleteBeforeReplace_NewHostKeySameAddress_OtherNodeUntouched()
    {
        await using var lab = new PulumiLab();
        var plugin = await lab.StartConfiguredAsync();
        await using var _ = plugin;
        var client = plugin.Client;

        async Task<(string Urn, Struct Inputs, CreateResponse Created)> CreateAsync(string name)
        {
            var urn = lab.Urn(NodeToken, name);
            var inputs = (await client.CheckAsync(new CheckRequest { Urn = urn, Type = NodeToken, News = PulumiLab.Props(("name", Value.ForString(name))) }, cancellationToken: Ct)).Inputs;
            return (urn, inputs, await client.CreateAsync(new CreateRequest { Urn = urn, Type = NodeToken, Properties = inputs }, cancellationToken: Ct));
        }

        var (webUrn, webInputs, web) = await CreateAsync("web");
        var (dbUrn, dbInputs, db) = await CreateAsync("db");

        // `pulumi up --replace <web's urn>`: the engine asks for a diff (nothing changed) and, because the replacement is
        // forced, follows the diff's deleteBeforeReplace. It must be set: the replacement has the old node's name,
        // so creating it first would find the old domain and keep it, and the delete after would remove it.
        var diff = await client.DiffAsync(new DiffRequest { Id = web.Id, Urn = webUrn, Type = NodeToken, Olds = web.Properties, News = webInputs, OldInputs = webInputs }, cancellationToken: Ct);
        Assert.Equal(DiffResponse.Types.DiffChanges.DiffNone, diff.Changes);
        Assert.True(diff.DeleteBeforeReplace);

        await client.DeleteAsync(new DeleteRequest { Id = web.Id, Urn = webUrn, Type = NodeToken, Properties = web.Properties, OldInputs = webInputs }, cancellationToken: Ct);
        var between = await client.ReadAsync(new ReadRequest { Id = web.Id, Urn = webUrn, Type = NodeToken, Properties = web.Properties, Inputs = webInputs }, cancellationToken: Ct);
        Assert.Equal(string.Empty, between.Id);
        var replacement = await client.CreateAsync(new CreateRequest { Urn = webUrn, Type = NodeToken, Properties = webInputs }, cancellationToken: Ct);

        // A re-provisioned node: same identity and address, a new host key (the old private half was on the node and
        // may be known to whoever compromised it). The admin key is the stack's: the node only ever held its public half.
        Assert.Equal(web.Id, replacement.Id);
        Assert.Equal(web.Properties.Fields["address"], replacement.Properties.Fields["address"]);
        Assert.Equal("Running", replacement.Properties.Fields["state"].StringValue);
        Assert.NotEqual(web.Properties.Fields["hostKeyFingerprint"].StringValue, replacement.Properties.Fields["hostKeyFingerprint"].StringValue);
        Assert.True(PropertyValues.IsSecret(replacement.Properties.Fields["adminPrivateKey"], out var adminKey));
        Assert.Contains("PRIVATE KEY", adminKey.StringValue, StringComparison.Ordinal);

        // The other node was not touched: same host key, same address, nothing to change.
        var dbAfter = await client.ReadAsync(new ReadRequest { Id = db.Id, Urn = dbUrn, Type = NodeToken, Properties = db.Properties, Inputs = dbInputs }, cancellationToken: Ct);
        Assert.Equal(db.Id, dbAfter.Id);
        Assert.Equal(db.Properties.Fields["hostKeyFingerprint"], dbAfter.Properties.Fields["hostKeyFingerprint"]);
        Assert.Equal(db.Properties.Fields["address"], dbAfter.Properties.Fields["address"]);
        var dbDiff = await client.DiffAsync(new DiffRequest { Id = db.Id, Urn = dbUrn, Type = NodeToken, Olds = dbAfter.Properties, News = dbInputs, OldInputs = dbInputs }, cancellationToken: Ct);
        Assert.Equal(DiffResponse.Types.DiffChanges.DiffNone, dbDiff.Changes);
    }

    [Fact]
    public async Task Secrets_SecretInputsStaySecret_AndConfigSecretsAreAccepted()
    {
        await using var lab = new PulumiLab();
        var config = lab.Config();
        config.Fields["access"] = PropertyValues.Secret(config.Fields["access"]);
        await using var plugin = await lab.StartConfiguredAsync(config);
        var urn = lab.Urn(NodeToken, "db");

        var news = PulumiLab.Props(("name", PropertyValues.Secret(Value.ForString("db"))));
        var checkedInputs = await plugin.Client.CheckAsync(new CheckRequest { Urn = urn, Type = NodeToken, News = news }, cancellationToken: Ct);
        Assert.Empty(checkedInputs.Failures);
        Assert.True(PropertyValues.IsSecret(checkedInputs.Inputs.Fields["name"], out _));

        // A disagreement on a secret value never prints the value.
        var secretCpus = PulumiLab.Props(("name", Value.ForString("db")), ("cpus", PropertyValues.Secret(Value.ForNumber(77))));
        var failed = await plugin.Client.CheckAsync(new CheckRequest { Urn = urn, Type = NodeToken, News = secretCpus }, cancellationToken: Ct);
        var failure = Assert.Single(failed.Failures);
        Assert.DoesNotContain("77", failure.Reason, StringComparison.Ordinal);

        var created = await plugin.Client.CreateAsync(new CreateRequest { Urn = urn, Type = NodeToken, Properties = checkedInputs.Inputs }, cancellationToken: Ct);
        Assert.True(PropertyValues.IsSecret(created.Properties.Fields["name"], out var name));
        Assert.Equal("db", name.StringValue);
        Assert.True(PropertyValues.IsSecret(created.Properties.Fields["adminPrivateKey"], out _));
        await plugin.Client.DeleteAsync(new DeleteRequest { Id = created.Id, Urn = urn, Type = NodeToken, Properties = created.Properties }, cancellationToken: Ct);
    }

    [Fact]
    public async Task Cancel_LaterOperationsFailCancelled_AndThePluginStillAnswers()
    {
        await using var lab = new PulumiLab();
        await using var plugin = await lab.StartConfiguredAsync();
        var urn = lab.Urn(NodeToken, "web");
        var inputs = (await plugin.Client.CheckAsync(new CheckRequest { Urn = urn, Type = NodeToken, News = PulumiLab.Props(("name", Value.ForString("web"))) }, cancellationToken: Ct)).Inputs;

        await plugin.Client.CancelAsync(new Empty(), cancellationToken: Ct);
        var e = await Assert.ThrowsAsync<RpcException>(async () => await plugin.Client.CreateAsync(new CreateRequest { Urn = urn, Type = NodeToken, Properties = inputs }, cancellationToken: Ct));
        Assert.Equal(StatusCode.Cancelled, e.StatusCode);
        Assert.Equal("0.1.0", (await plugin.Client.GetPluginInfoAsync(new Empty(), cancellationToken: Ct)).Version);
    }

    [Fact]
    public async Task Invoke_UnknownFunction_ReturnsAFailure_AndAuditNeedsSsh()
    {
        await using var lab = new PulumiLab();
        await using var plugin = await lab.StartConfiguredAsync();
        var unknown = await plugin.Client.InvokeAsync(new InvokeRequest { Tok = "provisioner:index:getNothing", Args = new Struct() }, cancellationToken: Ct);
        Assert.Contains("getNothing", Assert.Single(unknown.Failures).Reason, StringComparison.Ordinal);
        Assert.Contains("getKubeconfig", Assert.Single(unknown.Failures).Reason, StringComparison.Ordinal);

        var e = await Assert.ThrowsAsync<RpcException>(async () => await plugin.Client.InvokeAsync(new InvokeRequest { Tok = "provisioner:index:getAudit", Args = new Struct() }, cancellationToken: Ct));
        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);

        // The conformance stack declares no cluster: the failure says which key is missing, before any SSH.
        var kubeconfig = await plugin.Client.InvokeAsync(new InvokeRequest { Tok = "provisioner:index:getKubeconfig", Args = new Struct() }, cancellationToken: Ct);
        Assert.Equal("stack 'conformance' declares no Kubernetes cluster (provisioner:kubernetes)", Assert.Single(kubeconfig.Failures).Reason);
        Assert.Null(kubeconfig.Return);
    }

    [Fact]
    public async Task Lifecycle_Sandbox_CheckCreateExtendDelete()
    {
        await using var lab = new PulumiLab();
        await using var plugin = await lab.StartConfiguredAsync();
        var urn = lab.Urn(SandboxToken, "demo");
        var uri = "test://" + lab.HostFile;

        var bad = await plugin.Client.CheckAsync(new CheckRequest { Urn = urn, Type = SandboxToken, News = PulumiLab.Props(("name", Value.ForString("demo")), ("ttlMinutes", Value.ForNumber(1))) }, cancellationToken: Ct);
        Assert.Contains(bad.Failures, f => f.Property == "ttlMinutes");

        var news = PulumiLab.Props(("name", Value.ForString("demo")), ("ttlMinutes", Value.ForNumber(60)), ("uri", Value.ForString(uri)), ("memoryMiB", Value.ForNumber(512)), ("diskGiB", Value.ForNumber(4)), ("emulation", Value.ForString("force")));
        var check = await plugin.Client.CheckAsync(new CheckRequest { Urn = urn, Type = SandboxToken, News = news }, cancellationToken: Ct);
        Assert.Empty(check.Failures);
        var inputs = check.Inputs;
        Assert.Equal(2, inputs.Fields["cpus"].NumberValue);

        var created = await plugin.Client.CreateAsync(new CreateRequest { Urn = urn, Type = SandboxToken, Properties = inputs }, cancellationToken: Ct);
        Assert.Equal("demo", created.Id);
        var expires = DateTimeOffset.Parse(created.Properties.Fields["expires"].StringValue, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(PropertyValues.IsSecret(created.Properties.Fields["adminPrivateKey"], out _));

        var longer = inputs.Clone();
        longer.Fields["ttlMinutes"] = Value.ForNumber(120);
        var diff = await plugin.Client.DiffAsync(new DiffRequest { Id = "demo", Urn = urn, Type = SandboxToken, Olds = created.Properties, News = longer }, cancellationToken: Ct);
        Assert.Equal(PropertyDiff.Types.Kind.Update, diff.DetailedDiff["ttlMinutes"].Kind);
        var updated = await plugin.Client.UpdateAsync(new UpdateRequest { Id = "demo", Urn = urn, Type = SandboxToken, Olds = created.Properties, News = longer }, cancellationToken: Ct);
        Assert.True(DateTimeOffset.Parse(updated.Properties.Fields["expires"].StringValue, System.Globalization.CultureInfo.InvariantCulture) > expires);

        await plugin.Client.DeleteAsync(new DeleteRequest { Id = "demo", Urn = urn, Type = SandboxToken, Properties = updated.Properties }, cancellationToken: Ct);
        var gone = await plugin.Client.ReadAsync(new ReadRequest { Id = "demo", Urn = urn, Type = SandboxToken, Properties = updated.Properties }, cancellationToken: Ct);
        Assert.Equal(string.Empty, gone.Id);
    }

    private const string NodeToken = "provisioner:index:Node";
    private const string SandboxToken = "provisioner:index:Sandbox";
}
