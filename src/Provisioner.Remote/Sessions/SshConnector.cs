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
public sealed class SshConnector : ISshConnector
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
        if (timeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "timeout must be positive.");
        }

        var logger = _loggerFactory.CreateLogger<RemoteSession>();
        var keyFile = LoadPrivateKey(clientPrivateKey);
        SshClient? client = null;
        try
        {
            var connectionInfo = new ConnectionInfo(endpoint.Host, endpoint.Port, endpoint.User,
                new PrivateKeyAuthenticationMethod(endpoint.User, keyFile))
            {
                Timeout = timeout,
            };
            RestrictHostKeyAlgorithms(connectionInfo, hostKey);

            var verifier = new HostKeyVerifier(hostKey);
            client = new SshClient(connectionInfo);
            client.HostKeyReceived += verifier.OnHostKeyReceived;
            if (_options.KeepAliveInterval != Timeout.InfiniteTimeSpan)
            {
                client.KeepAliveInterval = _options.KeepAliveInterval;
            }

            Log.Connecting(logger, endpoint, hostKey.Algorithm, hostKey.Fingerprint);
            using var timeoutSource = new CancellationTokenSource(timeout, _timeProvider);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutSource.Token);
            try
            {
                await client.ConnectAsync(linked.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (verifier.Mismatch is { } presented)
            {
                Log.HostKeyMismatch(logger, endpoint, hostKey.Fingerprint, presented.Algorithm, presented.Fingerprint);
                throw new HostKeyMismatchException(endpoint, hostKey.Fingerprint, presented.Algorithm, presented.Fingerprint, ex);
            }
            catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
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
                Log.ConnectFailed(logger, endpoint, SshErrors.IsTransient(failure), ex.Message);
                throw failure;
            }

            if (!verifier.Verified)
            {
                // SSH.NET always raises HostKeyReceived during key exchange; if it ever did not, refuse rather than trust.
                throw new HostKeyMismatchException(endpoint, hostKey.Fingerprint, "(none)", "(host key was not checked)");
            }

            Log.Connected(logger, endpoint, hostKey.Fingerprint);
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

    private static void RestrictHostKeyAlgorithms(ConnectionInfo connectionInfo, PinnedHostKey hostKey)
    {
        // Offer only the pinned key's algorithms: a server with several host keys (cloud-init may generate RSA and
        // ECDSA keys next to the injected one) must use the pinned one rather than fail verification with another.
        var wanted = hostKey.HostKeyAlgorithms;
        foreach (var name in connectionInfo.HostKeyAlgorithms.Keys.ToList())
        {
            if (!wanted.Contains(name))
            {
                connectionInfo.HostKeyAlgorithms.Remove(name);
            }
        }

        if (connectionInfo.HostKeyAlgorithms.Count == 0)
        {
            throw new ArgumentException($"hostKey: key type '{hostKey.Algorithm}' is not supported by the SSH client.", nameof(hostKey));
        }
    }

    private sealed class HostKeyVerifier(PinnedHostKey pinned)
    {
        public bool Verified { get; private set; }

        public (string Algorithm, string Fingerprint)? Mismatch { get; private set; }

        public void OnHostKeyReceived(object? sender, HostKeyEventArgs e)
        {
            if (pinned.Matches(e.HostKey))
            {
                Verified = true;
                e.CanTrust = true;
                return;
            }

            Verified = false;
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
}
