using Microsoft.Extensions.Logging;

namespace Provisioner.Remote.Sessions;

/// <summary>
/// Every log line of the SSH layer, with stable event ids (1000-1299). No message takes a secret, a standard
/// input or an environment value marked secret: commands are logged by <see cref="Shell.ShellCommand.CommandLine"/>,
/// which never contains one.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1001, EventName = "SshConnecting", Level = LogLevel.Debug,
        Message = "Connecting to {Endpoint}, expecting host key {Expected}")]
    public static partial void Connecting(ILogger logger, SshEndpoint endpoint, string expected);

    [LoggerMessage(EventId = 1002, EventName = "SshConnected", Level = LogLevel.Information,
        Message = "Connected to {Endpoint}; host key {Fingerprint} matches the pinned key")]
    public static partial void Connected(ILogger logger, SshEndpoint endpoint, string fingerprint);

    [LoggerMessage(EventId = 1003, EventName = "SshHostKeyMismatch", Level = LogLevel.Error,
        Message = "Host key of {Endpoint} does not match the pinned key: expected {Expected}, presented {PresentedAlgorithm} {Presented}; connection closed before authentication")]
    public static partial void HostKeyMismatch(ILogger logger, SshEndpoint endpoint, string expected, string presentedAlgorithm, string presented);

    // Debug when transient (refused or reset while a guest boots is expected, and the caller retries and reports the
    // final failure itself), Warning otherwise.
    [LoggerMessage(EventId = 1004, EventName = "SshConnectFailed",
        Message = "Connecting to {Endpoint} failed (transient: {Transient}): {Reason}")]
    public static partial void ConnectFailed(ILogger logger, LogLevel level, SshEndpoint endpoint, bool transient, string reason);

    // Transient, like a refused connection: the caller decides whether it was the last attempt.
    [LoggerMessage(EventId = 1005, EventName = "SshConnectTimedOut", Level = LogLevel.Debug,
        Message = "Connecting to {Endpoint} timed out after {Timeout}")]
    public static partial void ConnectTimedOut(ILogger logger, SshEndpoint endpoint, TimeSpan timeout);

    [LoggerMessage(EventId = 1006, EventName = "SshAuthenticationFailed", Level = LogLevel.Error,
        Message = "Authentication as {User} to {Endpoint} was rejected: {Reason}")]
    public static partial void AuthenticationFailed(ILogger logger, string user, SshEndpoint endpoint, string reason);

    [LoggerMessage(EventId = 1007, EventName = "SshForwarding", Level = LogLevel.Debug,
        Message = "Reaching {Endpoint} through jump host {Jump} (relayed from 127.0.0.1:{LocalPort})")]
    public static partial void Forwarding(ILogger logger, SshEndpoint endpoint, SshEndpoint jump, int localPort);

    [LoggerMessage(EventId = 1010, EventName = "SshDisconnected", Level = LogLevel.Debug,
        Message = "Disconnected from {Endpoint}")]
    public static partial void Disconnected(ILogger logger, SshEndpoint endpoint);

    [LoggerMessage(EventId = 1101, EventName = "SshCommandStarting", Level = LogLevel.Debug,
        Message = "Running on {Endpoint}: {Command}")]
    public static partial void CommandStarting(ILogger logger, SshEndpoint endpoint, string command);

    [LoggerMessage(EventId = 1102, EventName = "SshCommandFinished", Level = LogLevel.Debug,
        Message = "Command on {Endpoint} exited with {ExitCode} after {Elapsed}: {Command}")]
    public static partial void CommandFinished(ILogger logger, SshEndpoint endpoint, int exitCode, TimeSpan elapsed, string command);

    [LoggerMessage(EventId = 1103, EventName = "SshCommandTimedOut", Level = LogLevel.Warning,
        Message = "Command on {Endpoint} timed out after {Timeout}: {Command}")]
    public static partial void CommandTimedOut(ILogger logger, SshEndpoint endpoint, TimeSpan timeout, string command);

    [LoggerMessage(EventId = 1104, EventName = "SshConnectionLost", Level = LogLevel.Warning,
        Message = "Connection to {Endpoint} lost while running: {Command}")]
    public static partial void ConnectionLost(ILogger logger, SshEndpoint endpoint, string command, Exception exception);

    [LoggerMessage(EventId = 1201, EventName = "SshUploaded", Level = LogLevel.Debug,
        Message = "Uploaded {Path} on {Endpoint} (mode {Mode}, owner {Owner})")]
    public static partial void Uploaded(ILogger logger, SshEndpoint endpoint, string path, string mode, string owner);

    [LoggerMessage(EventId = 1202, EventName = "SshDownloaded", Level = LogLevel.Debug,
        Message = "Downloaded {Path} from {Endpoint} ({Bytes} bytes)")]
    public static partial void Downloaded(ILogger logger, SshEndpoint endpoint, string path, int bytes);
}
