using Microsoft.Extensions.Logging;
using Provisioner.Remote.Keys;
using Provisioner.Remote.Sessions;
using Provisioner.Remote.Shell;

namespace Provisioner.Remote.Tests.Sessions;

/// <summary>Two real OpenSSH servers on loopback: one acts as the KVM host (the jump), the other as the guest behind it.</summary>
public sealed class JumpSshdFixture : IAsyncLifetime
{
    public SshdFixture Jump { get; } = new();

    public SshdFixture Guest { get; } = new();

    public async ValueTask InitializeAsync()
    {
        await Jump.InitializeAsync();
        await Guest.InitializeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await Guest.DisposeAsync();
        await Jump.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class JumpSshdGroup : ICollectionFixture<JumpSshdFixture>
{
    public const string Name = "jump-sshd";
}

/// <summary>Sessions through a jump host (SSH direct-tcpip), against two real sshd processes.</summary>
[Collection(JumpSshdGroup.Name)]
public sealed class JumpSessionTests(JumpSshdFixture servers)
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(20);

    // sshd writes its log lines a little after the client sees the outcome; on a loaded machine that can take seconds.
    private static readonly TimeSpan LogTimeout = TimeSpan.FromSeconds(30);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private SshdFixture Jump => servers.Jump;

    private SshdFixture Guest => servers.Guest;

    private void RequireSshd() => Assert.SkipUnless(Jump.Available && Guest.Available, Jump.SkipReason ?? Guest.SkipReason ?? "");

    private SshJumpHost JumpHost(params PinnedHostKey[] keys) =>
        new(Jump.Endpoint, keys.Length == 0 ? [Jump.HostKey.PublicKey] : keys, Jump.ClientKey.PrivateKeyOpenSsh);

    [Fact]
    public async Task ConnectAsync_ThroughJump_BothPinsVerified_RunsCommandOnGuest()
    {
        RequireSshd();
        var jumpLines = Jump.LogLineCount;
        var guestLines = Guest.LogLineCount;
        var logs = new ListLoggerFactory();

        await using (var session = await new SshConnector(loggerFactory: logs).ConnectAsync(JumpHost(), Guest.Endpoint, Guest.HostKey.PublicKey, Guest.ClientKey.PrivateKeyOpenSsh, ConnectTimeout, Ct))
        {
            Assert.Equal(Guest.Endpoint, session.Endpoint);
            Assert.Equal(Jump.Endpoint, session.Jump);
            Assert.Equal(Guest.HostKey.PublicKey, session.HostKey);

            // The guest sees the connection come from the jump host's sshd (SSH_CONNECTION's remote port is the one the
            // jump host's process opened), and commands, stdin and transfers work as on a direct session.
            var result = await session.RunAsync(ShellCommand.Script("echo \"$SSH_CONNECTION\"; cat").WithStandardInput("through the jump\n"), Ct);
            Assert.Equal(0, result.ExitCode);
            Assert.EndsWith("through the jump\n", result.StdOut);
            await session.UploadAsync("payload"u8.ToArray(), Path.Combine(Guest.Directory, "jump-upload"), (UnixFileMode)0b110_000_000, null, Ct);
            Assert.Equal("payload"u8.ToArray(), await session.DownloadAsync(Path.Combine(Guest.Directory, "jump-upload"), useSudo: false, Ct));
        }

        // Both servers authenticated us: the jump host with its client key, the guest with the guest's.
        Assert.True(await Jump.WaitForLogAsync(jumpLines, l => l.Contains("Accepted publickey"), LogTimeout), Jump.Log);
        Assert.True(await Guest.WaitForLogAsync(guestLines, l => l.Contains("Accepted publickey"), LogTimeout), Guest.Log);
        // Disposing the session closes the jump connection as well.
        Assert.True(await Jump.WaitForLogAsync(jumpLines, l => l.Contains("Disconnected from user") || l.Contains("Received disconnect"), LogTimeout), Jump.Log);
        Assert.Contains(logs.Entries, e => e.EventId.Id == 1007);
    }

    [Fact]
    public async Task ConnectAsync_WrongGuestKey_ThrowsMismatchForGuest()
    {
        RequireSshd();
        var wrong = SshKeyPair.GenerateEd25519("impostor-guest").PublicKey;
        var guestLines = Guest.LogLineCount;

        var ex = await Assert.ThrowsAsync<HostKeyMismatchException>(() =>
            new SshConnector().ConnectAsync(JumpHost(), Guest.Endpoint, wrong, Guest.ClientKey.PrivateKeyOpenSsh, ConnectTimeout, Ct));

        Assert.Equal(Guest.Endpoint, ex.Endpoint);
        Assert.Equal(wrong.Fingerprint, ex.ExpectedFingerprint);
        Assert.Equal(Guest.HostKey.Fingerprint, ex.PresentedFingerprint);
        Assert.False(SshErrors.IsTransient(ex));
        // The guest closed before authentication: no key was offered to the impostor.
        Assert.True(await Guest.WaitForLogAsync(guestLines, l => l.Contains("[preauth]"), LogTimeout), Guest.Log);
        Assert.DoesNotContain(Guest.LogSince(guestLines), l => l.Contains("Accepted") || l.Contains("publickey"));
    }

    [Fact]
    public async Task ConnectAsync_WrongJumpKey_ThrowsMismatchForJump_GuestNeverContacted()
    {
        RequireSshd();
        var wrong = SshKeyPair.GenerateEd25519("impostor-jump").PublicKey;
        var jumpLines = Jump.LogLineCount;
        var guestLines = Guest.LogLineCount;

        var ex = await Assert.ThrowsAsync<HostKeyMismatchException>(() =>
            new SshConnector().ConnectAsync(JumpHost(wrong), Guest.Endpoint, Guest.HostKey.PublicKey, Guest.ClientKey.PrivateKeyOpenSsh, ConnectTimeout, Ct));

        Assert.Equal(Jump.Endpoint, ex.Endpoint);
        Assert.Equal(Jump.HostKey.Fingerprint, ex.PresentedFingerprint);
        Assert.False(SshErrors.IsTransient(ex));
        Assert.True(await Jump.WaitForLogAsync(jumpLines, l => l.Contains("[preauth]"), LogTimeout), Jump.Log);
        Assert.DoesNotContain(Jump.LogSince(jumpLines), l => l.Contains("Accepted"));
        await Task.Delay(500, Ct);
        Assert.Empty(Guest.LogSince(guestLines));
    }

    [Fact]
    public async Task ConnectAsync_JumpKnownUnderSeveralKeys_AcceptsTheOneItPresents()
    {
        RequireSshd();
        var other = SshKeyPair.GenerateEd25519("old-jump-key").PublicKey;

        await using var session = await new SshConnector().ConnectAsync(
            JumpHost(other, Jump.HostKey.PublicKey), Guest.Endpoint, Guest.HostKey.PublicKey, Guest.ClientKey.PrivateKeyOpenSsh, ConnectTimeout, Ct);

        Assert.Equal(0, (await session.RunAsync(ShellCommand.Create("true"), Ct)).ExitCode);
    }

    [Fact]
    public async Task ConnectAsync_JumpRejectsClientKey_ThrowsAuthenticationFailedForJump()
    {
        RequireSshd();
        var jump = new SshJumpHost(Jump.Endpoint, [Jump.HostKey.PublicKey], Jump.UnauthorizedKey.PrivateKeyOpenSsh);

        var ex = await Assert.ThrowsAsync<SshAuthenticationFailedException>(() =>
            new SshConnector().ConnectAsync(jump, Guest.Endpoint, Guest.HostKey.PublicKey, Guest.ClientKey.PrivateKeyOpenSsh, ConnectTimeout, Ct));

        Assert.Equal(Jump.Endpoint, ex.Endpoint);
        Assert.False(SshErrors.IsTransient(ex));
    }

    [Fact]
    public async Task ConnectAsync_GuestNotListening_TransientForwardingFailureLoggedAtDebug()
    {
        RequireSshd();
        // Nothing listens there: what a guest looks like to its KVM host while it boots.
        var closed = new SshEndpoint("127.0.0.1", SshdFixture.FreePort(), Guest.User);
        var logs = new ListLoggerFactory();

        var ex = await Assert.ThrowsAsync<SshConnectException>(() =>
            new SshConnector(loggerFactory: logs).ConnectAsync(JumpHost(), closed, Guest.HostKey.PublicKey, Guest.ClientKey.PrivateKeyOpenSsh, ConnectTimeout, Ct));

        Assert.Equal(closed, ex.Endpoint);
        Assert.True(ex.InnerException is SshForwardingException, ex.ToString());
        var forwarding = (SshForwardingException)ex.InnerException!;
        Assert.Equal(Jump.Endpoint, forwarding.Endpoint);
        Assert.Equal(closed, forwarding.Target);
        Assert.False(forwarding.Prohibited);
        Assert.True(SshErrors.IsTransient(ex), ex.ToString());
        // Expected while a guest boots: not a warning (the caller reports the final failure).
        Assert.DoesNotContain(logs.Entries, e => e.Level >= LogLevel.Warning);
        Assert.Contains(logs.Entries, e => e.EventId.Id == 1004 && e.Level == LogLevel.Debug);
    }

    [Fact]
    public void SshJumpHost_NoHostKeys_Throws()
    {
        var ex = Assert.Throws<ArgumentException>(() => new SshJumpHost(new SshEndpoint("127.0.0.1", "ops"), [], new Core.Security.Secret("x")));
        Assert.Equal("hostKeys", ex.ParamName);
    }
}
