using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Provisioner.Core.Naming;
using Provisioner.Core.Stacks;
using Provisioner.Core.Templates;
using Provisioner.Engine.Access;
using Provisioner.Engine.Execution;
using Provisioner.Engine.Graph;
using Provisioner.Engine.Hosts;
using Provisioner.Engine.Images;
using Provisioner.Engine.Inventory;
using Provisioner.Engine.Keys;
using Provisioner.Engine.Phases;
using Provisioner.Engine.Planning;
using Provisioner.Engine.Readiness;
using Provisioner.Remote.Keys;

namespace Provisioner.Engine;

/// <summary>Everything the engine needs from outside, with production defaults where one exists.</summary>
public sealed record StackEngineOptions
{
    /// <summary>Templates for libvirt XML and node configuration.</summary>
    public required TemplateRenderer Templates { get; init; }

    /// <summary>Where golden images come from.</summary>
    public required IGoldenImageSource Images { get; init; }

    /// <summary>Decides when a booted node is ready.</summary>
    public required INodeReadiness Readiness { get; init; }

    /// <summary>Where admin keys and known_hosts files live.</summary>
    public required StackKeyStore Keys { get; init; }

    /// <summary>How connections to hosts are opened.</summary>
    public IHostConnector Connector { get; init; } = LibvirtHostConnector.Instance;

    /// <summary>How bytes reach volumes (libvirt streams).</summary>
    public IVolumeContent VolumeContent { get; init; } = LibvirtVolumeContent.Instance;

    /// <summary>The clock.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Logging.</summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    /// <summary>How many steps run at once (nodes boot in parallel; libvirt calls are blocking).</summary>
    public int MaxParallelism { get; init; } = 8;

    /// <summary>Extra first-boot configuration per node, from features above the core (runtime, firewall, Kubernetes).</summary>
    public Func<StackDefinition, DesiredNode, NodeProvisioningExtras>? Extras { get; init; }

    /// <summary>Work run after every <c>up</c> once all nodes are ready (audit, Kubernetes), in order.</summary>
    public IReadOnlyList<IStackPhase> Phases { get; init; } = [];

    /// <summary>How phases reach nodes over SSH; required when <see cref="Phases"/> is not empty.</summary>
    public INodeAccess? Access { get; init; }
}

/// <summary>Per-run choices for <c>StackEngine.UpAsync</c>.</summary>
public sealed record UpOptions
{
    /// <summary>Defaults: no expiry, wait for readiness.</summary>
    public static readonly UpOptions Default = new();

    /// <summary>
    /// The expiry to record on a node created in this run (sandboxes), by node name; null for none.
    /// Existing nodes keep what their metadata says.
    /// </summary>
    public Func<string, DateTimeOffset?>? ExpiryFor { get; init; }

    /// <summary>
    /// The nodes the phases after up look at (a new sandbox audits itself, not its neighbours); null for all.
    /// </summary>
    public IReadOnlyCollection<string>? PhaseNodes { get; init; }

    /// <summary>
    /// When set, only these nodes are created, updated or deleted in this run: other nodes of the stack stay as they
    /// are (existing or not) and leftover volumes are kept. Shared parts (pool, golden image, networks) are still
    /// brought up as needed. The Pulumi provider uses this, since each node is a resource of its own there.
    /// </summary>
    public IReadOnlySet<string>? OnlyNodes { get; init; }
}

/// <summary>The result of <c>StackEngine.UpAsync</c>.</summary>
/// <param name="Plan">What was planned (and done).</param>
/// <param name="Changed">False when nothing needed doing.</param>
/// <param name="Nodes">Every node of the stack as it is now.</param>
/// <param name="Phases">What each phase run after the nodes were ready did, in order.</param>
public sealed record UpResult(StackPlan Plan, bool Changed, IReadOnlyList<NodeStatus> Nodes, IReadOnlyList<StackPhaseResult> Phases)
{
    /// <summary>Whether the nodes or any phase changed something.</summary>
    public bool AnythingChanged => Changed || Phases.Any(p => p.Changed);
}

/// <summary>A node's state as read back after a run.</summary>
public sealed record NodeStatus
{
    /// <summary>Node name.</summary>
    public required string Name { get; init; }

    /// <summary>Host it runs on.</summary>
    public required string Host { get; init; }

    /// <summary>Role.</summary>
    public required string Role { get; init; }

    /// <summary>Reserved IPv4 address.</summary>
    public string? Address { get; init; }

