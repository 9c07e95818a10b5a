using Provisioner.Core.Security;
using Provisioner.Remote.Keys;
using Provisioner.Remote.Shell;

namespace Provisioner.Remote.Sessions;

/// <summary>An authenticated SSH connection to one host whose host key matched its pin.</summary>
public interface IRemoteSession : IAsyncDisposable
{
    /// <summary>The host, port and login user.</summary>
    SshEndpoint Endpoint { get; }

    /// <summary>The host key the server presented, equal to the pinned one.</summary>
    PinnedHostKey HostKey { get; }

    /// <summary>Runs <paramref name="command"/> with the session's default command timeout.</summary>
    /// <returns>The exit status and output; a non-zero exit is not an exception (call <see cref="CommandResult.EnsureSuccess"/>).</returns>
    /// <exception cref="SshTimeoutException">The command did not finish in time (phase <see cref="SshPhase.Command"/>); it was sent a signal.</exception>
    /// <exception cref="SshConnectionLostException">The connection broke.</exception>
    Task<CommandResult> RunAsync(ShellCommand command, CancellationToken cancellationToken);

    /// <summary>Runs <paramref name="command"/>, allowing it <paramref name="timeout"/> (<see cref="Timeout.InfiniteTimeSpan"/> for no limit).</summary>
    Task<CommandResult> RunAsync(ShellCommand command, TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>
    /// Writes <paramref name="content"/> to <paramref name="remotePath"/> atomically: into a new temporary file in the
    /// same directory (created mode 0600), then chown, chmod and rename over the destination, so readers never see a
    /// partial file and nobody can read it before its mode is set.
    /// </summary>
    /// <param name="content">The bytes to write; read to the end.</param>
    /// <param name="remotePath">Absolute path of the destination file; an existing file is replaced, a directory is refused.</param>
    /// <param name="mode">The file's permissions.</param>
    /// <param name="owner">Null: written as the login user, without privileges. Otherwise <c>user</c> or <c>user:group</c>:
    /// written through <c>sudo -n</c> (unless logged in as root) and owned by them, so a non-root login user can install
    /// root-owned files.</param>
    /// <param name="cancellationToken">Cancels the transfer.</param>
    /// <exception cref="RemoteCommandException">The file could not be written (missing directory, no permission, no sudo rule).</exception>
    Task UploadAsync(Stream content, string remotePath, UnixFileMode mode, string? owner, CancellationToken cancellationToken);

    /// <inheritdoc cref="UploadAsync(Stream, string, UnixFileMode, string?, CancellationToken)"/>
    Task UploadAsync(ReadOnlyMemory<byte> content, string remotePath, UnixFileMode mode, string? owner, CancellationToken cancellationToken);

    /// <summary>Reads the file at <paramref name="remotePath"/>, through <c>sudo -n</c> when <paramref name="useSudo"/> is set.</summary>
    /// <exception cref="RemoteCommandException">The file could not be read.</exception>
    Task<byte[]> DownloadAsync(string remotePath, bool useSudo, CancellationToken cancellationToken);
}

/// <summary>Opens <see cref="IRemoteSession"/>s; the seam the engine uses (and fakes in its tests).</summary>
public interface ISshConnector
{
    /// <summary>
    /// Connects to <paramref name="endpoint"/>, refuses the server unless it presents exactly <paramref name="hostKey"/>
    /// (checked during key exchange, before authentication), and authenticates with <paramref name="clientPrivateKey"/>.
    /// </summary>
    /// <param name="endpoint">Where to connect.</param>
    /// <param name="hostKey">The key the server must present.</param>
    /// <param name="clientPrivateKey">The client's private key in OpenSSH (or PEM) format.</param>
    /// <param name="timeout">Time allowed for TCP connect, banner, key exchange and authentication together.</param>
    /// <param name="cancellationToken">Cancels the attempt.</param>
    /// <exception cref="HostKeyMismatchException">The server presented another key.</exception>
    /// <exception cref="SshTimeoutException">Not connected in time (phase <see cref="SshPhase.Connect"/>; transient).</exception>
    /// <exception cref="SshConnectException">Refused, reset, unreachable or closed during the handshake (see <see cref="SshErrors.IsTransient"/>).</exception>
    /// <exception cref="SshAuthenticationFailedException">The server rejected the client key.</exception>
    Task<IRemoteSession> ConnectAsync(SshEndpoint endpoint, PinnedHostKey hostKey, Secret clientPrivateKey, TimeSpan timeout, CancellationToken cancellationToken);
}
