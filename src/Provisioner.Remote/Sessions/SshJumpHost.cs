using Provisioner.Core.Security;
using Provisioner.Remote.Keys;

namespace Provisioner.Remote.Sessions;

/// <summary>
/// An SSH server to hop through (the KVM host a guest runs on): where it is, the keys it may present, and the key to
/// log in with. Its host key is verified like any other: the connection is refused unless it presents one of
/// <see cref="HostKeys"/>.
/// </summary>
public sealed record SshJumpHost
{
    /// <summary>Creates the jump host.</summary>
    /// <param name="endpoint">Where the jump host listens and as whom to log in.</param>
    /// <param name="hostKeys">The keys it may present (e.g. every key known_hosts lists for it); at least one.</param>
    /// <param name="clientPrivateKey">The private key to log in to the jump host with (OpenSSH or PEM format).</param>
    /// <exception cref="ArgumentException"><paramref name="hostKeys"/> is empty.</exception>
    public SshJumpHost(SshEndpoint endpoint, IReadOnlyList<PinnedHostKey> hostKeys, Secret clientPrivateKey)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(hostKeys);
        ArgumentNullException.ThrowIfNull(clientPrivateKey);
        if (hostKeys.Count == 0 || hostKeys.Any(k => k is null))
        {
            throw new ArgumentException($"hostKeys: the jump host {endpoint} needs at least one pinned host key (and no null entries).", nameof(hostKeys));
        }

        Endpoint = endpoint;
        HostKeys = [.. hostKeys];
        ClientPrivateKey = clientPrivateKey;
    }

    /// <summary>Where the jump host listens and as whom to log in.</summary>
    public SshEndpoint Endpoint { get; }

    /// <summary>The keys the jump host may present.</summary>
    public IReadOnlyList<PinnedHostKey> HostKeys { get; }

    /// <summary>The private key to log in to the jump host with; never printed (<see cref="Secret"/>).</summary>
    public Secret ClientPrivateKey { get; }

    /// <summary>The jump host's endpoint (no key material).</summary>
    public override string ToString() => Endpoint.ToString();
}

/// <summary>Opens sessions to hosts that are reached through a jump host (SSH <c>direct-tcpip</c> forwarding).</summary>
public interface ISshJumpConnector
{
    /// <summary>
    /// Connects to <paramref name="jump"/> (verifying its host key against <see cref="SshJumpHost.HostKeys"/>), has it
    /// open a TCP connection to <paramref name="endpoint"/>, and runs the SSH session to <paramref name="endpoint"/> over
    /// it, verifying <paramref name="hostKey"/> end to end (the jump host only relays encrypted bytes).
    /// </summary>
    /// <param name="jump">The host to hop through.</param>
    /// <param name="endpoint">The final host, as the jump host reaches it.</param>
    /// <param name="hostKey">The key the final host must present.</param>
    /// <param name="clientPrivateKey">The key to log in to the final host with.</param>
    /// <param name="timeout">Time allowed for both hops together.</param>
    /// <param name="cancellationToken">Cancels the attempt.</param>
    /// <exception cref="HostKeyMismatchException">The jump host or the final host presented another key; <see cref="RemoteException.Endpoint"/> says which.</exception>
    /// <exception cref="SshTimeoutException">Not connected in time (transient).</exception>
    /// <exception cref="SshConnectException">A hop was refused or closed; for the final hop, also when the jump host could not reach it (see <see cref="SshErrors.IsTransient"/>).</exception>
    /// <exception cref="SshAuthenticationFailedException">The jump host or the final host rejected the client key.</exception>
    Task<IRemoteSession> ConnectAsync(SshJumpHost jump, SshEndpoint endpoint, PinnedHostKey hostKey, Secret clientPrivateKey, TimeSpan timeout, CancellationToken cancellationToken);
}
