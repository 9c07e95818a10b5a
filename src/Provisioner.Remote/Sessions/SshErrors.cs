using System.Net.Sockets;
using Renci.SshNet.Common;
using Renci.SshNet.Messages.Transport;

namespace Provisioner.Remote.Sessions;

/// <summary>Classifies SSH failures for retry policies.</summary>
public static class SshErrors
{
    /// <summary>
    /// Whether retrying may succeed: the things that happen while a VM boots or its network comes up
    /// (connection refused, reset, host unreachable, no SSH banner in time, connection closed during the
    /// handshake), and an established connection breaking. Never for a host key mismatch, a rejected client key,
    /// a failed command, a command timeout, cancellation or bad input.
    /// </summary>
    public static bool IsTransient(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        switch (exception)
        {
            case HostKeyMismatchException:
            case SshAuthenticationFailedException:
            case RemoteCommandException:
            case OperationCanceledException:
            case ArgumentException:
                return false;
            case SshTimeoutException timeout:
                return timeout.Phase == SshPhase.Connect;
            case SshConnectionLostException:
                return true;
            case SshForwardingException forwarding:
                return !forwarding.Prohibited;
            case SshConnectException { InnerException: SshForwardingException forwarding }:
                return !forwarding.Prohibited;
            case SshConnectException connect:
                return connect.InnerException is { } inner && IsTransientCause(inner);
            case AggregateException aggregate:
                return aggregate.InnerExceptions.Count > 0 && aggregate.InnerExceptions.All(IsTransient);
            default:
                return IsTransientCause(exception);
        }
    }

    private static bool IsTransientCause(Exception exception) => exception switch
    {
        SocketException socket => socket.SocketErrorCode is SocketError.ConnectionRefused or SocketError.ConnectionReset
            or SocketError.ConnectionAborted or SocketError.TimedOut or SocketError.HostUnreachable
            or SocketError.NetworkUnreachable or SocketError.HostDown or SocketError.TryAgain or SocketError.NetworkDown
            or SocketError.Shutdown or SocketError.NotConnected,
        SshAuthenticationException => false,
        SshOperationTimeoutException => true,
        // "Connection closed by server" or a broken banner while sshd is still starting, or too many
        // unauthenticated connections at once (MaxStartups); not a failed negotiation or a rejected key.
        SshConnectionException ssh => ssh.DisconnectReason is DisconnectReason.None or DisconnectReason.ConnectionLost
            or DisconnectReason.ByApplication or DisconnectReason.ServiceNotAvailable or DisconnectReason.TooManyConnections,
        EndOfStreamException => true,
        IOException io => io.InnerException is SocketException inner ? IsTransientCause(inner) : true,
        _ => exception.InnerException is { } inner && IsTransientCause(inner),
    };
}
