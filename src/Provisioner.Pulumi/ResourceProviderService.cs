using System.Reflection;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Pulumirpc;
using Provisioner.Pulumi.Protocol;
using Provisioner.Pulumi.Resources;

namespace Provisioner.Pulumi;

/// <summary>The gRPC face of the provider: each call is mapped onto the session, the resources and the functions.</summary>
public sealed class ResourceProviderService : ResourceProvider.ResourceProviderBase
{
    /// <summary>The package name used in every token.</summary>
    public const string PackageName = "provisioner";

    private readonly ProviderSession _session;
    private readonly NodeResource _nodes;
    private readonly SandboxResource _sandboxes;
    private readonly Functions _functions;

    /// <summary>Creates the service over the process's one session.</summary>
    public ResourceProviderService(ProviderSession session)
    {
        _session = session;
        _nodes = new NodeResource(session);
        _sandboxes = new SandboxResource(session);
        _functions = new Functions(session);
    }

    /// <summary>The package schema, as shipped inside the plugin.</summary>
    public static string Schema { get; } = ReadSchema();

    /// <inheritdoc />
    public override Task<ProviderHandshakeResponse> Handshake(ProviderHandshakeRequest request, ServerCallContext context) =>
        Task.FromResult(new ProviderHandshakeResponse { AcceptSecrets = true, AcceptResources = true, AcceptOutputs = false });

    /// <inheritdoc />
    public override Task<PluginInfo> GetPluginInfo(Empty request, ServerCallContext context) =>
        Task.FromResult(new PluginInfo { Version = Version });

    /// <inheritdoc />
    public override Task<GetSchemaResponse> GetSchema(GetSchemaRequest request, ServerCallContext context) =>
        Task.FromResult(new GetSchemaResponse { Schema = Schema });

    /// <inheritdoc />
    public override Task<CheckResponse> CheckConfig(CheckRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var stackName = PropertyValues.StackOfUrn(request.Urn) ?? _session.StackName ?? "stack";
        _session.StackName ??= PropertyValues.StackOfUrn(request.Urn);
        var config = StackConfiguration.FromStruct(request.News);
        var response = new CheckResponse();
        if (config.TryGetStack(stackName, out _, out var errors))
        {
            response.Inputs = request.News ?? new Struct();
        }
        else
        {
            // Same messages and paths as the CLI gives for stacks/Pulumi.<stack>.yaml, without the namespace.
            foreach (var e in errors)
            {
                response.Failures.Add(new CheckFailure { Property = e.PropertyPath, Reason = e.ToString() });
            }
        }

        return Task.FromResult(response);
    }

    /// <inheritdoc />
    public override Task<DiffResponse> DiffConfig(DiffRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        // Every resource is named and placed from the configuration it was made with, and each reads its own
        // state back from libvirt: a changed configuration never makes the old resources unmanageable, so the
        // provider is updated, never replaced. Per key, what changed is shown.
        var keys = (request.Olds?.Fields.Keys ?? []).Concat(request.News?.Fields.Keys ?? []).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        var olds = request.OldInputs is { Fields.Count: > 0 } ? request.OldInputs : request.Olds;
        return Task.FromResult(ResourceSupport.Diff(olds, request.News, keys.Where(k => k is not ("version" or "pluginDownloadURL")).Select(ResourceSupport.InPlace), request.IgnoreChanges));
    }

    /// <inheritdoc />
    public override Task<ConfigureResponse> Configure(ConfigureRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.HasUrn)
        {
            _session.StackName = PropertyValues.StackOfUrn(request.Urn) ?? _session.StackName;
        }

        _session.Configure(request.Args is { Fields.Count: > 0 } ? StackConfiguration.FromStruct(request.Args) : StackConfiguration.FromVariables(request.Variables));
        return Task.FromResult(new ConfigureResponse { AcceptSecrets = true, SupportsPreview = true, AcceptResources = true, AcceptOutputs = false });
    }

    /// <inheritdoc />
    public override Task<CheckResponse> Check(CheckRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Task.FromResult(TypeOf(request.Type, request.Urn) switch
        {
            NodeResource.Token => _nodes.Check(request),
            SandboxResource.Token => SandboxResource.Check(request),
            var other => throw Unknown(other),
        });
    }

    /// <inheritdoc />
    public override Task<DiffResponse> Diff(DiffRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Task.FromResult(TypeOf(request.Type, request.Urn) switch
        {
            NodeResource.Token => NodeResource.Diff(request),
            SandboxResource.Token => SandboxResource.Diff(request),
            var other => throw Unknown(other),
        });
    }

    /// <inheritdoc />
    public override Task<CreateResponse> Create(CreateRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        return TypeOf(request.Type, request.Urn) switch
        {
            NodeResource.Token => _nodes.CreateAsync(request, context.CancellationToken),
            SandboxResource.Token => _sandboxes.CreateAsync(request, context.CancellationToken),
            var other => throw Unknown(other),
        };
    }

    /// <inheritdoc />
    public override Task<ReadResponse> Read(ReadRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        return TypeOf(request.Type, request.Urn) switch
        {
            NodeResource.Token => _nodes.ReadAsync(request, context.CancellationToken),
            SandboxResource.Token => _sandboxes.ReadAsync(request, context.CancellationToken),
            var other => throw Unknown(other),
        };
    }

    /// <inheritdoc />
    public override Task<UpdateResponse> Update(UpdateRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        return TypeOf(request.Type, request.Urn) switch
        {
            NodeResource.Token => _nodes.UpdateAsync(request, context.CancellationToken),
            SandboxResource.Token => _sandboxes.UpdateAsync(request, context.CancellationToken),
            var other => throw Unknown(other),
        };
    }

    /// <inheritdoc />
    public override Task<Empty> Delete(DeleteRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        return TypeOf(request.Type, request.Urn) switch
        {
            NodeResource.Token => _nodes.DeleteAsync(request, context.CancellationToken),
            SandboxResource.Token => _sandboxes.DeleteAsync(request, context.CancellationToken),
            var other => throw Unknown(other),
        };
    }

    /// <inheritdoc />
    public override Task<InvokeResponse> Invoke(InvokeRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        return _functions.InvokeAsync(request, context.CancellationToken);
    }

    /// <inheritdoc />
    public override Task<Empty> Cancel(Empty request, ServerCallContext context)
    {
        _session.Cancel();
        return Task.FromResult(new Empty());
    }

    /// <inheritdoc />
    public override Task<Empty> Attach(PluginAttach request, ServerCallContext context) => Task.FromResult(new Empty());

    private static string Version { get; } =
        typeof(ResourceProviderService).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    /// <summary>The resource type from the request's type field, or from its URN (older engines send only the URN).</summary>
    private static string TypeOf(string type, string urn)
    {
        if (!string.IsNullOrEmpty(type))
        {
            return type;
        }

        var parts = urn.Split("::");
        return parts.Length >= 4 ? parts[2].Split('$')[^1] : string.Empty;
    }

    private static RpcException Unknown(string type) =>
        new(new Status(StatusCode.InvalidArgument, $"unknown resource type '{type}' (this provider has {NodeResource.Token} and {SandboxResource.Token})"));

    private static string ReadSchema()
    {
        using var stream = typeof(ResourceProviderService).Assembly.GetManifestResourceStream("schema.json")
            ?? throw new InvalidOperationException("schema.json is not embedded in the plugin");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
