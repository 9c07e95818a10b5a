using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Pulumirpc;
using Provisioner.Engine.Kubernetes;
using Provisioner.Engine.Planning;
using Provisioner.Pulumi.Protocol;

namespace Provisioner.Pulumi.Resources;

/// <summary>
/// The provider's functions: <c>getPlacement</c> (the engine's preview), <c>getAudit</c> (the audit phase) and
/// <c>getKubeconfig</c> (the cluster's admin kubeconfig, read from a control plane, returned as a secret).
/// </summary>
internal sealed class Functions(ProviderSession session)
{
    public const string GetPlacement = "provisioner:index:getPlacement";
    public const string GetAudit = "provisioner:index:getAudit";
    public const string GetKubeconfig = "provisioner:index:getKubeconfig";

    public Task<InvokeResponse> InvokeAsync(InvokeRequest request, CancellationToken cancellationToken)
    {
        var args = request.Args ?? new Struct();
        var only = args.Fields.TryGetValue("nodes", out var n) && PropertyValues.Reveal(n).KindCase == Value.KindOneofCase.ListValue
            ? PropertyValues.Reveal(n).ListValue.Values.Select(v => v.StringValue).ToHashSet(StringComparer.Ordinal)
            : null;
        return request.Tok switch
        {
            GetPlacement => PlacementAsync(only, cancellationToken),
            GetAudit => AuditAsync(only, cancellationToken),
            GetKubeconfig => KubeconfigAsync(cancellationToken),
            _ => Task.FromResult(Failure(string.Empty, $"unknown function '{request.Tok}' (this provider has {GetPlacement}, {GetAudit} and {GetKubeconfig})")),
        };
    }

    private Task<InvokeResponse> PlacementAsync(HashSet<string>? only, CancellationToken cancellationToken)
    {
        var stack = session.Stack(null);
        return session.RunAsync($"placement of stack {stack.Name}", async ct =>
        {
            var plan = await session.Engine.Engine.PreviewAsync(stack, ct).ConfigureAwait(false);
            var placements = plan.Resources
                .Where(r => r.Kind == ResourceKind.Node && (only is null || only.Contains(r.Name)))
                .Select(r =>
                {
                    var s = new Struct();
                    s.Fields["node"] = Value.ForString(r.Name);
                    s.Fields["host"] = Value.ForString(r.Host);
                    s.Fields["change"] = Value.ForString(r.Change.ToString().ToLowerInvariant());
                    s.Fields["reason"] = ResourceSupport.Str(r.Reason ?? (r.Properties.Count == 0 ? null : string.Join(", ", r.Properties.Select(p => $"{p.Property}: {p.Old} -> {p.New}"))));
                    return Value.ForStruct(s);
                });
            var unplaced = plan.Unplaced
                .Where(u => only is null || only.Contains(u.Node))
                .Select(u =>
                {
                    var s = new Struct();
                    s.Fields["node"] = Value.ForString(u.Node);
                    s.Fields["reason"] = Value.ForString(u.Reason);
                    return Value.ForStruct(s);
                });
            var result = new Struct();
            result.Fields["placements"] = Value.ForList([.. placements]);
            result.Fields["unplaced"] = Value.ForList([.. unplaced]);
            result.Fields["notes"] = Value.ForList([.. plan.Notes.Select(Value.ForString)]);
            return new InvokeResponse { Return = result };
        }, cancellationToken);
    }

    private Task<InvokeResponse> AuditAsync(HashSet<string>? only, CancellationToken cancellationToken)
    {
        var stack = session.Stack(null);
        var audit = session.Engine.Audit;
        if (audit is null)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, "getAudit needs SSH to the nodes, which this engine composition (libvirt test driver) does not have"));
        }

        return session.RunAsync($"audit of stack {stack.Name}", async ct =>
        {
            var results = await session.Engine.Engine.RunPhasesAsync(stack, [audit], only?.ToList(), ct).ConfigureAwait(false);
            var result = new Struct();
            result.Fields["summary"] = Value.ForString(string.Join("; ", results.Select(r => r.Summary)));
            result.Fields["failed"] = Value.ForBool(results.Any(r => r.Failed));
            result.Fields["phases"] = Value.ForList([.. results.Select(r =>
            {
                var s = new Struct();
                s.Fields["phase"] = Value.ForString(r.Phase);
                s.Fields["failed"] = Value.ForBool(r.Failed);
                s.Fields["summary"] = Value.ForString(r.Summary);
                s.Fields["details"] = Value.ForList([.. r.Details.Select(Value.ForString)]);
                return Value.ForStruct(s);
            })]);
            return new InvokeResponse { Return = result };
        }, cancellationToken);
    }

    private Task<InvokeResponse> KubeconfigAsync(CancellationToken cancellationToken)
    {
        var stack = session.Stack(null);
        if (stack.Kubernetes is null)
        {
            return Task.FromResult(Failure(string.Empty, $"stack '{stack.Name}' declares no Kubernetes cluster (provisioner:kubernetes)"));
        }

        var access = session.Engine.Access
            ?? throw new RpcException(new Status(StatusCode.FailedPrecondition, "getKubeconfig needs SSH to the nodes, which this engine composition (libvirt test driver) does not have"));
        return session.RunAsync($"admin kubeconfig of stack {stack.Name}", async ct =>
        {
            var (_, nodes) = await session.Engine.Engine.StatusAsync(stack, ct).ConfigureAwait(false);
            var kubeconfig = await AdminKubeconfig.ReadAsync(stack, nodes, access, ct).ConfigureAwait(false);
            var result = new Struct();
            result.Fields["initialised"] = Value.ForBool(kubeconfig is not null);
            if (kubeconfig is not null)
            {
                // Only ever as a secret: the engine keeps it encrypted in its state and masks it in every display.
                result.Fields["kubeconfig"] = PropertyValues.Secret(Value.ForString(kubeconfig.Reveal()));
            }

            return new InvokeResponse { Return = result };
        }, cancellationToken);
    }

    private static InvokeResponse Failure(string property, string reason)
    {
        var response = new InvokeResponse();
        response.Failures.Add(new CheckFailure { Property = property, Reason = reason });
        return response;
    }
}
