using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Provisioner.Core.Hardening;
using Provisioner.Remote.Sessions;
using Provisioner.Remote.Shell;

namespace Provisioner.Engine.Hardening;

/// <summary>What a re-apply did.</summary>
public sealed record HardeningApplyResult
{
    /// <summary>The node.</summary>
    public required string Node { get; init; }

    /// <summary>Files that differed from the bundle (or were missing) and were written.</summary>
    public required IReadOnlyList<string> ChangedFiles { get; init; }

    /// <summary>Activation commands that ran, in order.</summary>
    public required IReadOnlyList<ActivationCommand> Ran { get; init; }

    /// <summary>Conditional activation commands skipped because none of their files changed.</summary>
    public required IReadOnlyList<ActivationCommand> Skipped { get; init; }

    /// <summary>Whether any file had drifted.</summary>
    public bool Repaired => ChangedFiles.Count > 0;
}

/// <summary>An activation command failed on the node.</summary>
public sealed class HardeningApplyException : Exception
{
    /// <summary>Creates the exception.</summary>
    public HardeningApplyException(string node, ActivationCommand command, Exception innerException)
        : base($"hardening node '{node}': '{command}' ({command.Purpose}) failed: {innerException.Message}", innerException)
    {
        Node = node;
        Command = command;
    }

    /// <summary>Creates the exception.</summary>
    public HardeningApplyException()
        : base("hardening failed")
    {
        Node = string.Empty;
        Command = new ActivationCommand { Argv = [], Purpose = string.Empty };
    }

    /// <summary>Creates the exception.</summary>
    public HardeningApplyException(string message)
        : base(message)
    {
        Node = string.Empty;
        Command = new ActivationCommand { Argv = [], Purpose = string.Empty };
    }

    /// <summary>Creates the exception.</summary>
    public HardeningApplyException(string message, Exception innerException)
        : base(message, innerException)
    {
        Node = string.Empty;
        Command = new ActivationCommand { Argv = [], Purpose = string.Empty };
    }

    /// <summary>The node.</summary>
    public string Node { get; }

    /// <summary>The command that failed.</summary>
    public ActivationCommand Command { get; }
}

/// <summary>
/// Re-applies a <see cref="HardeningBundle"/> to a running node over SSH, idempotently, to repair drift:
/// files whose content (by SHA-256), mode or owner differs are uploaded atomically with their mode and owner, then the
/// activation commands run: the unconditional ones always (they are idempotent and repair runtime drift
/// such as a flushed ruleset), the conditional ones (Docker's restart) only when one of their files
/// changed. Applying an unchanged bundle twice uploads nothing and restarts nothing.
/// </summary>
public sealed partial class HardeningApplier
{
    private readonly ILogger _logger;

    /// <summary>Creates an applier.</summary>
    /// <param name="logger">Progress; file contents are never logged.</param>
    /// <param name="useSudo">Run commands and write files as root through <c>sudo -n</c> (needed unless the login user is root).</param>
    public HardeningApplier(ILogger<HardeningApplier>? logger = null, bool useSudo = true)
    {
        _logger = logger ?? NullLogger<HardeningApplier>.Instance;
        UseSudo = useSudo;
    }

    /// <summary>Whether commands run through <c>sudo -n</c>.</summary>
    public bool UseSudo { get; }

