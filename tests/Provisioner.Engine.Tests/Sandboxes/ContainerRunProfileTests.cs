using Provisioner.Engine.Sandboxes;

namespace Provisioner.Engine.Tests.Sandboxes;

public sealed class ContainerRunProfileTests
{
    [Fact]
    public void Argv_Default_IsHardenedProfile()
    {
        var argv = new ContainerRunProfile { Image = "nginx:stable" }.Argv();

        Assert.Equal(
            ["docker", "run", "--detach", "--user", "65534:65534", "--cap-drop=ALL", "--read-only", "--tmpfs", "/run", "--tmpfs", "/tmp",
             "--security-opt", "no-new-privileges", "nginx:stable"],
            argv);
        Assert.Empty(new ContainerRunProfile { Image = "nginx:stable" }.Relaxations());
    }

    [Fact]
    public void Argv_HighPort_BindsLoopbackWithoutCapabilities()
    {
        var profile = new ContainerRunProfile { Image = "app", Ports = [PublishedPort.Parse("8080:8080")] };

        var argv = profile.Argv();

        Assert.Contains("127.0.0.1:8080:8080/tcp", argv);
        Assert.DoesNotContain(argv, a => a.StartsWith("--cap-add", StringComparison.Ordinal));
    }

    [Fact]
    public void Argv_LowContainerPort_AddsBindServiceAndSaysSo()
    {
        var profile = new ContainerRunProfile { Image = "nginx", Ports = [PublishedPort.Parse("8080:80")] };

        Assert.Contains("--cap-add=NET_BIND_SERVICE", profile.Argv());
        Assert.Contains(profile.Relaxations(), r => r.Contains("NET_BIND_SERVICE granted automatically", StringComparison.Ordinal));
    }

    [Fact]
    public void Argv_CapAdd_OnlyThatCapabilityNormalized()
    {
        var profile = new ContainerRunProfile { Image = "app", CapAdd = ["cap_net_admin"] };

        var argv = profile.Argv();

        Assert.Contains("--cap-drop=ALL", argv);
        Assert.Single(argv, a => a.StartsWith("--cap-add", StringComparison.Ordinal));
        Assert.Contains("--cap-add=NET_ADMIN", argv);
        Assert.Contains(profile.Relaxations(), r => r.StartsWith("--cap-add NET_ADMIN", StringComparison.Ordinal));
    }

    [Fact]
    public void Argv_AllowFrom_BindsAllInterfacesAndNotesFirewall()
    {
        var profile = new ContainerRunProfile { Image = "app", Ports = [PublishedPort.Parse("8080:8080")], AllowFrom = ["192.0.2.0/24"] };

        Assert.Contains("0.0.0.0:8080:8080/tcp", profile.Argv());
        Assert.Contains(profile.Relaxations(), r => r.Contains("firewall", StringComparison.Ordinal) && r.Contains("192.0.2.0/24", StringComparison.Ordinal));
    }

    [Fact]
    public void Argv_WritableRoot_DropsReadOnlyAndTmpfs()
    {
        var profile = new ContainerRunProfile { Image = "app", WritableRoot = true };

        var argv = profile.Argv();

        Assert.DoesNotContain("--read-only", argv);
        Assert.DoesNotContain("--tmpfs", argv);
        Assert.Contains("--security-opt", argv);
        Assert.Contains(profile.Relaxations(), r => r.StartsWith("--writable-root", StringComparison.Ordinal));
    }

    [Fact]
    public void Argv_Root_DropsUserAndNeedsNoBindService()
    {
        var profile = new ContainerRunProfile { Image = "app", Root = true, Ports = [PublishedPort.Parse("80:80")] };

        var argv = profile.Argv();

        Assert.DoesNotContain("--user", argv);
        Assert.DoesNotContain("--cap-add=NET_BIND_SERVICE", argv);
        Assert.Contains(profile.Relaxations(), r => r.StartsWith("--root", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("--privileged")]
    [InlineData("app; rm -rf /")]
    [InlineData("")]
    public void Validate_BadImage_Rejected(string image) =>
        Assert.Throws<SandboxInputException>(() => new ContainerRunProfile { Image = image }.Argv());

    [Theory]
    [InlineData("ALL")]
    [InlineData("SYS_ADMIN --privileged")]
    public void Validate_BadCapability_Rejected(string cap) =>
        Assert.Throws<SandboxInputException>(() => new ContainerRunProfile { Image = "app", CapAdd = [cap] }.Argv());

    [Fact]
    public void Validate_BadCidr_NamesFlag()
    {
        var e = Assert.Throws<SandboxInputException>(() => new ContainerRunProfile { Image = "app", AllowFrom = ["10.0.0.300/8"] }.Argv());
        Assert.StartsWith("--allow-from: '10.0.0.300/8'", e.Message);
    }

    [Theory]
    [InlineData("8080:80", 8080, 80, "tcp")]
    [InlineData("53:53/udp", 53, 53, "udp")]
    [InlineData("9000", 9000, 9000, "tcp")]
    public void PublishedPort_Parse_Valid(string text, int host, int container, string protocol) =>
        Assert.Equal(new PublishedPort(host, container, protocol), PublishedPort.Parse(text));

    [Theory]
    [InlineData("0:80")]
    [InlineData("80:70000")]
    [InlineData("a:b")]
    [InlineData("1.2.3.4:80:80")]
    public void PublishedPort_Parse_Invalid(string text) => Assert.Throws<SandboxInputException>(() => PublishedPort.Parse(text));
}
