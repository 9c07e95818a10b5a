using k8s;
using Provisioner.Core.Stacks;
using Provisioner.Engine.Forensics;
using Provisioner.Engine.Phases;

namespace Provisioner.Engine.Replacement;

/// <summary>Rejoins a re-created node to the stack's Kubernetes cluster.</summary>
public interface IClusterRejoin
{
    /// <summary>Why no rejoin can happen for this stack (no cluster, no package source), or null when it can.</summary>
    string? WhyNot(StackDefinition stack);

    /// <summary>Joins <paramref name="node"/> again with a fresh short-lived token; returns a line for the timeline.</summary>
    Task<string> RejoinAsync(StackDefinition stack, NodeStatus node, CancellationToken cancellationToken);
}

/// <summary>What a replacement needs besides the engine.</summary>
public sealed record NodeReplacerOptions
{
    /// <summary>Hosts, clock and evidence root (the progress record lives beside the evidence).</summary>
    public required ForensicsOptions Forensics { get; init; }

    /// <summary>Re-applies the hardening on the new node (run before the rejoin), or null.</summary>
    public IStackPhase? Repair { get; init; }

    /// <summary>Audits the new node (run last), or null.</summary>
    public IStackPhase? Audit { get; init; }

    /// <summary>A client for the stack's Kubernetes API, or null where there is none (the Kubernetes steps are then skipped, saying why).</summary>
    public Func<StackDefinition, IKubernetes?>? Kubernetes { get; init; }

    /// <summary>The etcd membership seen from a control plane other than the one being replaced (the node name is the one leaving).</summary>
    public Func<StackDefinition, string, CancellationToken, Task<IEtcdMembership>>? Etcd { get; init; }

    /// <summary>Rejoins the new node, or null.</summary>
    public IClusterRejoin? Rejoin { get; init; }

    /// <summary>How long the drain may take.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How often the drain looks again.</summary>
    public TimeSpan DrainPollInterval { get; init; } = TimeSpan.FromSeconds(2);
}

/// <summary>The outcome of a replacement.</summary>
public sealed record ReplacementResult
{
    /// <summary>The node as it is now.</summary>
    public required NodeStatus Node { get; init; }

    /// <summary>The replaced machine's host key fingerprint (null when unknown after an interrupted run).</summary>
    public string? OldHostKeyFingerprint { get; init; }

    /// <summary>Every step with its duration.</summary>
    public required IReadOnlyList<TimelineStep> Timeline { get; init; }

    /// <summary>What the hardening and audit phases found.</summary>
    public IReadOnlyList<StackPhaseResult> Phases { get; init; } = [];

    /// <summary>Whether the audit ran and passed (null when it did not run).</summary>
    public bool? AuditPassed { get; init; }

    /// <summary>Things worth knowing (no evidence was captured, the node was not quarantined).</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
}

/// <summary>A replacement stopped; the message says in which state it left the node and that a re-run continues.</summary>
public sealed class ReplacementException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ReplacementException() { }

    /// <summary>Creates the exception.</summary>
    public ReplacementException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public ReplacementException(string message, Exception inner) : base(message, inner) { }

    /// <summary>The last step recorded.</summary>
    public string? Step { get; init; }

    /// <summary>The steps up to the failure.</summary>
    public IReadOnlyList<TimelineStep> Timeline { get; init; } = [];
}

/// <summary>
/// Replaces a (compromised) node with a clean one from the golden image: drains it out of Kubernetes (etcd member
/// first for a control plane, then the Node object), destroys the machine and its volumes, re-creates it with a
/// fresh identity but the same name and address, re-applies the hardening, rejoins the cluster and audits it.
/// Never touches evidence; a drain that does not finish destroys nothing; a re-run after an interruption continues
/// from the progress record.
/// </summary>
public sealed class NodeReplacer
{
    private readonly StackEngine _engine;
    private readonly NodeReplacerOptions _options;

