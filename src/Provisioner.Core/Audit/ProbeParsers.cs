using System.Globalization;
using System.Text.Json;
using Provisioner.Core.Hardening;
using Provisioner.Core.Stacks;

namespace Provisioner.Core.Audit;

/// <summary>A firewall allowance as found on a node: protocol, ports and sources (empty sources: any).</summary>
/// <param name="Protocol">tcp, udp, vrrp, or another IP protocol by name.</param>
/// <param name="Ports">Port or range; <see langword="null"/> for IP protocols.</param>
/// <param name="Sources">Normalised source networks; empty for any source.</param>
internal sealed record FoundAllowance(string Protocol, PortRange? Ports, IReadOnlyList<Ipv4Cidr> Sources)
{
    public string Key => $"{Protocol}{(Ports is { } p ? " " + p : "")} from {(Sources.Count == 0 ? "any" : string.Join(",", Sources))}";

    public static FoundAllowance From(TransportProtocol protocol, PortRange ports, IReadOnlyList<Ipv4Cidr> sources) =>
        new(FirewallToken.ProtocolName(protocol), ports, CidrSet.IsEverywhere(sources) ? [] : CidrSet.Normalize(sources));

    public static FoundAllowance From(InputAllowance allowance) => new(
        allowance.Protocol switch
        {
            FirewallProtocol.Tcp => "tcp",
            FirewallProtocol.Udp => "udp",
            FirewallProtocol.Vrrp => "vrrp",
            _ => allowance.Protocol.ToString(),
        },
        allowance.Ports,
        allowance.AnySource ? [] : CidrSet.Normalize(allowance.Sources));
}

/// <summary>Reads <c>nft -j list table inet provisioner</c>.</summary>
internal sealed class NftTableView
{
    private readonly List<JsonElement> _chains = [];
    private readonly List<JsonElement> _rules = [];

    public NftTableView(string json)
    {
        using var document = JsonDocument.Parse(json);
        foreach (var item in document.RootElement.GetProperty("nftables").EnumerateArray())
        {
            if (item.TryGetProperty("chain", out var chain))
            {
                _chains.Add(chain.Clone());
            }
            else if (item.TryGetProperty("rule", out var rule))
            {
                _rules.Add(rule.Clone());
            }
        }
    }

    /// <summary>Hook, priority and policy of a base chain, or <see langword="null"/> when the chain is missing or not a base chain.</summary>
    public (string Hook, int Priority, string Policy)? BaseChain(string name)
    {
        foreach (var chain in _chains.Where(c => c.GetProperty("name").GetString() == name))
        {
            if (chain.TryGetProperty("hook", out var hook) && chain.TryGetProperty("prio", out var prio) && chain.TryGetProperty("policy", out var policy))
            {
                return (hook.GetString()!, prio.GetInt32(), policy.GetString()!);
            }
        }
        return null;
    }

    /// <summary>Whether the chain exists.</summary>
    public bool HasChain(string name) => _chains.Any(c => c.GetProperty("name").GetString() == name);

    /// <summary>Accept rules of the input chain matching a destination port (<c>tcp dport …</c>) or an IP protocol, with their sources.</summary>
    public IReadOnlyList<FoundAllowance> InputAllowances() => Allowances("input", e => DestinationPort(e) ?? IpProtocol(e), left => IsPayload(left, "ip", "saddr"));

    /// <summary>Accept rules of the published chain matching the original destination port, with their original sources.</summary>
    public IReadOnlyList<FoundAllowance> PublishedAllowances() => Allowances("published", OriginalDestinationPort, IsOriginalSource);

    /// <summary>Whether the forward chain sends DNAT-ed connections to the published chain.</summary>
    public bool ForwardJumpsToPublished() => _rules.Where(r => r.GetProperty("chain").GetString() == "forward").Any(r =>
        r.GetProperty("expr").EnumerateArray().Any(e => e.TryGetProperty("jump", out var jump) && jump.GetProperty("target").GetString() == "published"));

