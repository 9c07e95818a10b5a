using System.Security.Cryptography;
using System.Text;

namespace Provisioner.Remote.Keys;

/// <summary>
/// Finds the keys an OpenSSH known_hosts file pins for a host, for hosts the tool did not create itself (the KVM
/// hosts a <c>qemu+ssh://</c> URI names), so the jump to them is verified exactly as <c>ssh</c> would verify it.
/// </summary>
/// <remarks>
/// Understood: plain and hashed (<c>|1|salt|hash</c>) host fields, comma-separated patterns with <c>*</c> and <c>?</c>,
/// negated patterns (<c>!pattern</c>), <c>[host]:port</c> for other ports, and the <c>@revoked</c> marker (a revoked
/// key is never returned, even when another line lists it). Lines with <c>@cert-authority</c> are skipped: host
/// certificates are not supported, so such a host has no usable pin here and the lookup says so.
/// </remarks>
public static class KnownHostsLookup
{
    /// <summary>The keys <paramref name="knownHostsContent"/> pins for <paramref name="host"/> on <paramref name="port"/>, in file order, without duplicates or revoked keys.</summary>
    /// <param name="knownHostsContent">The whole file.</param>
    /// <param name="host">Host name or address exactly as it is connected to (as in the libvirt URI).</param>
    /// <param name="port">SSH port; for a port other than 22 only <c>[host]:port</c> entries match, as in OpenSSH.</param>
    public static IReadOnlyList<PinnedHostKey> Find(string knownHostsContent, string host, int port)
    {
        ArgumentNullException.ThrowIfNull(knownHostsContent);
        ArgumentNullException.ThrowIfNull(host);
        // OpenSSH looks names up in lower case (hashed entries hash the lower-case name).
        var name = KnownHostsFile.HostPattern(host, port).ToLowerInvariant();
        var found = new List<PinnedHostKey>();
        var revoked = new List<PinnedHostKey>();
        foreach (var raw in knownHostsContent.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var fields = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            var marker = fields[0].StartsWith('@') ? fields[0] : null;
            var at = marker is null ? 0 : 1;
            if (fields.Length < at + 3 || marker is not (null or "@revoked"))
            {
                continue;
            }

            if (!HostFieldMatches(fields[at], name))
            {
                continue;
            }

            PinnedHostKey key;
            try
            {
                key = PinnedHostKey.FromPublicKeyLine(fields[at + 1] + " " + fields[at + 2]);
            }
            catch (FormatException)
            {
                // OpenSSH skips lines it cannot parse too; a broken line must not hide the good ones.
                continue;
            }

            (marker is null ? found : revoked).Add(key);
        }

        return [.. found.Distinct().Where(k => !revoked.Contains(k))];
    }

    /// <summary>Reads <paramref name="path"/> and returns the keys it pins for <paramref name="host"/> on <paramref name="port"/>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static async Task<IReadOnlyList<PinnedHostKey>> ReadAsync(string path, string host, int port, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(path);
        var content = await File.ReadAllTextAsync(path, Encoding.UTF8, cancellationToken).ConfigureAwait(false);
        return Find(content, host, port);
    }

    private static bool HostFieldMatches(string field, string name)
    {
        if (field.StartsWith("|1|", StringComparison.Ordinal))
        {
            return HashedMatches(field, name);
        }

        var matched = false;
        foreach (var pattern in field.Split(','))
        {
            if (pattern.StartsWith('!'))
            {
                if (WildcardMatches(pattern[1..], name))
                {
                    // A negated match rules the line out whatever else matches (OpenSSH's match_hostname).
                    return false;
                }
            }
            else if (WildcardMatches(pattern, name))
            {
                matched = true;
            }
        }

        return matched;
    }

    private static bool HashedMatches(string field, string name)
    {
        var parts = field.Split('|');
        if (parts.Length != 4)
        {
            return false;
        }

        try
        {
            var salt = Convert.FromBase64String(parts[2]);
            var expected = Convert.FromBase64String(parts[3]);
#pragma warning disable CA5350 // HMAC-SHA1 is what OpenSSH's HashKnownHosts format defines; it is compared, not chosen.
            var actual = HMACSHA1.HashData(salt, Encoding.ASCII.GetBytes(name));
#pragma warning restore CA5350
            return CryptographicOperations.FixedTimeEquals(actual, expected);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    // OpenSSH host patterns: '*' any run, '?' one character, case-insensitive.
    private static bool WildcardMatches(string pattern, string name)
    {
        int p = 0, n = 0, starP = -1, starN = 0;
        while (n < name.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || char.ToLowerInvariant(pattern[p]) == char.ToLowerInvariant(name[n])))
            {
                p++;
                n++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                starP = p++;
                starN = n;
            }
            else if (starP >= 0)
            {
                p = starP + 1;
                n = ++starN;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }
}
