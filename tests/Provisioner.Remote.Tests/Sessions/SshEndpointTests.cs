using Provisioner.Remote.Sessions;

namespace Provisioner.Remote.Tests.Sessions;

public sealed class SshEndpointTests
{
    [Theory]
    [InlineData("192.0.2.1", 22, "root", "root@192.0.2.1:22")]
    [InlineData("fd00::1", 2222, "admin", "admin@[fd00::1]:2222")]
    [InlineData("node-1.example.org", 22, "debian", "debian@node-1.example.org:22")]
    public void ToString_IsUserAtHostPort(string host, int port, string user, string expected) =>
        Assert.Equal(expected, new SshEndpoint(host, port, user).ToString());

    [Theory]
    [InlineData("", "host")]
    [InlineData("-oProxyCommand=x", "host")]
    [InlineData("a b", "host")]
    [InlineData("10", "host")]
    [InlineData("010.0.0.1", "host")]
    [InlineData("fe80::1%eth0", "host")]
    [InlineData("host\n", "host")]
    public void Constructor_BadHost_ThrowsNamingField(string host, string field)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => new SshEndpoint(host, 22, "root"));
        Assert.StartsWith(field + ":", ex.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(65536)]
    [InlineData(-22)]
    public void Constructor_BadPort_Throws(int port) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new SshEndpoint("192.0.2.1", port, "root"));

    [Theory]
    [InlineData("")]
    [InlineData("-l")]
    [InlineData("ro ot")]
    [InlineData("root\n")]
    [InlineData("a@b")]
    public void Constructor_BadUser_ThrowsNamingField(string user)
    {
        var ex = Assert.Throws<ArgumentException>(() => new SshEndpoint("192.0.2.1", 22, user));
        Assert.StartsWith("user:", ex.Message);
    }

    [Fact]
    public void Equality_ByValue() =>
        Assert.Equal(new SshEndpoint("192.0.2.1", 22, "root"), new SshEndpoint("192.0.2.1", "root"));
}
