using Google.Protobuf.WellKnownTypes;
using Pulumirpc;
using Provisioner.Core.Stacks;
using Provisioner.Engine;
using Provisioner.Engine.Graph;
using Provisioner.Engine.Readiness;
using Provisioner.Engine.Planning;
using Provisioner.Pulumi.Protocol;

namespace Provisioner.Pulumi.Resources;

/// <summary>
/// <c>provisioner:index:Node</c>: one node of the stack. Its definition is the stack's own (provisioner:nodes), filled
/// in by Check so the preview diffs per property; create, update and delete run the engine limited to this node
/// (<see cref="UpOptions.OnlyNodes"/>), so replacing one node leaves the others alone.
/// </summary>
internal sealed class NodeResource(ProviderSession session)
{
    public const string Token = "provisioner:index:Node";

    private static readonly DiffRule[] Rules =
    [
        ResourceSupport.Replaces("name"),
        ResourceSupport.Replaces("role"),
        ResourceSupport.InPlace("cpus"),
        ResourceSupport.InPlace("memoryMiB"),
        // Growing is done in place; shrinking would lose data, so it replaces the node (as the engine plans it).
        new("diskGiB", (o, n) => o?.KindCase != Value.KindOneofCase.NumberValue || n?.KindCase != Value.KindOneofCase.NumberValue || n.NumberValue < o.NumberValue),
        ResourceSupport.Replaces("diskBus"),
        ResourceSupport.Replaces("network"),
    ];

    public CheckResponse Check(CheckRequest request)
    {
        var news = request.News ?? new Struct();
        var response = new CheckResponse();
        var name = PropertyValues.Text(news, "name");
        if (name is null)
        {
            response.Failures.Add(new CheckFailure { Property = "name", Reason = PropertyValues.ContainsUnknown(news.Fields.GetValueOrDefault("name")) ? "name must be known at preview time" : "name is required: the name of a node of the stack (provisioner:nodes)" });
            return response;
        }

        var config = session.Config;
        if (config is null)
        {
            response.Failures.Add(new CheckFailure { Property = string.Empty, Reason = "the provider is not configured (provisioner:* config missing)" });
            return response;
        }

        var stackName = PropertyValues.StackOfUrn(request.Urn) ?? session.StackName ?? "stack";
        if (!config.TryGetStack(stackName, out var stack, out var errors))
        {
            // The same errors, with the same paths, as `provisioner preview` prints for the stack file.
            foreach (var e in errors)
            {
                response.Failures.Add(new CheckFailure { Property = "provisioner:" + e.PropertyPath, Reason = e.ToString() });
            }

            return response;
        }

        var node = stack!.FindNode(name);
        if (node is null)
        {
            response.Failures.Add(new CheckFailure
            {
                Property = "name",
                Reason = $"name: '{name}' is not a node of stack '{stack.Name}' (provisioner:nodes gives: {string.Join(", ", stack.Nodes.Select(n => n.Name))})",
            });
            return response;
        }

        var inputs = new Struct();
        inputs.Fields["name"] = news.Fields["name"];
        foreach (var (key, value) in Definition(node))
        {
            if (news.Fields.TryGetValue(key, out var given) && given.KindCase != Value.KindOneofCase.NullValue)
            {
                if (!PropertyValues.Reveal(given).Equals(value) && !PropertyValues.ContainsUnknown(given))
                {
                    response.Failures.Add(new CheckFailure
                    {
                        Property = key,
                        Reason = $"{key}: {Show(given)} differs from the stack's definition of node '{name}' ({Show(value)}): change it in provisioner:nodes (stacks/Pulumi.{stack.Name}.yaml), where the CLI reads it too",
                    });
                }

                inputs.Fields[key] = given;
            }
            else
            {
                inputs.Fields[key] = value;
            }
        }

        if (response.Failures.Count == 0)
        {
            response.Inputs = inputs;
        }

        return response;
    }

    public static DiffResponse Diff(DiffRequest request)
    {
        var response = ResourceSupport.Diff(request.Olds, request.News, Rules, request.IgnoreChanges);

        // The node's name is its libvirt domain: a replacement can only be created once the old one is gone
        // (create-before-delete would find the old node, keep it, then delete it).
        response.DeleteBeforeReplace = true;

        // A node found stopped (or its first boot unfinished) by a refresh is repaired in place by the next up,
        // as the engine plans it ("domain is Shutoff: start it").
        if (PropertyValues.Text(request.Olds, "state") is { } state && (state != "Running" || request.Olds.Fields.GetValueOrDefault("ready")?.BoolValue == false)
            && !request.IgnoreChanges.Contains("state"))
        {
            response.Diffs.Add("state");
            response.DetailedDiff["state"] = new PropertyDiff { Kind = PropertyDiff.Types.Kind.Update };
            response.Changes = DiffResponse.Types.DiffChanges.DiffSome;
        }

        return response;
    }

