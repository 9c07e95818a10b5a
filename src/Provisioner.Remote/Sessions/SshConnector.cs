using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Provisioner.Core.Security;
using Provisioner.Remote.Keys;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace Provisioner.Remote.Sessions;

/// <summary>Settings shared by the sessions an <see cref="SshConnector"/> opens.</summary>
public sealed record SshConnectorOptions
{
    /// <summary>Time a command (or transfer) may take when the caller gives no timeout. Default 10 minutes.</summary>
    public TimeSpan DefaultCommandTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Interval of SSH keep-alive messages, so idle sessions survive NAT and firewall timeouts. Default 30 s; <see cref="Timeout.InfiniteTimeSpan"/> disables them.</summary>
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>Opens SSH sessions with pinned host keys (SSH.NET underneath).</summary>
public sealed class SshConnector : ISshConnector, ISshJumpConnector
{
    private readonly SshConnectorOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly TimeProvider _timeProvider;

    /// <summary>Creates a connector.</summary>
    /// <param name="options">Defaults for the sessions; null for the defaults.</param>
    /// <param name="loggerFactory">Where sessions log; null for no logging.</param>
    /// <param name="timeProvider">Clock for timeouts; null for the system clock.</param>
    public SshConnector(SshConnectorOptions? options = null, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        _options = options ?? new SshConnectorOptions();
        if (_options.DefaultCommandTimeout <= TimeSpan.Zero && _options.DefaultCommandTimeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(options), _options.DefaultCommandTimeout, "options.DefaultCommandTimeout must be positive.");
        }

        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <inheritdoc cref="ISshConnector.ConnectAsync"/>
    public async Task<RemoteSession> ConnectAsync(SshEndpoint endpoint, PinnedHostKey hostKey, Secret clientPrivateKey, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(hostKey);
        ArgumentNullException.ThrowIfNull(clientPrivateKey);
        CheckTimeout(timeout);

        var logger = _loggerFactory.CreateLogger<RemoteSession>();
        var keyFile = LoadPrivateKey(clientPrivateKey);
        SshClient? client = null;
        try
        {
            using var timeoutSource = new CancellationTokenSource(timeout, _timeProvider);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutSource.Token);
            client = await OpenClientAsync(endpoint, endpoint.Host, endpoint.Port, [hostKey], keyFile, timeout, logger, linked.Token, cancellationToken).ConfigureAwait(false);
            var session = new RemoteSession(endpoint, hostKey, client, keyFile, _options.DefaultCommandTimeout, logger, _timeProvider);
            client = null;
            keyFile = null;
            return session;
        }
        finally
        {
            client?.Dispose();
            keyFile?.Dispose();
        }
    }

