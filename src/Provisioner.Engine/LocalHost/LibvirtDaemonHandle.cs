namespace Provisioner.Engine.LocalHost;

/// <summary>What <see cref="LocalLibvirtDaemon.EnsureRunningAsync"/> found or did.</summary>
public enum LibvirtDaemonOutcome
{
    /// <summary>The daemon's socket already answered; nothing was started.</summary>
    AlreadyRunning,

    /// <summary>The service manager (systemd) was asked to start the daemon; it owns its lifecycle.</summary>
    StartedByServiceManager,

    /// <summary>This process started the daemon(s) listed in <see cref="LibvirtDaemonHandle.StartedDaemons"/>.</summary>
    Started,

    /// <summary>
    /// The daemon is not running and this process may not start it (not root):
    /// <see cref="LibvirtDaemonHandle.RequiredCommand"/> is what to run.
    /// </summary>
    ActionRequired,
}

/// <summary>A daemon process this process started, identified by pid and command name.</summary>
/// <param name="Name">The command name (<c>libvirtd</c>, <c>virtlogd</c>), checked before signalling.</param>
/// <param name="Pid">The daemon's pid, from its pid file.</param>
public sealed record StartedDaemon(string Name, int Pid);

/// <summary>
/// The result of ensuring a local libvirt daemon, and the means to stop exactly what was started
/// (never a daemon someone else started).
/// </summary>
public sealed class LibvirtDaemonHandle
{
    private readonly ILocalSystem _system;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _stopTimeout;
    private readonly TimeSpan _pollInterval;
    private List<StartedDaemon> _running;

    internal LibvirtDaemonHandle(
        LibvirtDaemonOutcome outcome,
        string? requiredCommand,
        IReadOnlyList<StartedDaemon> startedDaemons,
        string socketPath,
        ILocalSystem system,
        TimeProvider timeProvider,
        TimeSpan stopTimeout,
        TimeSpan pollInterval)
    {
        Outcome = outcome;
        RequiredCommand = requiredCommand;
        StartedDaemons = startedDaemons;
        SocketPath = socketPath;
        _system = system;
        _timeProvider = timeProvider;
        _stopTimeout = stopTimeout;
        _pollInterval = pollInterval;
        _running = [.. startedDaemons];
    }

    /// <summary>What was found or done.</summary>
    public LibvirtDaemonOutcome Outcome { get; }

    /// <summary>Whether the daemon's socket answers (every outcome but <see cref="LibvirtDaemonOutcome.ActionRequired"/>).</summary>
    public bool IsRunning => Outcome != LibvirtDaemonOutcome.ActionRequired;

    /// <summary>For <see cref="LibvirtDaemonOutcome.ActionRequired"/>: the exact shell command to run; otherwise null.</summary>
    public string? RequiredCommand { get; }

    /// <summary>The daemons this process started, in start order (empty unless <see cref="LibvirtDaemonOutcome.Started"/>).</summary>
    public IReadOnlyList<StartedDaemon> StartedDaemons { get; }

    /// <summary>The libvirt socket that was checked.</summary>
    public string SocketPath { get; }

    /// <summary>
    /// Stops the daemons this process started, newest first, by pid: SIGTERM, then SIGKILL if one
    /// has not exited within the stop timeout. A pid that now belongs to another program is left
    /// alone. Does nothing for any other outcome, and nothing the second time.
    /// </summary>
    public async Task StopStartedAsync(CancellationToken cancellationToken = default)
    {
        var toStop = Interlocked.Exchange(ref _running, []);
        foreach (var daemon in Enumerable.Reverse(toStop))
        {
            if (!_system.IsProcessRunning(daemon.Pid, daemon.Name))
            {
                continue;
            }

            await _system.SignalAsync(daemon.Pid, "TERM", cancellationToken).ConfigureAwait(false);
            var deadline = _timeProvider.GetUtcNow() + _stopTimeout;
            while (_system.IsProcessRunning(daemon.Pid, daemon.Name))
            {
                if (_timeProvider.GetUtcNow() >= deadline)
                {
                    await _system.SignalAsync(daemon.Pid, "KILL", cancellationToken).ConfigureAwait(false);
                    break;
                }

                await Task.Delay(_pollInterval, _timeProvider, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