    /// <summary>Run state.</summary>
    public required string State { get; init; }

    /// <summary>Pinned host key fingerprint.</summary>
    public required string HostKeyFingerprint { get; init; }

    /// <summary>The pinned host public key as an OpenSSH line (<c>ssh-ed25519 AAAA…</c>).</summary>
    public string? HostPublicKey { get; init; }

    /// <summary>Whether the first boot finished.</summary>
    public required bool Ready { get; init; }

    /// <summary>When the node expires (sandboxes).</summary>
    public DateTimeOffset? Expires { get; init; }

    /// <summary>When it was created.</summary>
    public required DateTimeOffset Created { get; init; }
}

/// <summary>A node name that is not a node of the stack, or one that does not exist on any host.</summary>
public sealed class UnknownNodeException : Exception
{
    /// <summary>Creates the exception.</summary>
    public UnknownNodeException(string stack, string node)
        : base($"'{node}' is not an existing node of stack '{stack}'")
    {
        Stack = stack;
        Node = node;
    }

    /// <summary>Creates the exception.</summary>
    public UnknownNodeException() { }

    /// <summary>Creates the exception.</summary>
    public UnknownNodeException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public UnknownNodeException(string message, Exception inner) : base(message, inner) { }

    /// <summary>The stack.</summary>
    public string? Stack { get; }

    /// <summary>The node name asked for.</summary>
    public string? Node { get; }
}

/// <summary>A plan that cannot be carried out (nodes that cannot be placed).</summary>
public sealed class PlanRejectedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public PlanRejectedException(StackPlan plan)
        : base($"stack '{plan?.Stack}' cannot be placed: " + string.Join("; ", plan?.Unplaced.Select(u => $"{u.Node}: {u.Reason}") ?? []))
    {
        Plan = plan;
    }

    /// <summary>Creates the exception.</summary>
    public PlanRejectedException() { }

    /// <summary>Creates the exception.</summary>
    public PlanRejectedException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public PlanRejectedException(string message, Exception inner) : base(message, inner) { }

    /// <summary>The rejected plan.</summary>
    public StackPlan? Plan { get; }
}

/// <summary>
/// The one engine behind the CLI and the Pulumi provider: preview, up, destroy and status for a
/// stack, with state read back from libvirt every time.
/// </summary>
public sealed partial class StackEngine
{
    private readonly StackEngineOptions _options;
    private readonly HostOperations _hostOps;
    private readonly NodeOperations _nodeOps;
    private readonly ILogger _logger;

    /// <summary>Creates the engine.</summary>
    public StackEngine(StackEngineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _hostOps = new HostOperations(options.Templates, options.Time, options.VolumeContent);
        _nodeOps = new NodeOperations(options.Templates, options.Time, options.VolumeContent, options.Readiness);
        _logger = options.LoggerFactory.CreateLogger<StackEngine>();
    }

    /// <summary>The options the engine was created with (features beside it, such as node forensics, share its connector and clock).</summary>
    public StackEngineOptions Options => _options;

    /// <summary>Raised for every step that starts, finishes or fails during up and destroy.</summary>
    public event EventHandler<StepEvent>? StepChanged;

