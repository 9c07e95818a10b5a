using Provisioner.Core.Stacks;

namespace Provisioner.Core.Tests.Stacks;

public sealed class SshPublicKeyTests
{
    // Public halves of throwaway keys generated with ssh-keygen for these tests.
    private const string Ed25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK+sRot3zY7xLHWPOT3JtO/v8quf6VpTNZip6rjZdg8C ops@example.net";
    private const string Ecdsa256 = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBOuwKb+3DSyAQMGa5zklVWcNEB8G7ug9Y8w2tfBtQFQspymGjykGpANFWc6AqjiJoc4M2XjdR9WcGlypG4HtEro= oncall@example.net";
    private const string Ecdsa384 = "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBGGoN1u+Vq+wJl+f1kgBx3FdW6Vi8H4I2SODvFfSKKGhuAF9noLwTB20wN7EjwMhK5+2Pl9sQC1Mapya8cuquXBmX5Kcqmuw1x+U1439ifvlvbmpIeVrc1fqR4xWpWf91Q== root@vm";
    private const string Ecdsa521 = "ecdsa-sha2-nistp521 AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBABMP7g9mwU4Yuaw5nVRIry8nwMEyH1Z044Q5fSVjYbADWJrJMZqBhZ2Lg/0Ubv7Uez/ahdm/JL7tmS08UwN6KW0ZwCerwc2yNujEgqkzK+aQ5WrzKvDBF8Myh6SnKqvH+1a/Zbt8a6VEHtYxKPo+w8Kot3Fjb97LCVnT1CkANd0oe94NQ==";
    private const string Rsa3072 = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQCSw2rCSaFVlK4H5ECS0NQqT/mBvJUAKEioMNihzEd1tHDg4ahb6T/sxOAwxHDkAU0MaR7V4FMx3J8BI5Spf2SLwmjHRElIF89B+Ia3Si/LTxHBmzVgJrMKrzaRy8LBY0AJYznlRoQ1RmEFKxZjz06cvCb7H1TNYKBAxfP18ZduL1dDlWf+g3REvmVluoAtB2+m7SEx8dldn8lRb/s+Eza7L8Yh2epZcYmIOefWa9YHn0UCpxH5U8r9Ia77Pkq1HEr9vEjW86l+4vQa0VWcdSayLpqG2Q2oc9Q/0LD66rfiGyxZOR/cRsr7vsryFOWFKOlYKnVEd0IsSeMPsTL2f7a28rFCFRQ+7XB0F/v4jClgVS0Fi5M9HxE6PwuM48Np0tFl2txWh8cqj2IjI4usYhNiHrvqIITXX7E0MkwQFK/VITfokgOoVt6ymTZ8X/Ly2hKTHovPocf4L2tDhvMGWNzuP1IliJ9OPi+PBpScO0aiJoyv2v08RHT492QklQM5qm8= rsa@example.net";
    private const string Rsa1024 = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC2jlEkY0/0zW2cL54d1ZgmBly7mhSj3Jwu/8gkHSDs4JnECgX8Jyg5IfEX7IgqBmIWqBt3eG4HPoTtIrJnhni4JeBx39jmqMtLf1oW8pnN7UGa2DvzhJ2uVKJieE7Emo43+0se1breD5PVWRXWTqRWphAwTlwmK+x6IiQThhx+Qw== root@vm";

    [Theory]
    [InlineData(Ed25519, "ssh-ed25519", "ops@example.net")]
    [InlineData(Ecdsa256, "ecdsa-sha2-nistp256", "oncall@example.net")]
    [InlineData(Ecdsa384, "ecdsa-sha2-nistp384", "root@vm")]
    [InlineData(Ecdsa521, "ecdsa-sha2-nistp521", null)]
    [InlineData(Rsa3072, "ssh-rsa", "rsa@example.net")]
    public void TryParse_AllowedTypes_Parsed(string line, string type, string? comment)
    {
        Assert.True(SshPublicKey.TryParse(line, out var key, out var error), error);
        Assert.Equal(type, key!.Type);
        Assert.Equal(comment, key.Comment);
        Assert.Equal(line, key.ToString());
    }

    [Fact]
    public void TryParse_CommentWithSpaces_Kept()
    {
        Assert.True(SshPublicKey.TryParse("  " + Ed25519 + " laptop 2  ", out var key, out _));
        Assert.Equal("ops@example.net laptop 2", key!.Comment);
    }

    [Theory]
    [InlineData("", "is empty")]
    [InlineData("ssh-ed25519", "not an OpenSSH public key line")]
    [InlineData("ssh-dss AAAAB3NzaC1kc3MAAACBAP", "key type 'ssh-dss'")]
    [InlineData("ssh-ed25519 %%%", "not valid base64")]
    [InlineData("ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIK+sRot3zY7xLHWPOT3JtO/v8quf6VpTNZip6rjZdg8C", "embedded type does not match 'ssh-rsa'")]
    [InlineData("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAAQ==", "not 32 bytes")]
    [InlineData("ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBOuwKb+3DSyAQMGa5zklVWcNEB8G7ug9Y8w2tfBtQFQspymGjykGpANFWc6AqjiJoc4M2XjdR9WcGlypG4HtEro=", "embedded type does not match")]
    [InlineData("no-pty ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK+sRot3zY7xLHWPOT3JtO/v8quf6VpTNZip6rjZdg8C", "authorized_keys options")]
    [InlineData("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK+sRot3zY7xLHWPOT3JtO/v8quf6VpTNZip6rjZdg8C a\nssh-ed25519 AAAA", "control or non-ASCII")]
    public void TryParse_Malformed_ExplainsWhy(string line, string fragment)
    {
        Assert.False(SshPublicKey.TryParse(line, out var key, out var error));
        Assert.Null(key);
        Assert.Contains(fragment, error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_ShortRsa_Refused()
    {
        Assert.False(SshPublicKey.TryParse(Rsa1024, out _, out var error));
        Assert.Contains("the modulus has 1024 bits, at least 2048 required", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_TrailingBytes_Refused()
    {
        var blob = Convert.FromBase64String("AAAAC3NzaC1lZDI1NTE5AAAAIK+sRot3zY7xLHWPOT3JtO/v8quf6VpTNZip6rjZdg8C").Append((byte)0).ToArray();
        Assert.False(SshPublicKey.TryParse("ssh-ed25519 " + Convert.ToBase64String(blob), out _, out var error));
        Assert.Contains("trailing bytes", error, StringComparison.Ordinal);
    }
}
