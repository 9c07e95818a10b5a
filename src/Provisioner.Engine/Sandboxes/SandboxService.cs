using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Provisioner.Core.Stacks;
using Provisioner.Engine.Graph;
using Provisioner.Engine.Keys;
using Provisioner.Engine.Readiness;

namespace Provisioner.Engine.Sandboxes;

/// <summary>What <c>sandbox up</c> asks for.</summary>
public sealed record SandboxRequest
{
    /// <summary>The sandbox's name and size.</summary>
    public required SandboxSpec Spec { get; init; }

    /// <summary>Lifetime from now.</summary>
    public required TimeSpan Ttl { get; init; }

    /// <summary>Keep a sandbox whose boot failed (for debugging) instead of removing it.</summary>
    public bool KeepFailed { get; init; }
}

/// <summary>
/// Disposable sandboxes: every sandbox is one node of the single <c>sandbox</c> stack on one host. Each operation
/// reads the existing sandboxes back from libvirt and rebuilds the stack from them, so nothing is kept locally and
/// other sandboxes are never touched.
/// </summary>
public sealed partial class SandboxService
{
    private readonly StackEngine _engine;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <summary>Creates the service for sandboxes on <paramref name="host"/>.</summary>
    public SandboxService(StackEngine engine, SandboxHost host, TimeProvider time, ILogger<SandboxService>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(time);
        _engine = engine;
        Host = host;
        _time = time;
        _logger = logger ?? NullLogger<SandboxService>.Instance;
    }

    /// <summary>Where the sandboxes live.</summary>
    public SandboxHost Host { get; }

    /// <summary>The stack with the given sandboxes (exposed for login details: user, key paths).</summary>
    public StackDefinition StackWith(IEnumerable<SandboxSpec> specs) => SandboxStackBuilder.Build(Host, specs);

    /// <summary>Every sandbox, with address, state and expiry.</summary>
    public async Task<IReadOnlyList<Sandbox>> ListAsync(CancellationToken cancellationToken)
    {
        var specs = await CurrentAsync(cancellationToken).ConfigureAwait(false);
        var (_, nodes) = await _engine.StatusAsync(StackWith(specs), cancellationToken).ConfigureAwait(false);
        var ports = specs.ToDictionary(s => s.Name, s => s.PublishedPorts, StringComparer.Ordinal);
        return [.. nodes.Select(n => ToSandbox(n) with { PublishedPorts = ports.GetValueOrDefault(n.Name) ?? [] })];
    }

    /// <summary>Creates one sandbox next to the existing ones, which stay untouched.</summary>
    /// <exception cref="SandboxInputException">Bad name/size, or the name is taken; nothing was created.</exception>
    /// <exception cref="PlanRejectedException">Not enough room on the host; nothing was created.</exception>
    /// <exception cref="SandboxOperationException">The sandbox did not boot; it was removed unless <see cref="SandboxRequest.KeepFailed"/>.</exception>
    public async Task<Sandbox> UpAsync(SandboxRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Spec.Validate();
        if (request.Ttl < SandboxTtl.Min || request.Ttl > SandboxTtl.Max)
        {
            throw new SandboxInputException($"--ttl: {SandboxTtl.Format(request.Ttl)} is out of range ({SandboxTtl.Format(SandboxTtl.Min)}..{SandboxTtl.Format(SandboxTtl.Max)})");
        }

        var existing = await CurrentAsync(cancellationToken).ConfigureAwait(false);
        if (existing.Any(s => s.Name == request.Spec.Name))
        {
            throw new SandboxInputException($"--name: a sandbox named '{request.Spec.Name}' already exists");
        }

        var name = request.Spec.Name;
        var expires = _time.GetUtcNow() + request.Ttl;
        var stack = StackWith([.. existing, request.Spec]);
        try
        {
            var result = await _engine.UpAsync(stack, new UpOptions { ExpiryFor = node => node == name ? expires : null, PhaseNodes = [name] }, cancellationToken).ConfigureAwait(false);
            if (request.Spec.PublishedPorts.Count > 0)
            {
                // The hardening just applied already opened them; the record makes every later run keep them open.
                await _engine.SetPublishedPortsAsync(stack, name, request.Spec.PublishedPorts, cancellationToken).ConfigureAwait(false);
            }

            var node = result.Nodes.FirstOrDefault(n => n.Name == name)
                ?? throw new SandboxOperationException($"sandbox {name} is missing after up");
            return ToSandbox(node) with { Phases = result.Phases, PublishedPorts = request.Spec.PublishedPorts };
        }
        catch (StepFailedException e) when (e.StepId.Contains("/node/" + name, StringComparison.Ordinal) && !cancellationToken.IsCancellationRequested)
        {
            var console = ConsoleLog.PathFor(Core.Naming.LibvirtNames.Domain(SandboxHost.StackName, name));
            var reason = e.InnerException?.Message ?? e.Message;
            if (request.KeepFailed)
            {
                throw new SandboxOperationException($"sandbox {name} did not boot: {reason}; kept for inspection (--keep-failed), console log: {console}", e) { ConsoleLogPath = console };
            }

            LogRemovingFailed(_logger, name, reason);
            await RemoveAsync(name, existing, CancellationToken.None).ConfigureAwait(false);
            throw new SandboxOperationException($"sandbox {name} did not boot: {reason}; it was removed (use --keep-failed to keep it), console log: {console}", e) { ConsoleLogPath = console };
        }
    }

