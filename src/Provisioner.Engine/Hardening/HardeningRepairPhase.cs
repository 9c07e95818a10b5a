using System.Collections.Concurrent;
using Provisioner.Engine.Phases;

namespace Provisioner.Engine.Hardening;

/// <summary>
/// Re-applies every node's hardening bundle over SSH (idempotent: only files that differ are written and
/// only the commands they trigger run), so drift found by the audit is repaired.
/// </summary>
public sealed class HardeningRepairPhase : IStackPhase
{
    private readonly NodeHardening _hardening;
    private readonly HardeningApplier _applier;

    /// <summary>Creates the phase.</summary>
    public HardeningRepairPhase(NodeHardening hardening, HardeningApplier applier)
    {
        ArgumentNullException.ThrowIfNull(hardening);
        ArgumentNullException.ThrowIfNull(applier);
        _hardening = hardening;
        _applier = applier;
    }

    /// <inheritdoc />
    public string Name => "harden";

    /// <inheritdoc />
    public async Task<StackPhaseResult> RunAsync(StackPhaseContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var results = new ConcurrentBag<HardeningApplyResult>();
        await Parallel.ForEachAsync(context.Nodes, cancellationToken, async (node, ct) =>
        {
            var bundle = _hardening.Render(context.Stack, node.Name);
            var session = await context.Access.OpenAsync(context.Stack, node, ct).ConfigureAwait(false);
            await using (session.ConfigureAwait(false))
            {
                results.Add(await _applier.ApplyAsync(session, bundle, ct).ConfigureAwait(false));
            }
        }).ConfigureAwait(false);

        var ordered = results.OrderBy(r => r.Node, StringComparer.Ordinal).ToList();
        var repaired = ordered.Where(r => r.Repaired).ToList();
        return new StackPhaseResult
        {
            Phase = Name,
            Changed = repaired.Count > 0,
            Summary = repaired.Count == 0
                ? $"hardening in place on {ordered.Count} node(s); nothing to repair"
                : $"repaired {repaired.Count} of {ordered.Count} node(s)",
            Details = [.. repaired.Select(r => $"{r.Node}: rewrote {string.Join(", ", r.ChangedFiles)}; ran {string.Join("; ", r.Ran.Select(c => c.ToString()))}")],
        };
    }
}