    /// <summary>Whether the published chain's last rule drops (anything not allowed is dropped).</summary>
    public bool PublishedEndsInDrop() => _rules.LastOrDefault(r => r.GetProperty("chain").GetString() == "published") is { ValueKind: JsonValueKind.Object } last
        && last.GetProperty("expr").EnumerateArray().Any(e => e.TryGetProperty("drop", out _));

    private delegate (string Protocol, PortRange? Ports)? PortMatcher(JsonElement[] expressions);

    private List<FoundAllowance> Allowances(string chain, PortMatcher ports, Func<JsonElement, bool> isSource)
    {
        var result = new List<FoundAllowance>();
        foreach (var rule in _rules.Where(r => r.GetProperty("chain").GetString() == chain))
        {
            var expressions = rule.GetProperty("expr").EnumerateArray().ToArray();
            if (!expressions.Any(e => e.TryGetProperty("accept", out _)) || ports(expressions) is not { } match)
            {
                continue;
            }
            var sources = new List<Ipv4Cidr>();
            foreach (var m in Matches(expressions).Where(m => isSource(m.GetProperty("left"))))
            {
                sources.AddRange(Networks(m.GetProperty("right")));
            }
            result.Add(new FoundAllowance(match.Protocol, match.Ports, CidrSet.IsEverywhere(sources) ? [] : CidrSet.Normalize(sources)));
        }
        return result;
    }

    private static (string, PortRange?)? IpProtocol(JsonElement[] expressions)
    {
        foreach (var m in Matches(expressions).Where(m => IsPayload(m.GetProperty("left"), "ip", "protocol")))
        {
            var right = m.GetProperty("right");
            var name = right.ValueKind == JsonValueKind.Number ? right.GetInt32().ToString(CultureInfo.InvariantCulture) : right.GetString();
            // nft lists protocol numbers by their /etc/protocols names.
            return name switch
            {
                "ipencap" or "ipip" or "4" => ("ipip", null),
                "vrrp" or "112" => ("vrrp", null),
                _ => (name ?? "unknown", null),
            };
        }
        return null;
    }

    private static (string, PortRange?)? DestinationPort(JsonElement[] expressions)
    {
        foreach (var m in Matches(expressions))
        {
            var left = m.GetProperty("left");
            if (left.TryGetProperty("payload", out var payload) && payload.TryGetProperty("field", out var field) && field.GetString() == "dport"
                && payload.GetProperty("protocol").GetString() is "tcp" or "udp")
            {
                return (payload.GetProperty("protocol").GetString()!, Ports(m.GetProperty("right")));
            }
        }
        return null;
    }

    private static (string, PortRange?)? OriginalDestinationPort(JsonElement[] expressions)
    {
        string? protocol = null;
        PortRange? ports = null;
        foreach (var m in Matches(expressions))
        {
            var left = m.GetProperty("left");
            if (left.TryGetProperty("meta", out var meta) && meta.GetProperty("key").GetString() == "l4proto")
            {
                protocol = m.GetProperty("right").GetString();
            }
            else if (left.TryGetProperty("ct", out var ct) && ct.GetProperty("key").GetString() == "proto-dst"
                && ct.TryGetProperty("dir", out var dir) && dir.GetString() == "original")
            {
                ports = Ports(m.GetProperty("right"));
            }
        }
        return protocol is not null && ports is { } p ? (protocol, p) : null;
    }

    private static bool IsPayload(JsonElement left, string protocol, string field) =>
        left.TryGetProperty("payload", out var payload) && payload.TryGetProperty("field", out var f) && f.GetString() == field
        && payload.TryGetProperty("protocol", out var p) && p.GetString() == protocol;

    private static bool IsOriginalSource(JsonElement left) =>
        left.TryGetProperty("ct", out var ct) && ct.GetProperty("key").GetString() is "ip saddr" or "saddr"
        && ct.TryGetProperty("dir", out var dir) && dir.GetString() == "original";