    /// <summary>Pushes a sandbox's expiry out by <paramref name="ttl"/>, from the later of now and its current expiry.</summary>
    /// <returns>The new expiry.</returns>
    /// <exception cref="SandboxInputException">No such sandbox, or the result is too far out.</exception>
    public async Task<DateTimeOffset> ExtendAsync(string name, TimeSpan ttl, CancellationToken cancellationToken)
    {
        var sandbox = (await ListAsync(cancellationToken).ConfigureAwait(false)).FirstOrDefault(s => s.Name == name)
            ?? throw new SandboxInputException($"NAME: no sandbox named '{name}'");
        var expires = SandboxTtl.Extend(sandbox.Expires, _time.GetUtcNow(), ttl);
        var specs = await CurrentAsync(cancellationToken).ConfigureAwait(false);
        await _engine.SetExpiryAsync(StackWith(specs), name, expires, cancellationToken).ConfigureAwait(false);
        return expires;
    }

    /// <summary>Runs <paramref name="phases"/> (the audit, the hardening repair) on one sandbox.</summary>
    /// <exception cref="SandboxInputException">No such sandbox.</exception>
    public async Task<IReadOnlyList<Phases.StackPhaseResult>> RunPhasesAsync(string name, IReadOnlyList<Phases.IStackPhase> phases, CancellationToken cancellationToken)
    {
        var specs = await CurrentAsync(cancellationToken).ConfigureAwait(false);
        if (specs.All(s => s.Name != name))
        {
            throw new SandboxInputException($"NAME: no sandbox named '{name}'");
        }

        return await _engine.RunPhasesAsync(StackWith(specs), phases, [name], cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Lets <paramref name="sources"/> reach <paramref name="ports"/> of a sandbox: when its recorded policy does not
    /// allow each pair already, records the union in its libvirt metadata (nothing allowed before is dropped) and
    /// re-applies its hardening with <paramref name="repair"/>, so its firewall opens exactly what is recorded.
    /// </summary>
    /// <param name="name">The sandbox.</param>
    /// <param name="ports">Ports as published on the sandbox (host port and protocol).</param>
    /// <param name="sources">Source networks to allow.</param>
    /// <param name="repair">The phase that applies the hardening (the one <c>sandbox audit --repair</c> runs).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <exception cref="SandboxInputException">No such sandbox, or a port cannot be published (SSH's 22/tcp); nothing changed.</exception>
    public async Task<SandboxAllowResult> AllowAsync(
        string name,
        IReadOnlyList<(int Port, TransportProtocol Protocol)> ports,
        IReadOnlyList<Ipv4Cidr> sources,
        Phases.IStackPhase repair,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repair);
        var specs = await CurrentAsync(cancellationToken).ConfigureAwait(false);
        var spec = specs.FirstOrDefault(s => s.Name == name)
            ?? throw new SandboxInputException($"NAME: no sandbox named '{name}'");
        var (policy, opened) = SandboxPortPolicy.Union(spec.PublishedPorts, ports, sources);
        if (opened.Count == 0)
        {
            return new SandboxAllowResult { Opened = [], Policy = policy };
        }

        // Checked as a whole stack before anything is recorded, so a policy the loader refuses is never stored.
        var updated = specs.Select(s => s.Name == name ? s with { PublishedPorts = policy } : s).ToList();
        var stack = StackWith(updated);
        await _engine.SetPublishedPortsAsync(stack, name, policy, cancellationToken).ConfigureAwait(false);
        foreach (var opening in opened)
        {
            LogOpened(_logger, name, opening);
        }

        var phases = await _engine.RunPhasesAsync(stack, [repair], [name], cancellationToken).ConfigureAwait(false);
        return new SandboxAllowResult { Opened = opened, Policy = policy, Phases = phases };
    }

    /// <summary>Removes one sandbox and everything it owns; the last one takes the network and pool with it.</summary>
    /// <exception cref="SandboxInputException">No such sandbox.</exception>
    public async Task DestroyAsync(string name, CancellationToken cancellationToken)
    {
        var specs = await CurrentAsync(cancellationToken).ConfigureAwait(false);
        if (specs.All(s => s.Name != name))
        {
            throw new SandboxInputException($"NAME: no sandbox named '{name}'");
        }

        await RemoveAsync(name, specs, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Removes every sandbox expired now. Idempotent, and safe to run from a timer: an exclusive lock file in
    /// <paramref name="lockDirectory"/> keeps concurrent runs from racing (a second run waits for the first).
    /// </summary>
    /// <returns>The names removed (empty when nothing was due).</returns>
    public async Task<IReadOnlyList<string>> ReapAsync(string lockDirectory, CancellationToken cancellationToken)
    {
        var gate = await ReapLock.AcquireAsync(lockDirectory, _time, cancellationToken).ConfigureAwait(false);
        await using (gate.ConfigureAwait(false))
        {
            return await ReapLockedAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<IReadOnlyList<string>> ReapLockedAsync(CancellationToken cancellationToken)
    {
        var all = await ListAsync(cancellationToken).ConfigureAwait(false);
        var due = SandboxReaping.Expired(all, _time.GetUtcNow());
        if (due.Count == 0)
        {
            return [];
        }

        var keep = all.Where(s => !due.Contains(s)).Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        var specs = (await CurrentAsync(cancellationToken).ConfigureAwait(false)).Where(s => keep.Contains(s.Name)).ToList();
        if (specs.Count == 0)
        {
            await _engine.DestroyAsync(StackWith([]), cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await _engine.UpAsync(StackWith(specs), cancellationToken).ConfigureAwait(false);
        }

        foreach (var s in due)
        {
            LogReaped(_logger, s.Name, s.Expires);
        }

        return [.. due.Select(s => s.Name)];
    }

    /// <summary>The default lock directory: the tool's state directory.</summary>
    public static string DefaultLockDirectory() => StateDirectory.Resolve();

    private async Task RemoveAsync(string name, IReadOnlyList<SandboxSpec> specs, CancellationToken cancellationToken)
    {
        var rest = specs.Where(s => s.Name != name).ToList();
        if (rest.Count == 0)
        {
            await _engine.DestroyAsync(StackWith([]), cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await _engine.UpAsync(StackWith(rest), cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<IReadOnlyList<SandboxSpec>> CurrentAsync(CancellationToken cancellationToken)
    {
        var nodes = await _engine.InventoryAsync(StackWith([]), cancellationToken).ConfigureAwait(false);
        return SandboxStackBuilder.FromInventory(nodes);
    }

    private static Sandbox ToSandbox(NodeStatus n) => new()
    {
        Name = n.Name,
        Address = n.Address,
        State = n.State,
        Ready = n.Ready,
        Created = n.Created,
        Expires = n.Expires,
        HostKeyFingerprint = n.HostKeyFingerprint,
    };

    [LoggerMessage(EventId = 4001, Level = LogLevel.Warning, Message = "Sandbox {Name} did not boot ({Reason}); removing it")]
    private static partial void LogRemovingFailed(ILogger logger, string name, string reason);

    [LoggerMessage(EventId = 4008, Level = LogLevel.Information, Message = "Sandbox {Name}: opened {Opening}")]
    private static partial void LogOpened(ILogger logger, string name, PortOpening opening);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "Reaped sandbox {Name} (expired {Expires})")]
    private static partial void LogReaped(ILogger logger, string name, DateTimeOffset? expires);
}

/// <summary>An exclusive lock file (<c>sandbox-reap.lock</c>), held while open; the OS releases it if the process dies.</summary>
internal sealed class ReapLock : IAsyncDisposable
{
    private readonly FileStream _stream;

    private ReapLock(FileStream stream) => _stream = stream;

    public static async Task<ReapLock> AcquireAsync(string directory, TimeProvider time, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "sandbox-reap.lock");
        while (true)
        {
            try
            {
                // FileShare.None takes an exclusive advisory lock (flock) on Unix in .NET.
                return new ReapLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250), time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public ValueTask DisposeAsync() => _stream.DisposeAsync();
}
