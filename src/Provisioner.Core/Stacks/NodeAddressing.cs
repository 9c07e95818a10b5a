using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Provisioner.Core.Stacks;

/// <summary>The stable MAC and IPv4 address of a node's network interface.</summary>
public sealed record NodeAddresses
{
    /// <summary>Node name.</summary>
    public required string Node { get; init; }

    /// <summary>Network name.</summary>
    public required string Network { get; init; }

    /// <summary>MAC address, <c>52:54:00:xx:xx:xx</c> (qemu's prefix, lower-case hex).</summary>
    public required string MacAddress { get; init; }

    /// <summary>Reserved IPv4 address in the network's static range.</summary>
    public required Ipv4Address Ipv4Address { get; init; }
}

/// <summary>
/// Derives each node's MAC and IPv4 address deterministically from the stack name, network and
/// node name, so repeated runs, the CLI and the Pulumi provider all agree without a state file.
/// </summary>
/// <remarks>
/// <para>Scheme: a node's preferred slot is SHA-256 over (stack, network, node) modulo the number of
/// free slots; on a collision the next slot is taken (linear probing). Nodes whose addresses are
/// already known (<c>existing</c>, read back from libvirt) keep them and are placed first; the
/// remaining nodes are processed in ordinal name order. So adding or removing nodes never changes
/// the address of a node passed in <c>existing</c>, and without <c>existing</c> an address only
/// changes when its node had collided with another node's preferred slot.</para>
/// <para>IPv4 slots are the network's <see cref="NetworkDefinition.StaticRange"/> without the
/// gateway and the Kubernetes control-plane VIP. MACs are <c>52:54:00</c> plus 24 bits; the
/// same probing keeps them unique within the stack.</para>
/// </remarks>
public static class NodeAddressing
{
    /// <summary>qemu/KVM's MAC prefix (OUI 52:54:00, locally administered bit set).</summary>
    public const string MacPrefix = "52:54:00";

    /// <summary>The preferred MAC of a node before collision resolution: <c>52:54:00</c> and 3 hash bytes.</summary>
    public static string PreferredMacAddress(string stack, string node) => FormatMac(Slot(Hash("mac", stack, node), 1u << 24));

    /// <summary>
    /// Addresses of every node of <paramref name="stack"/>, keyed by node name.
    /// </summary>
    /// <param name="stack">The validated stack.</param>
    /// <param name="existing">
    /// Addresses already in use, by node name (from libvirt metadata). An entry is kept when the node
    /// still exists on the same network, the address is still reservable there, and no other kept
    /// entry claimed it first (ordinal name order); otherwise the node gets a fresh address.
    /// </param>
    public static IReadOnlyDictionary<string, NodeAddresses> Assign(StackDefinition stack, IReadOnlyDictionary<string, NodeAddresses>? existing = null)
    {
        ArgumentNullException.ThrowIfNull(stack);
        existing ??= new Dictionary<string, NodeAddresses>();
        var ordered = stack.Nodes.OrderBy(n => n.Name, StringComparer.Ordinal).ToList();
        var macs = AssignMacs(stack.Name, ordered, existing);
        var result = new Dictionary<string, NodeAddresses>(StringComparer.Ordinal);
        foreach (var group in ordered.GroupBy(n => n.Network, StringComparer.Ordinal))
        {
            var network = stack.FindNetwork(group.Key)
                ?? throw new InvalidOperationException($"node network '{group.Key}' is not in the stack");
            var slots = new SlotMap(network, stack.Kubernetes);
            var taken = new HashSet<ulong>();
            var pending = new List<NodeDefinition>();
            foreach (var node in group)
            {
                if (existing.TryGetValue(node.Name, out var known)
                    && string.Equals(known.Network, network.Name, StringComparison.Ordinal)
                    && slots.TryGetSlot(known.Ipv4Address, out var slot)
                    && taken.Add(slot))
                {
                    result[node.Name] = new NodeAddresses { Node = node.Name, Network = network.Name, MacAddress = macs[node.Name], Ipv4Address = known.Ipv4Address };
                }
                else
                {
                    pending.Add(node);
                }
            }

            foreach (var node in pending)
            {
                var slot = Probe(Hash("ipv4", stack.Name, network.Name, node.Name), slots.Count, taken)
                    ?? throw new InvalidOperationException($"network '{network.Name}' has no free address left for node '{node.Name}'");
                result[node.Name] = new NodeAddresses { Node = node.Name, Network = network.Name, MacAddress = macs[node.Name], Ipv4Address = slots.Address(slot) };
            }
        }

        return result.AsReadOnly();
    }

