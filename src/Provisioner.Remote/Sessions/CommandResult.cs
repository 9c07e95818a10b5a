namespace Provisioner.Remote.Sessions;

/// <summary>The outcome of a remote command.</summary>
/// <param name="ExitCode">The exit status; -1 when the command was killed by a signal (see <see cref="ExitSignal"/>).</param>
/// <param name="StdOut">Standard output, decoded as UTF-8.</param>
/// <param name="StdErr">Standard error, decoded as UTF-8.</param>
public sealed record CommandResult(int ExitCode, string StdOut, string StdErr)
{
    private const int TailLines = 20;
    private const int TailCharacters = 4000;

    /// <summary>The command line that ran (holds no secret values).</summary>
    public string Command { get; init; } = "";

    /// <summary>Where it ran.</summary>
    public SshEndpoint? Endpoint { get; init; }

    /// <summary>The signal that killed the command, if any.</summary>
    public string? ExitSignal { get; init; }

    /// <summary>Whether the command exited with status 0.</summary>
    public bool Succeeded => ExitCode == 0 && ExitSignal is null;

    /// <summary>Returns this result if the command succeeded.</summary>
    /// <exception cref="RemoteCommandException">The command failed; the message holds the command and the tail of stderr.</exception>
    public CommandResult EnsureSuccess()
    {
        if (Succeeded)
        {
            return this;
        }

        // A result built by hand (a fake in the engine's tests) may have no endpoint; say so rather than invent one.
        throw new RemoteCommandException(
            Endpoint ?? new SshEndpoint("unknown.invalid", "unknown"), Command, ExitCode, ExitSignal, Tail(StdErr));
    }

    /// <summary>The last <see cref="TailLines"/> lines of <paramref name="text"/>, at most <see cref="TailCharacters"/> characters.</summary>
    internal static string Tail(string text)
    {
        var trimmed = text.TrimEnd();
        var lines = trimmed.Split('\n');
        var tail = lines.Length > TailLines ? "…\n" + string.Join('\n', lines[^TailLines..]) : trimmed;
        return tail.Length > TailCharacters ? "…" + tail[^TailCharacters..] : tail;
    }
}
