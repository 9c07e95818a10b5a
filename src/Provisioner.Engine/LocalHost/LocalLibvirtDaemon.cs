using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Provisioner.Engine.LocalHost;

/// <summary>
/// Makes sure the local system libvirt daemon (<c>qemu:///system</c>) answers.
/// <list type="bullet">
/// <item>Socket answers: nothing is started (<see cref="LibvirtDaemonOutcome.AlreadyRunning"/>).</item>
/// <item>systemd runs the machine: as root, <c>systemctl start libvirtd.service</c>, so the daemon
/// stays systemd's to manage and is never stopped by us; otherwise the caller gets the command.</item>
/// <item>No service manager (containers, CI): as root, <c>virtlogd -d</c> (unless its socket
/// answers) and <c>libvirtd -d</c>, recording their pids so exactly those can be stopped;
/// otherwise the caller gets the command.</item>
/// </list>
/// Starting is serialized across processes with a lock file, so parallel test runs start one daemon.
/// </summary>
public sealed partial class LocalLibvirtDaemon
{
    /// <summary>The system libvirt daemon's read-write socket.</summary>
    public const string DefaultSocketPath = "/run/libvirt/libvirt-sock";

    internal const string VirtlogdSocketPath = "/run/libvirt/virtlogd-sock";
    internal const string LibvirtdPidFile = "/run/libvirtd.pid";
    internal const string VirtlogdPidFile = "/run/virtlogd.pid";
    internal const string SystemdMarker = "/run/systemd/system";
    internal const string KvmDevice = "/dev/kvm";

    private readonly ILocalSystem _system;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;

