using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Provisioner.Remote.Sessions;

/// <summary>Where to connect and as whom. Validated on construction, so an endpoint is always well-formed.</summary>
public sealed partial record SshEndpoint
{
    /// <summary>The standard SSH port.</summary>
    public const int DefaultPort = 22;

    /// <summary>Creates an endpoint.</summary>
    /// <param name="host">An IPv4/IPv6 address or a DNS host name.</param>
    /// <param name="port">TCP port, 1-65535.</param>
    /// <param name="user">The login user name.</param>
    /// <exception cref="ArgumentException">A value is invalid; the message names it.</exception>
    public SshEndpoint(string host, int port, string user)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(user);
        if (!IsValidHost(host))
        {
            throw new ArgumentException($"host: '{host}' is neither an IP address nor a DNS host name.", nameof(host));
        }

        if (port is < 1 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(port), port, $"port: {port} is not a TCP port (1-65535).");
        }

        if (!Shell.ShellCommand.UserNamePattern().IsMatch(user))
        {
            throw new ArgumentException($"user: '{user}' is not a valid user name.", nameof(user));
        }

        Host = host;
        Port = port;
        User = user;
    }

    /// <summary>Creates an endpoint on the standard port.</summary>
    public SshEndpoint(string host, string user)
        : this(host, DefaultPort, user)
    {
    }

    /// <summary>The IP address or host name.</summary>
    public string Host { get; }

    /// <summary>The TCP port.</summary>
    public int Port { get; }

    /// <summary>The login user.</summary>
    public string User { get; }

    /// <summary>Whether the login user is root (no sudo needed).</summary>
    public bool IsRoot => User == "root";

    /// <summary><c>user@host:port</c>, with IPv6 addresses in brackets.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{User}@{(IsIPv6(Host) ? "[" + Host + "]" : Host)}:{Port}");

    internal static bool IsIPv6(string host) =>
        IPAddress.TryParse(host, out var address) && address.AddressFamily == AddressFamily.InterNetworkV6;

    private static bool IsValidHost(string host)
    {
        if (host.Contains(':', StringComparison.Ordinal))
        {
            // IPv6; zone ids (%eth0) and brackets are not accepted, they have no place in known_hosts.
            return IsIPv6(host) && host.IndexOfAny(['%', '[', ']', ' ']) < 0;
        }

        // IPv4 only in canonical dotted-quad form: IPAddress.TryParse also accepts "10" or "010.1", which mean
        // different hosts to different tools.
        if (IPAddress.TryParse(host, out var address) && address.ToString() == host)
        {
            return true;
        }

        return host.Length <= 253 && HostNamePattern().IsMatch(host);
    }

    [GeneratedRegex(@"^(?=.*[A-Za-z])[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\z", RegexOptions.CultureInvariant)]
    private static partial Regex HostNamePattern();
}
