using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;
using Provisioner.Core.Security;
using Provisioner.Remote.Keys;
using Provisioner.Remote.Sessions;
using Provisioner.Remote.Shell;
using Provisioner.Remote.Tests.Shell;

namespace Provisioner.Remote.Tests.Sessions;

/// <summary>Sessions against a real OpenSSH server on loopback (see <see cref="SshdFixture"/>).</summary>
[Collection(SshdGroup.Name)]
public sealed class RemoteSessionTests(SshdFixture sshd)
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(20);

    // sshd writes its log lines a little after the client sees the outcome; on a loaded machine that can take seconds.
    private static readonly TimeSpan LogTimeout = TimeSpan.FromSeconds(30);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private Task<RemoteSession> ConnectAsync(SshConnector? connector = null) =>
        (connector ?? new SshConnector()).ConnectAsync(sshd.Endpoint, sshd.HostKey.PublicKey, sshd.ClientKey.PrivateKeyOpenSsh, ConnectTimeout, Ct);

    private void RequireSshd() => Assert.SkipUnless(sshd.Available, sshd.SkipReason ?? "");

    [Fact]
    public async Task ConnectAsync_CorrectPin_RunsCommand()
    {
        RequireSshd();
        await using var session = await RemoteSession.ConnectAsync(sshd.Endpoint, sshd.HostKey.PublicKey, sshd.ClientKey.PrivateKeyOpenSsh, ConnectTimeout, Ct);

        var result = await session.RunAsync(ShellCommand.Create("echo", "hello"), Ct);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("hello\n", result.StdOut);
        Assert.Equal("", result.StdErr);
        Assert.Equal(sshd.HostKey.PublicKey, session.HostKey);
        Assert.Equal(sshd.Endpoint, session.Endpoint);
    }

    [Fact]
    public async Task ConnectAsync_PinFromPublicKeyLine_Connects()
    {
        RequireSshd();
        var pin = PinnedHostKey.FromPublicKeyLine(sshd.HostKey.PublicKeyOpenSsh);
        await using var session = await RemoteSession.ConnectAsync(sshd.Endpoint, pin, sshd.ClientKey.PrivateKeyOpenSsh, ConnectTimeout, Ct);
        Assert.Equal(0, (await session.RunAsync(ShellCommand.Create("true"), Ct)).ExitCode);
    }

    [Theory]
    [InlineData("ecdsa", "ecdsa-sha2-nistp256")]
    [InlineData("rsa", "ssh-rsa")]
    public async Task ConnectAsync_ServerWithSeveralHostKeys_VerifiesWhicheverIsPinned(string type, string algorithm)
    {
        RequireSshd();
        Assert.SkipUnless(sshd.ExtraHostKeyLines.ContainsKey(type), $"ssh-keygen could not make an {type} host key for the fixture");
        var pin = PinnedHostKey.FromPublicKeyLine(sshd.ExtraHostKeyLines[type]);
        Assert.Equal(algorithm, pin.Algorithm);

        await using var session = await RemoteSession.ConnectAsync(sshd.Endpoint, pin, sshd.ClientKey.PrivateKeyOpenSsh, ConnectTimeout, Ct);

        Assert.Equal(pin, session.HostKey);
        Assert.Equal(0, (await session.RunAsync(ShellCommand.Create("true"), Ct)).ExitCode);
    }

    [Fact]
    public async Task ConnectAsync_WrongPin_ThrowsMismatchNamingBothFingerprints_BeforeAuthentication()
    {
        RequireSshd();
        var wrongPin = SshKeyPair.GenerateEd25519("impostor").PublicKey;
        var logLines = sshd.LogLineCount;

        var ex = await Assert.ThrowsAsync<HostKeyMismatchException>(() =>
            RemoteSession.ConnectAsync(sshd.Endpoint, wrongPin, sshd.ClientKey.PrivateKeyOpenSsh, ConnectTimeout, Ct));

        Assert.Equal(wrongPin.Fingerprint, ex.ExpectedFingerprint);
        Assert.Equal(sshd.HostKey.Fingerprint, ex.PresentedFingerprint);
        Assert.Equal("ssh-ed25519", ex.PresentedAlgorithm);
        Assert.Contains(wrongPin.Fingerprint, ex.Message);
        Assert.Contains(sshd.HostKey.Fingerprint, ex.Message);
        Assert.False(SshErrors.IsTransient(ex));

        // sshd saw the connection close before user authentication: no key was offered, let alone accepted.
        Assert.True(await sshd.WaitForLogAsync(logLines, l => l.Contains("[preauth]"), LogTimeout), sshd.Log);
        var lines = sshd.LogSince(logLines).ToList();
        Assert.DoesNotContain(lines, l => l.Contains("publickey") || l.Contains("Accepted") || l.Contains("authenticating user"));
    }

    [Fact]
    public async Task ConnectAsync_RightPinUnauthorizedKey_ThrowsAuthenticationFailed_NotMismatch()
    {
        RequireSshd();
        var logLines = sshd.LogLineCount;

        var ex = await Assert.ThrowsAsync<SshAuthenticationFailedException>(() =>
            RemoteSession.ConnectAsync(sshd.Endpoint, sshd.HostKey.PublicKey, sshd.UnauthorizedKey.PrivateKeyOpenSsh, ConnectTimeout, Ct));

        Assert.False(SshErrors.IsTransient(ex));
        // The contrast with the mismatch test: here the server got as far as rejecting the key.
        Assert.True(await sshd.WaitForLogAsync(logLines, l => l.Contains("Failed publickey"), LogTimeout), sshd.Log);
    }

    [Fact]
    public async Task ConnectAsync_NotAPrivateKey_ThrowsArgumentExceptionWithoutTheValue()
    {
        RequireSshd();
        var ex = await Assert.ThrowsAsync<ArgumentException>(() =>
            RemoteSession.ConnectAsync(sshd.Endpoint, sshd.HostKey.PublicKey, new Secret("not-a-key-supersecret"), ConnectTimeout, Ct));
        Assert.DoesNotContain("supersecret", ex.ToString());
    }

    [Fact]
    public async Task RunAsync_HostileArguments_ArriveByteForByte()
    {
        RequireSshd();
        await using var session = await ConnectAsync();
        string[] arguments = [.. HostileStrings.Samples, .. HostileStrings.Random(seed: 42, count: 200, maxLength: 30)];

        var result = await session.RunAsync(ShellCommand.Create("printf", ["%s\\0", .. arguments]), Ct);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(string.Concat(arguments.Select(a => a + "\0")), result.StdOut);
    }

    [Fact]
    public async Task RunAsync_ExitCodeAndStderr_Reported()
    {
        RequireSshd();
        await using var session = await ConnectAsync();

        var result = await session.RunAsync(ShellCommand.Raw("echo out; echo 'it broke' >&2; exit 42"), Ct);

        Assert.Equal(42, result.ExitCode);
        Assert.False(result.Succeeded);
        Assert.Equal("out\n", result.StdOut);
        Assert.Equal("it broke\n", result.StdErr);
        var ex = Assert.Throws<RemoteCommandException>(() => result.EnsureSuccess());
        Assert.Equal(42, ex.ExitCode);
        Assert.Equal("it broke", ex.StdErrTail);
        Assert.Contains("echo out", ex.Command);
        Assert.Contains("it broke", ex.Message);
        Assert.Equal(sshd.Endpoint, ex.Endpoint);
        Assert.False(SshErrors.IsTransient(ex));
    }

    [Fact]
    public async Task RunAsync_NoStandardInput_CommandSeesEndOfFile()
    {
        RequireSshd();
        await using var session = await ConnectAsync();
        // Regression: SSH.NET sends EOF only after input was written, so a bare `cat` used to wait forever.
        var result = await session.RunAsync(ShellCommand.Create("cat"), TimeSpan.FromSeconds(15), Ct);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("", result.StdOut);

        var empty = await session.RunAsync(ShellCommand.Create("wc", "-c").WithStandardInput(""), TimeSpan.FromSeconds(15), Ct);
        Assert.Equal("0", empty.StdOut.Trim());
    }

    [Fact]
    public async Task RunAsync_StandardInput_ReachesCommand()
    {
        RequireSshd();
        await using var session = await ConnectAsync();
        var text = "line 1\n'quoted' $(not run)\n\u00e6\u00f8\u00e5\n";

        var result = await session.RunAsync(ShellCommand.Create("cat").WithStandardInput(text), Ct);

        Assert.Equal(text, result.StdOut);
    }

    [Fact]
    public async Task RunAsync_SecretEnvironment_ReachesCommandButNoCommandLineOrLog()
    {
        RequireSshd();
        var logs = new ListLoggerFactory();
        await using var session = await ConnectAsync(new SshConnector(loggerFactory: logs));
        const string secretValue = "s3cr3t-token-'$(id)'-value";
        // Every process command line on the host while the command runs, plus the variable as the command sees it.
        var command = ShellCommand.Script("for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < \"$f\"; echo; done 2>/dev/null; printf 'TOKEN=%s\\n' \"$TOKEN\"")
            .WithSecretEnvironment("TOKEN", new Secret(secretValue))
            .WithStandardInput(new Secret("stdin-secret-material"));

        var result = await session.RunAsync(command, Ct);

        Assert.Equal(0, result.ExitCode);
        var lines = result.StdOut.Split('\n');
        Assert.Equal("TOKEN=" + secretValue, lines[^2]);
        Assert.DoesNotContain(lines[..^2], l => l.Contains("s3cr3t"));
        Assert.DoesNotContain("s3cr3t", logs.AllText);
        Assert.DoesNotContain("stdin-secret-material", logs.AllText);
        Assert.DoesNotContain("s3cr3t", sshd.Log);
        Assert.Contains(logs.Entries, e => e.EventId.Id == 1101 && e.Message.Contains("TOKEN"));
    }

    [Fact]
    public async Task RunAsync_CommandTimeout_ThrowsTypedTimeoutAndSessionStaysUsable()
    {
        RequireSshd();
        await using var session = await ConnectAsync();

        var ex = await Assert.ThrowsAsync<SshTimeoutException>(() =>
            session.RunAsync(ShellCommand.Create("sleep", "30"), TimeSpan.FromSeconds(1), Ct));

        Assert.Equal(SshPhase.Command, ex.Phase);
        Assert.Equal("sleep 30", ex.Command);
        Assert.Contains("timed out", ex.Message);
        Assert.Contains("sleep 30", ex.Message);
        Assert.False(SshErrors.IsTransient(ex));
        Assert.Equal("still here\n", (await session.RunAsync(ShellCommand.Create("echo", "still here"), Ct)).StdOut);
    }

    [Fact]
    public async Task RunAsync_TimeoutFromInjectedClock_NoRealWaiting()
    {
        RequireSshd();
        var clock = new FakeTimeProvider();
        await using var session = await ConnectAsync(new SshConnector(new SshConnectorOptions { DefaultCommandTimeout = TimeSpan.FromMinutes(5) }, timeProvider: clock));

        var running = session.RunAsync(ShellCommand.Create("sleep", "600"), Ct);
        // The command's timer starts only once its channel is open, which on a loaded machine may take longer than
        // any fixed pause: keep advancing the fake clock until the command gives up. Real time bounds the wait,
        // far below the command's own 600 s.
        var realDeadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!running.IsCompleted && DateTime.UtcNow < realDeadline)
        {
            clock.Advance(TimeSpan.FromMinutes(5));
            await Task.WhenAny(running, Task.Delay(100, Ct));
        }

        var ex = await Assert.ThrowsAsync<SshTimeoutException>(() => running);
        Assert.Equal(TimeSpan.FromMinutes(5), ex.Timeout);
    }

    [Fact]
    public async Task RunAsync_CallerCancels_ThrowsOperationCanceled()
    {
        RequireSshd();
        await using var session = await ConnectAsync();
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cancel.CancelAfter(TimeSpan.FromMilliseconds(500));

        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => session.RunAsync(ShellCommand.Create("sleep", "30"), cancel.Token));
        Assert.False(SshErrors.IsTransient(ex));
    }

    [Fact]
    public async Task RunAsync_ConcurrentCommands_AllComplete()
    {
        RequireSshd();
        await using var session = await ConnectAsync();

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => session.RunAsync(ShellCommand.Create("echo", i.ToString()), Ct)));

        Assert.Equal(Enumerable.Range(0, 8).Select(i => i + "\n"), results.Select(r => r.StdOut));
    }

    [Fact]
    public async Task RunAsync_AfterDispose_ThrowsObjectDisposed()
    {
        RequireSshd();
        var session = await ConnectAsync();
        await session.DisposeAsync();
        await session.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => session.RunAsync(ShellCommand.Create("true"), Ct));
    }

    [Fact]
    public async Task UploadAsync_BinaryContentWithMode_StatAndDownloadMatch()
    {
        RequireSshd();
        await using var session = await ConnectAsync();
        var dir = await MakeRemoteDirectoryAsync(session);
        var path = dir + "/file with 'quotes' and $(x).bin";
        var content = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();

        await session.UploadAsync(content, path, (UnixFileMode)0b110_100_000, owner: null, Ct);

        var stat = await session.RunAsync(ShellCommand.Create("stat", "-c", "%a %U", path), Ct);
        Assert.Equal($"640 {sshd.User}\n", stat.StdOut);
        Assert.Equal(content, await session.DownloadAsync(path, useSudo: false, Ct));
        var listing = await session.RunAsync(ShellCommand.Create("ls", "-A", dir), Ct);
        Assert.Equal("file with 'quotes' and $(x).bin\n", listing.StdOut);
    }

    [Fact]
    public async Task UploadAsync_ExistingFile_ReplacedAndModeChanged()
    {
        RequireSshd();
        await using var session = await ConnectAsync();
        var path = await MakeRemoteDirectoryAsync(session) + "/config";
        await session.UploadAsync("old"u8.ToArray(), path, (UnixFileMode)0b111_111_111, null, Ct);

        await session.UploadAsync("new content"u8.ToArray(), path, (UnixFileMode)0b110_000_000, null, Ct);

        Assert.Equal("new content"u8.ToArray(), await session.DownloadAsync(path, false, Ct));
        Assert.Equal("600\n", (await session.RunAsync(ShellCommand.Create("stat", "-c", "%a", path), Ct)).StdOut);
    }

    [Fact]
    public async Task UploadAsync_EmptyAndLargeStreams_RoundTrip()
    {
        RequireSshd();
        await using var session = await ConnectAsync();
        var dir = await MakeRemoteDirectoryAsync(session);

        await session.UploadAsync(new MemoryStream(), dir + "/empty", (UnixFileMode)0b110_100_100, null, Ct);
        Assert.Empty(await session.DownloadAsync(dir + "/empty", false, Ct));

        var large = new byte[5 * 1024 * 1024 + 17];
        new Random(7).NextBytes(large);
        await session.UploadAsync(new MemoryStream(large), dir + "/large", (UnixFileMode)0b110_100_100, null, Ct);
        Assert.Equal(large, await session.DownloadAsync(dir + "/large", false, Ct));
    }

    [Fact]
    public async Task UploadAsync_Owner_ChownsFile()
    {
        RequireSshd();
        Assert.SkipUnless(sshd.User == "root", "chown to another user needs the test to run as root");
        await using var session = await ConnectAsync();
        var path = await MakeRemoteDirectoryAsync(session) + "/owned";

        await session.UploadAsync("x"u8.ToArray(), path, (UnixFileMode)0b110_100_000, "nobody:nogroup", Ct);

        Assert.Equal("640 nobody nogroup\n", (await session.RunAsync(ShellCommand.Create("stat", "-c", "%a %U %G", path), Ct)).StdOut);
    }

    [Fact]
    public async Task UploadAsync_MissingDirectory_ThrowsRemoteCommandException()
    {
        RequireSshd();
        await using var session = await ConnectAsync();
        var path = await MakeRemoteDirectoryAsync(session) + "/no/such/dir/file";

        var ex = await Assert.ThrowsAsync<RemoteCommandException>(() => session.UploadAsync("x"u8.ToArray(), path, (UnixFileMode)0b110_100_100, null, Ct));

        Assert.Contains(path, ex.Message);
        Assert.Contains("mktemp", ex.StdErrTail);
    }

    [Fact]
    public async Task UploadAsync_DestinationIsDirectory_RefusedAndNoTempFileLeft()
    {
        RequireSshd();
        await using var session = await ConnectAsync();
        var dir = await MakeRemoteDirectoryAsync(session);
        await session.RunAsync(ShellCommand.Create("mkdir", dir + "/target"), Ct);

        await Assert.ThrowsAsync<RemoteCommandException>(() => session.UploadAsync("x"u8.ToArray(), dir + "/target", (UnixFileMode)0b110_100_100, null, Ct));

        Assert.Equal("target\n", (await session.RunAsync(ShellCommand.Create("ls", "-A", dir), Ct)).StdOut);
        Assert.Equal("", (await session.RunAsync(ShellCommand.Create("ls", "-A", dir + "/target"), Ct)).StdOut);
    }

    [Theory]
    [InlineData("relative/path")]
    [InlineData("/ends/with/")]
    [InlineData("/has\nnewline")]
    public async Task UploadAsync_BadPath_ThrowsArgumentException(string path)
    {
        RequireSshd();
        await using var session = await ConnectAsync();
        await Assert.ThrowsAsync<ArgumentException>(() => session.UploadAsync("x"u8.ToArray(), path, UnixFileMode.UserRead, null, Ct));
    }

    [Theory]
    [InlineData("-rf")]
    [InlineData("a:b:c")]
    [InlineData("root; id")]
    public async Task UploadAsync_BadOwner_ThrowsArgumentException(string owner)
    {
        RequireSshd();
        await using var session = await ConnectAsync();
        await Assert.ThrowsAsync<ArgumentException>(() => session.UploadAsync("x"u8.ToArray(), "/tmp/x", UnixFileMode.UserRead, owner, Ct));
    }

    [Fact]
    public async Task DownloadAsync_MissingFile_ThrowsRemoteCommandException()
    {
        RequireSshd();
        await using var session = await ConnectAsync();
        var ex = await Assert.ThrowsAsync<RemoteCommandException>(() => session.DownloadAsync("/nonexistent/rmtest", false, Ct));
        Assert.Contains("No such file", ex.StdErrTail);
    }

    [Fact]
    public async Task ConnectAsync_ListenerThatNeverSendsBanner_ThrowsConnectTimeout()
    {
        // The kernel completes the TCP handshake for a listening socket even if nobody accepts: a VM whose sshd is not up yet.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var endpoint = new SshEndpoint("127.0.0.1", ((IPEndPoint)silent.LocalEndpoint).Port, "root");

        var ex = await Assert.ThrowsAsync<SshTimeoutException>(() =>
            RemoteSession.ConnectAsync(endpoint, SshKeyPair.GenerateEd25519("h").PublicKey, SshKeyPair.GenerateEd25519("c").PrivateKeyOpenSsh, TimeSpan.FromSeconds(2), Ct));

        Assert.Equal(SshPhase.Connect, ex.Phase);
        Assert.Equal(endpoint, ex.Endpoint);
        Assert.Contains(endpoint.ToString(), ex.Message);
        Assert.True(SshErrors.IsTransient(ex));
    }

    [Fact]
    public async Task ConnectAsync_ConnectionRefused_ThrowsTransientConnectException()
    {
        var endpoint = new SshEndpoint("127.0.0.1", SshdFixture.FreePort(), "root");

        var ex = await Assert.ThrowsAsync<SshConnectException>(() =>
            RemoteSession.ConnectAsync(endpoint, SshKeyPair.GenerateEd25519("h").PublicKey, SshKeyPair.GenerateEd25519("c").PrivateKeyOpenSsh, TimeSpan.FromSeconds(5), Ct));

        Assert.Equal(SocketError.ConnectionRefused, Assert.IsType<SocketException>(ex.InnerException).SocketErrorCode);
        Assert.True(SshErrors.IsTransient(ex));
        Assert.Contains(endpoint.ToString(), ex.Message);
    }

    [Fact]
    public async Task ConnectAsync_ServerClosesBeforeBanner_ThrowsTransientConnectException()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var endpoint = new SshEndpoint("127.0.0.1", ((IPEndPoint)listener.LocalEndpoint).Port, "root");
        var closer = Task.Run(async () =>
        {
            using var accepted = await listener.AcceptTcpClientAsync(Ct);
            accepted.Client.Close();
        }, Ct);

        var ex = await Assert.ThrowsAnyAsync<RemoteException>(() =>
            RemoteSession.ConnectAsync(endpoint, SshKeyPair.GenerateEd25519("h").PublicKey, SshKeyPair.GenerateEd25519("c").PrivateKeyOpenSsh, TimeSpan.FromSeconds(5), Ct));
        await closer;

        Assert.IsType<SshConnectException>(ex);
        Assert.True(SshErrors.IsTransient(ex), ex.ToString());
    }

    [Fact]
    public async Task ConnectAsync_CallerCancels_ThrowsOperationCanceledNotTimeout()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var endpoint = new SshEndpoint("127.0.0.1", ((IPEndPoint)silent.LocalEndpoint).Port, "root");
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cancel.CancelAfter(TimeSpan.FromMilliseconds(300));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            RemoteSession.ConnectAsync(endpoint, SshKeyPair.GenerateEd25519("h").PublicKey, SshKeyPair.GenerateEd25519("c").PrivateKeyOpenSsh, TimeSpan.FromSeconds(30), cancel.Token));
    }

    [Fact]
    public async Task ConnectAsync_Logs_StableEventIdsAndNoKeyMaterial()
    {
        RequireSshd();
        var logs = new ListLoggerFactory();
        var connector = new SshConnector(loggerFactory: logs);
        await using (var session = await ConnectAsync(connector))
        {
            await session.RunAsync(ShellCommand.Create("true"), Ct);
        }

        await Assert.ThrowsAsync<HostKeyMismatchException>(() =>
            connector.ConnectAsync(sshd.Endpoint, SshKeyPair.GenerateEd25519("x").PublicKey, sshd.ClientKey.PrivateKeyOpenSsh, ConnectTimeout, Ct));

        var ids = logs.Entries.Select(e => e.EventId.Id).ToList();
        Assert.Contains(1001, ids);
        Assert.Contains(1002, ids);
        Assert.Contains(1003, ids);
        Assert.Contains(1010, ids);
        Assert.Contains(1101, ids);
        Assert.Contains(1102, ids);
        var keyBody = sshd.ClientKey.PrivateKeyOpenSsh.Reveal().Split('\n')[2];
        Assert.DoesNotContain(keyBody, logs.AllText);
    }

    [Fact]
    public async Task KnownHostsFile_RealSshClient_LogsInWithStrictChecking_AndRefusesAnotherKey()
    {
        RequireSshd();
        var ssh = LocalProcess.Find("ssh");
        Assert.SkipUnless(ssh is not null, "ssh (openssh-client) is not installed");
        // Spaces in both paths, and a %-token in the known_hosts path, which ssh would otherwise expand.
        using var keyDir = new TempDirectory("rmtest ssh key-");
        using var hostsDir = new TempDirectory("rmtest ssh %d %h-");
        var keyFile = keyDir.File("id key");
        var knownHosts = hostsDir.File("known hosts");
        await SshKeyFiles.WritePrivateKeyAsync(keyFile, sshd.ClientKey.PrivateKeyOpenSsh, Ct);
        await KnownHostsFile.WriteAsync(knownHosts, sshd.Endpoint, sshd.HostKey.PublicKey, Ct);
        var command = KnownHostsFile.FormatSshCommand(sshd.Endpoint, keyFile, knownHosts);

        // A fresh user with an empty ~/.ssh would see the same: no prompt, because the key is already known.
        // BatchMode makes ssh fail instead of asking anything; it must come before the destination.
        Assert.StartsWith("ssh ", command);
        var batch = "ssh -o BatchMode=yes " + command["ssh ".Length..] + " echo logged-in";
        var ok = await LocalProcess.RunAsync("/bin/sh", ["-c", batch]);
        Assert.True(ok.ExitCode == 0, command + "\n" + ok.StdErr);
        Assert.Equal("logged-in\n", ok.StdOutText);

        await KnownHostsFile.WriteAsync(knownHosts, sshd.Endpoint, SshKeyPair.GenerateEd25519("other").PublicKey, Ct);
        var refused = await LocalProcess.RunAsync("/bin/sh", ["-c", batch]);
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("Host key verification failed", refused.StdErr);
    }

    // Inside the fixture's directory, which the fixture removes.
    private async Task<string> MakeRemoteDirectoryAsync(RemoteSession session)
    {
        var result = await session.RunAsync(ShellCommand.Create("mktemp", "-d", sshd.Directory + "/upload-XXXXXXXX"), Ct);
        return result.EnsureSuccess().StdOut.Trim();
    }
}
