using Provisioner.Core.Stacks;

namespace Provisioner.Core.Hardening;

/// <summary>Sets of IPv4 networks as firewall rules need them.</summary>
public static class CidrSet
{
    /// <summary>
    /// The smallest list covering the same addresses as <paramref name="networks"/> without overlaps:
    /// duplicates and networks inside another listed network are removed (two CIDR blocks either nest or
    /// are disjoint, so that removes every overlap nftables would refuse), then sorted by address.
    /// </summary>
    public static IReadOnlyList<Ipv4Cidr> Normalize(IEnumerable<Ipv4Cidr> networks)
    {
        ArgumentNullException.ThrowIfNull(networks);
        var result = new List<Ipv4Cidr>();
        // Widest first, so a network is only compared with wider ones already kept.
        foreach (var network in networks.Distinct().OrderBy(n => n.PrefixLength).ThenBy(n => n.Network))
        {
            if (!result.Any(kept => kept.Contains(network.Network)))
            {
                result.Add(network);
            }
        }
        return result.OrderBy(n => n.Network).ThenBy(n => n.PrefixLength).ToList().AsReadOnly();
    }

    /// <summary>Whether the list covers every address (holds <c>0.0.0.0/0</c>).</summary>
    public static bool IsEverywhere(IEnumerable<Ipv4Cidr> networks) => networks.Any(n => n.PrefixLength == 0);

    /// <summary>A /32 for one address.</summary>
    public static Ipv4Cidr Host(Ipv4Address address) => Ipv4Cidr.Parse(address + "/32");
}
