using System.Globalization;
using Provisioner.Core.Security;
using Provisioner.Core.Stacks;
using Provisioner.Remote.Keys;
using Provisioner.Remote.Sessions;

namespace Provisioner.Engine.Access;

/// <summary>
/// Opens SSH sessions to guests, choosing the path by the guest's host: directly to the guest's address for a local
/// host, through the KVM host as an SSH jump for a <c>qemu+ssh://</c> host. The one place that decision is made; node
/// access (<see cref="SshNodeAccess"/>) and the readiness check both go through it.
/// </summary>
public interface IGuestConnector
{
    /// <summary>
    /// Connects to <paramref name="guest"/> on <paramref name="host"/>, verifying <paramref name="guestKey"/> (and, when
    /// jumping, the KVM host's own key as its URI's known_hosts file pins it).
    /// </summary>
    /// <exception cref="NodeAccessException">The jump cannot even be tried: the host's key file or known_hosts entry is missing (never transient).</exception>
    /// <exception cref="RemoteException">The connection failed; see <see cref="ISshJumpConnector.ConnectAsync"/> and <see cref="SshErrors.IsTransient"/>.</exception>
    Task<IRemoteSession> ConnectAsync(HostDefinition host, SshEndpoint guest, PinnedHostKey guestKey, Secret clientPrivateKey, TimeSpan timeout, CancellationToken cancellationToken);
}

/// <summary>
/// How the tool logs in to a remote KVM host to hop to its guests, read from the host's libvirt URI the way libvirt
/// reads it: <c>qemu+ssh://[user@]host[:port]/system?keyfile=…&amp;known_hosts=…</c>.
/// </summary>
/// <remarks>
/// <para>User: the URI's, else the local user (as ssh and libvirt do). Port: the URI's, else 22.</para>
/// <para>Client key: <c>keyfile=</c>, else the first of <c>~/.ssh/id_ed25519</c>, <c>id_ecdsa</c>, <c>id_rsa</c> that exists
/// (ssh's defaults). The SSH agent is not used.</para>
/// <para>Host key: only keys listed for the host in <c>known_hosts=</c>, else <c>~/.ssh/known_hosts</c> (the default of ssh
/// and of libvirt's libssh transports), are accepted. There is no trust on first use: a host missing there is an error
/// that says which file to add it to. <c>known_hosts_verify</c> other than <c>normal</c> is refused when the stack is
/// loaded (<see cref="LibvirtUri"/>).</para>
/// </remarks>
public sealed record JumpHostSettings
{
    /// <summary>Default client key files, in the order ssh tries them.</summary>
    public static readonly IReadOnlyList<string> DefaultKeyFiles = ["id_ed25519", "id_ecdsa", "id_rsa"];

    /// <summary>The KVM host's SSH endpoint.</summary>
    public required SshEndpoint Endpoint { get; init; }

    /// <summary>The private key file to log in with.</summary>
    public required string KeyFile { get; init; }

    /// <summary>The known_hosts file that pins the host's key.</summary>
    public required string KnownHostsFile { get; init; }

