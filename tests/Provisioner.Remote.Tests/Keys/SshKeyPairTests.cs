using Provisioner.Core.Security;
using Provisioner.Remote.Keys;

namespace Provisioner.Remote.Tests.Keys;

public sealed class SshKeyPairTests
{
    private static string? SshKeygen => LocalProcess.Find("ssh-keygen");

    [Fact]
    public void GenerateEd25519_PublicKeyLine_HasTypeBlobAndComment()
    {
        var pair = SshKeyPair.GenerateEd25519("provisioner@node-1");
        var parts = pair.PublicKeyOpenSsh.Split(' ');
        Assert.Equal(3, parts.Length);
        Assert.Equal("ssh-ed25519", parts[0]);
        // Base64 of string "ssh-ed25519" followed by the length of a 32-byte key.
        Assert.StartsWith("AAAAC3NzaC1lZDI1NTE5AAAAI", parts[1]);
        Assert.Equal("provisioner@node-1", parts[2]);
        Assert.Equal(51, Convert.FromBase64String(parts[1]).Length);
    }

    [Fact]
    public void GenerateEd25519_EmptyComment_LineHasNoTrailingSpace()
    {
        var pair = SshKeyPair.GenerateEd25519("");
        Assert.Equal(2, pair.PublicKeyOpenSsh.Split(' ').Length);
    }

    [Fact]
    public void GenerateEd25519_PrivateKey_IsOpenSshPemAndRedacted()
    {
        var pair = SshKeyPair.GenerateEd25519("c");
        var pem = pair.PrivateKeyOpenSsh.Reveal();
        Assert.StartsWith("-----BEGIN OPENSSH PRIVATE KEY-----\n", pem);
        Assert.EndsWith("\n-----END OPENSSH PRIVATE KEY-----\n", pem);
        Assert.All(pem.Split('\n'), line => Assert.True(line.Length <= 70, line));
        Assert.Equal(Secret.Redacted, pair.PrivateKeyOpenSsh.ToString());
        Assert.Equal(Secret.Redacted, $"{pair.PrivateKeyOpenSsh}");
    }

    [Fact]
    public void GenerateEd25519_TwoCalls_GiveDifferentKeys()
    {
        var a = SshKeyPair.GenerateEd25519("c");
        var b = SshKeyPair.GenerateEd25519("c");
        Assert.NotEqual(a.PublicKeyOpenSsh, b.PublicKeyOpenSsh);
        Assert.NotEqual(a.PrivateKeyOpenSsh, b.PrivateKeyOpenSsh);
    }

    [Theory]
    [InlineData("two\nlines")]
    [InlineData("cr\r")]
    [InlineData("nul\0")]
    [InlineData("tab\t")]
    public void GenerateEd25519_CommentWithControlCharacter_Throws(string comment) =>
        Assert.Throws<ArgumentException>(() => SshKeyPair.GenerateEd25519(comment));

    [Fact]
    public void FromPrivateKeyOpenSsh_GeneratedKey_RoundTrips()
    {
        var pair = SshKeyPair.GenerateEd25519("round trip");
        var read = SshKeyPair.FromPrivateKeyOpenSsh(pair.PrivateKeyOpenSsh);
        Assert.Equal(pair.PublicKeyOpenSsh, read.PublicKeyOpenSsh);
        Assert.Equal(pair.Fingerprint, read.Fingerprint);
        Assert.Equal("round trip", read.Comment);
    }

    [Fact]
    public void FromPrivateKeyOpenSsh_Garbage_ThrowsFormatException()
    {
        Assert.Throws<FormatException>(() => SshKeyPair.FromPrivateKeyOpenSsh(new Secret("not a key")));
        Assert.Throws<FormatException>(() => SshKeyPair.FromPrivateKeyOpenSsh(
            new Secret("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n")));
    }

    [Fact]
    public void FromPrivateKeyOpenSsh_TamperedPublicHalf_Throws()
    {
        var pair = SshKeyPair.GenerateEd25519("c");
        var pem = pair.PrivateKeyOpenSsh.Reveal();
        var lines = pem.Split('\n');
        var body = Convert.FromBase64String(string.Concat(lines[1..^2]));
        // The public blob in the header starts after magic(15) + "none"(8) + "none"(8) + ""(4) + count(4) + length(4) + type(15) + length(4).
        body[62] ^= 1;
        var tampered = "-----BEGIN OPENSSH PRIVATE KEY-----\n" + Convert.ToBase64String(body) + "\n-----END OPENSSH PRIVATE KEY-----\n";
        Assert.Throws<FormatException>(() => SshKeyPair.FromPrivateKeyOpenSsh(new Secret(tampered)));
    }

