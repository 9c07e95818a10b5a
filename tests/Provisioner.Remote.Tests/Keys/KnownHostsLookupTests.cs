using System.Security.Cryptography;
using System.Text;
using Provisioner.Remote.Keys;

namespace Provisioner.Remote.Tests.Keys;

public sealed class KnownHostsLookupTests
{
    private static readonly PinnedHostKey A = SshKeyPair.GenerateEd25519("a").PublicKey;
    private static readonly PinnedHostKey B = SshKeyPair.GenerateEd25519("b").PublicKey;
    private static readonly PinnedHostKey C = SshKeyPair.GenerateEd25519("c").PublicKey;

    private static string Line(string hosts, PinnedHostKey key, string? marker = null) =>
        (marker is null ? "" : marker + " ") + hosts + " " + key.ToPublicKeyLine() + " comment";

    private static string Hashed(string name, byte[] salt)
    {
#pragma warning disable CA5350 // the format under test is defined with HMAC-SHA1
        var hash = HMACSHA1.HashData(salt, Encoding.ASCII.GetBytes(name));
#pragma warning restore CA5350
        return "|1|" + Convert.ToBase64String(salt) + "|" + Convert.ToBase64String(hash);
    }

    [Fact]
    public void Find_PlainAndListedNames_ReturnsKeysInFileOrder()
    {
        var content = string.Join('\n', "# comment", "", Line("other.example.net", C), Line("kvm1.example.net,10.0.0.1", A), Line("kvm1.example.net", B), Line("KVM1.example.net", A));

        Assert.Equal([A, B], KnownHostsLookup.Find(content, "kvm1.example.net", 22));
        Assert.Equal([A], KnownHostsLookup.Find(content, "10.0.0.1", 22));
        Assert.Empty(KnownHostsLookup.Find(content, "kvm2.example.net", 22));
    }

    [Fact]
    public void Find_NonDefaultPort_OnlyBracketedEntriesMatch()
    {
        var content = string.Join('\n', Line("kvm1", A), Line("[kvm1]:2222", B));

        Assert.Equal([B], KnownHostsLookup.Find(content, "kvm1", 2222));
        Assert.Equal([A], KnownHostsLookup.Find(content, "kvm1", 22));
    }

    [Fact]
    public void Find_HashedEntry_Matches()
    {
        var content = string.Join('\n', Line(Hashed("kvm1.example.net", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]), A),
            Line(Hashed("[kvm1.example.net]:2222", [9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9]), B));

        Assert.Equal([A], KnownHostsLookup.Find(content, "kvm1.example.net", 22));
        Assert.Equal([B], KnownHostsLookup.Find(content, "kvm1.example.net", 2222));
        Assert.Empty(KnownHostsLookup.Find(content, "kvm2.example.net", 22));
    }

    [Fact]
    public void Find_WildcardsAndNegation_FollowOpenSsh()
    {
        var content = string.Join('\n', Line("*.osl.example.net,!bad.osl.example.net", A), Line("kvm?.lab", B));

        Assert.Equal([A], KnownHostsLookup.Find(content, "kvm1.osl.example.net", 22));
        Assert.Empty(KnownHostsLookup.Find(content, "bad.osl.example.net", 22));
        Assert.Equal([B], KnownHostsLookup.Find(content, "kvm7.lab", 22));
        Assert.Empty(KnownHostsLookup.Find(content, "kvm10.lab", 22));
    }

    [Fact]
    public void Find_RevokedKey_NeverReturned_CertAuthoritySkipped()
    {
        var content = string.Join('\n', Line("kvm1", A), Line("kvm1", B), Line("*", A, "@revoked"), Line("kvm1", C, "@cert-authority"));

        Assert.Equal([B], KnownHostsLookup.Find(content, "kvm1", 22));
    }

    [Fact]
    public void Find_MalformedLines_SkippedWithoutHidingGoodOnes()
    {
        var content = string.Join('\n', "kvm1 ssh-ed25519 !!notbase64!!", "kvm1", "kvm1 ssh-rsa " + Convert.ToBase64String(A.Blob), Line("kvm1", B));

        Assert.Equal([B], KnownHostsLookup.Find(content, "kvm1", 22));
    }

    [Fact]
    public async Task ReadAsync_ReadsFile()
    {
        using var dir = new TempDirectory();
        await File.WriteAllTextAsync(dir.File("known_hosts"), Line("127.0.0.1", A) + "\n", TestContext.Current.CancellationToken);

        Assert.Equal([A], await KnownHostsLookup.ReadAsync(dir.File("known_hosts"), "127.0.0.1", 22, TestContext.Current.CancellationToken));
    }
}