    /// <summary>Creates the starter for the real machine, or for <paramref name="system"/> in tests.</summary>
    public LocalLibvirtDaemon(ILocalSystem? system = null, TimeProvider? timeProvider = null, ILogger<LocalLibvirtDaemon>? logger = null)
    {
        _system = system ?? LinuxLocalSystem.Instance;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>The socket that must answer.</summary>
    public string SocketPath { get; init; } = DefaultSocketPath;

    /// <summary>How long to wait for the socket after starting the daemon.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a started daemon gets to exit on SIGTERM before SIGKILL.</summary>
    public TimeSpan StopTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Interval between socket probes while waiting.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Lock file that serializes starting across processes.</summary>
    public string LockPath { get; init; } = "/run/provisioner-libvirtd.lock";

    /// <summary>Ensures the daemon answers, or says what must be run for it to.</summary>
    /// <exception cref="LibvirtDaemonException">A start command failed or the daemon is not installed.</exception>
    /// <exception cref="LibvirtDaemonTimeoutException">The socket did not answer within <see cref="StartTimeout"/>.</exception>
    public async Task<LibvirtDaemonHandle> EnsureRunningAsync(CancellationToken cancellationToken = default)
    {
        if (await _system.SocketAnswersAsync(SocketPath, cancellationToken).ConfigureAwait(false))
        {
            LogAlreadyRunning(_logger, SocketPath);
            return Handle(LibvirtDaemonOutcome.AlreadyRunning);
        }

        if (_system.PathExists(SystemdMarker))
        {
            const string start = "systemctl start libvirtd.service";
            if (!_system.IsRoot)
            {
                return Handle(LibvirtDaemonOutcome.ActionRequired, "sudo " + start);
            }

            await RunOrThrowAsync(_system.FindExecutable("systemctl") ?? "systemctl", ["start", "libvirtd.service"], cancellationToken).ConfigureAwait(false);
            await WaitForSocketAsync(SocketPath, "libvirtd (started by systemd)", cancellationToken).ConfigureAwait(false);
            return Handle(LibvirtDaemonOutcome.StartedByServiceManager);
        }

        if (!_system.IsRoot)
        {
            return Handle(LibvirtDaemonOutcome.ActionRequired, "sudo sh -c 'virtlogd -d && libvirtd -d'");
        }

        var startLock = await AcquireStartLockAsync(cancellationToken).ConfigureAwait(false);
        await using (startLock.ConfigureAwait(false))
        {
            return await StartLockedAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<LibvirtDaemonHandle> StartLockedAsync(CancellationToken cancellationToken)
    {
        // Another process may have started it while we waited for the lock.
        if (await _system.SocketAnswersAsync(SocketPath, cancellationToken).ConfigureAwait(false))
        {
            LogAlreadyRunning(_logger, SocketPath);
            return Handle(LibvirtDaemonOutcome.AlreadyRunning);
        }

        await GrantKvmDeviceToQemuAsync(cancellationToken).ConfigureAwait(false);
        var started = new List<StartedDaemon>();
        try
        {
            if (!await _system.SocketAnswersAsync(VirtlogdSocketPath, cancellationToken).ConfigureAwait(false))
            {
                await StartDaemonAsync("virtlogd", VirtlogdPidFile, VirtlogdSocketPath, started, cancellationToken).ConfigureAwait(false);
            }

            await StartDaemonAsync("libvirtd", LibvirtdPidFile, SocketPath, started, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Leave nothing half-started behind.
            await Handle(LibvirtDaemonOutcome.Started, null, started).StopStartedAsync(CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        return Handle(LibvirtDaemonOutcome.Started, null, started);
    }

    private async Task StartDaemonAsync(
        string name, string pidFile, string socketPath, List<StartedDaemon> started, CancellationToken cancellationToken)
    {
        var executable = _system.FindExecutable(name)
            ?? throw new LibvirtDaemonException(
                $"'{name}' is not installed; install it with: apt-get install -y --no-install-recommends libvirt-daemon-system");
        await RunOrThrowAsync(executable, ["-d"], cancellationToken).ConfigureAwait(false);

        // `-d` returns once the daemon has written its pid file; record it before waiting for the
        // socket, so a daemon that never answers is still stopped.
        var pidText = await _system.ReadFileAsync(pidFile, cancellationToken).ConfigureAwait(false);
        if (!int.TryParse(pidText?.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid <= 0)
        {
            throw new LibvirtDaemonException($"{name} started, but its pid file {pidFile} holds no pid ('{pidText?.Trim()}')");
        }

        started.Add(new StartedDaemon(name, pid));
        LogStarted(_logger, name, pid);
        await WaitForSocketAsync(socketPath, name, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Gives <c>/dev/kvm</c> the owner and mode udev's rule gives it on a normal Debian system (root:kvm, 0660).
    /// Without a service manager no udev runs either, and the device keeps the kernel's root-only 0600. libvirt then
    /// finds KVM in its QEMU probe (run as root) but not usable by the qemu user (in group kvm), calls its
    /// capabilities cache stale on every call and probes QEMU again each time: seen here, 12 seconds and two QEMU
    /// processes for every connection that asks for the host's capabilities, which the engine does on each run.
    /// Failing to do it only costs that time, so a failure is logged and the start goes on.
    /// </summary>
    private async Task GrantKvmDeviceToQemuAsync(CancellationToken cancellationToken)
    {
        if (!_system.PathExists(KvmDevice))
        {
            return;
        }

        foreach (var (tool, arguments) in new[] { ("chown", new[] { "root:kvm", KvmDevice }), ("chmod", new[] { "0660", KvmDevice }) })
        {
            var result = await _system.RunAsync(_system.FindExecutable(tool) ?? tool, arguments, null, cancellationToken).ConfigureAwait(false);
            if (result.ExitCode != 0)
            {
                LogKvmDeviceNotGranted(_logger, KvmDevice, $"{tool} exited with {result.ExitCode.ToString(CultureInfo.InvariantCulture)}: {string.Join(' ', result.OutputTail)}");
                return;
            }
        }
    }

    private async Task RunOrThrowAsync(string fileName, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var result = await _system.RunAsync(fileName, arguments, null, cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new LibvirtDaemonException(
                $"'{fileName} {string.Join(' ', arguments)}' exited with {result.ExitCode.ToString(CultureInfo.InvariantCulture)}: "
                + string.Join(Environment.NewLine, result.OutputTail));
        }
    }

    private async Task WaitForSocketAsync(string socketPath, string what, CancellationToken cancellationToken)
    {
        var deadline = _timeProvider.GetUtcNow() + StartTimeout;
        while (!await _system.SocketAnswersAsync(socketPath, cancellationToken).ConfigureAwait(false))
        {
            if (_timeProvider.GetUtcNow() >= deadline)
            {
                throw new LibvirtDaemonTimeoutException(
                    $"{what} did not answer on {socketPath} within {StartTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s",
                    socketPath,
                    StartTimeout);
            }

            await Task.Delay(PollInterval, _timeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<FileStream> AcquireStartLockAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                // FileShare.None takes an exclusive flock(2) on Linux, which other processes respect.
                return new FileStream(LockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                await Task.Delay(PollInterval, _timeProvider, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private LibvirtDaemonHandle Handle(LibvirtDaemonOutcome outcome, string? requiredCommand = null, IReadOnlyList<StartedDaemon>? started = null) =>
        new(outcome, requiredCommand, started ?? [], SocketPath, _system, _timeProvider, StopTimeout, PollInterval);

    [LoggerMessage(EventId = 3201, Level = LogLevel.Debug, Message = "libvirt daemon already answers on {SocketPath}; starting nothing")]
    private static partial void LogAlreadyRunning(ILogger logger, string socketPath);

    [LoggerMessage(EventId = 3204, Level = LogLevel.Warning, Message = "Could not give {Device} to group kvm (libvirt will re-probe QEMU on every connection): {Reason}")]
    private static partial void LogKvmDeviceNotGranted(ILogger logger, string device, string reason);

    [LoggerMessage(EventId = 3202, Level = LogLevel.Information, Message = "Started {Daemon} (pid {Pid})")]
    private static partial void LogStarted(ILogger logger, string daemon, int pid);
}
