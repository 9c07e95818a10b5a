using System.Collections.Concurrent;
using Provisioner.Core.Audit;
using Provisioner.Engine.Access;
using Provisioner.Engine.Hardening;
using Provisioner.Remote.Sessions;
using Provisioner.Engine.Phases;

namespace Provisioner.Engine.Audit;

/// <summary>The audit as a phase: every node's checks over SSH, run in parallel, read-only.</summary>
public sealed class AuditPhase : IStackPhase
{
    private readonly NodeHardening _hardening;
    private readonly AuditRunner _runner;

    /// <summary>Creates the phase.</summary>
    public AuditPhase(NodeHardening hardening, AuditRunner runner)
    {
        ArgumentNullException.ThrowIfNull(hardening);
        ArgumentNullException.ThrowIfNull(runner);
        _hardening = hardening;
        _runner = runner;
    }

    /// <inheritdoc />
    public string Name => "audit";

    /// <summary>How many nodes are audited at once.</summary>
    public int MaxParallelism { get; init; } = 8;

    /// <inheritdoc />
    public async Task<StackPhaseResult> RunAsync(StackPhaseContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var reports = new ConcurrentBag<AuditReport>();
        var options = new ParallelOptions { MaxDegreeOfParallelism = MaxParallelism, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(context.Nodes, options, async (node, ct) =>
        {
            var checks = _hardening.ChecksFor(context.Stack, node.Name);
            IRemoteSession session;
            try
            {
                session = await context.Access.OpenAsync(context.Stack, node, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is RemoteException or NodeAccessException)
            {
                // One node that cannot be reached (paused, quarantined, still booting) is a finding, not a crash.
                reports.Add(Unreachable(node.Name, e.Message));
                return;
            }

            await using (session.ConfigureAwait(false))
            {
                reports.Add(await _runner.RunAsync(session, node.Name, checks, ct).ConfigureAwait(false));
            }
        }).ConfigureAwait(false);

        var ordered = reports.OrderBy(r => r.Node, StringComparer.Ordinal).ToList();
        return new AuditPhaseResult
        {
            Phase = Name,
            Failed = ordered.Any(r => !r.Passed),
            Summary = AuditReportFormatter.Summary(ordered),
            Details = [.. ordered.SelectMany(r => r.Results.Where(x => x.IsFailure).Select(x => $"{r.Node}: {x.Id} expected {x.Expected}, found {x.Found}"))],
            Reports = ordered.AsReadOnly(),
        };
    }

    /// <summary>The id of the result reported for a node the audit could not reach.</summary>
    public const string ReachableCheckId = "node.ssh-reachable";

    private static AuditReport Unreachable(string node, string reason) => new()
    {
        Node = node,
        Results =
        [
            new AuditResult
            {
                Id = ReachableCheckId,
                Title = "the node answers SSH with its pinned host key",
                Expected = "an SSH session",
                Found = reason,
                Status = AuditStatus.Error,
            },
        ],
    };
}

/// <summary>The audit phase's result, with every node's report.</summary>
public sealed record AuditPhaseResult : StackPhaseResult
{
    /// <summary>One report per node, by node name.</summary>
    public required IReadOnlyList<AuditReport> Reports { get; init; }
}
