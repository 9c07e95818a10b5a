using Provisioner.Core.CloudInit;

namespace Provisioner.Core.Hardening;

/// <summary>A file to install on the node.</summary>
public sealed record HardeningFile
{
    /// <summary>Absolute path on the node.</summary>
    public required string Path { get; init; }

    /// <summary>Content (UTF-8 text, LF line ends).</summary>
    public required string Content { get; init; }

    /// <summary>Permissions.</summary>
    public required UnixFileMode Mode { get; init; }

    /// <summary>Owner as <c>user:group</c>.</summary>
    public string Owner { get; init; } = "root:root";

    /// <summary>The mode in octal with a leading zero, e.g. <c>0644</c>, as cloud-init and chmod take it.</summary>
    public string OctalMode => "0" + Convert.ToString((int)Mode, 8).PadLeft(3, '0');
}

/// <summary>A command that activates installed files, as an argument vector (never a shell string).</summary>
public sealed record ActivationCommand
{
    /// <summary>Program and arguments.</summary>
    public required IReadOnlyList<string> Argv { get; init; }

    /// <summary>What the command is for, for progress output and errors.</summary>
    public required string Purpose { get; init; }

    /// <summary>
    /// Run only when one of these installed files changed (on re-apply over SSH); empty means always.
    /// At first boot through cloud-init every command runs.
    /// </summary>
    public IReadOnlyList<string> WhenChanged { get; init; } = [];

    /// <summary>Whether the command runs on every apply.</summary>
    public bool Always => WhenChanged.Count == 0;

    /// <inheritdoc />
    public override string ToString() => string.Join(' ', Argv);
}

/// <summary>
/// Everything that hardens one node: the files to install and the commands that activate them, in
/// order. The same bundle is applied at first boot through cloud-init (<see cref="CloudInitFiles"/>,
/// <see cref="CloudInitRunCommands"/>) and re-applied later over SSH, idempotently, to repair drift.
/// </summary>
public sealed record HardeningBundle
{
    /// <summary>The node the bundle is for.</summary>
    public required string Node { get; init; }

    /// <summary>Files, in install order.</summary>
    public required IReadOnlyList<HardeningFile> Files { get; init; }

    /// <summary>Activation commands, in order; run as root after all files are installed.</summary>
    public required IReadOnlyList<ActivationCommand> Activation { get; init; }

    /// <summary>The rendered daemon.json with the baseline and the stack's overrides.</summary>
    public required DaemonConfiguration Daemon { get; init; }

    /// <summary>The node's firewall policy (what the ruleset enforces and the audit expects).</summary>
    public required FirewallPolicy Firewall { get; init; }

    /// <summary>The file installed at <paramref name="path"/>, or <see langword="null"/>.</summary>
    public HardeningFile? FindFile(string path) => Files.FirstOrDefault(f => string.Equals(f.Path, path, StringComparison.Ordinal));

    /// <summary>The files as cloud-init <c>write_files</c> entries (written before users and packages: all are root's).</summary>
    public IReadOnlyList<CloudInitFile> CloudInitFiles() => Files
        .Select(f => new CloudInitFile { Path = f.Path, Content = f.Content, Permissions = f.OctalMode, Owner = f.Owner })
        .ToList()
        .AsReadOnly();

    /// <summary>The activation commands as cloud-init <c>runcmd</c> entries (all of them: first boot applies everything).</summary>
    public IReadOnlyList<IReadOnlyList<string>> CloudInitRunCommands() => Activation
        .Select(c => (IReadOnlyList<string>)c.Argv.ToList().AsReadOnly())
        .ToList()
        .AsReadOnly();

    /// <summary>Adds this bundle's files and commands to <paramref name="spec"/> (after what it already holds).</summary>
    public CloudInitSpec AddTo(CloudInitSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return spec with
        {
            WriteFiles = [.. spec.WriteFiles, .. CloudInitFiles()],
            RunCommands = [.. spec.RunCommands, .. CloudInitRunCommands()],
        };
    }
}
