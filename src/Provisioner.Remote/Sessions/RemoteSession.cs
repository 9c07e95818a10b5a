using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Provisioner.Core.Security;
using Provisioner.Remote.Keys;
using Provisioner.Remote.Shell;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace Provisioner.Remote.Sessions;

/// <summary>
/// An SSH session whose host key matched its pin, for running commands and moving files. Open one with
/// <see cref="ConnectAsync"/> or an <see cref="SshConnector"/>. Several commands may run concurrently (each uses
/// its own SSH channel).
/// </summary>
public sealed class RemoteSession : IRemoteSession
{
    // Constant script; every value arrives as a positional parameter. mktemp creates the file 0600, so the content
    // is private until chmod; chown comes before chmod because chown clears set-id bits; mv -T never moves the file
    // into a directory of the destination's name; rename(2) makes the switch atomic.
    private const string UploadScript =
        """
        set -eu
        dest=$1; mode=$2; owner=$3
        dir=$(dirname -- "$dest"); base=$(basename -- "$dest")
        tmp=$(mktemp -- "$dir/.$base.XXXXXXXX")
        trap 'rm -f -- "$tmp"' EXIT
        cat > "$tmp"
        if [ -n "$owner" ]; then chown -- "$owner" "$tmp"; fi
        chmod -- "$mode" "$tmp"
        mv -f -T -- "$tmp" "$dest"
        trap - EXIT
        """;

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    private readonly SshClient _client;
    private readonly IDisposable _resources;
    private readonly TimeSpan _defaultTimeout;
    private readonly ILogger _logger;
    private readonly TimeProvider _timeProvider;
    private int _disposed;

    internal RemoteSession(SshEndpoint endpoint, PinnedHostKey hostKey, SshClient client, IDisposable resources, TimeSpan defaultTimeout, ILogger logger, TimeProvider timeProvider)
    {
        Endpoint = endpoint;
        HostKey = hostKey;
        _client = client;
        _resources = resources;
        _defaultTimeout = defaultTimeout;
        _logger = logger;
        _timeProvider = timeProvider;
    }

    /// <inheritdoc />
    public SshEndpoint Endpoint { get; }

    /// <inheritdoc />
    public PinnedHostKey HostKey { get; }

    /// <summary>The jump host the session runs through, or null for a direct connection.</summary>
    public SshEndpoint? Jump { get; init; }

    /// <summary>Connects with default settings, no logging and the system clock; see <see cref="ISshConnector.ConnectAsync"/>.</summary>
    public static Task<RemoteSession> ConnectAsync(SshEndpoint endpoint, PinnedHostKey hostKey, Secret clientPrivateKey, TimeSpan timeout, CancellationToken cancellationToken) =>
        new SshConnector().ConnectAsync(endpoint, hostKey, clientPrivateKey, timeout, cancellationToken);

    /// <inheritdoc />
    public Task<CommandResult> RunAsync(ShellCommand command, CancellationToken cancellationToken) =>
        RunAsync(command, _defaultTimeout, cancellationToken);

    /// <inheritdoc />
    public async Task<CommandResult> RunAsync(ShellCommand command, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        var outcome = await ExecuteAsync(command, null, timeout, SshPhase.Command, captureBytes: false, cancellationToken).ConfigureAwait(false);
        return outcome.Result;
    }

    /// <inheritdoc />
    public Task UploadAsync(ReadOnlyMemory<byte> content, string remotePath, UnixFileMode mode, string? owner, CancellationToken cancellationToken)
    {
        var stream = new MemoryStream(content.ToArray(), writable: false);
        return UploadAsync(stream, remotePath, mode, owner, cancellationToken);
    }

    /// <inheritdoc />
    public async Task UploadAsync(Stream content, string remotePath, UnixFileMode mode, string? owner, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        ValidateRemotePath(remotePath);
        if ((int)mode is < 0 or > 0xFFF)
        {
            throw new ArgumentOutOfRangeException(nameof(mode), mode, "mode: not a Unix permission value (0-07777).");
        }

        if (owner is not null && !IsValidOwner(owner))
        {
            throw new ArgumentException($"owner: '{owner}' is not 'user' or 'user:group'.", nameof(owner));
        }

        var octalMode = Convert.ToString((int)mode, 8).PadLeft(4, '0');
        var command = ShellCommand.Script(UploadScript, remotePath, octalMode, owner ?? "");
        if (owner is not null && !Endpoint.IsRoot)
        {
            command = command.WithSudo();
        }

        var outcome = await ExecuteAsync(command, content, _defaultTimeout, SshPhase.Transfer, captureBytes: false, cancellationToken).ConfigureAwait(false);
        var result = outcome.Result with { Command = $"upload to {remotePath} (mode {octalMode}, owner {owner ?? Endpoint.User})" };
        result.EnsureSuccess();
        if (outcome.InputError is { } inputError)
        {
            // The script succeeded, yet not all content went in: never report a truncated file as uploaded.
            throw new SshConnectionLostException(Endpoint, result.Command, inputError);
        }

        Log.Uploaded(_logger, Endpoint, remotePath, octalMode, owner ?? Endpoint.User);
    }

    /// <inheritdoc />
    public async Task<byte[]> DownloadAsync(string remotePath, bool useSudo, CancellationToken cancellationToken)
    {
        ValidateRemotePath(remotePath);
        var command = ShellCommand.Create("cat", "--", remotePath);
        if (useSudo && !Endpoint.IsRoot)
        {
            command = command.WithSudo();
        }

        var outcome = await ExecuteAsync(command, null, _defaultTimeout, SshPhase.Transfer, captureBytes: true, cancellationToken).ConfigureAwait(false);
        outcome.Result.EnsureSuccess();
        Log.Downloaded(_logger, Endpoint, remotePath, outcome.StdOutBytes.Length);
        return outcome.StdOutBytes;
    }