    /// <summary>
    /// The jump settings for <paramref name="host"/>, or null when its guests are reached directly: a local URI
    /// (<c>qemu:///system</c>, <c>test:///…</c>), or <c>qemu+tls</c>, which has no SSH login to hop through (its guests
    /// must be routed to where the tool runs).
    /// </summary>
    /// <param name="host">The host.</param>
    /// <param name="homeDirectory">Where <c>~/.ssh</c> is; null for the current user's home.</param>
    /// <param name="localUser">The user when the URI names none; null for the current user.</param>
    public static JumpHostSettings? For(HostDefinition host, string? homeDirectory = null, string? localUser = null)
    {
        ArgumentNullException.ThrowIfNull(host);
        var uri = host.Uri;
        if (!uri.IsRemote || uri.Scheme is not ("qemu+ssh" or "qemu+libssh2" or "qemu+libssh"))
        {
            return null;
        }

        var parsed = new Uri(uri.Value);
        var query = parsed.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2))
            .ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "", StringComparer.Ordinal);
        var home = homeDirectory ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var sshDirectory = Path.Combine(home, ".ssh");
        var user = parsed.UserInfo.Length > 0 ? parsed.UserInfo : localUser ?? Environment.UserName;
        var port = parsed.IsDefaultPort || parsed.Port < 0 ? SshEndpoint.DefaultPort : parsed.Port;
        var hostName = parsed.Host.Trim('[', ']');
        SshEndpoint endpoint;
        try
        {
            endpoint = new SshEndpoint(hostName, port, user);
        }
        catch (ArgumentException ex)
        {
            throw new NodeAccessException($"host '{host.Name}': cannot log in to {uri} to reach its guests: {ex.Message}", ex);
        }

        var keyFile = query.GetValueOrDefault("keyfile")
            ?? DefaultKeyFiles.Select(f => Path.Combine(sshDirectory, f)).FirstOrDefault(File.Exists)
            ?? Path.Combine(sshDirectory, DefaultKeyFiles[0]);
        var knownHosts = query.GetValueOrDefault("known_hosts") ?? Path.Combine(sshDirectory, "known_hosts");
        return new JumpHostSettings { Endpoint = endpoint, KeyFile = keyFile, KnownHostsFile = knownHosts };
    }

    /// <summary>Reads the key file and the host's pinned keys.</summary>
    /// <exception cref="NodeAccessException">A file cannot be read, or known_hosts has no key for the host.</exception>
    public async Task<SshJumpHost> LoadAsync(string hostName, CancellationToken cancellationToken)
    {
        string key;
        try
        {
            key = await File.ReadAllTextAsync(KeyFile, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new NodeAccessException($"host '{hostName}': the key file '{KeyFile}' for logging in to {Endpoint} (URI parameter keyfile=, else ~/.ssh/id_*) cannot be read: {ex.Message}", ex);
        }

        IReadOnlyList<PinnedHostKey> hostKeys;
        try
        {
            hostKeys = await KnownHostsLookup.ReadAsync(KnownHostsFile, Endpoint.Host, Endpoint.Port, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new NodeAccessException($"host '{hostName}': the known_hosts file '{KnownHostsFile}' (URI parameter known_hosts=, else ~/.ssh/known_hosts) cannot be read: {ex.Message}", ex);
        }

        if (hostKeys.Count == 0)
        {
            throw new NodeAccessException(string.Create(CultureInfo.InvariantCulture,
                $"host '{hostName}': '{KnownHostsFile}' pins no key for {Remote.Keys.KnownHostsFile.HostPattern(Endpoint.Host, Endpoint.Port)}; add the host's key there (check its fingerprint out of band) before its guests can be reached"));
        }

        return new SshJumpHost(Endpoint, hostKeys, new Secret(key));
    }
}

/// <summary>The production <see cref="IGuestConnector"/>: direct for local hosts, a jump through the KVM host for <c>qemu+ssh</c> hosts.</summary>
public sealed class GuestConnector : IGuestConnector
{
    private readonly ISshConnector _direct;
    private readonly ISshJumpConnector? _jump;
    private readonly string? _homeDirectory;

    /// <summary>Creates the connector.</summary>
    /// <param name="direct">Opens direct sessions.</param>
    /// <param name="jump">Opens sessions through a jump host; null to use <paramref name="direct"/> when it can (as <see cref="SshConnector"/> does).</param>
    /// <param name="homeDirectory">Where <c>~/.ssh</c> defaults are looked up; null for the current user's home.</param>
    public GuestConnector(ISshConnector direct, ISshJumpConnector? jump = null, string? homeDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(direct);
        _direct = direct;
        _jump = jump ?? direct as ISshJumpConnector;
        _homeDirectory = homeDirectory;
    }

    /// <inheritdoc />
    public async Task<IRemoteSession> ConnectAsync(HostDefinition host, SshEndpoint guest, PinnedHostKey guestKey, Secret clientPrivateKey, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(host);
        var settings = JumpHostSettings.For(host, _homeDirectory);
        if (settings is null)
        {
            return await _direct.ConnectAsync(guest, guestKey, clientPrivateKey, timeout, cancellationToken).ConfigureAwait(false);
        }

        var jump = _jump ?? throw new NodeAccessException($"host '{host.Name}' is remote ({host.Uri.Scheme}), but the SSH connector cannot hop through it to its guests");
        var jumpHost = await settings.LoadAsync(host.Name, cancellationToken).ConfigureAwait(false);
        return await jump.ConnectAsync(jumpHost, guest, guestKey, clientPrivateKey, timeout, cancellationToken).ConfigureAwait(false);
    }
}