    /// <summary>What <c>up</c> would do, computed from the definition and what exists. Changes nothing.</summary>
    public async Task<StackPlan> PreviewAsync(StackDefinition stack, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stack);
        using var hosts = await OpenHostsAsync(stack, cancellationToken).ConfigureAwait(false);
        var image = await _options.Images.PeekAsync(stack.Image, cancellationToken).ConfigureAwait(false);
        return Plan(stack, hosts, image).Plan;
    }

    /// <summary>Brings the stack to its definition. A second run with nothing changed does nothing.</summary>
    /// <exception cref="PlanRejectedException">Some nodes cannot be placed; nothing was changed.</exception>
    /// <exception cref="StepFailedException">A step failed; the message names it. Running up again continues.</exception>
    public Task<UpResult> UpAsync(StackDefinition stack, CancellationToken cancellationToken) =>
        UpAsync(stack, UpOptions.Default, cancellationToken);

    /// <summary>Brings the stack to its definition, with per-run <paramref name="options"/>.</summary>
    /// <exception cref="PlanRejectedException">Some nodes cannot be placed; nothing was changed.</exception>
    /// <exception cref="StepFailedException">A step failed; the message names it. Running up again continues.</exception>
    public async Task<UpResult> UpAsync(StackDefinition stack, UpOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentNullException.ThrowIfNull(options);
        using var hosts = await OpenHostsAsync(stack, cancellationToken).ConfigureAwait(false);
        var image = await _options.Images.PeekAsync(stack.Image, cancellationToken).ConfigureAwait(false);
        var (plan, desired, observed) = Plan(stack, hosts, image);
        plan = Restrict(plan, options.OnlyNodes);
        if (plan.Unplaced.Count > 0)
        {
            throw new PlanRejectedException(plan);
        }

        if (!plan.HasChanges)
        {
            LogNothingToDo(_logger, stack.Name);
            var unchanged = Status(observed, desired);
            return new UpResult(plan, false, unchanged,
                await RunPhasesAsync(stack, Only(unchanged, options.PhaseNodes), new HashSet<string>(), _options.Phases, cancellationToken).ConfigureAwait(false));
        }

        // Check every host can run the stack's guests before creating anything anywhere.
        foreach (var host in hosts.Sessions.Values)
        {
            VirtualizationChoice.Choose(host.Name, host.Capabilities, stack.Virtualization);
        }

        GoldenImageFile? imageFile = null;
        if (plan.Changes.Any(c => c.Kind == ResourceKind.Image || c.Change is ChangeKind.Create or ChangeKind.Replace))
        {
            imageFile = await _options.Images.EnsureAsync(stack.Image, null, cancellationToken).ConfigureAwait(false);
            if (image.Sha256 is null)
            {
                // The image did not exist at planning time: plan again with its checksum.
                image = imageFile.Reference;
                (plan, desired, observed) = Plan(stack, hosts, image);
                plan = Restrict(plan, options.OnlyNodes);
            }
        }

        var keys = await _options.Keys.GetOrCreateAsync(stack.Name, cancellationToken).ConfigureAwait(false);
        var context = new StackRunContext(stack, keys, image, hosts.Sessions)
        {
            Extras = _options.Extras is null ? null : node => _options.Extras(stack, node),
            ExpiryFor = options.ExpiryFor,
        };

        var graph = BuildUpGraph(context, plan, desired, observed, imageFile);
        await RunAsync(graph, cancellationToken).ConfigureAwait(false);

        // One read of what now exists serves the known_hosts file and the status shown.
        var after = Plan(stack, hosts, image);
        await WriteKnownHostsAsync(stack, after.Observed, after.Desired, cancellationToken).ConfigureAwait(false);
        var nodes = Status(after.Observed, after.Desired);
        var created = plan.Changes
            .Where(c => c.Kind == ResourceKind.Node && c.Change is ChangeKind.Create or ChangeKind.Replace)
            .Select(c => c.Name)
            .ToHashSet(StringComparer.Ordinal);
        return new UpResult(plan, true, nodes,
            await RunPhasesAsync(stack, Only(nodes, options.PhaseNodes), created, _options.Phases, cancellationToken).ConfigureAwait(false));
    }

    private static IReadOnlyList<NodeStatus> Only(IReadOnlyList<NodeStatus> nodes, IReadOnlyCollection<string>? names) =>
        names is null ? nodes : [.. nodes.Where(n => names.Contains(n.Name))];

    /// <summary>
    /// Runs <paramref name="phases"/> against the stack's nodes as they are now (all of them, or those named in
    /// <paramref name="onlyNodes"/>), without changing any VM: the audit and repair commands use this.
    /// </summary>
    /// <exception cref="UnknownNodeException">A name in <paramref name="onlyNodes"/> is not a node of the stack that exists.</exception>
    public async Task<IReadOnlyList<StackPhaseResult>> RunPhasesAsync(
        StackDefinition stack, IReadOnlyList<IStackPhase> phases, IReadOnlyCollection<string>? onlyNodes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentNullException.ThrowIfNull(phases);
        var (_, nodes) = await StatusAsync(stack, cancellationToken).ConfigureAwait(false);
        if (onlyNodes is { Count: > 0 })
        {
            var unknown = onlyNodes.FirstOrDefault(n => nodes.All(x => x.Name != n));
            if (unknown is not null)
            {
                throw new UnknownNodeException(stack.Name, unknown);
            }
            nodes = [.. nodes.Where(n => onlyNodes.Contains(n.Name))];
        }
        return await RunPhasesAsync(stack, nodes, new HashSet<string>(), phases, cancellationToken).ConfigureAwait(false);
    }

    private async Task<IReadOnlyList<StackPhaseResult>> RunPhasesAsync(
        StackDefinition stack, IReadOnlyList<NodeStatus> nodes, IReadOnlySet<string> created, IReadOnlyList<IStackPhase> phases, CancellationToken cancellationToken)
    {
        if (phases.Count == 0)
        {
            return [];
        }

        var access = _options.Access ?? throw new InvalidOperationException("phases need StackEngineOptions.Access to reach the nodes");
        var context = new StackPhaseContext { Stack = stack, Nodes = nodes, CreatedNodes = created, Access = access, Time = _options.Time };
        var results = new List<StackPhaseResult>();
        foreach (var phase in phases)
        {
            var step = "phase/" + phase.Name;
            StepChanged?.Invoke(this, new StepEvent(step, phase.Name, StepState.Started, null));
            try
            {
                var result = await phase.RunAsync(context, cancellationToken).ConfigureAwait(false);
                results.Add(result);
                StepChanged?.Invoke(this, new StepEvent(step, $"{phase.Name}: {result.Summary}", result.Failed ? StepState.Failed : StepState.Succeeded, null));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                StepChanged?.Invoke(this, new StepEvent(step, phase.Name, StepState.Failed, e));
                throw new StepFailedException(step, phase.Name, e);
            }
        }
        return results.AsReadOnly();
    }

    /// <summary>
    /// Replaces exactly one node: destroys its domain, deletes its volumes and creates it again from the golden image
    /// with a fresh identity (new host key; the image's first boot makes a new machine-id) but the same name, MAC and
    /// address. Other nodes are not touched, even where they differ from the definition. The pool, golden image and
    /// network of the node's host are created first if missing. Running it again after an interruption finishes
    /// the job (a node that is already gone is simply created).
    /// </summary>
    /// <returns>The node as it is after the replacement.</returns>
    /// <exception cref="KeyNotFoundException">The stack's definition has no such node.</exception>
    /// <exception cref="PlanRejectedException">The node cannot be placed.</exception>
    /// <exception cref="StepFailedException">A step failed; the message names it.</exception>
    public async Task<NodeStatus> ReplaceNodeAsync(StackDefinition stack, string node, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentException.ThrowIfNullOrEmpty(node);
        using var hosts = await OpenHostsAsync(stack, cancellationToken).ConfigureAwait(false);
        var image = await _options.Images.PeekAsync(stack.Image, cancellationToken).ConfigureAwait(false);
        var (plan, desired, observed) = Plan(stack, hosts, image);
        if (plan.Unplaced.FirstOrDefault(u => u.Node == node) is { } unplaced)
        {
            throw new PlanRejectedException(plan with { Unplaced = [unplaced] });
        }

        var target = desired.FirstOrDefault(d => d.Name == node)
            ?? throw new KeyNotFoundException($"stack '{stack.Name}' defines no node '{node}'");
        var host = hosts.Sessions[target.Host];
        VirtualizationChoice.Choose(host.Name, host.Capabilities, stack.Virtualization);

        var imageFile = await _options.Images.EnsureAsync(stack.Image, null, cancellationToken).ConfigureAwait(false);
        if (image.Sha256 is null)
        {
            image = imageFile.Reference;
            (plan, desired, observed) = Plan(stack, hosts, image);
            target = desired.First(d => d.Name == node);
        }

        var exists = observed.Values.Any(h => h.Nodes.ContainsKey(node));
        // Only what this node needs on its host, and the node itself as a replacement (or a creation when an
        // interrupted replacement already removed it).
        var scoped = plan with
        {
            Resources = [.. plan.Resources
                .Where(r => r.Host == target.Host && (r.Kind is ResourceKind.Pool or ResourceKind.Image
                    || (r.Kind == ResourceKind.Network && r.Name == target.Definition.Network && r.Change != ChangeKind.Delete)))
                .Append(new ResourceChange
                {
                    Kind = ResourceKind.Node,
                    Name = node,
                    Host = target.Host,
                    Change = exists ? ChangeKind.Replace : ChangeKind.Create,
                    Reason = "replace with a fresh identity",
                })],
        };

        var keys = await _options.Keys.GetOrCreateAsync(stack.Name, cancellationToken).ConfigureAwait(false);
        var context = new StackRunContext(stack, keys, image, hosts.Sessions)
        {
            Extras = _options.Extras is null ? null : n => _options.Extras(stack, n),
        };

        await RunAsync(BuildUpGraph(context, scoped, desired, observed, imageFile), cancellationToken).ConfigureAwait(false);

        var after = Plan(stack, hosts, image);
        await WriteKnownHostsAsync(stack, after.Observed, after.Desired, cancellationToken).ConfigureAwait(false);
        return Status(after.Observed, after.Desired).FirstOrDefault(n => n.Name == node)
            ?? throw new InvalidOperationException($"node '{node}' of stack '{stack.Name}' does not exist after its replacement");
    }

    /// <summary>Removes everything the stack owns on every host, including leftovers of interrupted runs.</summary>
    public async Task<StackPlan> DestroyAsync(StackDefinition stack, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stack);
        using var hosts = await OpenHostsAsync(stack, cancellationToken).ConfigureAwait(false);
        var observed = ReadAll(stack, hosts);
        var changes = new List<ResourceChange>();
        var graph = new StepGraph();

        foreach (var (hostName, seen) in observed)
        {
            var host = hosts.Sessions[hostName];
            var nodeSteps = new List<string>();
            foreach (var node in seen.Nodes.Values.OrderBy(n => n.Name, StringComparer.Ordinal))
            {
                var id = $"{hostName}/node/{node.Name}";
                changes.Add(new ResourceChange { Kind = ResourceKind.Node, Name = node.Name, Host = hostName, Change = ChangeKind.Delete });
                graph.Add(id, $"delete node {node.Name} on {hostName}", [], _ =>
                {
                    NodeOperations.Delete(host, stack.Name, node.Name);
                    return Task.CompletedTask;
                }, lane: hostName);
                nodeSteps.Add(id);
            }

            var networkSteps = new List<string>();
            foreach (var network in seen.Networks.Values.OrderBy(n => n.Name, StringComparer.Ordinal))
            {
                var id = $"{hostName}/network/{network.Name}";
                changes.Add(new ResourceChange { Kind = ResourceKind.Network, Name = network.Name, Host = hostName, Change = ChangeKind.Delete });
                graph.Add(id, $"delete network {network.LibvirtName} on {hostName}", nodeSteps, _ =>
                {
                    HostOperations.DeleteNetwork(host, network.LibvirtName);
                    return Task.CompletedTask;
                });
                networkSteps.Add(id);
            }

            var prefix = stack.Name + "-";
            bool Ours(string volume) => volume.StartsWith(prefix, StringComparison.Ordinal) && !LibvirtNames.IsGoldenVolume(volume);
            // Golden images stay while another stack's disks (or anyone's) in the pool are linked clones of them.
            var leftovers = seen.Volumes.Where(Ours)
                .Concat(UnusedGoldenImages.In(seen, new HashSet<string>(StringComparer.Ordinal), Ours))
                .Order(StringComparer.Ordinal)
                .ToList();
            if (seen.PoolExists || leftovers.Count > 0)
            {
                changes.Add(new ResourceChange { Kind = ResourceKind.Pool, Name = host.Definition.Pool.Name, Host = hostName, Change = ChangeKind.Delete });
                graph.Add($"{hostName}/pool", $"delete leftover volumes and pool {host.Definition.Pool.Name} on {hostName}", [.. nodeSteps, .. networkSteps], _ =>
                {
                    foreach (var volume in leftovers)
                    {
                        HostOperations.DeleteVolume(host, volume);
                    }

                    // Volumes that are not ours keep the pool (and their files) alive.
                    HostOperations.DeletePoolIfEmpty(host);
                    return Task.CompletedTask;
                });
            }
        }

        await RunAsync(graph, cancellationToken).ConfigureAwait(false);
        _options.Keys.Delete(stack.Name);
        return new StackPlan { Stack = stack.Name, Resources = changes, Unplaced = [] };
    }

    /// <summary>Sets (or clears) a node's expiry in its libvirt metadata, where every copy of the tool sees it.</summary>
    /// <exception cref="KeyNotFoundException">The stack has no such node.</exception>
    public Task SetExpiryAsync(StackDefinition stack, string node, DateTimeOffset? expires, CancellationToken cancellationToken) =>
        UpdateNodeMetadataAsync(stack, node, m => m with { Expires = expires }, cancellationToken);

    /// <summary>
    /// Records a node's own published ports in its libvirt metadata (sandboxes: their definition lives there), where
    /// every copy of the tool sees them. Only the record: the firewall follows when the hardening is applied.
    /// </summary>
    /// <exception cref="KeyNotFoundException">The stack has no such node.</exception>
    public Task SetPublishedPortsAsync(StackDefinition stack, string node, IReadOnlyList<PublishedPortPolicy> ports, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ports);
        return UpdateNodeMetadataAsync(stack, node, m => m with { PublishedPorts = ports }, cancellationToken);
    }

    private async Task UpdateNodeMetadataAsync(StackDefinition stack, string node, Func<NodeMetadata, NodeMetadata> update, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stack);
        using var hosts = await OpenHostsAsync(stack, cancellationToken).ConfigureAwait(false);
        var observed = ReadAll(stack, hosts);
        var found = observed.Values.SelectMany(h => h.Nodes.Values).FirstOrDefault(n => n.Name == node)
            ?? throw new KeyNotFoundException($"stack '{stack.Name}' has no node '{node}'");
        using var domain = hosts.Sessions[found.Host].Connection.LookupDomain(found.DomainName);
        var impact = domain.IsActive ? LibvirtSharp.DomainModificationImpact.Live | LibvirtSharp.DomainModificationImpact.Config : LibvirtSharp.DomainModificationImpact.Config;
        domain.SetMetadata(ProvisionerXml.NodeNamespace, ProvisionerXml.Prefix, _options.Templates.RenderNodeMetadata(update(found.Metadata)).Markup, impact);
    }

    /// <summary>Reads the stack's nodes back from libvirt, as they are, without a definition to compare with.</summary>
    public async Task<IReadOnlyList<ObservedNode>> InventoryAsync(StackDefinition stack, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stack);
        using var hosts = await OpenHostsAsync(stack, cancellationToken).ConfigureAwait(false);
        return [.. ReadAll(stack, hosts).Values.SelectMany(h => h.Nodes.Values).OrderBy(n => n.Name, StringComparer.Ordinal)];
    }

    /// <summary>What exists for the stack, and whether it matches the definition.</summary>
    public async Task<(StackPlan Plan, IReadOnlyList<NodeStatus> Nodes)> StatusAsync(StackDefinition stack, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stack);
        using var hosts = await OpenHostsAsync(stack, cancellationToken).ConfigureAwait(false);
        var image = await _options.Images.PeekAsync(stack.Image, cancellationToken).ConfigureAwait(false);
        var (plan, desired, observed) = Plan(stack, hosts, image);
        return (plan, Status(observed, desired));
    }

    private StepGraph BuildUpGraph(
        StackRunContext context,
        StackPlan plan,
        IReadOnlyList<DesiredNode> desired,
        IReadOnlyDictionary<string, ObservedHost> observed,
        GoldenImageFile? imageFile)
    {
        var graph = new StepGraph();
        var stack = context.Stack;
        var desiredByName = desired.ToDictionary(d => d.Name, StringComparer.Ordinal);

        foreach (var hostChanges in plan.Resources.GroupBy(r => r.Host, StringComparer.Ordinal))
        {
            var hostName = hostChanges.Key;
            var host = context.Hosts[hostName];
            var seen = observed.GetValueOrDefault(hostName);
            var poolStep = $"{hostName}/pool";
            var imageStep = $"{hostName}/image";
            var basics = new List<string>();

            foreach (var r in hostChanges.Where(r => r.Kind == ResourceKind.Pool))
            {
                graph.Add(poolStep, $"storage pool {r.Name} on {hostName}", [], _ =>
                {
                    _hostOps.EnsurePool(host);
                    return Task.CompletedTask;
                });
                basics.Add(poolStep);
            }

            foreach (var r in hostChanges.Where(r => r.Kind == ResourceKind.Image))
            {
                graph.Add(imageStep, $"golden image {r.Name} on {hostName}", graph.Contains(poolStep) ? [poolStep] : [], ct =>
                    r.Change == ChangeKind.None
                        ? Task.CompletedTask
                        : _hostOps.EnsureImageAsync(host, imageFile ?? throw new InvalidOperationException("golden image file missing"), null, ct));
                basics.Add(imageStep);
            }

            var hostNodes = desired.Where(d => d.Host == hostName).ToList();
            var deleteSteps = new List<string>();
            foreach (var r in hostChanges.Where(r => r.Kind == ResourceKind.Node && r.Change == ChangeKind.Delete))
            {
                var id = $"{hostName}/node/{r.Name}/delete";
                graph.Add(id, $"delete node {r.Name} on {hostName} ({r.Reason})", [], _ =>
                {
                    NodeOperations.Delete(host, stack.Name, r.Name);
                    return Task.CompletedTask;
                }, lane: hostName);
                deleteSteps.Add(id);
            }

            foreach (var r in hostChanges.Where(r => r.Kind == ResourceKind.Network))
            {
                var id = $"{hostName}/network/{r.Name}";
                var libvirtName = LibvirtNames.Network(stack.Name, r.Name);
                if (r.Change == ChangeKind.Delete)
                {
                    graph.Add(id, $"delete network {libvirtName} on {hostName}", deleteSteps, _ =>
                    {
                        HostOperations.DeleteNetwork(host, libvirtName);
                        return Task.CompletedTask;
                    });
                    continue;
                }

                graph.Add(id, $"network {libvirtName} on {hostName}", [], _ =>
                {
                    if (r.Change != ChangeKind.None)
                    {
                        _hostOps.EnsureNetwork(host, stack, stack.FindNetwork(r.Name)!, hostNodes, replace: r.Change == ChangeKind.Replace);
                    }

                    return Task.CompletedTask;
                });
                basics.Add(id);
            }

            foreach (var r in hostChanges.Where(r => r.Kind == ResourceKind.Volume))
            {
                graph.Add($"{hostName}/volume/{r.Name}", $"delete leftover volume {r.Name} on {hostName}", basics.Where(b => b == poolStep).ToList(), _ =>
                {
                    HostOperations.DeleteVolume(host, r.Name);
                    return Task.CompletedTask;
                });
            }

            foreach (var r in hostChanges.Where(r => r.Kind == ResourceKind.Node && r.Change is not ChangeKind.Delete and not ChangeKind.None))
            {
                var node = desiredByName[r.Name];
                var dependencies = basics.Where(b => b == poolStep || b == imageStep || b == $"{hostName}/network/{node.Definition.Network}").ToList();
                var id = $"{hostName}/node/{r.Name}";
                var existing = seen?.Nodes.GetValueOrDefault(r.Name);
                graph.Add(id, $"{r.Change.ToString().ToLowerInvariant()} node {r.Name} on {hostName}", dependencies, async ct =>
                {
                    switch (r.Change)
                    {
                        case ChangeKind.Create:
                            await _nodeOps.CreateAsync(context, node, ct).ConfigureAwait(false);
                            break;
                        case ChangeKind.Replace:
                            NodeOperations.Delete(host, stack.Name, node.Name);
                            await _nodeOps.CreateAsync(context, node, ct).ConfigureAwait(false);
                            break;
                        case ChangeKind.Update:
                            await _nodeOps.UpdateAsync(context, node, existing!, r, ct).ConfigureAwait(false);
                            break;
                    }
                }, lane: hostName); // Node steps take hosts in turn, so parallel steps do not queue behind one host.
            }
        }

        return graph;
    }

    private async Task RunAsync(StepGraph graph, CancellationToken cancellationToken)
    {
        graph.StepChanged += (sender, e) =>
        {
            LogStep(_logger, e.StepId, e.State);
            StepChanged?.Invoke(this, e);
        };
        await graph.RunAsync(_options.MaxParallelism, cancellationToken).ConfigureAwait(false);
    }

    private static StackPlan Restrict(StackPlan plan, IReadOnlySet<string>? onlyNodes) => onlyNodes is null ? plan : plan with
    {
        Resources = [.. plan.Resources.Where(r => r.Kind switch
        {
            ResourceKind.Node => onlyNodes.Contains(r.Name),
            ResourceKind.Volume => false,
            ResourceKind.Network => r.Change != ChangeKind.Delete,
            _ => true,
        })],
        Unplaced = [.. plan.Unplaced.Where(u => onlyNodes.Contains(u.Node))],
    };

    private static (StackPlan Plan, IReadOnlyList<DesiredNode> Desired, IReadOnlyDictionary<string, ObservedHost> Observed) Plan(
        StackDefinition stack, HostSet hosts, ImageReference image)
    {
        var observed = ReadAll(stack, hosts);
        var facts = hosts.Sessions.Values.Select(h => h.Facts()).ToList();
        var (desired, unplaced) = Planner.Desire(stack, facts, [.. observed.Values]);
        var plan = Planner.Plan(stack, desired, unplaced, observed, image);
        return (plan with { Notes = Notes(stack, hosts, desired) }, desired, observed);
    }

    private static List<string> Notes(StackDefinition stack, HostSet hosts, IReadOnlyList<DesiredNode> desired)
    {
        var notes = new List<string>();
        foreach (var host in hosts.Sessions.Values.OrderBy(h => h.Name, StringComparer.Ordinal))
        {
            if (!desired.Any(d => d.Host == host.Name && d.Definition.DiskBus == Core.Stacks.DiskBus.Nvme))
            {
                continue;
            }

            notes.Add(host.Capabilities.NativeNvmeDisks
                ? $"{host.Name}: NVMe disks through libvirt's own nvme bus"
                : $"{host.Name}: libvirt {host.Connection.LibvirtVersion} has no nvme disk bus; NVMe disks are QEMU 'nvme' devices " +
                  "passed through <qemu:commandline>: libvirt does not manage, label or hot-plug them, and the root disk file is owned by the QEMU user");
        }

        return notes;
    }

    private static Dictionary<string, ObservedHost> ReadAll(StackDefinition stack, HostSet hosts)
    {
        var result = new ConcurrentDictionary<string, ObservedHost>(StringComparer.Ordinal);
        Parallel.ForEach(hosts.Sessions.Values, host => result[host.Name] = InventoryReader.Read(stack, host));
        return new Dictionary<string, ObservedHost>(result, StringComparer.Ordinal);
    }

    private static List<NodeStatus> Status(IReadOnlyDictionary<string, ObservedHost> observed, IReadOnlyList<DesiredNode> desired)
    {
        var addresses = desired.ToDictionary(d => d.Name, d => d.Addresses.Ipv4Address.ToString(), StringComparer.Ordinal);
        return [.. observed.Values.SelectMany(h => h.Nodes.Values)
            .OrderBy(n => n.Name, StringComparer.Ordinal)
            .Select(n => new NodeStatus
            {
                Name = n.Name,
                Host = n.Host,
                Role = n.Metadata.Role,
                Address = addresses.GetValueOrDefault(n.Name),
                State = n.State.ToString(),
                HostKeyFingerprint = n.Metadata.HostKeyFingerprint,
                HostPublicKey = n.Metadata.HostPublicKey,
                Ready = n.IsReady,
                Expires = n.Metadata.Expires,
                Created = n.Metadata.Created,
            })];
    }

    private async Task WriteKnownHostsAsync(
        StackDefinition stack, IReadOnlyDictionary<string, ObservedHost> observed, IReadOnlyList<DesiredNode> desired, CancellationToken cancellationToken)
    {
        var entries = new List<KnownHostEntry>();
        var addresses = desired.ToDictionary(d => d.Name, d => d.Addresses.Ipv4Address.ToString(), StringComparer.Ordinal);
        foreach (var node in observed.Values.SelectMany(h => h.Nodes.Values).OrderBy(n => n.Name, StringComparer.Ordinal))
        {
            if (node.Metadata.HostPublicKey is { } line && addresses.TryGetValue(node.Name, out var address))
            {
                entries.Add(new KnownHostEntry(address, 22, PinnedHostKey.FromPublicKeyLine(line)));
            }
        }

        await KnownHostsFile.WriteAsync(_options.Keys.KnownHostsPath(stack.Name), entries, cancellationToken).ConfigureAwait(false);
    }

    private async Task<HostSet> OpenHostsAsync(StackDefinition stack, CancellationToken cancellationToken)
    {
        var sessions = new ConcurrentDictionary<string, HostSession>(StringComparer.Ordinal);
        try
        {
            await Parallel.ForEachAsync(stack.Hosts, cancellationToken, (host, _) =>
            {
                sessions[host.Name] = HostSession.Open(host, _options.Connector);
                return ValueTask.CompletedTask;
            }).ConfigureAwait(false);
        }
        catch
        {
            foreach (var session in sessions.Values)
            {
                session.Dispose();
            }

            throw;
        }

        return new HostSet(new Dictionary<string, HostSession>(sessions, StringComparer.Ordinal));
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Stack {Stack} matches its definition: nothing to do")]
    private static partial void LogNothingToDo(ILogger logger, string stack);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Debug, Message = "Step {Step}: {State}")]
    private static partial void LogStep(ILogger logger, string step, StepState state);

    private sealed class HostSet(IReadOnlyDictionary<string, HostSession> sessions) : IDisposable
    {
        public IReadOnlyDictionary<string, HostSession> Sessions { get; } = sessions;

        public void Dispose()
        {
            foreach (var session in Sessions.Values)
            {
                session.Dispose();
            }
        }
    }
}
