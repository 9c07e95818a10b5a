using System.Diagnostics;
using Provisioner.Remote.Keys;
using Provisioner.Remote.Sessions;
using Provisioner.Remote.Shell;

namespace Provisioner.Engine.Tests.Hardening;

/// <summary>
/// A test double for the SSH transport only: an <see cref="IRemoteSession"/> that runs each command's exact
/// command line with the local <c>/bin/sh</c> (inside a network namespace when one is given, through
/// <c>ip netns exec</c>) and writes uploads to the local file system the way the real session does
/// (temporary file in the same folder, owner, mode, rename). Everything above the transport (the
/// applier, the audit runner, quoting, sudo) runs for real. Used as root.
/// </summary>
internal sealed class LocalShellSession : IRemoteSession
{
    private readonly string? _netns;

    public LocalShellSession(string? netns = null)
    {
        _netns = netns;
        Endpoint = new SshEndpoint("127.0.0.1", SshEndpoint.DefaultPort, "root");
        HostKey = SshKeyPair.GenerateEd25519("local-shell").PublicKey;
    }

    public SshEndpoint Endpoint { get; }

    public PinnedHostKey HostKey { get; }

    /// <summary>Every command line run, in order.</summary>
    public List<string> CommandLines { get; } = [];

    /// <summary>Every path uploaded, in order.</summary>
    public List<string> Uploads { get; } = [];

    public Task<CommandResult> RunAsync(ShellCommand command, CancellationToken cancellationToken) =>
        RunAsync(command, TimeSpan.FromMinutes(1), cancellationToken);

    public async Task<CommandResult> RunAsync(ShellCommand command, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        CommandLines.Add(command.CommandLine);
        var info = new ProcessStartInfo(_netns is null ? "/bin/sh" : "ip")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (_netns is not null)
        {
            foreach (var argument in new[] { "netns", "exec", _netns, "/bin/sh" })
            {
                info.ArgumentList.Add(argument);
            }
        }
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(command.CommandLine);
        using var process = Process.Start(info)!;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        var stdout = process.StandardOutput.ReadToEndAsync(cts.Token);
        var stderr = process.StandardError.ReadToEndAsync(cts.Token);
        if (command.StandardInput is { } input)
        {
            await process.StandardInput.BaseStream.WriteAsync(input, cts.Token);
        }
        process.StandardInput.Close();
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            process.Kill(entireProcessTree: true);
            throw new SshTimeoutException(Endpoint, SshPhase.Command, timeout, command.CommandLine);
        }
        return new CommandResult(process.ExitCode, await stdout, await stderr) { Command = command.CommandLine, Endpoint = Endpoint };
    }

    public async Task UploadAsync(Stream content, string remotePath, UnixFileMode mode, string? owner, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        using var buffer = new MemoryStream();
        await content.CopyToAsync(buffer, cancellationToken);
        await UploadAsync(buffer.ToArray(), remotePath, mode, owner, cancellationToken);
    }

    public async Task UploadAsync(ReadOnlyMemory<byte> content, string remotePath, UnixFileMode mode, string? owner, CancellationToken cancellationToken)
    {
        Uploads.Add(remotePath);
        var directory = Path.GetDirectoryName(remotePath) ?? throw new ArgumentException("no directory", nameof(remotePath));
        if (!Directory.Exists(directory))
        {
            throw new RemoteCommandException(Endpoint, $"upload {remotePath}", 1, null, $"{directory}: No such file or directory");
        }
        var temporary = Path.Combine(directory, $".{Path.GetFileName(remotePath)}.{Guid.NewGuid():N}.tmp");
        await File.WriteAllBytesAsync(temporary, content.ToArray(), cancellationToken);
        File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        if (owner is not null)
        {
            var chown = await RunAsync(ShellCommand.Create("chown", owner, "--", temporary), cancellationToken);
            chown.EnsureSuccess();
        }
        File.SetUnixFileMode(temporary, mode);
        File.Move(temporary, remotePath, overwrite: true);
    }

    public Task<byte[]> DownloadAsync(string remotePath, bool useSudo, CancellationToken cancellationToken) =>
        File.ReadAllBytesAsync(remotePath, cancellationToken);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
