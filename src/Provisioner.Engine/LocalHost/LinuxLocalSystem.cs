using System.Globalization;
using System.Net.Sockets;

namespace Provisioner.Engine.LocalHost;

/// <summary>The local Linux machine, as seen by this process.</summary>
public sealed class LinuxLocalSystem : ILocalSystem
{
    private static readonly string[] SbinDirectories = ["/usr/local/sbin", "/usr/sbin", "/sbin"];
    private static readonly TimeSpan SocketProbeTimeout = TimeSpan.FromSeconds(2);

    /// <summary>The shared instance.</summary>
    public static LinuxLocalSystem Instance { get; } = new();

    /// <inheritdoc />
    public bool IsRoot => Environment.IsPrivilegedProcess;

    /// <inheritdoc />
    public bool PathExists(string path) => File.Exists(path) || Directory.Exists(path);

    /// <inheritdoc />
    public string? FindExecutable(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.Contains('/', StringComparison.Ordinal))
        {
            return File.Exists(name) ? name : null;
        }

        // Daemons live in sbin, which a non-login PATH often lacks.
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        var directories = path.Split(':', StringSplitOptions.RemoveEmptyEntries).Concat(SbinDirectories);
        return directories.Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);
    }

    /// <inheritdoc />
    public async Task<bool> SocketAnswersAsync(string socketPath, CancellationToken cancellationToken)
    {
        if (!File.Exists(socketPath))
        {
            return false;
        }

        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(SocketProbeTimeout);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), timeout.Token).ConfigureAwait(false);
            return true;
        }
        catch (SocketException)
        {
            // Refused: a stale socket file left by a daemon that is gone.
            return false;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public async Task<string?> ReadFileAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            return await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public Task<ChildProcessResult> RunAsync(
        string fileName, IReadOnlyList<string> arguments, IProgress<string>? output, CancellationToken cancellationToken) =>
        ChildProcess.RunAsync(
            fileName,
            arguments,
            environment: null,
            output is null ? null : output.Report,
            tailLines: 40,
            terminateGrace: TimeSpan.FromSeconds(10),
            cancellationToken);

    /// <inheritdoc />
    public bool IsProcessRunning(int pid, string expectedName)
    {
        try
        {
            var comm = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/comm").TrimEnd('\n');
            return string.Equals(comm, expectedName, StringComparison.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public async Task SignalAsync(int pid, string signal, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pid);
        if (signal is not ("TERM" or "KILL"))
        {
            throw new ArgumentOutOfRangeException(nameof(signal), signal, "only TERM and KILL are sent");
        }

        await RunAsync("kill", ["-s", signal, "--", pid.ToString(CultureInfo.InvariantCulture)], null, cancellationToken)
            .ConfigureAwait(false);
    }
}
