using Provisioner.Remote.Keys;

namespace Provisioner.Remote.Tests.Keys;

public sealed class PinnedHostKeyTests
{
    [Fact]
    public void FromPublicKeyLine_GeneratedKey_ExposesAlgorithmBlobFingerprint()
    {
        var pair = SshKeyPair.GenerateEd25519("host");
        var pin = PinnedHostKey.FromPublicKeyLine(pair.PublicKeyOpenSsh);
        Assert.Equal("ssh-ed25519", pin.Algorithm);
        Assert.Equal(pair.Fingerprint, pin.Fingerprint);
        Assert.Equal(Convert.FromBase64String(pair.PublicKeyOpenSsh.Split(' ')[1]), pin.Blob.ToArray());
        Assert.Equal(string.Join(' ', pair.PublicKeyOpenSsh.Split(' ')[..2]), pin.ToPublicKeyLine());
        Assert.Equal(["ssh-ed25519"], pin.HostKeyAlgorithms);
    }

    [Fact]
    public void Matches_SameBlob_TrueOtherKey_False()
    {
        var a = SshKeyPair.GenerateEd25519("a").PublicKey;
        var b = SshKeyPair.GenerateEd25519("b").PublicKey;
        Assert.True(a.Matches(a.Blob));
        Assert.False(a.Matches(b.Blob));
        Assert.False(a.Matches(a.Blob[..^1]));
        Assert.Equal(a, PinnedHostKey.FromBlob(a.Blob));
        Assert.NotEqual(a, b);
    }

    [Fact]
    public void FromPublicKeyLine_TypeDisagreesWithBlob_Throws()
    {
        var line = SshKeyPair.GenerateEd25519("x").PublicKeyOpenSsh.Replace("ssh-ed25519", "ssh-rsa");
        var ex = Assert.Throws<FormatException>(() => PinnedHostKey.FromPublicKeyLine(line));
        Assert.Contains("ssh-rsa", ex.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("ssh-ed25519")]
    [InlineData("ssh-ed25519 !!!notbase64")]
    [InlineData("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5")]
    [InlineData("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF6MkAAzCUWpdQrx0pa7kNASB9r5P4VL3uTGH//5bnQ=")]
    public void FromPublicKeyLine_Malformed_Throws(string line) =>
        Assert.Throws<FormatException>(() => PinnedHostKey.FromPublicKeyLine(line));

    [Fact]
    public void FromPublicKeyLine_RsaLine_OffersAllRsaSignatureAlgorithms()
    {
        // A syntactically valid ssh-rsa blob (exponent and modulus); pinning does not need a real key.
        var blob = new byte[] { 0, 0, 0, 7 }.Concat("ssh-rsa"u8.ToArray()).Concat(new byte[] { 0, 0, 0, 1, 3, 0, 0, 0, 1, 1 }).ToArray();
        var pin = PinnedHostKey.FromPublicKeyLine("ssh-rsa " + Convert.ToBase64String(blob));
        Assert.Equal(["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"], pin.HostKeyAlgorithms);
    }
}
