using Provisioner.Core.Stacks;
using Provisioner.Engine.Access;
using Provisioner.Remote.Sessions;

namespace Provisioner.Engine.Tests.Access;

public sealed class JumpHostSettingsTests
{
    private static HostDefinition Host(string uri)
    {
        Assert.True(LibvirtUri.TryParse(uri, out var parsed, out var error), error);
        return new HostDefinition
        {
            Name = "kvm1", Uri = parsed!, Region = "oslo",
            Pool = new StoragePoolDefinition { Name = "p", Path = "/srv/p", Media = StorageMedia.Nvme },
        };
    }

    [Theory]
    [InlineData("qemu:///system")]
    [InlineData("test:///default")]
    [InlineData("qemu+tls://kvm1.example.net/system")]
    public void For_LocalOrTlsHost_NullMeansDirect(string uri) => Assert.Null(JumpHostSettings.For(Host(uri), "/home/x", "me"));

    [Fact]
    public void For_QemuSshWithParameters_UsesThem()
    {
        var settings = JumpHostSettings.For(Host("qemu+ssh://provisioner@osl-kvm-1.example.net:2222/system?keyfile=/etc/p/id_ed25519&known_hosts=/etc/p/known_hosts"), "/home/x", "me")!;

        Assert.Equal(new SshEndpoint("osl-kvm-1.example.net", 2222, "provisioner"), settings.Endpoint);
        Assert.Equal("/etc/p/id_ed25519", settings.KeyFile);
        Assert.Equal("/etc/p/known_hosts", settings.KnownHostsFile);
    }

    [Fact]
    public void For_QemuSshWithoutParameters_UsesSshDefaults()
    {
        var home = Directory.CreateTempSubdirectory("engtest-home-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(home, ".ssh"));
            File.WriteAllText(Path.Combine(home, ".ssh", "id_rsa"), "x");
            var settings = JumpHostSettings.For(Host("qemu+ssh://kvm1.example.net/system"), home, "me")!;

            Assert.Equal(new SshEndpoint("kvm1.example.net", 22, "me"), settings.Endpoint);
            // id_ed25519 and id_ecdsa do not exist here: ssh would fall through to id_rsa as well.
            Assert.Equal(Path.Combine(home, ".ssh", "id_rsa"), settings.KeyFile);
            Assert.Equal(Path.Combine(home, ".ssh", "known_hosts"), settings.KnownHostsFile);
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    [Fact]
    public async Task LoadAsync_MissingKeyFile_NamesItAndTheUriParameter()
    {
        var settings = JumpHostSettings.For(Host("qemu+libssh2://ops@kvm1/system?keyfile=/nonexistent/key&known_hosts=/nonexistent/kh"), "/home/x", "me")!;

        var ex = await Assert.ThrowsAsync<NodeAccessException>(() => settings.LoadAsync("kvm1", TestContext.Current.CancellationToken));

        Assert.Contains("/nonexistent/key", ex.Message);
        Assert.Contains("keyfile=", ex.Message);
    }
}
