using System.Globalization;
using System.Text;
using Provisioner.Remote.Sessions;
using Provisioner.Remote.Shell;

namespace Provisioner.Remote.Keys;

/// <summary>One known_hosts entry: a host (and port) and the key it must present.</summary>
/// <param name="Host">IP address or host name, as the user will type it.</param>
/// <param name="Port">SSH port.</param>
/// <param name="HostKey">The pinned host key.</param>
public sealed record KnownHostEntry(string Host, int Port, PinnedHostKey HostKey)
{
    /// <summary>The entry for <paramref name="endpoint"/>.</summary>
    public static KnownHostEntry For(SshEndpoint endpoint, PinnedHostKey hostKey)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(hostKey);
        return new KnownHostEntry(endpoint.Host, endpoint.Port, hostKey);
    }
}

/// <summary>
/// Writes known_hosts files for OpenSSH's <c>ssh</c>, so that users reach the tool's machines with strict
/// host key checking from the first connection, and formats the matching <c>ssh</c> command line.
/// </summary>
public static class KnownHostsFile
{
    /// <summary>
    /// The host pattern OpenSSH looks up: the bare host on port 22, <c>[host]:port</c> otherwise.
    /// Host names are not hashed: the file only lists machines this tool made.
    /// </summary>
    public static string HostPattern(string host, int port)
    {
        // Reuse SshEndpoint's validation: a pattern character (*, ?, !, comma, space) here would widen the entry.
        var endpoint = new SshEndpoint(host, port, "root");
        return endpoint.Port == SshEndpoint.DefaultPort
            ? endpoint.Host
            : string.Create(CultureInfo.InvariantCulture, $"[{endpoint.Host}]:{endpoint.Port}");
    }

    /// <summary>One known_hosts line: <c>pattern type base64</c>.</summary>
    public static string FormatLine(KnownHostEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(entry.HostKey);
        return HostPattern(entry.Host, entry.Port) + " " + entry.HostKey.ToPublicKeyLine();
    }

    /// <summary>The whole file content for <paramref name="entries"/>, one line each.</summary>
    public static string Format(IEnumerable<KnownHostEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var builder = new StringBuilder();
        foreach (var entry in entries)
        {
            builder.Append(FormatLine(entry)).Append('\n');
        }

        return builder.ToString();
    }

    /// <summary>Writes a known_hosts file with mode 0644, replacing any existing file atomically.</summary>
    public static Task WriteAsync(string path, IEnumerable<KnownHostEntry> entries, CancellationToken cancellationToken) =>
        AtomicFile.WriteAsync(path, Encoding.UTF8.GetBytes(Format(entries)), SshKeyFiles.PublicFileMode, cancellationToken);

    /// <summary>Writes a known_hosts file with the single entry for <paramref name="endpoint"/>.</summary>
    public static Task WriteAsync(string path, SshEndpoint endpoint, PinnedHostKey hostKey, CancellationToken cancellationToken) =>
        WriteAsync(path, [KnownHostEntry.For(endpoint, hostKey)], cancellationToken);

    /// <summary>
    /// The command a user runs to log in with strict host key checking against <paramref name="knownHostsFile"/>:
    /// <c>ssh -i KEY -o UserKnownHostsFile=FILE -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes [-p PORT] user@host</c>,
    /// quoted for a POSIX shell.
    /// </summary>
    /// <param name="endpoint">Where to log in.</param>
    /// <param name="identityFile">Absolute path of the private key file.</param>
    /// <param name="knownHostsFile">Absolute path of the known_hosts file.</param>
    /// <exception cref="ArgumentException">A path is relative or contains <c>$</c> or control characters, which ssh would
    /// expand or split, or the identity file path contains <c>%</c> (ssh checks that file before expanding %-tokens in it,
    /// so no escaping works there).</exception>
    public static string FormatSshCommand(SshEndpoint endpoint, string identityFile, string knownHostsFile)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var argv = new List<string>
        {
            "ssh",
            "-i", EscapeSshPath(identityFile, nameof(identityFile), isConfigValue: false),
            "-o", "UserKnownHostsFile=" + EscapeSshPath(knownHostsFile, nameof(knownHostsFile), isConfigValue: true),
            "-o", "StrictHostKeyChecking=yes",
            "-o", "IdentitiesOnly=yes",
        };
        if (endpoint.Port != SshEndpoint.DefaultPort)
        {
            argv.Add("-p");
            argv.Add(endpoint.Port.ToString(CultureInfo.InvariantCulture));
        }

        argv.Add(endpoint.User + "@" + endpoint.Host);
        return string.Join(' ', argv.Select(QuoteOption));
    }

    // ssh expands %-tokens (and ${VAR}) in both -i and UserKnownHostsFile, and splits -o values at whitespace
    // unless they are in double quotes. For -i it also checks the raw path exists before expanding, so neither
    // "%" nor "%%" works there.
    private static string EscapeSshPath(string path, string name, bool isConfigValue)
    {
        ArgumentNullException.ThrowIfNull(path, name);
        ShellQuote.Validate(path, name);
        if (!Path.IsPathFullyQualified(path))
        {
            throw new ArgumentException($"{name}: '{path}' is not an absolute path.", name);
        }

        if (path.Contains('$', StringComparison.Ordinal) || path.Any(char.IsControl))
        {
            throw new ArgumentException($"{name}: '{path}' contains '$' or a control character, which ssh would expand or misread.", name);
        }

        if (!isConfigValue && path.Contains('%', StringComparison.Ordinal))
        {
            throw new ArgumentException($"{name}: '{path}' contains '%', which ssh would expand as a token in an identity file path.", name);
        }

        var escaped = path.Replace("%", "%%", StringComparison.Ordinal);
        if (isConfigValue && escaped.Any(c => char.IsWhiteSpace(c) || c is '"' or '\'' or '\\'))
        {
            escaped = "\"" + escaped.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
        }

        return escaped;
    }

    // Keep "-o Name=value" readable: an '=' inside an option value needs no quoting (it only means an
    // assignment at the start of a command), so quote just the value when it needs it.
    private static string QuoteOption(string word)
    {
        var equals = word.IndexOf('=', StringComparison.Ordinal);
        if (equals > 0 && ShellQuote.Quote(word[..equals]) == word[..equals])
        {
            var value = word[(equals + 1)..];
            return word[..(equals + 1)] + (value.Length == 0 ? "''" : ShellQuote.Quote(value));
        }

        return ShellQuote.Quote(word);
    }
}
