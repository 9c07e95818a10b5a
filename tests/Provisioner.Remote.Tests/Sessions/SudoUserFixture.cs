using System.Security.Cryptography;

namespace Provisioner.Remote.Tests.Sessions;

/// <summary>
/// A throw-away local user with passwordless sudo, like the default user of a cloud image, so uploads of root-owned
/// files through sudo are tested for real. Created only when the tests run as root and sudo is installed; the user
/// and its sudoers rule are removed on dispose.
/// </summary>
public sealed class SudoUserFixture : IAsyncLifetime
{
    private string? _sudoersFile;
    private TempDirectory? _directory;

    public string? SkipReason { get; private set; }

    public string User { get; } = "rmtest-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));

    /// <summary>A directory owned by root, mode 0755: the user cannot create files in it without sudo.</summary>
    public string RootOwnedDirectory => Path.Combine(_directory!.Path, "root-owned");

    public async ValueTask InitializeAsync()
    {
        var sudo = LocalProcess.Find("sudo");
        var useradd = LocalProcess.Find("useradd");
        if (Environment.UserName != "root")
        {
            SkipReason = "creating a sudo test user needs the tests to run as root";
            return;
        }

        if (sudo is null || useradd is null)
        {
            SkipReason = "sudo (package sudo) or useradd (package passwd) is not installed";
            return;
        }

        if (!Directory.Exists("/etc/sudoers.d"))
        {
            SkipReason = "/etc/sudoers.d does not exist";
            return;
        }

        var added = await LocalProcess.RunAsync(useradd, ["--no-create-home", "--home-dir", "/nonexistent", "--shell", "/bin/sh", "--user-group", User]);
        if (added.ExitCode != 0)
        {
            throw new InvalidOperationException($"useradd {User} failed: {added.StdErr}");
        }

        // useradd leaves the account locked ('!'), and sshd refuses locked accounts even for key logins; '*' means
        // "no password" without locking.
        var unlocked = await LocalProcess.RunAsync("/usr/sbin/usermod", ["-p", "*", User]);
        if (unlocked.ExitCode != 0)
        {
            await DisposeAsync();
            throw new InvalidOperationException($"usermod -p '*' {User} failed: {unlocked.StdErr}");
        }

        _sudoersFile = Path.Combine("/etc/sudoers.d", User);
        await File.WriteAllTextAsync(_sudoersFile, $"{User} ALL=(ALL:ALL) NOPASSWD: ALL\n");
        File.SetUnixFileMode(_sudoersFile, UnixFileMode.UserRead | UnixFileMode.GroupRead);

        _directory = new TempDirectory("rmtest-sudo-");
        File.SetUnixFileMode(_directory.Path, (UnixFileMode)0b111_101_101);
        Directory.CreateDirectory(RootOwnedDirectory);
        File.SetUnixFileMode(RootOwnedDirectory, (UnixFileMode)0b111_101_101);
    }

    public async ValueTask DisposeAsync()
    {
        if (_sudoersFile is not null)
        {
            File.Delete(_sudoersFile);
            _sudoersFile = null;
        }

        if (SkipReason is null && LocalProcess.Find("userdel") is { } userdel)
        {
            await LocalProcess.RunAsync(userdel, [User]);
        }

        _directory?.Dispose();
    }
}