    private static IEnumerable<JsonElement> Matches(JsonElement[] expressions) =>
        expressions.Where(e => e.TryGetProperty("match", out var m) && m.GetProperty("op").GetString() is "==" or "in").Select(e => e.GetProperty("match"));

    private static PortRange Ports(JsonElement right) => right.ValueKind switch
    {
        JsonValueKind.Number => PortRange.Of(right.GetInt32()),
        JsonValueKind.Object when right.TryGetProperty("range", out var range) => new PortRange(range[0].GetInt32(), range[1].GetInt32()),
        _ => throw new FormatException($"unexpected port expression {right.GetRawText()}"),
    };

    private static IEnumerable<Ipv4Cidr> Networks(JsonElement right)
    {
        switch (right.ValueKind)
        {
            case JsonValueKind.String:
                yield return Network(right.GetString()!);
                break;
            case JsonValueKind.Object when right.TryGetProperty("prefix", out var prefix):
                yield return Ipv4Cidr.Parse(string.Create(CultureInfo.InvariantCulture, $"{prefix.GetProperty("addr").GetString()}/{prefix.GetProperty("len").GetInt32()}"));
                break;
            case JsonValueKind.Object when right.TryGetProperty("set", out var set):
                foreach (var element in set.EnumerateArray())
                {
                    foreach (var network in Networks(element))
                    {
                        yield return network;
                    }
                }
                break;
            case JsonValueKind.Object when right.TryGetProperty("range", out var range):
                throw new FormatException($"address range {range.GetRawText()} is not a network the tool writes");
            default:
                throw new FormatException($"unexpected address expression {right.GetRawText()}");
        }
    }

    internal static Ipv4Cidr Network(string text) => Ipv4Cidr.Parse(text.Contains('/', StringComparison.Ordinal) ? text : text + "/32");
}

/// <summary>Reads <c>iptables -S CHAIN</c>.</summary>
internal static class IptablesView
{
    /// <summary>The <c>-A</c> lines of the listing, without the chain name: <c>-j PROVISIONER-PUBLISHED</c>.</summary>
    public static IReadOnlyList<string> Rules(string listing, string chain) => listing
        .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Where(l => l.StartsWith($"-A {chain} ", StringComparison.Ordinal))
        .Select(l => l[$"-A {chain} ".Length..])
        .ToList();

    /// <summary>The RETURN rules of PROVISIONER-PUBLISHED that admit a DNAT-ed connection: protocol, original port, original source.</summary>
    public static IReadOnlyList<(string Protocol, int Port, Ipv4Cidr? Source)> PublishedAllowances(string listing)
    {
        var result = new List<(string, int, Ipv4Cidr?)>();
        foreach (var rule in Rules(listing, HardeningPaths.DockerUserChain))
        {
            var words = rule.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            string? Value(string option)
            {
                var index = Array.IndexOf(words, option);
                return index >= 0 && index + 1 < words.Length ? words[index + 1] : null;
            }
            if (Value("-j") != "RETURN" || Value("--ctorigdstport") is not { } port || Value("-p") is not { } protocol)
            {
                continue;
            }
            var source = Value("--ctorigsrc") is { } s ? NftTableView.Network(s) : (Ipv4Cidr?)null;
            result.Add((protocol, int.Parse(port, NumberStyles.None, CultureInfo.InvariantCulture), source));
        }
        return result;
    }
}

/// <summary>Reads <c>stat -L -c '%n %U %G %a' FILE…</c>.</summary>
internal static class StatView
{
    public static (string Owner, string Group, int Mode)? Find(string output, string path)
    {
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var words = line.Split(' ');
            if (words.Length == 4 && words[0] == path)
            {
                return (words[1], words[2], Convert.ToInt32(words[3], 8));
            }
        }
        return null;
    }
}
