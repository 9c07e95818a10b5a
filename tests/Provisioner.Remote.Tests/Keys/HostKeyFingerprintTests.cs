using Provisioner.Remote.Keys;

namespace Provisioner.Remote.Tests.Keys;

public sealed class HostKeyFingerprintTests
{
    // Made once with `ssh-keygen -t ed25519 -C vector`; the fingerprint is what `ssh-keygen -lf` printed for it.
    private const string VectorLine = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF6MkAAzCUWpdQrx0pa7kNASB9r5P4VL3uTGH//5bnRD vector";
    private const string VectorFingerprint = "SHA256:CIOqsCK18b+T0gxCNwit76WsV4pf5flvSOhxcb57A2E";

    [Fact]
    public void FromPublicKeyLine_KnownVector_MatchesSshKeygen() =>
        Assert.Equal(VectorFingerprint, HostKeyFingerprint.FromPublicKeyLine(VectorLine));

    [Fact]
    public void Compute_Blob_SameAsFromLine() =>
        Assert.Equal(VectorFingerprint, HostKeyFingerprint.Compute(Convert.FromBase64String(VectorLine.Split(' ')[1])));

    [Fact]
    public void Parse_RoundTripsDigest()
    {
        var digest = HostKeyFingerprint.Parse(VectorFingerprint);
        Assert.Equal(32, digest.Length);
        Assert.Equal(VectorFingerprint, "SHA256:" + Convert.ToBase64String(digest).TrimEnd('='));
    }

    [Theory]
    [InlineData("")]
    [InlineData("CIOqsCK18b+T0gxCNwit76WsV4pf5flvSOhxcb57A2E")]
    [InlineData("MD5:CIOqsCK18b+T0gxCNwit76WsV4pf5flvSOhxcb57A2E")]
    [InlineData("SHA256:CIOqsCK18b+T0gxCNwit76WsV4pf5flvSOhxcb57A2E=")]
    [InlineData("SHA256:CIOqsCK18b+T0gxCNwit76WsV4pf5flvSOhxcb57A2")]
    [InlineData("SHA256:CIOqsCK18b+T0gxCNwit76WsV4pf5flvSOhxcb57A2F")]
    [InlineData("SHA256:CIOqsCK18b+T0gxCNwit76WsV4pf5flvSOhxcb57A!E")]
    public void TryParse_Malformed_ReturnsFalse(string text)
    {
        Assert.False(HostKeyFingerprint.TryParse(text, out _));
        Assert.Throws<FormatException>(() => HostKeyFingerprint.Parse(text));
    }
}
