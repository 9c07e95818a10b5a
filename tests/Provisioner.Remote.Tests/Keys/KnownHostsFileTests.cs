using Provisioner.Remote.Keys;
using Provisioner.Remote.Sessions;

namespace Provisioner.Remote.Tests.Keys;

public sealed class KnownHostsFileTests
{
    [Theory]
    [InlineData("192.0.2.10", 22, "192.0.2.10")]
    [InlineData("192.0.2.10", 2222, "[192.0.2.10]:2222")]
    [InlineData("node-1.example.org", 22, "node-1.example.org")]
    [InlineData("fd00::5", 22, "fd00::5")]
    [InlineData("fd00::5", 2200, "[fd00::5]:2200")]
    public void HostPattern_PortDecidesBrackets(string host, int port, string expected) =>
        Assert.Equal(expected, KnownHostsFile.HostPattern(host, port));

    [Theory]
    [InlineData("*")]
    [InlineData("a,b")]
    [InlineData("!host")]
    [InlineData("host name")]
    [InlineData("[1.2.3.4]")]
    [InlineData("10")]
    public void HostPattern_PatternCharacters_Rejected(string host) =>
        Assert.ThrowsAny<ArgumentException>(() => KnownHostsFile.HostPattern(host, 22));

    [Fact]
    public async Task WriteAsync_WritesOneLinePerEntryWithMode0644()
    {
        using var dir = new TempDirectory();
        var key = SshKeyPair.GenerateEd25519("host").PublicKey;
        var path = dir.File("known_hosts");

        await KnownHostsFile.WriteAsync(path, new SshEndpoint("127.0.0.1", 2222, "root"), key, TestContext.Current.CancellationToken);

        Assert.Equal($"[127.0.0.1]:2222 {key.ToPublicKeyLine()}\n", await File.ReadAllTextAsync(path, TestContext.Current.CancellationToken));
        Assert.Equal(SshKeyFiles.PublicFileMode, File.GetUnixFileMode(path));
    }

    [Fact]
    public async Task WriteAsync_SshKeygenFindsTheHost()
    {
        var keygen = LocalProcess.Find("ssh-keygen");
        Assert.SkipUnless(keygen is not null, "ssh-keygen (openssh-client) is not installed");
        using var dir = new TempDirectory();
        var key = SshKeyPair.GenerateEd25519("host").PublicKey;
        var path = dir.File("known_hosts");
        await KnownHostsFile.WriteAsync(path,
            [new KnownHostEntry("192.0.2.1", 22, SshKeyPair.GenerateEd25519("other").PublicKey), new KnownHostEntry("192.0.2.7", 2222, key)],
            TestContext.Current.CancellationToken);

        var found = await LocalProcess.RunAsync(keygen!, ["-F", "[192.0.2.7]:2222", "-f", path]);

        Assert.Equal(0, found.ExitCode);
        Assert.Contains(key.ToPublicKeyLine(), found.StdOutText);
        Assert.DoesNotContain("192.0.2.1 ", found.StdOutText);
    }

    [Fact]
    public void FormatSshCommand_PlainPaths_IsTheDocumentedCommand()
    {
        var command = KnownHostsFile.FormatSshCommand(new SshEndpoint("192.0.2.7", "admin"), "/home/u/.prov/id", "/home/u/.prov/known_hosts");
        Assert.Equal(
            "ssh -i /home/u/.prov/id -o UserKnownHostsFile=/home/u/.prov/known_hosts -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes admin@192.0.2.7",
            command);
    }

    [Fact]
    public void FormatSshCommand_OtherPortAndAwkwardPaths_QuotedAndEscaped()
    {
        var command = KnownHostsFile.FormatSshCommand(new SshEndpoint("192.0.2.7", 2222, "admin"), "/tmp/my keys/id", "/tmp/100% keys/known hosts");
        Assert.Equal(
            "ssh -i '/tmp/my keys/id' -o UserKnownHostsFile='\"/tmp/100%% keys/known hosts\"' -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -p 2222 admin@192.0.2.7",
            command);
    }

    [Theory]
    [InlineData("relative/key")]
    [InlineData("/tmp/${HOME}/key")]
    [InlineData("/tmp/line\nbreak")]
    [InlineData("/tmp/100%/key")]
    public void FormatSshCommand_UnusablePath_Throws(string path) =>
        Assert.Throws<ArgumentException>(() => KnownHostsFile.FormatSshCommand(new SshEndpoint("192.0.2.7", "admin"), path, "/tmp/kh"));
}
