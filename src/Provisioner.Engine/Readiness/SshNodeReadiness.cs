using LibvirtSharp;
using Microsoft.Extensions.Logging;
using Provisioner.Engine.Access;
using Provisioner.Engine.Hosts;
using Provisioner.Engine.Planning;
using Provisioner.Engine.Resilience;
using Provisioner.Remote.Keys;
using Provisioner.Remote.Sessions;
using Provisioner.Remote.Shell;

namespace Provisioner.Engine.Readiness;

/// <summary>
/// A node is ready when SSH answers at its reserved address with the host key the tool generated
/// for it (so the very first connection is verified) and cloud-init reports it has finished. The node is reached the
/// same way every later session reaches it (<see cref="IGuestConnector"/>: directly, or through its KVM host).
/// </summary>
public sealed partial class SshNodeReadiness : INodeReadiness
{
    private readonly IGuestConnector _guests;
    private readonly TimeProvider _time;
    private readonly TimeSpan _budget;
    private readonly ILogger _logger;

    /// <summary>Creates the check over <paramref name="connector"/> (which also hops through remote hosts when it is an <see cref="ISshJumpConnector"/>, as <see cref="SshConnector"/> is).</summary>
    /// <param name="connector">Opens SSH sessions.</param>
    /// <param name="time">Clock for the retry pipeline.</param>
    /// <param name="budget">How long a node may take from start to ready (software emulation is slow).</param>
    /// <param name="logger">Where progress goes.</param>
    public SshNodeReadiness(ISshConnector connector, TimeProvider time, TimeSpan budget, ILogger logger)
        : this(new GuestConnector(connector ?? throw new ArgumentNullException(nameof(connector))), time, budget, logger)
    {
    }

    /// <summary>Creates the check.</summary>
    /// <param name="guests">Opens SSH sessions to guests (direct or through their host).</param>
    /// <param name="time">Clock for the retry pipeline.</param>
    /// <param name="budget">How long a node may take from start to ready (software emulation is slow).</param>
    /// <param name="logger">Where progress goes.</param>
    public SshNodeReadiness(IGuestConnector guests, TimeProvider time, TimeSpan budget, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(guests);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _guests = guests;
        _time = time;
        _budget = budget;
        _logger = logger;
    }

    /// <summary>
    /// How long one connection attempt may take. Generous on purpose: a guest whose port answers at once may
    /// still need most of a minute for the key exchange under software emulation on a busy host, and a shorter
    /// limit restarts that exchange forever (seen: 8 minutes lost after cloud-init had finished).
    /// </summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(90);

    /// <inheritdoc />
    public async Task WaitReadyAsync(HostSession host, DesiredNode node, PinnedHostKey hostKey, StackRunContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(context);
        var endpoint = new SshEndpoint(node.Addresses.Ipv4Address.ToString(), context.Stack.Access.User);
        var pipeline = ProvisionerPipelines.SshWhileBooting(_time, _budget);
        LogWaiting(_logger, node.Name, endpoint, hostKey.Fingerprint);
        Exception? lastTransient = null;
        var attempts = 0;

        try
        {
            await pipeline.ExecuteAsync(async ct =>
            {
                EnsureStillRunning(host, node);
                IRemoteSession session;
                try
                {
                    attempts++;
                    session = await _guests.ConnectAsync(host.Definition, endpoint, hostKey, context.AdminKey.PrivateKey, ConnectTimeout, ct).ConfigureAwait(false);
                }
                catch (Exception ex) when (SshErrors.IsTransient(ex))
                {
                    // Expected while the guest boots; only the final failure is a warning.
                    lastTransient = ex;
                    LogNotYet(_logger, node.Name, attempts, ex.Message);
                    throw;
                }

                await using (session.ConfigureAwait(false))
                {
                    // Blocks until every cloud-init stage has run; non-zero means a module failed. sshd answers long
                    // before cloud-init is done, so this wait may take most of the budget on a slow host: it gets the
                    // whole budget (the pipeline's timeout still ends it there), not a shorter limit of its own (a
                    // fixed 15 minutes failed nodes on a loaded CI machine that the 40-minute budget would have kept).
                    var status = await session.RunAsync(ShellCommand.Create("cloud-init", "status", "--wait", "--long"), _budget, ct).ConfigureAwait(false);
                    if (status.ExitCode != 0)
                    {
                        throw new NodeNotReadyException(node.Name, $"cloud-init finished with errors (exit {status.ExitCode}): {Tail(status.StdOut + status.StdErr)}");
                    }
                }
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (Polly.Timeout.TimeoutRejectedException ex)
        {
            var last = lastTransient?.Message ?? "no attempt finished";
            LogGaveUp(_logger, node.Name, attempts, _budget, last);
            throw new NodeNotReadyException(node.Name,
                $"no SSH answer with the pinned host key at {endpoint} within {_budget.TotalMinutes:0} minutes ({attempts} attempts; last: {last}); see the console log {ConsoleLog.PathFor(node.DomainName)}",
                ex);
        }

        LogReady(_logger, node.Name);
    }

    private static void EnsureStillRunning(HostSession host, DesiredNode node)
    {
        using var domain = host.Connection.TryLookupDomain(node.DomainName);
        var state = domain?.GetState();
        if (state is not DomainState.Running and not DomainState.Blocked)
        {
            throw new NodeNotReadyException(node.Name, $"the domain is {(state is null ? "gone" : state.ToString())} while booting; see the console log {ConsoleLog.PathFor(node.DomainName)}");
        }
    }

    private static string Tail(string text) => text.Length <= 600 ? text.Trim() : "…" + text[^600..].Trim();

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Waiting for node {Node} at {Endpoint} with pinned host key {Fingerprint}")]
    private static partial void LogWaiting(ILogger logger, string node, SshEndpoint endpoint, string fingerprint);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Node {Node} is ready")]
    private static partial void LogReady(ILogger logger, string node);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Debug, Message = "Node {Node} does not answer yet (attempt {Attempt}): {Reason}")]
    private static partial void LogNotYet(ILogger logger, string node, int attempt, string reason);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "Node {Node} did not answer over SSH within {Budget} ({Attempts} attempts); last failure: {Reason}")]
    private static partial void LogGaveUp(ILogger logger, string node, int attempts, TimeSpan budget, string reason);
}

/// <summary>A node did not become ready; the message says what was seen and where to look.</summary>
public sealed class NodeNotReadyException : Exception
{
    /// <summary>Creates the exception.</summary>
    public NodeNotReadyException(string node, string reason, Exception? inner = null)
        : base($"node '{node}' is not ready: {reason}", inner) => Node = node;

    /// <summary>Creates the exception.</summary>
    public NodeNotReadyException() => Node = string.Empty;

    /// <summary>Creates the exception.</summary>
    public NodeNotReadyException(string message) : base(message) => Node = string.Empty;

    /// <summary>Creates the exception.</summary>
    public NodeNotReadyException(string message, Exception inner) : base(message, inner) => Node = string.Empty;

    /// <summary>The node.</summary>
    public string Node { get; }
}

/// <summary>Where a node's serial console is logged on its host.</summary>
public static class ConsoleLog
{
    /// <summary>The console log path for a domain (on the host, written by virtlogd).</summary>
    public static string PathFor(string domainName) => $"/var/log/libvirt/qemu/{domainName}-console.log";
}