    /// <summary>Creates the replacer.</summary>
    public NodeReplacer(StackEngine engine, NodeReplacerOptions options)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(options);
        _engine = engine;
        _options = options;
    }

    /// <summary>Where the node's progress record and evidence live.</summary>
    public string NodeDirectory(string stack, string node) => Path.Combine(_options.Forensics.EvidenceRoot, stack, node);

    /// <summary>Replaces <paramref name="node"/>.</summary>
    /// <param name="stack">The stack.</param>
    /// <param name="node">The node.</param>
    /// <param name="operatorName">Who (recorded in the progress record).</param>
    /// <param name="timeline">A timeline to append to (reprovision shares one), or null for a new one.</param>
    /// <param name="cancellationToken">Cancels between and within steps; a re-run continues.</param>
    /// <exception cref="NodeLookupException">Unknown node, or a node of another stack; nothing was changed.</exception>
    /// <exception cref="DrainTimeoutException">The drain did not finish; nothing was destroyed.</exception>
    /// <exception cref="ReplacementException">A later step failed; the message says what state the node is in.</exception>
    public async Task<ReplacementResult> ReplaceAsync(StackDefinition stack, string node, string operatorName, Timeline? timeline, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentException.ThrowIfNullOrEmpty(operatorName);
        var time = _options.Forensics.Time;
        timeline ??= new Timeline(time);
        GuardEvidenceRoot(stack);
        var directory = NodeDirectory(stack.Name, node);
        var progress = await ReplacementProgress.ReadAsync(directory, cancellationToken).ConfigureAwait(false);
        var resuming = progress is not null && progress.Step != ReplacementStep.Done;
        var notes = new List<string>();

        NodeStatus? current;
        QuarantineRecord? quarantine = null;
        using (var hosts = StackHosts.Open(stack, _options.Forensics.Connector))
        {
            var found = hosts.TryFind(node);
            if (found is null && !(resuming && progress!.Step is ReplacementStep.Recreating or ReplacementStep.Drained))
            {
                throw hosts.NotFound(node);
            }

            if (found is { } f)
            {
                using var domain = f.Host.Connection.LookupDomain(f.Node.DomainName);
                quarantine = NodeQuarantine.Read(domain);
            }
        }

        current = (await _engine.StatusAsync(stack, cancellationToken).ConfigureAwait(false)).Nodes.FirstOrDefault(n => n.Name == node);
        if (!resuming)
        {
            if (quarantine is null)
            {
                notes.Add("the node was not quarantined before its replacement");
            }

            if (quarantine?.EvidencePath is null)
            {
                notes.Add("no evidence was captured from the node before its replacement");
            }

            progress = new ReplacementProgress
            {
                Stack = stack.Name,
                Node = node,
                Operator = operatorName,
                Started = time.GetUtcNow(),
                Step = ReplacementStep.Draining,
                Updated = time.GetUtcNow(),
                OldHostKeyFingerprint = current?.HostKeyFingerprint,
            };
            await progress.WriteAsync(directory, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            notes.Add($"continuing an interrupted replacement (last step: {progress!.Step}, started {progress.Started:O} by {progress.Operator})");
        }

        var step = progress.Step;
        async Task AdvanceAsync(string next)
        {
            progress = progress! with { Step = next, Updated = time.GetUtcNow() };
            await progress.WriteAsync(directory, cancellationToken).ConfigureAwait(false);
            step = next;
        }

        // 1. Out of the cluster. A failure here destroys nothing.
        if (step == ReplacementStep.Draining)
        {
            await LeaveClusterAsync(stack, node, timeline, cancellationToken).ConfigureAwait(false);
            await AdvanceAsync(ReplacementStep.Drained).ConfigureAwait(false);
        }

        // 2. The machine. From here until it is back, the node is half-replaced and the record says so.
        NodeStatus replaced;
        try
        {
            if (step is ReplacementStep.Drained or ReplacementStep.Recreating)
            {
                await AdvanceAsync(ReplacementStep.Recreating).ConfigureAwait(false);
                replaced = await timeline.RunAsync("recreate", async () =>
                {
                    var status = await _engine.ReplaceNodeAsync(stack, node, cancellationToken).ConfigureAwait(false);
                    return (status, $"re-created from the golden image: address {status.Address}, host key {status.HostKeyFingerprint}");
                }).ConfigureAwait(false);
                await AdvanceAsync(ReplacementStep.Recreated).ConfigureAwait(false);
            }
            else
            {
                replaced = current ?? throw new ReplacementException($"node '{node}' is recorded as re-created but does not exist; run replace again") { Step = step };
            }

            // 3. Hardening, cluster, audit on the new machine only.
            var phases = new List<StackPhaseResult>();
            if (_options.Repair is { } repair)
            {
                phases.AddRange(await timeline.RunAsync("harden", async () =>
                {
                    var r = await _engine.RunPhasesAsync(stack, [repair], [node], cancellationToken).ConfigureAwait(false);
                    return (r, string.Join("; ", r.Select(x => x.Summary)));
                }).ConfigureAwait(false));
            }
            else
            {
                timeline.Skip("harden", "no hardening phase configured (the node got its hardening at first boot)");
            }

            await RejoinAsync(stack, replaced, timeline, cancellationToken).ConfigureAwait(false);

            bool? auditPassed = null;
            if (_options.Audit is { } audit)
            {
                var results = await timeline.RunAsync("audit", async () =>
                {
                    var r = await _engine.RunPhasesAsync(stack, [audit], [node], cancellationToken).ConfigureAwait(false);
                    return (r, string.Join("; ", r.Select(x => x.Summary)));
                }).ConfigureAwait(false);
                phases.AddRange(results);
                auditPassed = !results.Any(r => r.Failed);
            }
            else
            {
                timeline.Skip("audit", "no audit phase configured");
            }

            await AdvanceAsync(ReplacementStep.Done).ConfigureAwait(false);
            return new ReplacementResult
            {
                Node = replaced,
                OldHostKeyFingerprint = progress.OldHostKeyFingerprint,
                Timeline = timeline.Steps,
                Phases = phases,
                AuditPassed = auditPassed,
                Notes = notes,
            };
        }
        catch (Exception e) when (e is not ReplacementException and not OperationCanceledException)
        {
            var state = step == ReplacementStep.Recreating
                ? $"node '{node}' is HALF-REPLACED (its old machine may be gone, the new one is not ready)"
                : $"node '{node}' has been re-created; the steps after it did not finish";
            throw new ReplacementException($"{state}: {e.Message}; evidence is untouched; run the same replace again to continue", e)
            {
                Step = step,
                Timeline = timeline.Steps,
            };
        }
    }

    private async Task LeaveClusterAsync(StackDefinition stack, string node, Timeline timeline, CancellationToken cancellationToken)
    {
        if (stack.Kubernetes is null)
        {
            timeline.Skip("drain", "the stack has no Kubernetes cluster");
            return;
        }

        var client = _options.Kubernetes?.Invoke(stack);
        if (client is null)
        {
            timeline.Skip("drain", "no Kubernetes API access for the stack (no kubeconfig given)");
            return;
        }

        var drainer = new KubernetesNodeDrainer(client, _options.Forensics.Time) { Timeout = _options.DrainTimeout, PollInterval = _options.DrainPollInterval };
        if (!await drainer.NodeExistsAsync(node, cancellationToken).ConfigureAwait(false))
        {
            timeline.Skip("drain", $"the cluster has no Node '{node}' (never joined, or already removed)");
        }
        else
        {
            await timeline.RunAsync("drain", async () =>
            {
                var drained = await drainer.DrainAsync(node, cancellationToken).ConfigureAwait(false);
                return $"cordoned; evicted {drained.Evicted.Count} pod(s); left {drained.Ignored.Count} DaemonSet/static pod(s)";
            }).ConfigureAwait(false);
        }

        var definition = stack.FindNode(node);
        if (definition?.Role == NodeRole.ControlPlane)
        {
            if (_options.Etcd is null)
            {
                timeline.Skip("etcd", "no way to reach etcd configured");
            }
            else
            {
                await timeline.RunAsync("etcd", async () =>
                {
                    var membership = await _options.Etcd(stack, node, cancellationToken).ConfigureAwait(false);
                    try
                    {
                        return await EtcdMemberRemoval.RemoveAsync(membership, node, cancellationToken).ConfigureAwait(false);
                    }
                    finally
                    {
                        if (membership is IAsyncDisposable disposable)
                        {
                            await disposable.DisposeAsync().ConfigureAwait(false);
                        }
                    }
                }).ConfigureAwait(false);
            }
        }
        else
        {
            timeline.Skip("etcd", "not a control-plane node");
        }

        await timeline.RunAsync("delete-node-object", async () =>
            await drainer.DeleteNodeAsync(node, cancellationToken).ConfigureAwait(false) ? $"deleted Node '{node}'" : $"Node '{node}' was already gone").ConfigureAwait(false);
    }

    private async Task RejoinAsync(StackDefinition stack, NodeStatus node, Timeline timeline, CancellationToken cancellationToken)
    {
        if (stack.Kubernetes is null)
        {
            timeline.Skip("rejoin", "the stack has no Kubernetes cluster");
            return;
        }

        if (_options.Rejoin is null)
        {
            timeline.Skip("rejoin", "no cluster access configured");
            return;
        }

        if (_options.Rejoin.WhyNot(stack) is { } why)
        {
            timeline.Skip("rejoin", why);
            return;
        }

        await timeline.RunAsync("rejoin", () => _options.Rejoin.RejoinAsync(stack, node, cancellationToken)).ConfigureAwait(false);
    }

    private void GuardEvidenceRoot(StackDefinition stack)
    {
        var root = Path.GetFullPath(_options.Forensics.EvidenceRoot).TrimEnd('/') + "/";
        foreach (var host in stack.Hosts)
        {
            var pool = Path.GetFullPath(host.Pool.Path).TrimEnd('/') + "/";
            if (root.StartsWith(pool, StringComparison.Ordinal) || pool.StartsWith(root, StringComparison.Ordinal))
            {
                throw new InvalidOperationException(
                    $"the evidence root {root} overlaps storage pool '{host.Pool.Name}' ({pool}) of host '{host.Name}': replacing a node deletes pool volumes, so evidence must live elsewhere");
            }
        }
    }
}
