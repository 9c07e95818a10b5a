namespace Provisioner.Remote.Sessions;

/// <summary>What was going on when an SSH operation timed out.</summary>
public enum SshPhase
{
    /// <summary>TCP connect, SSH banner, key exchange and authentication.</summary>
    Connect,

    /// <summary>Running a command.</summary>
    Command,

    /// <summary>Uploading or downloading a file.</summary>
    Transfer,
}

/// <summary>Base of every error this library raises about a remote host; names the endpoint.</summary>
public abstract class RemoteException : Exception
{
    /// <summary>Creates the exception.</summary>
    protected RemoteException(SshEndpoint endpoint, string message, Exception? innerException)
        : base(message, innerException)
    {
        Endpoint = endpoint;
    }

    /// <summary>The host the error is about.</summary>
    public SshEndpoint Endpoint { get; }
}

/// <summary>
/// The server presented a host key other than the pinned one. The connection was dropped during key
/// exchange, before any authentication: no credential was offered to the impostor. Never transient.
/// </summary>
public sealed class HostKeyMismatchException : RemoteException
{
    /// <summary>Creates the exception.</summary>
    public HostKeyMismatchException(SshEndpoint endpoint, string expectedFingerprint, string presentedAlgorithm, string presentedFingerprint, Exception? innerException = null)
        : base(endpoint,
            $"Host key verification failed for {endpoint}: expected {expectedFingerprint}, the server presented {presentedAlgorithm} {presentedFingerprint}. "
            + "The connection was closed before authentication. Either the machine was replaced or someone is intercepting the connection.",
            innerException)
    {
        ExpectedFingerprint = expectedFingerprint;
        PresentedAlgorithm = presentedAlgorithm;
        PresentedFingerprint = presentedFingerprint;
    }

    /// <summary>Fingerprint of the pinned key.</summary>
    public string ExpectedFingerprint { get; }

    /// <summary>Type of the key the server presented.</summary>
    public string PresentedAlgorithm { get; }

    /// <summary>Fingerprint of the key the server presented.</summary>
    public string PresentedFingerprint { get; }
}

/// <summary>An SSH operation did not finish in time; says which phase and how long was allowed.</summary>
public sealed class SshTimeoutException : RemoteException
{
    /// <summary>Creates the exception.</summary>
    public SshTimeoutException(SshEndpoint endpoint, SshPhase phase, TimeSpan timeout, string? command = null, Exception? innerException = null)
        : base(endpoint, Describe(endpoint, phase, timeout, command), innerException)
    {
        Phase = phase;
        Timeout = timeout;
        Command = command;
    }

    /// <summary>What timed out.</summary>
    public SshPhase Phase { get; }

    /// <summary>The time allowed.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>The command (or transfer) that timed out, if any; holds no secret values.</summary>
    public string? Command { get; }

    private static string Describe(SshEndpoint endpoint, SshPhase phase, TimeSpan timeout, string? command) => phase switch
    {
        SshPhase.Connect => $"SSH connection to {endpoint} timed out after {timeout.TotalSeconds:0.###} s (TCP connect, banner, key exchange or authentication).",
        SshPhase.Command => $"Command on {endpoint} timed out after {timeout.TotalSeconds:0.###} s: {command}",
        _ => $"File transfer with {endpoint} timed out after {timeout.TotalSeconds:0.###} s: {command}",
    };
}

/// <summary>
/// The SSH connection could not be established (refused, reset, closed during the handshake, host unreachable).
/// The inner exception is the socket or SSH.NET error. <see cref="SshErrors.IsTransient"/> tells whether retrying may help.
/// </summary>
public sealed class SshConnectException : RemoteException
{
    /// <summary>Creates the exception.</summary>
    public SshConnectException(SshEndpoint endpoint, Exception innerException)
        : base(endpoint, $"SSH connection to {endpoint} failed: {innerException?.Message}", innerException)
    {
    }
}

