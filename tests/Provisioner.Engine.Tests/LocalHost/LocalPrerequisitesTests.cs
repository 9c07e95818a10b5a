using System.Text.RegularExpressions;
using Provisioner.Engine.LocalHost;
using Provisioner.Engine.Tests.Images;

namespace Provisioner.Engine.Tests.LocalHost;

public sealed class LocalPrerequisitesTests
{
    private const string Status = """
        Package: libvirt0
        Status: install ok installed
        Architecture: amd64
        Version: 9.0.0-4+deb12u2

        Package: libvirt0
        Status: deinstall ok config-files
        Architecture: i386

        Package: qemu-utils
        Status: hold ok installed
        Architecture: amd64

        Package: debootstrap
        Status: deinstall ok config-files
        Architecture: all

        Package: nftables
        Status: install reinstreq half-installed
        Description: a multi-line
         description: Status: install ok installed

        Package: openssh-server
        Status: install ok installed
        """;

    private readonly FakeLocalSystem _system = new();

    [Fact]
    public void ParseInstalledPackages_DpkgStatus_OnlyFullyInstalled()
    {
        var installed = LocalPrerequisites.ParseInstalledPackages(Status);

        Assert.Equal(["libvirt0", "openssh-server", "qemu-utils"], installed.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task FindMissingAsync_SomeInstalled_ListsTheRestInOrder()
    {
        var installed = LocalPrerequisites.RequiredPackages.Where(p => p is not "debootstrap" and not "grub-pc-bin");
        _system.Files[LocalPrerequisites.DefaultDpkgStatusPath] = string.Join("\n\n", installed.Select(p => $"Package: {p}\nStatus: install ok installed"));

        var missing = await new LocalPrerequisites(_system).FindMissingAsync(TestContext.Current.CancellationToken);

        Assert.Equal(["debootstrap", "grub-pc-bin"], missing);
    }

    [Fact]
    public async Task FindMissingAsync_NoDpkgDatabase_ThrowsNamingIt()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => new LocalPrerequisites(_system).FindMissingAsync(TestContext.Current.CancellationToken));

        Assert.Contains("/var/lib/dpkg/status", error.Message);
    }

    [Fact]
    public async Task InstallAsync_NotRoot_ReturnsExactCommandAndRunsNothing()
    {
        _system.IsRoot = false;

        var result = await new LocalPrerequisites(_system).InstallAsync(["debootstrap", "grub-pc-bin"], null, TestContext.Current.CancellationToken);

        Assert.False(result.Installed);
        Assert.Equal(
            "sudo sh -c 'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap grub-pc-bin'",
            result.RequiredCommand);
        Assert.Empty(_system.Ran);
    }

    [Fact]
    public async Task InstallAsync_RootWithoutApt_ReturnsCommand()
    {
        _system.Executables.Remove("apt-get");

        var result = await new LocalPrerequisites(_system).InstallAsync(["debootstrap"], null, TestContext.Current.CancellationToken);

        Assert.False(result.Installed);
        Assert.StartsWith("apt-get update && ", result.RequiredCommand, StringComparison.Ordinal);
        Assert.Empty(_system.Ran);
    }

    [Fact]
    public async Task InstallAsync_Root_UpdatesThenInstallsWithoutRecommends()
    {
        var result = await new LocalPrerequisites(_system).InstallAsync(["debootstrap", "grub-pc-bin"], null, TestContext.Current.CancellationToken);

        Assert.True(result.Installed);
        Assert.Null(result.RequiredCommand);
        Assert.Equal(
            [
                "/usr/bin/apt-get -o DPkg::Lock::Timeout=600 update -q",
                "/usr/bin/apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends debootstrap grub-pc-bin",
            ],
            _system.Ran);
    }

    [Fact]
    public async Task InstallAsync_AptFails_ThrowsWithItsOutput()
    {
        _system.Commands["apt-get"] = args => args.Contains("install") ? 100 : 0;

        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => new LocalPrerequisites(_system).InstallAsync(["debootstrap"], null, TestContext.Current.CancellationToken));

        Assert.Contains("exited with 100", error.Message);
        Assert.Contains("apt-get: failed", error.Message);
    }

    [Theory]
    [InlineData("debootstrap; rm -rf /")]
    [InlineData("Debootstrap")]
    [InlineData("-y")]
    [InlineData("a")]
    public async Task InstallAsync_NotAPackageName_ThrowsAndRunsNothing(string name)
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(
            () => new LocalPrerequisites(_system).InstallAsync([name], null, TestContext.Current.CancellationToken));

        Assert.Contains($"'{name}'", error.Message);
        Assert.Empty(_system.Ran);
    }

    [Fact]
    public void RequiredPackages_SameAsInstallScript()
    {
        var script = File.ReadAllText(Path.Combine(Repository.Root, "eng", "install-prerequisites.sh"));
        var block = Regex.Match(script, @"^packages=\((?<body>.*?)^\)", RegexOptions.Singleline | RegexOptions.Multiline).Groups["body"].Value;
        var fromScript = block.Split('\n')
            .Select(line => line.Split('#')[0])
            .SelectMany(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

        Assert.Equal(fromScript, LocalPrerequisites.RequiredPackages);
    }

    [Fact]
    public async Task FindMissingAsync_RealMachine_NothingMissingInCi()
    {
        Repository.Require(File.Exists(LocalPrerequisites.DefaultDpkgStatusPath), "not a Debian system (no /var/lib/dpkg/status)");

        var missing = await new LocalPrerequisites().FindMissingAsync(TestContext.Current.CancellationToken);

        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            // .ci/run runs eng/install-prerequisites.sh first.
            Assert.Empty(missing);
        }

        Assert.All(missing, p => Assert.Contains(p, LocalPrerequisites.RequiredPackages));
    }
}