    public Task<CreateResponse> CreateAsync(CreateRequest request, CancellationToken cancellationToken)
    {
        var name = PropertyValues.Text(request.Properties, "name") ?? throw new ArgumentException("name is missing");
        var stack = session.Stack(request.Urn);
        if (request.Preview)
        {
            // Placement, address and host key are decided when the node is created.
            var preview = new Struct();
            foreach (var (key, value) in request.Properties.Fields)
            {
                preview.Fields[key] = value;
            }

            foreach (var key in new[] { "host", "address", "state", "ready", "hostKeyFingerprint", "hostPublicKey", "auditSummary" })
            {
                preview.Fields[key] = ResourceSupport.Unknown;
            }

            preview.Fields["adminUser"] = Value.ForString(stack.Access.User);
            preview.Fields["adminPrivateKey"] = PropertyValues.Secret(ResourceSupport.Unknown);
            return Task.FromResult(new CreateResponse { Id = string.Empty, Properties = preview });
        }

        return session.RunAsync($"create node {name} of stack {stack.Name}", async ct =>
        {
            var result = await UpAsync(stack, name, request.Timeout, ct).ConfigureAwait(false);
            var outputs = await OutputsAsync(stack, name, request.Properties, Audit(result), ct).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"node {name} is missing after up");
            return new CreateResponse { Id = Id(stack, name), Properties = outputs };
        }, cancellationToken);
    }

    public Task<ReadResponse> ReadAsync(ReadRequest request, CancellationToken cancellationToken)
    {
        var stack = session.Stack(request.Urn);
        var name = PropertyValues.Text(request.Properties, "name") ?? PropertyValues.Text(request.Inputs, "name") ?? NameOfId(request.Id);
        return session.RunAsync($"read node {name} of stack {stack.Name}", async ct =>
        {
            var outputs = await OutputsAsync(stack, name, request.Properties, PropertyValues.Text(request.Properties, "auditSummary"), ct).ConfigureAwait(false);
            if (outputs is null)
            {
                // Gone behind Pulumi's back: an empty id tells the engine the resource no longer exists.
                return new ReadResponse();
            }

            var inputs = request.Inputs is { Fields.Count: > 0 } ? request.Inputs : null;
            var response = new ReadResponse { Id = Id(stack, name), Properties = outputs };
            if (inputs is not null)
            {
                response.Inputs = inputs;
            }

            return response;
        }, cancellationToken);
    }

    public Task<UpdateResponse> UpdateAsync(UpdateRequest request, CancellationToken cancellationToken)
    {
        var name = PropertyValues.Text(request.News, "name") ?? throw new ArgumentException("name is missing");
        var stack = session.Stack(request.Urn);
        if (request.Preview)
        {
            var preview = new Struct();
            foreach (var (key, value) in request.Olds.Fields)
            {
                preview.Fields[key] = value;
            }

            foreach (var (key, value) in request.News.Fields)
            {
                preview.Fields[key] = value;
            }

            return Task.FromResult(new UpdateResponse { Properties = preview });
        }

        return session.RunAsync($"update node {name} of stack {stack.Name}", async ct =>
        {
            var result = await UpAsync(stack, name, request.Timeout, ct).ConfigureAwait(false);
            var outputs = await OutputsAsync(stack, name, request.News, Audit(result), ct).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"node {name} is missing after up");
            return new UpdateResponse { Properties = outputs };
        }, cancellationToken);
    }

    public Task<Empty> DeleteAsync(DeleteRequest request, CancellationToken cancellationToken)
    {
        var stack = session.Stack(request.Urn);
        var name = PropertyValues.Text(request.Properties, "name") ?? NameOfId(request.Id);
        return session.RunAsync($"delete node {name} of stack {stack.Name}", async ct =>
        {
            var engine = session.Engine.Engine;
            var others = stack with { Nodes = [.. stack.Nodes.Where(n => n.Name != name)] };
            var existing = await engine.InventoryAsync(stack, ct).ConfigureAwait(false);
            if (existing.Any(n => n.Name == name))
            {
                await engine.UpAsync(others, new UpOptions { OnlyNodes = new HashSet<string>([name], StringComparer.Ordinal) }, ct).ConfigureAwait(false);
            }

            // The last node takes the stack's networks, pool, golden image copies and admin key with it.
            if ((await engine.InventoryAsync(stack, ct).ConfigureAwait(false)).Count == 0)
            {
                await engine.DestroyAsync(stack, ct).ConfigureAwait(false);
            }

            return new Empty();
        }, cancellationToken);
    }

    /// <summary>
    /// Up for this node only. A first boot slower than the engine's readiness budget (software emulation on a busy
    /// host) is waited for again, as a second <c>up</c> would ("first boot did not finish: wait for it and finish"),
    /// for as long as the caller's timeout (Pulumi's customTimeouts) allows; without one, the engine's budget stands.
    /// </summary>
    private async Task<UpResult> UpAsync(StackDefinition stack, string name, double timeoutSeconds, CancellationToken ct)
    {
        var engine = session.Engine;
        var deadline = timeoutSeconds > 0 ? engine.Time.GetUtcNow() + TimeSpan.FromSeconds(timeoutSeconds) : (DateTimeOffset?)null;
        var options = new UpOptions { OnlyNodes = new HashSet<string>([name], StringComparer.Ordinal) };
        while (true)
        {
            try
            {
                return await engine.Engine.UpAsync(stack, options, ct).ConfigureAwait(false);
            }
            catch (StepFailedException e) when (e.InnerException is NodeNotReadyException && deadline is { } d && engine.Time.GetUtcNow() < d)
            {
                session.LogRetry(name, e.InnerException.Message);
            }
        }
    }

    /// <summary>The node as it is now, read back from libvirt; null when it does not exist.</summary>
    private async Task<Struct?> OutputsAsync(StackDefinition stack, string name, Struct? inputs, string? audit, CancellationToken ct)
    {
        var engine = session.Engine;
        var observed = (await engine.Engine.InventoryAsync(stack, ct).ConfigureAwait(false)).FirstOrDefault(n => n.Name == name);
        if (observed is null)
        {
            return null;
        }

        var (_, nodes) = await engine.Engine.StatusAsync(stack, ct).ConfigureAwait(false);
        var status = nodes.FirstOrDefault(n => n.Name == name);
        var key = await engine.Keys.GetOrCreateAsync(stack.Name, ct).ConfigureAwait(false);
        var outputs = new Struct();
        outputs.Fields["name"] = Value.ForString(name);
        outputs.Fields["role"] = Value.ForString(observed.Metadata.Role);
        outputs.Fields["cpus"] = Value.ForNumber(observed.Cpus);
        outputs.Fields["memoryMiB"] = Value.ForNumber(observed.MemoryMiB);
        outputs.Fields["diskGiB"] = observed.RootDiskCapacityBytes is { } bytes ? Value.ForNumber(bytes / (1024UL * 1024 * 1024)) : Value.ForNull();
        outputs.Fields["diskBus"] = ResourceSupport.Str(BusName(observed.DiskBus));
        outputs.Fields["network"] = ResourceSupport.Str(observed.NetworkName);
        outputs.Fields["host"] = Value.ForString(observed.Host);
        outputs.Fields["address"] = ResourceSupport.Str(status?.Address);
        outputs.Fields["state"] = Value.ForString(observed.State.ToString());
        outputs.Fields["ready"] = Value.ForBool(observed.IsReady);
        outputs.Fields["hostKeyFingerprint"] = Value.ForString(observed.Metadata.HostKeyFingerprint);
        outputs.Fields["hostPublicKey"] = ResourceSupport.Str(observed.Metadata.HostPublicKey);
        outputs.Fields["adminUser"] = Value.ForString(stack.Access.User);
        outputs.Fields["adminPrivateKey"] = PropertyValues.Secret(Value.ForString(key.PrivateKey.Reveal()));
        outputs.Fields["auditSummary"] = ResourceSupport.Str(audit ?? string.Empty);
        return ResourceSupport.KeepSecrets(inputs, outputs);
    }

    private static string? Audit(UpResult result) =>
        result.Phases.Count == 0 ? null : string.Join("; ", result.Phases.Select(p => $"{p.Phase}: {p.Summary}"));

    private static IEnumerable<(string Key, Value Value)> Definition(NodeDefinition node)
    {
        yield return ("role", Value.ForString(RoleNames.Of(node.Role)));
        yield return ("cpus", Value.ForNumber(node.Cpus));
        yield return ("memoryMiB", Value.ForNumber(node.MemoryMiB));
        yield return ("diskGiB", Value.ForNumber(node.DiskGiB));
        yield return ("diskBus", Value.ForString(BusName(node.DiskBus)!));
        yield return ("network", Value.ForString(node.Network));
    }

    private static string? BusName(DiskBus? bus) => bus switch
    {
        DiskBus.Nvme => "nvme",
        DiskBus.Virtio => "virtio",
        _ => null,
    };

    // Never print a secret, not even in a check failure.
    private static string Show(Value value) => PropertyValues.IsSecret(value, out _)
        ? "[secret]"
        : PropertyValues.ToJson(PropertyValues.Reveal(value))?.ToJsonString() ?? "null";

    private static string Id(StackDefinition stack, string node) => $"{stack.Name}/{node}";

    private static string NameOfId(string id) => id.Contains('/', StringComparison.Ordinal) ? id[(id.LastIndexOf('/') + 1)..] : id;
}