    async Task<IRemoteSession> ISshConnector.ConnectAsync(SshEndpoint endpoint, PinnedHostKey hostKey, Secret clientPrivateKey, TimeSpan timeout, CancellationToken cancellationToken) =>
        await ConnectAsync(endpoint, hostKey, clientPrivateKey, timeout, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc cref="ISshJumpConnector.ConnectAsync"/>
    public async Task<RemoteSession> ConnectAsync(SshJumpHost jump, SshEndpoint endpoint, PinnedHostKey hostKey, Secret clientPrivateKey, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jump);
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(hostKey);
        ArgumentNullException.ThrowIfNull(clientPrivateKey);
        CheckTimeout(timeout);

        var logger = _loggerFactory.CreateLogger<RemoteSession>();
        var route = new JumpRoute(LoadPrivateKey(jump.ClientPrivateKey));
        PrivateKeyFile? keyFile = null;
        SshClient? client = null;
        try
        {
            keyFile = LoadPrivateKey(clientPrivateKey);
            using var timeoutSource = new CancellationTokenSource(timeout, _timeProvider);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutSource.Token);
            route.JumpClient = await OpenClientAsync(jump.Endpoint, jump.Endpoint.Host, jump.Endpoint.Port, jump.HostKeys, route.JumpKeyFile, timeout, logger, linked.Token, cancellationToken).ConfigureAwait(false);

            // The guest session runs over a loopback listener whose connections the jump host relays to the guest
            // (direct-tcpip): SSH.NET opens such channels only for forwarded ports. The listener is bound to an
            // ephemeral port on 127.0.0.1 for the session's lifetime; the guest still demands its pinned host key
            // and our client key, so another local process that connects to it gains nothing.
            var forward = new ForwardedPortLocal(IPAddress.Loopback.ToString(), 0, endpoint.Host, (uint)endpoint.Port);
            route.Forward = forward;
            forward.Exception += route.OnForwardException;
            route.JumpClient.AddForwardedPort(forward);
            forward.Start();
            Log.Forwarding(logger, endpoint, jump.Endpoint, (int)forward.BoundPort);

            try
            {
                client = await OpenClientAsync(endpoint, IPAddress.Loopback.ToString(), (int)forward.BoundPort, [hostKey], keyFile, timeout, logger, linked.Token, cancellationToken).ConfigureAwait(false);
            }
            catch (SshConnectException ex)
            {
                // The loopback listener always accepts, so a failure here is the relay's: the jump host could not
                // open the connection to the guest (refused while it boots, no route, forwarding not allowed) and
                // SSH.NET closed the local socket, usually without reporting why (ForwardError stays null).
                throw new SshConnectException(endpoint, new SshForwardingException(jump.Endpoint, endpoint, route.ForwardError ?? ex.InnerException ?? ex, ex));
            }

            var session = new RemoteSession(endpoint, hostKey, client, new CompositeDisposable(keyFile, route), _options.DefaultCommandTimeout, logger, _timeProvider)
            {
                Jump = jump.Endpoint,
            };
            client = null;
            keyFile = null;
            route = null;
            return session;
        }
        finally
        {
            client?.Dispose();
            keyFile?.Dispose();
            route?.Dispose();
        }
    }

    async Task<IRemoteSession> ISshJumpConnector.ConnectAsync(SshJumpHost jump, SshEndpoint endpoint, PinnedHostKey hostKey, Secret clientPrivateKey, TimeSpan timeout, CancellationToken cancellationToken) =>
        await ConnectAsync(jump, endpoint, hostKey, clientPrivateKey, timeout, cancellationToken).ConfigureAwait(false);

    private static void CheckTimeout(TimeSpan timeout)
    {
        if (timeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "timeout must be positive.");
        }
    }

    // One SSH connection to host:port, reported as endpoint; the server must present one of pins.
    private async Task<SshClient> OpenClientAsync(
        SshEndpoint endpoint, string host, int port, IReadOnlyList<PinnedHostKey> pins, PrivateKeyFile keyFile, TimeSpan timeout, ILogger logger,
        CancellationToken linkedToken, CancellationToken callerToken)
    {
        var connectionInfo = new ConnectionInfo(host, port, endpoint.User, new PrivateKeyAuthenticationMethod(endpoint.User, keyFile))
        {
            Timeout = timeout,
        };
        RestrictHostKeyAlgorithms(connectionInfo, pins);

        var verifier = new HostKeyVerifier(pins);
        var client = new SshClient(connectionInfo);
        try
        {
            client.HostKeyReceived += verifier.OnHostKeyReceived;
            if (_options.KeepAliveInterval != Timeout.InfiniteTimeSpan)
            {
                client.KeepAliveInterval = _options.KeepAliveInterval;
            }

            var expected = string.Join(", ", pins.Select(p => p.ToString()));
            Log.Connecting(logger, endpoint, expected);
            try
            {
                await client.ConnectAsync(linkedToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (verifier.Mismatch is { } presented)
            {
                var pinned = string.Join(" or ", pins.Select(p => p.Fingerprint));
                Log.HostKeyMismatch(logger, endpoint, pinned, presented.Algorithm, presented.Fingerprint);
                throw new HostKeyMismatchException(endpoint, pinned, presented.Algorithm, presented.Fingerprint, ex);
            }
            catch (OperationCanceledException ex) when (!callerToken.IsCancellationRequested)
            {
                Log.ConnectTimedOut(logger, endpoint, timeout);
                throw new SshTimeoutException(endpoint, SshPhase.Connect, timeout, null, ex);
            }
            catch (SshOperationTimeoutException ex)
            {
                Log.ConnectTimedOut(logger, endpoint, timeout);
                throw new SshTimeoutException(endpoint, SshPhase.Connect, timeout, null, ex);
            }
            catch (SshAuthenticationException ex)
            {
                Log.AuthenticationFailed(logger, endpoint.User, endpoint, ex.Message);
                throw new SshAuthenticationFailedException(endpoint, ex);
            }
            catch (Exception ex) when (ex is SocketException or SshException or IOException or ProxyException)
            {
                var failure = new SshConnectException(endpoint, ex);
                var transient = SshErrors.IsTransient(failure);
                // Refused or reset while a guest boots is expected: the caller retries and reports the final failure.
                Log.ConnectFailed(logger, transient ? LogLevel.Debug : LogLevel.Warning, endpoint, transient, ex.Message);
                throw failure;
            }

            if (verifier.Verified is not { } matched)
            {
                // SSH.NET always raises HostKeyReceived during key exchange; if it ever did not, refuse rather than trust.
                throw new HostKeyMismatchException(endpoint, string.Join(" or ", pins.Select(p => p.Fingerprint)), "(none)", "(host key was not checked)");
            }

            Log.Connected(logger, endpoint, matched.Fingerprint);
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    private static PrivateKeyFile LoadPrivateKey(Secret clientPrivateKey)
    {
        var bytes = Encoding.UTF8.GetBytes(clientPrivateKey.Reveal());
        try
        {
            using var stream = new MemoryStream(bytes, writable: false);
            return new PrivateKeyFile(stream);
        }
        catch (Exception ex) when (ex is SshException or FormatException or ArgumentException or NotSupportedException)
        {
            // The message of the inner exception never contains key material, but keep it out anyway.
            throw new ArgumentException($"clientPrivateKey is not a private key SSH.NET can read ({ex.GetType().Name}).", nameof(clientPrivateKey));
        }
        finally
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(bytes);
        }
    }

    private static void RestrictHostKeyAlgorithms(ConnectionInfo connectionInfo, IReadOnlyList<PinnedHostKey> pins)
    {
        // Offer only the pinned keys' algorithms: a server with several host keys (cloud-init may generate RSA and
        // ECDSA keys next to the injected one) must use a pinned one rather than fail verification with another.
        var wanted = pins.SelectMany(p => p.HostKeyAlgorithms).ToHashSet(StringComparer.Ordinal);
        foreach (var name in connectionInfo.HostKeyAlgorithms.Keys.ToList())
        {
            if (!wanted.Contains(name))
            {
                connectionInfo.HostKeyAlgorithms.Remove(name);
            }
        }

        if (connectionInfo.HostKeyAlgorithms.Count == 0)
        {
            throw new ArgumentException($"hostKey: key type '{string.Join("', '", pins.Select(p => p.Algorithm))}' is not supported by the SSH client.");
        }
    }

    private sealed class HostKeyVerifier(IReadOnlyList<PinnedHostKey> pins)
    {
        public PinnedHostKey? Verified { get; private set; }

        public (string Algorithm, string Fingerprint)? Mismatch { get; private set; }

        public void OnHostKeyReceived(object? sender, HostKeyEventArgs e)
        {
            if (pins.FirstOrDefault(p => p.Matches(e.HostKey)) is { } match)
            {
                Verified = match;
                e.CanTrust = true;
                return;
            }

            Verified = null;
            e.CanTrust = false;
            string algorithm;
            try
            {
                algorithm = PinnedHostKey.FromBlob(e.HostKey).Algorithm;
            }
            catch (FormatException)
            {
                algorithm = e.HostKeyName;
            }

            Mismatch = (algorithm, HostKeyFingerprint.Compute(e.HostKey));
        }
    }

    // What a session through a jump host holds besides its own client: the loopback listener and the jump connection,
    // closed after the guest session (RemoteSession disposes its client first).
    private sealed class JumpRoute(PrivateKeyFile jumpKeyFile) : IDisposable
    {
        private Exception? _forwardError;

        public PrivateKeyFile JumpKeyFile { get; } = jumpKeyFile;

        public SshClient? JumpClient { get; set; }

        public ForwardedPortLocal? Forward { get; set; }

        public Exception? ForwardError => Volatile.Read(ref _forwardError);

        public void OnForwardException(object? sender, ExceptionEventArgs e) =>
            Interlocked.CompareExchange(ref _forwardError, e.Exception, null);

        public void Dispose()
        {
            try
            {
                if (Forward is { IsStarted: true })
                {
                    Forward.Stop();
                }

                if (JumpClient is { IsConnected: true })
                {
                    JumpClient.Disconnect();
                }
            }
            catch (Exception ex) when (ex is SshException or SocketException or IOException or ObjectDisposedException or InvalidOperationException)
            {
                // The jump connection is already gone; nothing to close.
            }
            finally
            {
                Forward?.Dispose();
                JumpClient?.Dispose();
                JumpKeyFile.Dispose();
            }
        }
    }

    private sealed class CompositeDisposable(params IDisposable[] parts) : IDisposable
    {
        public void Dispose()
        {
            foreach (var part in parts)
            {
                part.Dispose();
            }
        }
    }
}
