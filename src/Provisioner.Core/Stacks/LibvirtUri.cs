using System.Globalization;
using System.Text.RegularExpressions;

namespace Provisioner.Core.Stacks;

/// <summary>
/// A checked libvirt connection URI of a KVM host: <c>qemu:///system</c>, <c>test:///default</c>,
/// <c>qemu+ssh://user@host/system?keyfile=/path</c>, <c>qemu+tls://host/system</c>.
/// </summary>
/// <remarks>
/// <para><c>qemu+tcp</c> is refused: it carries the libvirt RPC protocol, including volume uploads and
/// domain XML, unencrypted over the network, and is commonly configured without authentication
/// (anyone who reaches the port controls the host). Use <c>qemu+ssh</c> or <c>qemu+tls</c>.</para>
/// <para>Query parameters are limited to a known set. <c>no_verify</c> and
/// <c>known_hosts_verify=ignore</c> are refused because they switch off verification of the host's
/// identity; <c>command</c> is refused because it runs an arbitrary program.</para>
/// </remarks>
public sealed partial record LibvirtUri
{
    /// <summary>Transports accepted for a host.</summary>
    public static readonly IReadOnlyList<string> AllowedSchemes = ["qemu", "qemu+unix", "qemu+ssh", "qemu+libssh2", "qemu+libssh", "qemu+tls", "test"];

    private static readonly string[] AllowedParameters = ["keyfile", "known_hosts", "known_hosts_verify", "sshauth", "no_tty", "socket", "pkipath", "mode", "proxy", "netcat"];

    /// <summary>The URI exactly as given.</summary>
    public required string Value { get; init; }

    /// <summary>Scheme, e.g. <c>qemu+ssh</c>.</summary>
    public required string Scheme { get; init; }

    /// <summary>Remote host name or address, or <see langword="null"/> for a local connection.</summary>
    public string? Host { get; init; }

    /// <summary>Whether the connection goes over the network.</summary>
    public bool IsRemote => Host is not null;

    /// <inheritdoc />
    public override string ToString() => Value;

    /// <summary>Parses and checks <paramref name="text"/>; <paramref name="error"/> explains a refusal.</summary>
    public static bool TryParse(string? text, out LibvirtUri? uri, out string? error)
    {
        uri = null;
        error = null;
        if (string.IsNullOrEmpty(text))
        {
            error = "is not a libvirt URI: it is empty";
            return false;
        }

        if (text.Any(c => c is <= ' ' or > '~'))
        {
            error = "is not a libvirt URI: it contains spaces, control or non-ASCII characters";
            return false;
        }

        var match = UriShape().Match(text);
        if (!match.Success)
        {
            error = "is not a libvirt URI (expected scheme://[user@]host/path[?params], e.g. qemu+ssh://user@host/system)";
            return false;
        }

        var scheme = match.Groups["scheme"].Value;
        if (scheme == "qemu+tcp")
        {
            error = "uses qemu+tcp, which sends libvirt traffic (domain XML, disk uploads) unencrypted and usually unauthenticated; use qemu+ssh or qemu+tls";
            return false;
        }

        if (!AllowedSchemes.Contains(scheme, StringComparer.Ordinal))
        {
            error = $"is not a libvirt URI: scheme '{scheme}' is not one of {string.Join(", ", AllowedSchemes)}";
            return false;
        }

        var host = match.Groups["host"].Value;
        var user = match.Groups["user"];
        var path = match.Groups["path"].Value;
        var local = scheme is "qemu" or "qemu+unix" or "test";
        if (local && (host.Length > 0 || user.Success || match.Groups["port"].Success))
        {
            error = $"is a local '{scheme}' URI but names a host; use qemu+ssh or qemu+tls for a remote host";
            return false;
        }

        if (!local && host.Length == 0)
        {
            error = $"is a '{scheme}' URI without a host";
            return false;
        }

        if (match.Groups["port"].Success
            && (!int.TryParse(match.Groups["port"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535))
        {
            error = "has a port outside 1-65535";
            return false;
        }

        if (scheme == "test")
        {
            if (path != "/default" && !IsSafeAbsolutePath(path))
            {
                error = "is a test URI with a path other than /default or an absolute file";
                return false;
            }
        }
        else if (path is not ("/system" or "/session"))
        {
            error = $"has path '{path}'; a qemu URI ends in /system or /session";
            return false;
        }

        if (match.Groups["query"].Success && !CheckQuery(match.Groups["query"].Value, out error))
        {
            return false;
        }

        uri = new LibvirtUri { Value = text, Scheme = scheme, Host = host.Length == 0 ? null : host };
        return true;
    }

    private static bool CheckQuery(string query, out string? error)
    {
        error = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pair in query.Split('&'))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var name = equals < 0 ? pair : pair[..equals];
            var value = equals < 0 ? string.Empty : pair[(equals + 1)..];
            if (name is "no_verify")
            {
                error = "sets no_verify, which turns off host identity checks; pin the host key in known_hosts instead";
                return false;
            }

            if (name is "known_hosts_verify" && value is "ignore" or "auto")
            {
                error = $"sets known_hosts_verify={value}, which accepts unknown host keys; use 'normal' with a pinned known_hosts";
                return false;
            }

            if (!AllowedParameters.Contains(name, StringComparer.Ordinal))
            {
                error = $"has URI parameter '{name}', allowed: {string.Join(", ", AllowedParameters)}";
                return false;
            }

            if (!seen.Add(name))
            {
                error = $"repeats URI parameter '{name}'";
                return false;
            }

            if (name is "keyfile" or "known_hosts" or "socket" or "pkipath" or "netcat" && !IsSafeAbsolutePath(value))
            {
                error = $"has {name}='{value}', which is not an absolute path of safe characters";
                return false;
            }

            if (name is not ("keyfile" or "known_hosts" or "socket" or "pkipath" or "netcat") && !SafeWord().IsMatch(value))
            {
                error = $"has {name}='{value}', which contains characters other than letters, digits, '-', '_', ',' and ':'";
                return false;
            }
        }

        return true;
    }

    /// <summary>An absolute path made of safe characters only, with no <c>.</c> or <c>..</c> segments.</summary>
    internal static bool IsSafeAbsolutePath(string path) =>
        SafePath().IsMatch(path)
        && path.Split('/').Skip(1).All(segment => segment.Length > 0 && segment is not ("." or ".."));

    [GeneratedRegex(@"^(?<scheme>[a-z][a-z0-9+]*)://(?:(?<user>[a-z_][a-z0-9_.-]{0,31})@)?(?<host>[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])?(?::(?<port>[0-9]{1,5}))?(?<path>/[A-Za-z0-9._/-]*)(?:\?(?<query>[A-Za-z0-9._/=&,:-]+))?\z", RegexOptions.CultureInvariant)]
    private static partial Regex UriShape();

    [GeneratedRegex(@"^(/[A-Za-z0-9._-]+)+\z", RegexOptions.CultureInvariant)]
    private static partial Regex SafePath();

    [GeneratedRegex(@"^[A-Za-z0-9_,:-]*\z", RegexOptions.CultureInvariant)]
    private static partial Regex SafeWord();
}
