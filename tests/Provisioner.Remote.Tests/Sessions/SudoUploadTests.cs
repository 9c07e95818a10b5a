using Provisioner.Core.Security;
using Provisioner.Remote.Sessions;
using Provisioner.Remote.Shell;
using Provisioner.Remote.Tests.Shell;

namespace Provisioner.Remote.Tests.Sessions;

/// <summary>
/// A non-root login user with passwordless sudo whose login shell is dash, as on a cloud image's default user,
/// against the real sshd.
/// </summary>
[Collection(SshdGroup.Name)]
public sealed class SudoUploadTests(SshdFixture sshd, SudoUserFixture user) : IClassFixture<SudoUserFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<RemoteSession> ConnectAsync()
    {
        Assert.SkipUnless(sshd.Available, sshd.SkipReason ?? "");
        Assert.SkipUnless(user.SkipReason is null, user.SkipReason ?? "");
        var endpoint = new SshEndpoint("127.0.0.1", sshd.Port, user.User);
        return await RemoteSession.ConnectAsync(endpoint, sshd.HostKey.PublicKey, sshd.ClientKey.PrivateKeyOpenSsh, TimeSpan.FromSeconds(20), Ct);
    }

    [Fact]
    public async Task UploadAsync_WithOwner_NonRootUserWritesRootOwnedFileThroughSudo()
    {
        await using var session = await ConnectAsync();
        var path = user.RootOwnedDirectory + "/daemon.json";

        await session.UploadAsync("{\"icc\": false}\n"u8.ToArray(), path, (UnixFileMode)0b110_100_000, "root:root", Ct);

        Assert.Equal("640 root root\n", (await session.RunAsync(ShellCommand.Create("stat", "-c", "%a %U %G", path), Ct)).StdOut);
        Assert.Equal("{\"icc\": false}\n"u8.ToArray(), await File.ReadAllBytesAsync(path, Ct));
        // No temporary file left next to it.
        Assert.DoesNotContain(Directory.GetFileSystemEntries(user.RootOwnedDirectory), f => Path.GetFileName(f).StartsWith(".daemon.json", StringComparison.Ordinal));
    }

    [Fact]
    public async Task UploadAsync_WithoutOwner_UsesNoPrivilegeAndIsDenied()
    {
        await using var session = await ConnectAsync();

        var ex = await Assert.ThrowsAsync<RemoteCommandException>(() =>
            session.UploadAsync("x"u8.ToArray(), user.RootOwnedDirectory + "/denied", (UnixFileMode)0b110_100_100, null, Ct));

        Assert.Contains("Permission denied", ex.StdErrTail);
        Assert.False(File.Exists(user.RootOwnedDirectory + "/denied"));
    }

    [Fact]
    public async Task DownloadAsync_RootOnlyFile_NeedsSudo()
    {
        await using var session = await ConnectAsync();
        var path = user.RootOwnedDirectory + "/secret-" + Guid.NewGuid().ToString("N");
        await File.WriteAllTextAsync(path, "root only", Ct);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        await Assert.ThrowsAsync<RemoteCommandException>(() => session.DownloadAsync(path, useSudo: false, Ct));
        Assert.Equal("root only"u8.ToArray(), await session.DownloadAsync(path, useSudo: true, Ct));
    }

    [Fact]
    public async Task RunAsync_SudoWithSecretEnvironmentAndStdin_ReachRootCommand()
    {
        await using var session = await ConnectAsync();
        var command = ShellCommand.Script("printf '%s %s ' \"$(id -u)\" \"$TOKEN\"; cat")
            .WithSecretEnvironment("TOKEN", new Secret("t0ken value"))
            .WithStandardInput("piped")
            .WithSudo();

        var result = await session.RunAsync(command, Ct);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("0 t0ken value piped", result.StdOut);
    }

    [Fact]
    public async Task RunAsync_DashLoginShell_HostileArgumentsArriveByteForByte()
    {
        await using var session = await ConnectAsync();
        Assert.Equal("/bin/sh\n", (await session.RunAsync(ShellCommand.Raw("getent passwd \"$(id -un)\" | cut -d: -f7"), Ct)).StdOut);
        string[] arguments = [.. HostileStrings.Samples, .. HostileStrings.Random(seed: 9, count: 100, maxLength: 30)];

        var direct = await session.RunAsync(ShellCommand.Create("printf", ["%s\\0", .. arguments]), Ct);
        var throughSudo = await session.RunAsync(ShellCommand.Create("printf", ["%s\\0", .. arguments]).WithSudo(), Ct);

        var expected = string.Concat(arguments.Select(a => a + "\0"));
        Assert.Equal(expected, direct.StdOut);
        Assert.Equal(expected, throughSudo.StdOut);
    }
}