    /// <summary>Closes the connection.</summary>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            try
            {
                if (_client.IsConnected)
                {
                    _client.Disconnect();
                }
            }
            catch (Exception ex) when (ex is SshException or SocketException or IOException or ObjectDisposedException)
            {
                // The connection is already gone; nothing to close.
            }
            finally
            {
                _client.Dispose();
                _resources.Dispose();
                Log.Disconnected(_logger, Endpoint);
            }
        }

        return ValueTask.CompletedTask;
    }

    private async Task<Outcome> ExecuteAsync(ShellCommand command, Stream? extraInput, TimeSpan timeout, SshPhase phase, bool captureBytes, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (timeout <= TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "timeout must be positive or infinite.");
        }

        var commandLine = command.CommandLine;
        Log.CommandStarting(_logger, Endpoint, commandLine);
        var started = _timeProvider.GetTimestamp();
        using var timeoutSource = new CancellationTokenSource(timeout, _timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutSource.Token);
        var head = command.BuildStandardInputPrefix();
        try
        {
            if (head.Length == 0 && extraInput is not null)
            {
                var buffer = new byte[64 * 1024];
                var read = await extraInput.ReadAtLeastAsync(buffer, 1, throwOnEndOfStream: false, linked.Token).ConfigureAwait(false);
                head = buffer.AsSpan(0, read).ToArray();
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(buffer);
            }

            // SSH.NET sends end-of-file on standard input only after at least one byte was written to it, so a
            // command without input reads it from /dev/null instead of waiting forever for more.
            var hasInput = head.Length > 0;
            var sent = hasInput ? commandLine : "exec </dev/null; " + commandLine;
            using var sshCommand = _client.CreateCommand(sent, Utf8);
            Exception? inputError;
            try
            {
                var execution = sshCommand.ExecuteAsync(linked.Token);
                inputError = hasInput
                    ? await WriteInputAsync(sshCommand, head, extraInput, linked.Token).ConfigureAwait(false)
                    : null;
                await execution.ConfigureAwait(false);
            }
            catch (OperationCanceledException ex) when (timeoutSource.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                Log.CommandTimedOut(_logger, Endpoint, timeout, commandLine);
                throw new SshTimeoutException(Endpoint, phase, timeout, commandLine, ex);
            }
            catch (SshOperationTimeoutException ex)
            {
                Log.CommandTimedOut(_logger, Endpoint, timeout, commandLine);
                throw new SshTimeoutException(Endpoint, phase, timeout, commandLine, ex);
            }
            catch (Exception ex) when (ex is SshException or SocketException or IOException)
            {
                Log.ConnectionLost(_logger, Endpoint, commandLine, ex);
                throw new SshConnectionLostException(Endpoint, commandLine, ex);
            }

            return await CollectAsync(sshCommand, commandLine, captureBytes, started, inputError, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(head);
        }
    }

    private async Task<Outcome> CollectAsync(SshCommand sshCommand, string commandLine, bool captureBytes, long started, Exception? inputError, CancellationToken cancellationToken)
    {
        byte[] stdoutBytes = [];
        string stdout;
        if (captureBytes)
        {
            using var buffer = new MemoryStream();
            await sshCommand.OutputStream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
            stdoutBytes = buffer.ToArray();
            stdout = "";
        }
        else
        {
            stdout = sshCommand.Result;
        }

        var exitCode = sshCommand.ExitStatus ?? -1;
        var result = new CommandResult(exitCode, stdout, sshCommand.Error)
        {
            Command = commandLine,
            Endpoint = Endpoint,
            ExitSignal = sshCommand.ExitStatus is null ? sshCommand.ExitSignal ?? "(none reported)" : null,
        };
        var elapsed = _timeProvider.GetElapsedTime(started);
        Log.CommandFinished(_logger, Endpoint, exitCode, elapsed, commandLine);
        return new Outcome(result, stdoutBytes, inputError);
    }

    // Writes the head (secret environment values, the command's own standard input, or the first chunk of streamed
    // content), then the rest of the stream, then closes standard input so the command sees end-of-file. Returns,
    // rather than throws, a write failure: a command may exit without reading its input, and its exit status is the
    // better report.
    private static async Task<Exception?> WriteInputAsync(SshCommand sshCommand, byte[] head, Stream? rest, CancellationToken cancellationToken)
    {
        var input = sshCommand.CreateInputStream();
        try
        {
            await input.WriteAsync(head, cancellationToken).ConfigureAwait(false);
            if (rest is not null)
            {
                await rest.CopyToAsync(input, cancellationToken).ConfigureAwait(false);
            }

            return null;
        }
        catch (Exception ex) when (ex is SshException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            return ex;
        }
        finally
        {
            try
            {
                await input.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SshException or IOException or ObjectDisposedException or InvalidOperationException)
            {
                // The channel is already closed: the command has finished.
            }
        }
    }

    private static void ValidateRemotePath(string remotePath)
    {
        ArgumentNullException.ThrowIfNull(remotePath);
        ShellQuote.Validate(remotePath, nameof(remotePath));
        if (!remotePath.StartsWith('/') || remotePath.EndsWith('/') || remotePath.Any(char.IsControl))
        {
            throw new ArgumentException($"remotePath: '{remotePath}' must be an absolute file path without control characters.", nameof(remotePath));
        }
    }

    private static bool IsValidOwner(string owner)
    {
        var parts = owner.Split(':');
        return parts.Length is 1 or 2 && parts.All(p => ShellCommand.UserNamePattern().IsMatch(p));
    }

    private readonly record struct Outcome(CommandResult Result, byte[] StdOutBytes, Exception? InputError);
}