    /// <summary>Applies <paramref name="bundle"/> to the node behind <paramref name="session"/>.</summary>
    /// <exception cref="HardeningApplyException">An activation command failed.</exception>
    /// <exception cref="RemoteCommandException">A file could not be written.</exception>
    public async Task<HardeningApplyResult> ApplyAsync(IRemoteSession session, HardeningBundle bundle, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(bundle);
        LogApplying(_logger, bundle.Node, bundle.Files.Count);

        var installed = await InstalledAsync(session, bundle, cancellationToken).ConfigureAwait(false);
        var changed = bundle.Files.Where(f => !installed.TryGetValue(f.Path, out var state) || state != Expected(f)).ToList();

        var directories = changed.Select(f => Path.GetDirectoryName(f.Path)!).Distinct(StringComparer.Ordinal).ToList();
        if (directories.Count > 0)
        {
            // mkdir -p leaves existing directories (and their modes) alone; new ones get 0755 under root's umask.
            (await session.RunAsync(Command("mkdir", ["-p", "--", .. directories]), cancellationToken).ConfigureAwait(false)).EnsureSuccess();
        }
        foreach (var file in changed)
        {
            LogWriting(_logger, bundle.Node, file.Path, file.OctalMode, file.Owner);
            await session.UploadAsync(Encoding.UTF8.GetBytes(file.Content), file.Path, file.Mode, UseSudo ? file.Owner : null, cancellationToken).ConfigureAwait(false);
            if (!UseSudo)
            {
                // Logged in as root: the upload is root's already; set the declared owner explicitly.
                (await session.RunAsync(Command("chown", [file.Owner, "--", file.Path]), cancellationToken).ConfigureAwait(false)).EnsureSuccess();
            }
        }

        var changedPaths = changed.Select(f => f.Path).ToHashSet(StringComparer.Ordinal);
        var ran = new List<ActivationCommand>();
        var skipped = new List<ActivationCommand>();
        foreach (var activation in bundle.Activation)
        {
            if (!activation.Always && !activation.WhenChanged.Any(changedPaths.Contains))
            {
                skipped.Add(activation);
                continue;
            }
            var commandText = activation.ToString();
            LogActivating(_logger, bundle.Node, commandText, activation.Purpose);
            try
            {
                (await session.RunAsync(Command(activation.Argv[0], activation.Argv.Skip(1)), cancellationToken).ConfigureAwait(false)).EnsureSuccess();
            }
            catch (RemoteCommandException e)
            {
                throw new HardeningApplyException(bundle.Node, activation, e);
            }
            ran.Add(activation);
        }

        LogApplied(_logger, bundle.Node, changed.Count, ran.Count, skipped.Count);
        return new HardeningApplyResult
        {
            Node = bundle.Node,
            ChangedFiles = changed.Select(f => f.Path).ToList().AsReadOnly(),
            Ran = ran.AsReadOnly(),
            Skipped = skipped.AsReadOnly(),
        };
    }

    /// <summary>Content hash, mode and owner of each installed file; a missing file has no entry.</summary>
    private async Task<Dictionary<string, string>> InstalledAsync(IRemoteSession session, HardeningBundle bundle, CancellationToken cancellationToken)
    {
        // Both print what they can read and exit 1 for missing files: those count as changed.
        var paths = bundle.Files.Select(f => f.Path).ToList();
        var hashes = await session.RunAsync(Command("sha256sum", ["--", .. paths]), cancellationToken).ConfigureAwait(false);
        var modes = await session.RunAsync(Command("stat", ["-c", "%a %U:%G %n", "--", .. paths]), cancellationToken).ConfigureAwait(false);
        var hashOf = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in hashes.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            // "<64 hex>  <path>"; paths are the bundle's own, without newlines or backslashes.
            if (line.Length > 66 && line[64] == ' ' && line[65] == ' ')
            {
                hashOf[line[66..]] = line[..64];
            }
        }
        var state = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in modes.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(' ', 3);
            if (parts.Length == 3 && hashOf.TryGetValue(parts[2], out var hash))
            {
                state[parts[2]] = $"{hash} {parts[0].PadLeft(3, '0')} {parts[1]}";
            }
        }
        return state;
    }

    private static string Expected(HardeningFile file) => $"{Sha256(file.Content)} {file.OctalMode[1..]} {file.Owner}";

    private ShellCommand Command(string program, IEnumerable<string> arguments)
    {
        var command = ShellCommand.Create(program, arguments);
        return UseSudo ? command.WithSudo() : command;
    }

    private static string Sha256(string content) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(content)));

    [LoggerMessage(EventId = 3511, Level = LogLevel.Information, Message = "Applying hardening to node {Node} ({Files} files)")]
    private static partial void LogApplying(ILogger logger, string node, int files);

    [LoggerMessage(EventId = 3512, Level = LogLevel.Information, Message = "Node {Node}: writing {Path} ({Mode} {Owner})")]
    private static partial void LogWriting(ILogger logger, string node, string path, string mode, string owner);

    [LoggerMessage(EventId = 3513, Level = LogLevel.Information, Message = "Node {Node}: {Command} ({Purpose})")]
    private static partial void LogActivating(ILogger logger, string node, string command, string purpose);

    [LoggerMessage(EventId = 3514, Level = LogLevel.Information, Message = "Hardening of node {Node} applied: {Changed} files changed, {Ran} commands run, {Skipped} skipped")]
    private static partial void LogApplied(ILogger logger, string node, int changed, int ran, int skipped);
}
