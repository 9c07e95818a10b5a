using Provisioner.Core.Stacks;
using Provisioner.Engine.Forensics;

namespace Provisioner.Engine.Replacement;

/// <summary>What <c>node reprovision</c> is asked to do.</summary>
public sealed record ReprovisionRequest
{
    /// <summary>Why (recorded in the quarantine record).</summary>
    public required string Reason { get; init; }

    /// <summary>Who.</summary>
    public required string Operator { get; init; }

    /// <summary>Pause the guest while it waits for capture.</summary>
    public bool Pause { get; init; }
}

/// <summary>The outcome of a reprovisioning.</summary>
/// <param name="Quarantine">The quarantine (null when the run continued after the old machine was already gone).</param>
/// <param name="EvidenceDirectory">Where the evidence is.</param>
/// <param name="Replacement">The replacement.</param>
public sealed record ReprovisionResult(QuarantineResult? Quarantine, string? EvidenceDirectory, ReplacementResult Replacement);

/// <summary>
/// Quarantine, capture, replace in one go. Stops before the replacement when the capture fails, so a machine is
/// never destroyed without its evidence; a re-run continues (a complete, intact evidence set recorded on the node
/// is not captured again; a replacement in progress is resumed).
/// </summary>
public sealed class NodeReprovisioner
{
    private readonly NodeQuarantine _quarantine;
    private readonly EvidenceCapture _capture;
    private readonly NodeReplacer _replacer;
    private readonly TimeProvider _time;

    /// <summary>Creates the reprovisioner.</summary>
    public NodeReprovisioner(NodeQuarantine quarantine, EvidenceCapture capture, NodeReplacer replacer, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(quarantine);
        ArgumentNullException.ThrowIfNull(capture);
        ArgumentNullException.ThrowIfNull(replacer);
        ArgumentNullException.ThrowIfNull(time);
        _quarantine = quarantine;
        _capture = capture;
        _replacer = replacer;
        _time = time;
    }

    /// <summary>Reprovisions <paramref name="node"/>.</summary>
    /// <exception cref="NodeLookupException">Unknown node or a node of another stack; nothing was changed.</exception>
    /// <exception cref="QuarantineException">The node could not be cut off; nothing else was done.</exception>
    /// <exception cref="InsufficientEvidenceSpaceException">No room for evidence; the node stays quarantined, nothing destroyed.</exception>
    /// <exception cref="EvidenceCaptureException">Capture failed; the node stays quarantined, nothing destroyed.</exception>
    public async Task<ReprovisionResult> ReprovisionAsync(StackDefinition stack, string node, ReprovisionRequest request, Timeline? timeline, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentNullException.ThrowIfNull(request);
        timeline ??= new Timeline(_time);
        var pending = await ReplacementProgress.ReadAsync(_replacer.NodeDirectory(stack.Name, node), cancellationToken).ConfigureAwait(false);
        if (pending is { Step: ReplacementStep.Drained or ReplacementStep.Recreating or ReplacementStep.Recreated })
        {
            // The old machine may already be gone: its evidence was taken before the replacement started.
            timeline.Skip("quarantine", $"continuing a replacement that reached '{pending.Step}'");
            timeline.Skip("capture", "captured before the replacement started");
            var resumed = await _replacer.ReplaceAsync(stack, node, request.Operator, timeline, cancellationToken).ConfigureAwait(false);
            return new ReprovisionResult(null, null, resumed);
        }

        var quarantine = await timeline.RunAsync("quarantine", async () =>
        {
            var q = await _quarantine.QuarantineAsync(stack, node, new QuarantineRequest { Reason = request.Reason, Operator = request.Operator, Pause = request.Pause }, cancellationToken).ConfigureAwait(false);
            return (q, q.AlreadyQuarantined ? $"already quarantined since {q.Record.Since:O} by {q.Record.Operator}" : $"cut {q.CutNow.Count} interface(s){(q.PausedNow ? ", paused" : string.Empty)}");
        }).ConfigureAwait(false);

        string evidence;
        if (quarantine.Record.EvidencePath is { } earlier && await IntactAsync(earlier, cancellationToken).ConfigureAwait(false))
        {
            timeline.Skip("capture", $"an intact evidence set was already captured: {earlier}");
            evidence = earlier;
        }
        else
        {
            evidence = await timeline.RunAsync("capture", async () =>
            {
                var captured = await _capture.CaptureAsync(stack, node, new CaptureRequest { Operator = request.Operator }, progress, cancellationToken).ConfigureAwait(false);
                return (captured.Directory, $"{captured.Manifest.Files.Count} file(s), {captured.Manifest.Files.Sum(f => f.Bytes) / (1024 * 1024)} MiB in {captured.Directory}");
            }).ConfigureAwait(false);
        }

        var replacement = await _replacer.ReplaceAsync(stack, node, request.Operator, timeline, cancellationToken).ConfigureAwait(false);
        return new ReprovisionResult(quarantine, evidence, replacement);
    }

    private static async Task<bool> IntactAsync(string directory, CancellationToken cancellationToken)
    {
        try
        {
            return (await EvidenceVerifier.VerifyAsync(directory, cancellationToken).ConfigureAwait(false)).Intact;
        }
        catch (EvidenceManifestException)
        {
            return false;
        }
        catch (IOException)
        {
            return false;
        }
    }
}
