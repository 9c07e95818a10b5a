using System.Globalization;

namespace Provisioner.Core.Stacks;

/// <summary>An IPv4 address as a 32-bit number, so address arithmetic stays simple and exact.</summary>
/// <param name="Value">The address in host byte order (10.0.0.1 is 0x0A000001).</param>
public readonly record struct Ipv4Address(uint Value) : IComparable<Ipv4Address>
{
    /// <summary>Parses strict dotted-quad notation: four decimal octets 0-255, no leading zeros, nothing else.</summary>
    public static bool TryParse(string? text, out Ipv4Address address)
    {
        address = default;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        var parts = text.Split('.');
        if (parts.Length != 4)
        {
            return false;
        }

        uint value = 0;
        foreach (var part in parts)
        {
            // Leading zeros are refused: some parsers read them as octal (010 == 8).
            if (part.Length is 0 or > 3 || (part.Length > 1 && part[0] == '0') || !part.All(char.IsAsciiDigit))
            {
                return false;
            }

            var octet = uint.Parse(part, NumberStyles.None, CultureInfo.InvariantCulture);
            if (octet > 255)
            {
                return false;
            }

            value = (value << 8) | octet;
        }

        address = new Ipv4Address(value);
        return true;
    }

    /// <summary>Parses like <see cref="TryParse"/> and throws <see cref="FormatException"/> on bad input.</summary>
    public static Ipv4Address Parse(string text) =>
        TryParse(text, out var address) ? address : throw new FormatException($"'{text}' is not an IPv4 address");

    /// <summary>The address <paramref name="offset"/> after this one (wrapping is the caller's concern).</summary>
    public Ipv4Address Add(uint offset) => new(unchecked(Value + offset));

    /// <inheritdoc />
    public int CompareTo(Ipv4Address other) => Value.CompareTo(other.Value);

    /// <summary>Dotted-quad form, e.g. <c>10.77.0.1</c>.</summary>
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"{Value >> 24}.{(Value >> 16) & 0xFF}.{(Value >> 8) & 0xFF}.{Value & 0xFF}");

    /// <summary>Orders addresses numerically.</summary>
    public static bool operator <(Ipv4Address left, Ipv4Address right) => left.Value < right.Value;

    /// <summary>Orders addresses numerically.</summary>
    public static bool operator >(Ipv4Address left, Ipv4Address right) => left.Value > right.Value;

    /// <summary>Orders addresses numerically.</summary>
    public static bool operator <=(Ipv4Address left, Ipv4Address right) => left.Value <= right.Value;

    /// <summary>Orders addresses numerically.</summary>
    public static bool operator >=(Ipv4Address left, Ipv4Address right) => left.Value >= right.Value;
}

/// <summary>An IPv4 network in canonical CIDR form (host bits zero), e.g. <c>10.77.0.0/24</c>.</summary>
public readonly record struct Ipv4Cidr
{
    private Ipv4Cidr(Ipv4Address network, int prefixLength)
    {
        Network = network;
        PrefixLength = prefixLength;
    }

    /// <summary>The network address (host bits zero).</summary>
    public Ipv4Address Network { get; }

    /// <summary>Prefix length 0-32.</summary>
    public int PrefixLength { get; }

    /// <summary>The netmask as a number, e.g. 0xFFFFFF00 for /24.</summary>
    public uint Mask => PrefixLength == 0 ? 0u : uint.MaxValue << (32 - PrefixLength);

    /// <summary>The netmask in dotted-quad form, e.g. <c>255.255.255.0</c>.</summary>
    public Ipv4Address Netmask => new(Mask);

    /// <summary>Number of addresses in the network, including network and broadcast address.</summary>
    public ulong Size => 1UL << (32 - PrefixLength);

    /// <summary>The broadcast (last) address.</summary>
    public Ipv4Address Broadcast => new(Network.Value | ~Mask);

    /// <summary>Whether <paramref name="address"/> lies in this network.</summary>
    public bool Contains(Ipv4Address address) => (address.Value & Mask) == Network.Value;

    /// <summary>Whether the two networks share at least one address.</summary>
    public bool Overlaps(Ipv4Cidr other) => Contains(other.Network) || other.Contains(Network);

    /// <summary>
    /// Parses <c>a.b.c.d/n</c>. <paramref name="error"/> says what is wrong, including a CIDR whose
    /// host bits are not zero (<c>10.0.0.1/24</c>), which is refused rather than silently masked
    /// because it usually means the author meant something else.
    /// </summary>
    public static bool TryParse(string? text, out Ipv4Cidr cidr, out string? error)
    {
        cidr = default;
        error = null;
        var slash = text?.IndexOf('/', StringComparison.Ordinal) ?? -1;
        if (text is null || slash < 0)
        {
            error = "is not a CIDR (expected a.b.c.d/n)";
            return false;
        }

        if (text.Contains(':', StringComparison.Ordinal))
        {
            error = "is an IPv6 CIDR; only IPv4 is supported";
            return false;
        }

        var prefixText = text[(slash + 1)..];
        if (!Ipv4Address.TryParse(text[..slash], out var address)
            || prefixText.Length is 0 or > 2
            || (prefixText.Length > 1 && prefixText[0] == '0')
            || !prefixText.All(char.IsAsciiDigit))
        {
            error = "is not a CIDR (expected a.b.c.d/n)";
            return false;
        }

        var prefix = int.Parse(prefixText, NumberStyles.None, CultureInfo.InvariantCulture);
        if (prefix > 32)
        {
            error = "has a prefix length above 32";
            return false;
        }

        var candidate = new Ipv4Cidr(address, prefix);
        if ((address.Value & candidate.Mask) != address.Value)
        {
            var canonical = new Ipv4Cidr(new Ipv4Address(address.Value & candidate.Mask), prefix);
            error = $"is not canonical: host bits are set (did you mean {canonical}?)";
            return false;
        }

        cidr = candidate;
        return true;
    }

    /// <summary>Parses like <see cref="TryParse"/> and throws <see cref="FormatException"/> on bad input.</summary>
    public static Ipv4Cidr Parse(string text) =>
        TryParse(text, out var cidr, out var error) ? cidr : throw new FormatException($"'{text}' {error}");

    /// <summary>Canonical text form, e.g. <c>10.77.0.0/24</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Network}/{PrefixLength}");
}

/// <summary>An inclusive range of IPv4 addresses.</summary>
/// <param name="First">First address of the range.</param>
/// <param name="Last">Last address of the range (inclusive).</param>
public readonly record struct Ipv4Range(Ipv4Address First, Ipv4Address Last)
{
    /// <summary>Number of addresses in the range.</summary>
    public uint Count => Last.Value - First.Value + 1;

    /// <summary>Whether <paramref name="address"/> lies in the range.</summary>
    public bool Contains(Ipv4Address address) => address >= First && address <= Last;

    /// <summary><c>first-last</c>.</summary>
    public override string ToString() => $"{First}-{Last}";
}
