using Provisioner.Core.Stacks;

namespace Provisioner.Core.Tests.Stacks;

public sealed class Ipv4Tests
{
    [Theory]
    [InlineData("0.0.0.0", 0u)]
    [InlineData("10.77.0.1", 0x0A4D0001u)]
    [InlineData("255.255.255.255", 0xFFFFFFFFu)]
    public void Address_Parse_RoundTrips(string text, uint value)
    {
        var address = Ipv4Address.Parse(text);
        Assert.Equal(value, address.Value);
        Assert.Equal(text, address.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("10.0.0")]
    [InlineData("10.0.0.256")]
    [InlineData("010.0.0.1")]
    [InlineData("10.0.0.1 ")]
    [InlineData("10.0.0.-1")]
    [InlineData("1e1.0.0.1")]
    [InlineData("::1")]
    public void Address_Malformed_Refused(string text) => Assert.False(Ipv4Address.TryParse(text, out _));

    [Fact]
    public void Cidr_Properties()
    {
        var cidr = Ipv4Cidr.Parse("10.77.0.0/24");
        Assert.Equal("255.255.255.0", cidr.Netmask.ToString());
        Assert.Equal(256UL, cidr.Size);
        Assert.Equal("10.77.0.255", cidr.Broadcast.ToString());
        Assert.True(cidr.Contains(Ipv4Address.Parse("10.77.0.200")));
        Assert.False(cidr.Contains(Ipv4Address.Parse("10.78.0.1")));
        Assert.Equal("0.0.0.0/0", Ipv4Cidr.Parse("0.0.0.0/0").ToString());
        Assert.True(Ipv4Cidr.Parse("0.0.0.0/0").Contains(Ipv4Address.Parse("1.2.3.4")));
    }

    [Theory]
    [InlineData("10.0.0.0/8", "10.1.0.0/16", true)]
    [InlineData("10.1.0.0/16", "10.0.0.0/8", true)]
    [InlineData("10.1.0.0/24", "10.1.1.0/24", false)]
    [InlineData("10.1.0.0/23", "10.1.1.0/24", true)]
    public void Cidr_Overlaps(string a, string b, bool expected) => Assert.Equal(expected, Ipv4Cidr.Parse(a).Overlaps(Ipv4Cidr.Parse(b)));

    [Theory]
    [InlineData("10.0.0.1/24", "host bits are set (did you mean 10.0.0.0/24?)")]
    [InlineData("10.0.0.0/33", "prefix length above 32")]
    [InlineData("10.0.0.0/024", "is not a CIDR")]
    [InlineData("10.0.0.0", "is not a CIDR")]
    [InlineData("fd00::/8", "only IPv4")]
    public void Cidr_Malformed_ExplainsWhy(string text, string fragment)
    {
        Assert.False(Ipv4Cidr.TryParse(text, out _, out var error));
        Assert.Contains(fragment, error, StringComparison.Ordinal);
    }
}
