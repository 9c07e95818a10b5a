using System.Globalization;
using Provisioner.Core.Stacks;
using Provisioner.Core.Templates;

namespace Provisioner.Core.Hardening;

/// <summary>
/// The only kind of value a firewall template (<c>*.nft.sbn</c>, <c>*.rules.sbn</c>) can write: an
/// address, a network, a port, a port range, a protocol or a set of networks, each built here from
/// an already typed value (<see cref="Ipv4Cidr"/>, an <see cref="int"/> port, <see cref="TransportProtocol"/>).
/// Strings cannot be written into a rule at all (<see cref="FirewallEscaping"/> refuses them), so no
/// user text can reach a rule, escaped or not: a value is either one of these tokens or the template
/// fails.
/// </summary>
public sealed class FirewallToken
{
    private readonly Kind _kind;
    private readonly Ipv4Cidr[] _networks;
    private readonly int _first;
    private readonly int _last;
    private readonly TransportProtocol _protocol;

    private FirewallToken(Kind kind, Ipv4Cidr[]? networks = null, int first = 0, int last = 0, TransportProtocol protocol = default)
    {
        _kind = kind;
        _networks = networks ?? [];
        _first = first;
        _last = last;
        _protocol = protocol;
    }

    private enum Kind
    {
        Network,
        NetworkSet,
        Port,
        PortRange,
        Protocol,
        IpProtocol,
    }

    /// <summary>One IPv4 network (a /32 is written as a bare address).</summary>
    public static FirewallToken Network(Ipv4Cidr network) => new(Kind.Network, [network]);

    /// <summary>
    /// A set of IPv4 networks for nftables (<c>{ a, b }</c>). Networks must not overlap (nftables
    /// refuses overlapping intervals): pass the output of <see cref="CidrSet.Normalize"/>.
    /// </summary>
    public static FirewallToken NetworkSet(IReadOnlyList<Ipv4Cidr> networks)
    {
        ArgumentNullException.ThrowIfNull(networks);
        if (networks.Count == 0)
        {
            throw new TemplateRenderException("an empty set of networks cannot be written into a rule");
        }
        return new(Kind.NetworkSet, [.. networks]);
    }

    /// <summary>A port 1-65535.</summary>
    public static FirewallToken Port(int port)
    {
        CheckPort(port);
        return new(Kind.Port, first: port, last: port);
    }

    /// <summary>A port range (written as a single port when first and last are equal).</summary>
    public static FirewallToken Ports(PortRange range)
    {
        CheckPort(range.First);
        CheckPort(range.Last);
        if (range.First > range.Last)
        {
            throw new TemplateRenderException($"port range {range.First}-{range.Last} is reversed");
        }
        return range.First == range.Last ? new(Kind.Port, first: range.First, last: range.Last) : new(Kind.PortRange, first: range.First, last: range.Last);
    }

    /// <summary>A transport protocol: <c>tcp</c> or <c>udp</c>.</summary>
    public static FirewallToken Protocol(TransportProtocol protocol) => protocol switch
    {
        TransportProtocol.Tcp or TransportProtocol.Udp => new(Kind.Protocol, protocol: protocol),
        _ => throw new TemplateRenderException($"'{(int)protocol}' is not a transport protocol"),
    };

    /// <summary>A transport protocol with ports (<c>tcp</c>, <c>udp</c>) as an input rule names it.</summary>
    public static FirewallToken Protocol(FirewallProtocol protocol) => protocol switch
    {
        FirewallProtocol.Tcp => Protocol(TransportProtocol.Tcp),
        FirewallProtocol.Udp => Protocol(TransportProtocol.Udp),
        _ => throw new TemplateRenderException($"{protocol} has no ports; write it as an IP protocol"),
    };

    /// <summary>An IP protocol without ports, written by number (VRRP 112).</summary>
    public static FirewallToken IpProtocol(FirewallProtocol protocol) => protocol switch
    {
        FirewallProtocol.Vrrp => new(Kind.IpProtocol, first: 112),
        _ => throw new TemplateRenderException($"{protocol} is not an IP protocol without ports"),
    };

    /// <summary>The token as nftables syntax.</summary>
    public string ToNftables() => _kind switch
    {
        Kind.Network => Format(_networks[0]),
        Kind.NetworkSet => _networks.Length == 1 ? Format(_networks[0]) : "{ " + string.Join(", ", _networks.Select(Format)) + " }",
        Kind.Port => _first.ToString(CultureInfo.InvariantCulture),
        Kind.PortRange => string.Create(CultureInfo.InvariantCulture, $"{_first}-{_last}"),
        Kind.Protocol => ProtocolName(_protocol),
        Kind.IpProtocol => _first.ToString(CultureInfo.InvariantCulture),
        _ => throw new TemplateRenderException($"token kind {_kind} has no nftables form"),
    };

    /// <summary>The token as an iptables-restore argument; sets have no such form and are refused.</summary>
    public string ToIptables() => _kind switch
    {
        Kind.Network => Format(_networks[0]),
        Kind.Port => _first.ToString(CultureInfo.InvariantCulture),
        Kind.PortRange => string.Create(CultureInfo.InvariantCulture, $"{_first}:{_last}"),
        Kind.Protocol => ProtocolName(_protocol),
        _ => throw new TemplateRenderException($"a {_kind} cannot be written into an iptables rule; write one rule per network"),
    };

    /// <inheritdoc />
    public override string ToString() => ToNftables();

    internal static string ProtocolName(TransportProtocol protocol) => protocol switch
    {
        TransportProtocol.Tcp => "tcp",
        TransportProtocol.Udp => "udp",
        _ => throw new TemplateRenderException($"'{(int)protocol}' is not a transport protocol"),
    };

    private static string Format(Ipv4Cidr network) =>
        network.PrefixLength == 32 ? network.Network.ToString() : network.ToString();

    private static void CheckPort(int port)
    {
        if (port is < 1 or > 65535)
        {
            throw new TemplateRenderException($"{port} is not a port (1-65535)");
        }
    }
}

/// <summary>An inclusive range of ports, e.g. etcd's 2379-2380.</summary>
/// <param name="First">First port.</param>
/// <param name="Last">Last port (equal to <paramref name="First"/> for one port).</param>
public readonly record struct PortRange(int First, int Last)
{
    /// <summary>A single port.</summary>
    public static PortRange Of(int port) => new(port, port);

    /// <summary>Whether <paramref name="port"/> lies in the range.</summary>
    public bool Contains(int port) => port >= First && port <= Last;

    /// <summary><c>first</c> or <c>first-last</c>.</summary>
    public override string ToString() => First == Last
        ? First.ToString(CultureInfo.InvariantCulture)
        : string.Create(CultureInfo.InvariantCulture, $"{First}-{Last}");
}