    /// <summary>How many node addresses <paramref name="network"/> can reserve.</summary>
    internal static ulong ReservableAddresses(NetworkDefinition network, KubernetesSettings? kubernetes) => new SlotMap(network, kubernetes).Count;

    private static Dictionary<string, string> AssignMacs(string stack, List<NodeDefinition> ordered, IReadOnlyDictionary<string, NodeAddresses> existing)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var taken = new HashSet<ulong>();
        var pending = new List<NodeDefinition>();
        foreach (var node in ordered)
        {
            if (existing.TryGetValue(node.Name, out var known) && TryParseMac(known.MacAddress, out var slot) && taken.Add(slot))
            {
                result[node.Name] = FormatMac(slot);
            }
            else
            {
                pending.Add(node);
            }
        }

        foreach (var node in pending)
        {
            var slot = Probe(Hash("mac", stack, node.Name), 1u << 24, taken)
                ?? throw new InvalidOperationException("MAC address space exhausted");
            result[node.Name] = FormatMac(slot);
        }

        return result;
    }

    private static ulong? Probe(ulong hash, ulong count, HashSet<ulong> taken)
    {
        if (count == 0 || (ulong)taken.Count >= count)
        {
            return null;
        }

        var slot = Slot(hash, count);
        while (!taken.Add(slot))
        {
            slot = (slot + 1) % count;
        }

        return slot;
    }

    private static ulong Slot(ulong hash, ulong count) => hash % count;

    private static ulong Hash(params string[] parts)
    {
        // NUL separators keep ("ab", "c") and ("a", "bc") apart; names cannot contain NUL.
        var bytes = SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\0', parts)));
        return BinaryPrimitives.ReadUInt64BigEndian(bytes);
    }

    private static string FormatMac(ulong slot) => string.Create(
        CultureInfo.InvariantCulture,
        $"{MacPrefix}:{(slot >> 16) & 0xFF:x2}:{(slot >> 8) & 0xFF:x2}:{slot & 0xFF:x2}");

    private static bool TryParseMac(string? mac, out ulong slot)
    {
        slot = 0;
        if (mac is null || mac.Length != 17 || !mac.StartsWith(MacPrefix + ":", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var tail = mac[9..].Replace(":", string.Empty, StringComparison.Ordinal);
        return tail.Length == 6 && ulong.TryParse(tail, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out slot);
    }

    /// <summary>Maps slot numbers 0..Count-1 onto the static range, skipping gateway and VIP.</summary>
    private sealed class SlotMap
    {
        private readonly Ipv4Range _range;
        private readonly uint[] _excluded;

        public SlotMap(NetworkDefinition network, KubernetesSettings? kubernetes)
        {
            _range = network.StaticRange;
            _excluded = new[] { network.Gateway, kubernetes?.ControlPlaneEndpoint ?? network.Gateway }
                .Where(_range.Contains)
                .Select(a => a.Value)
                .Distinct()
                .Order()
                .ToArray();
            Count = _range.Count - (ulong)_excluded.Length;
        }

        public ulong Count { get; }

        public Ipv4Address Address(ulong slot)
        {
            var value = _range.First.Value + (uint)slot;
            foreach (var excluded in _excluded)
            {
                if (value >= excluded)
                {
                    value++;
                }
            }

            return new Ipv4Address(value);
        }

        public bool TryGetSlot(Ipv4Address address, out ulong slot)
        {
            slot = 0;
            if (!_range.Contains(address) || _excluded.Contains(address.Value))
            {
                return false;
            }

            slot = address.Value - _range.First.Value - (ulong)_excluded.Count(e => e < address.Value);
            return true;
        }
    }
}
