using System.Diagnostics;
using System.Globalization;

namespace Provisioner.Engine.LocalHost;

/// <summary>How a child process ended: its exit code and the last lines it printed.</summary>
/// <param name="ExitCode">The process's exit code.</param>
/// <param name="OutputTail">The last lines of standard output and standard error, interleaved as read.</param>
public sealed record ChildProcessResult(int ExitCode, IReadOnlyList<string> OutputTail);

/// <summary>
/// Runs a program to completion with no standard input, streaming its output lines. The program
/// runs in a session of its own (<c>setsid</c>), so cancelling signals the whole process group:
/// a build script's trap gets SIGTERM and can unmount what it mounted, and its children stop
/// with it instead of running on orphaned.
/// </summary>
internal static class ChildProcess
{
    private const string SetsidPath = "/usr/bin/setsid";
    private static readonly TimeSpan OutputDrainTimeout = TimeSpan.FromSeconds(5);

    public static async Task<ChildProcessResult> RunAsync(
        string fileName,
        IReadOnlyList<string> arguments,
        IReadOnlyDictionary<string, string>? environment,
        Action<string>? onLine,
        int tailLines,
        TimeSpan terminateGrace,
        CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var ownSession = File.Exists(SetsidPath);
        var startInfo = new ProcessStartInfo(ownSession ? SetsidPath : fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (ownSession)
        {
            // --wait: should setsid have to fork, it still reports the program's exit code.
            startInfo.ArgumentList.Add("--wait");
            startInfo.ArgumentList.Add(fileName);
        }

        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        if (environment is not null)
        {
            foreach (var (key, value) in environment)
            {
                startInfo.Environment[key] = value;
            }
        }

        var tail = new Queue<string>();
        var gate = new Lock();
        void OnLine(string line)
        {
            lock (gate)
            {
                tail.Enqueue(line);
                while (tail.Count > tailLines)
                {
                    tail.Dequeue();
                }
            }

            onLine?.Invoke(line);
        }

        using var process = new Process { StartInfo = startInfo };
        process.Start();
        process.StandardInput.Close();
        var stdout = PumpAsync(process.StandardOutput, OnLine);
        var stderr = PumpAsync(process.StandardError, OnLine);

        try
        {
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await TerminateAsync(process, ownSession, terminateGrace).ConfigureAwait(false);
            throw;
        }

        try
        {
            // A program that daemonizes may leave a child holding the pipes; do not wait on it.
            await Task.WhenAll(stdout, stderr).WaitAsync(OutputDrainTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }

        lock (gate)
        {
            return new ChildProcessResult(process.ExitCode, [.. tail]);
        }
    }

    private static async Task PumpAsync(StreamReader reader, Action<string> onLine)
    {
        while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line)
        {
            onLine(line);
        }
    }

    private static async Task TerminateAsync(Process process, bool ownSession, TimeSpan grace)
    {
        if (process.HasExited)
        {
            return;
        }

        await SignalAsync(process.Id, ownSession, "TERM").ConfigureAwait(false);
        using var graceTimeout = new CancellationTokenSource(grace);
        try
        {
            await process.WaitForExitAsync(graceTimeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await SignalAsync(process.Id, ownSession, "KILL").ConfigureAwait(false);
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Signals the child's process group when the child leads one (setsid has run), otherwise
    /// the child alone: signalling a group the child has not left yet would hit our own.
    /// </summary>
    private static async Task SignalAsync(int pid, bool ownSession, string signal)
    {
        var target = pid.ToString(CultureInfo.InvariantCulture);
        if (ownSession && ProcessGroupOf(pid) == pid)
        {
            target = "-" + target;
        }

        var kill = new ProcessStartInfo("kill") { UseShellExecute = false, RedirectStandardError = true };
        kill.ArgumentList.Add("-s");
        kill.ArgumentList.Add(signal);
        kill.ArgumentList.Add("--");
        kill.ArgumentList.Add(target);
        using var killer = Process.Start(kill);
        if (killer is not null)
        {
            await killer.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    internal static int? ProcessGroupOf(int pid)
    {
        try
        {
            // /proc/<pid>/stat: "pid (comm) state ppid pgrp ..."; comm may contain spaces and ')'.
            var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return int.Parse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}
