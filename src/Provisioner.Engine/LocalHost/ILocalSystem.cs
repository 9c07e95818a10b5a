namespace Provisioner.Engine.LocalHost;

/// <summary>
/// The few facts about, and actions on, the local machine that starting a local libvirt daemon
/// and installing prerequisites depend on. <see cref="LinuxLocalSystem"/> is the real one; the
/// seam exists so the decisions can be tested without a daemon, root, or apt.
/// </summary>
public interface ILocalSystem
{
    /// <summary>Whether this process runs with root privileges.</summary>
    bool IsRoot { get; }

    /// <summary>Whether a file or directory exists at <paramref name="path"/>.</summary>
    bool PathExists(string path);

    /// <summary>The full path of an executable found on PATH or in the sbin directories, or null.</summary>
    string? FindExecutable(string name);

    /// <summary>Whether a Unix stream socket at <paramref name="socketPath"/> accepts a connection.</summary>
    Task<bool> SocketAnswersAsync(string socketPath, CancellationToken cancellationToken);

    /// <summary>The text of a file, or null when it does not exist or cannot be read.</summary>
    Task<string?> ReadFileAsync(string path, CancellationToken cancellationToken);

    /// <summary>Runs a program to completion without standard input, reporting each output line.</summary>
    Task<ChildProcessResult> RunAsync(
        string fileName, IReadOnlyList<string> arguments, IProgress<string>? output, CancellationToken cancellationToken);

    /// <summary>
    /// Whether process <paramref name="pid"/> exists and its command name is <paramref name="expectedName"/>
    /// (so a pid reused by an unrelated process is never mistaken for the one we started).
    /// </summary>
    bool IsProcessRunning(int pid, string expectedName);

    /// <summary>Sends <paramref name="signal"/> (TERM, KILL) to process <paramref name="pid"/> alone.</summary>
    Task SignalAsync(int pid, string signal, CancellationToken cancellationToken);
}