/// <summary>
/// A jump host relayed no SSH connection to the final host (the inner exception of an <see cref="SshConnectException"/>
/// about the final host): it could not connect to it, or refused to forward. Transient (the final host may still be
/// booting) unless the jump host is known to refuse forwarding (<see cref="Prohibited"/>; SSH.NET rarely reports the
/// reason, so a refusal usually shows only as retries until the caller's time budget runs out).
/// </summary>
public sealed class SshForwardingException : RemoteException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="jump">The jump host.</param>
    /// <param name="target">The host it was asked to reach.</param>
    /// <param name="relayError">What the jump host reported.</param>
    /// <param name="innerException">What the session to <paramref name="target"/> saw.</param>
    public SshForwardingException(SshEndpoint jump, SshEndpoint target, Exception relayError, Exception? innerException = null)
        : base(jump,
            $"no SSH connection to {target} through jump host {jump}: {relayError?.Message} The jump host could not reach {target.Host}:{target.Port} "
            + "(refused or unreachable while the machine boots), or it does not allow TCP forwarding for this user (sshd AllowTcpForwarding).",
            innerException)
    {
        ArgumentNullException.ThrowIfNull(relayError);
        Target = target;
        RelayError = relayError;
        Prohibited = relayError.Message.Contains("prohibited", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The host the jump host was asked to reach.</summary>
    public SshEndpoint Target { get; }

    /// <summary>What the jump host reported (SSH channel open failure).</summary>
    public Exception RelayError { get; }

    /// <summary>The jump host said forwarding is administratively prohibited (e.g. <c>AllowTcpForwarding no</c>): retrying cannot help.</summary>
    public bool Prohibited { get; }
}

/// <summary>The server accepted the host key check but rejected the client key. Not transient.</summary>
public sealed class SshAuthenticationFailedException : RemoteException
{
    /// <summary>Creates the exception.</summary>
    public SshAuthenticationFailedException(SshEndpoint endpoint, Exception innerException)
        : base(endpoint, $"SSH authentication as '{endpoint.User}' to {endpoint} failed: {innerException?.Message}", innerException)
    {
    }
}

/// <summary>An established SSH connection broke while a command or transfer was running.</summary>
public sealed class SshConnectionLostException : RemoteException
{
    /// <summary>Creates the exception.</summary>
    public SshConnectionLostException(SshEndpoint endpoint, string command, Exception innerException)
        : base(endpoint, $"SSH connection to {endpoint} was lost while running: {command} ({innerException?.Message})", innerException)
    {
        Command = command;
    }

    /// <summary>The command that was running; it may or may not have completed on the host.</summary>
    public string Command { get; }
}

/// <summary>A remote command finished with a non-zero exit status (thrown by <see cref="CommandResult.EnsureSuccess"/>).</summary>
public sealed class RemoteCommandException : RemoteException
{
    /// <summary>Creates the exception.</summary>
    public RemoteCommandException(SshEndpoint endpoint, string command, int exitCode, string? exitSignal, string stdErrTail)
        : base(endpoint, Describe(endpoint, command, exitCode, exitSignal, stdErrTail), null)
    {
        Command = command;
        ExitCode = exitCode;
        ExitSignal = exitSignal;
        StdErrTail = stdErrTail;
    }

    /// <summary>The command line (never holds secret values: those travel on standard input).</summary>
    public string Command { get; }

    /// <summary>The exit status; -1 when the command was killed by a signal.</summary>
    public int ExitCode { get; }

    /// <summary>The signal that killed the command, if any (e.g. <c>TERM</c>).</summary>
    public string? ExitSignal { get; }

    /// <summary>The last lines of standard error.</summary>
    public string StdErrTail { get; }

    private static string Describe(SshEndpoint endpoint, string command, int exitCode, string? exitSignal, string stdErrTail)
    {
        var how = exitSignal is null ? $"exited with status {exitCode}" : $"was killed by signal {exitSignal}";
        var tail = stdErrTail.Length == 0 ? " (no output on stderr)" : ": " + stdErrTail;
        return $"Command on {endpoint} {how}: {command}{Environment.NewLine}stderr{tail}";
    }
}