    [Fact]
    public async Task SshKeygen_DerivesTheSamePublicKeyFromOurPrivateKey()
    {
        Assert.SkipUnless(SshKeygen is not null, "ssh-keygen (openssh-client) is not installed");
        using var dir = new TempDirectory();
        var pair = SshKeyPair.GenerateEd25519("derive me");
        var keyFile = dir.File("id_ed25519");
        await SshKeyFiles.WritePrivateKeyAsync(keyFile, pair.PrivateKeyOpenSsh, TestContext.Current.CancellationToken);

        var result = await LocalProcess.RunAsync(SshKeygen!, ["-y", "-f", keyFile]);

        Assert.True(result.ExitCode == 0, result.StdErr);
        Assert.Equal(pair.PublicKeyOpenSsh, result.StdOutText.TrimEnd('\n'));
    }

    [Fact]
    public async Task SshKeygen_PrintsTheSameFingerprint_ForPublicAndPrivateFile()
    {
        Assert.SkipUnless(SshKeygen is not null, "ssh-keygen (openssh-client) is not installed");
        using var dir = new TempDirectory();
        var pair = SshKeyPair.GenerateEd25519("fp");
        var keyFile = dir.File("key");
        await SshKeyFiles.WriteKeyPairAsync(keyFile, pair, TestContext.Current.CancellationToken);

        foreach (var file in new[] { keyFile + ".pub", keyFile })
        {
            var result = await LocalProcess.RunAsync(SshKeygen!, ["-l", "-E", "sha256", "-f", file]);
            Assert.True(result.ExitCode == 0, result.StdErr);
            Assert.Equal($"256 {pair.Fingerprint} fp (ED25519)", result.StdOutText.TrimEnd('\n'));
        }
    }

    [Fact]
    public async Task FromPrivateKeyOpenSsh_KeyMadeBySshKeygen_MatchesSshKeygensPublicKey()
    {
        Assert.SkipUnless(SshKeygen is not null, "ssh-keygen (openssh-client) is not installed");
        using var dir = new TempDirectory();
        var keyFile = dir.File("made-by-ssh-keygen");
        var generated = await LocalProcess.RunAsync(SshKeygen!, ["-q", "-t", "ed25519", "-N", "", "-C", "by keygen", "-f", keyFile]);
        Assert.True(generated.ExitCode == 0, generated.StdErr);

        var pair = SshKeyPair.FromPrivateKeyOpenSsh(new Secret(await File.ReadAllTextAsync(keyFile, TestContext.Current.CancellationToken)));

        Assert.Equal((await File.ReadAllTextAsync(keyFile + ".pub", TestContext.Current.CancellationToken)).TrimEnd('\n'), pair.PublicKeyOpenSsh);
        var listed = await LocalProcess.RunAsync(SshKeygen!, ["-l", "-f", keyFile + ".pub"]);
        Assert.Contains(pair.Fingerprint, listed.StdOutText);
    }

    [Fact]
    public async Task WriteKeyPairAsync_Modes_Are0600And0644()
    {
        using var dir = new TempDirectory();
        var keyFile = dir.File("key");
        await SshKeyFiles.WriteKeyPairAsync(keyFile, SshKeyPair.GenerateEd25519("m"), TestContext.Current.CancellationToken);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
        Assert.Equal(
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
            File.GetUnixFileMode(keyFile + ".pub"));
        Assert.Equal(2, Directory.GetFiles(dir.Path).Length);
    }

    [Fact]
    public async Task WritePrivateKeyAsync_ExistingWorldReadableFile_ReplacedWith0600()
    {
        using var dir = new TempDirectory();
        var keyFile = dir.File("key");
        await File.WriteAllTextAsync(keyFile, "old", TestContext.Current.CancellationToken);
        File.SetUnixFileMode(keyFile, (UnixFileMode)0b110_110_110);
        var pair = SshKeyPair.GenerateEd25519("m");

        await SshKeyFiles.WritePrivateKeyAsync(keyFile, pair.PrivateKeyOpenSsh, TestContext.Current.CancellationToken);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
        Assert.Equal(pair.PrivateKeyOpenSsh.Reveal(), await File.ReadAllTextAsync(keyFile, TestContext.Current.CancellationToken));
    }
}
