using Microsoft.Extensions.Logging.Abstractions;
using Provisioner.Core.Stacks;
using Provisioner.Engine.Access;
using Provisioner.Engine.Hosts;
using Provisioner.Engine.Keys;
using Provisioner.Engine.Planning;
using Provisioner.Engine.Readiness;
using Provisioner.Engine.Sandboxes;
using Provisioner.Remote.Keys;
using Provisioner.Remote.Sessions;
using Provisioner.Remote.Shell;

namespace Provisioner.Engine.Tests.Access;

/// <summary>
/// Guests behind a remote KVM host, for real: one private sshd on loopback plays the KVM host named by a
/// <c>qemu+ssh://</c> URI (reached with the URI's <c>keyfile=</c> and verified against its <c>known_hosts=</c>), another
/// plays the guest on port 22 of a loopback address of its own, reached only through the first by SSH forwarding.
/// </summary>
public sealed class GuestConnectorTests : IAsyncLifetime
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly string _dir = Directory.CreateTempSubdirectory("engtest-jump-").FullName;
    private readonly SshKeyPair _jumpClientKey = SshKeyPair.GenerateEd25519("engtest-jump-client");
    private readonly string _guestAddress = $"127.84.{Random.Shared.Next(1, 255)}.{Random.Shared.Next(1, 255)}";
    private StackKeyStore _keys = null!;
    private AdminKey _admin = null!;
    private StackDefinition _stack = null!;
    private LoopbackSshd? _jump;
    private LoopbackSshd? _guest;

    public async ValueTask InitializeAsync()
    {
        if (LoopbackSshd.SkipReason is not null || !Environment.IsPrivilegedProcess)
        {
            // Port 22 of a loopback address needs root; CI runs tests as root.
            return;
        }

        _keys = new StackKeyStore(Path.Combine(_dir, "keys"));
        _admin = await _keys.GetOrCreateAsync(SandboxHost.StackName, Ct);
        // A stand-in cloud-init on the guest's PATH: readiness runs `cloud-init status --wait --long`.
        var bin = Directory.CreateDirectory(Path.Combine(_dir, "bin")).FullName;
        await File.WriteAllTextAsync(Path.Combine(bin, "cloud-init"), "#!/bin/sh\necho 'status: done'\n", Ct);
        File.SetUnixFileMode(Path.Combine(bin, "cloud-init"), (UnixFileMode)0b111_101_101);
        File.SetUnixFileMode(_dir, (UnixFileMode)0b111_101_101);

        _jump = await LoopbackSshd.StartAsync("127.0.0.1", 0, [_jumpClientKey.PublicKeyOpenSsh]);
        _guest = await LoopbackSshd.StartAsync(_guestAddress, 22, [_admin.PublicKeyOpenSsh], bin);
        await SshKeyFiles.WritePrivateKeyAsync(Path.Combine(_dir, "jump_key"), _jumpClientKey.PrivateKeyOpenSsh, Ct);
        await WriteKnownHostsAsync(_jump.HostKey.PublicKey);
        _stack = SandboxStackBuilder.Build(new SandboxHost { Uri = JumpUri, HostName = "kvm-remote", Cidr = "10.84.0.0/24", Emulation = SandboxEmulation.Force },
            [new SandboxSpec { Name = "guest" }]);
        // Validation refuses root as the admin user; the loopback "guest" has only the user the tests run as.
        _stack = _stack with { Access = _stack.Access with { User = Environment.UserName } };
    }

    public async ValueTask DisposeAsync()
    {
        if (_guest is not null)
        {
            await _guest.DisposeAsync();
        }

        if (_jump is not null)
        {
            await _jump.DisposeAsync();
        }

        Directory.Delete(_dir, recursive: true);
    }

    private string JumpUri => $"qemu+ssh://{Environment.UserName}@127.0.0.1:{_jump!.Port}/system?keyfile={_dir}/jump_key&known_hosts={_dir}/known_hosts";

    private HostDefinition Host => _stack.Hosts[0];

    private SshEndpoint GuestEndpoint => new(_guestAddress, Environment.UserName);

    private void Require()
    {
        Assert.SkipWhen(LoopbackSshd.SkipReason is not null, LoopbackSshd.SkipReason ?? "");
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "the guest sshd listens on port 22 of a loopback address, which needs root");
    }

    private Task WriteKnownHostsAsync(params PinnedHostKey[] keys) =>
        KnownHostsFile.WriteAsync(Path.Combine(_dir, "known_hosts"), keys.Select(k => new KnownHostEntry("127.0.0.1", _jump!.Port, k)), Ct);

    [Fact]
    public async Task ConnectAsync_QemuSshHost_ReachesGuestThroughHostWithBothKeysVerified()
    {
        Require();

        await using var session = await new GuestConnector(new SshConnector()).ConnectAsync(
            Host, GuestEndpoint, _guest!.HostKey.PublicKey, _admin.PrivateKey, TimeSpan.FromSeconds(20), Ct);

        var remote = Assert.IsType<RemoteSession>(session);
        Assert.Equal(new SshEndpoint("127.0.0.1", _jump!.Port, Environment.UserName), remote.Jump);
        // The guest sees the connection come from the jump host's address, not from us directly.
        var result = await session.RunAsync(ShellCommand.Script("echo \"${SSH_CONNECTION%% *}\""), Ct);
        Assert.Equal("127.0.0.1\n", result.StdOut);
    }

    [Fact]
    public async Task ConnectAsync_LocalHost_ConnectsDirectly()
    {
        Require();
        var local = Host with { Uri = LibvirtUriOf("qemu:///system") };

        await using var session = await new GuestConnector(new SshConnector()).ConnectAsync(
            local, GuestEndpoint, _guest!.HostKey.PublicKey, _admin.PrivateKey, TimeSpan.FromSeconds(20), Ct);

        Assert.Null(Assert.IsType<RemoteSession>(session).Jump);
        var result = await session.RunAsync(ShellCommand.Script("echo \"${SSH_CONNECTION%% *}\""), Ct);
        Assert.Equal("127.0.0.1\n", result.StdOut);
    }

    [Fact]
    public async Task ConnectAsync_WrongGuestKey_Rejected()
    {
        Require();
        var wrong = SshKeyPair.GenerateEd25519("impostor").PublicKey;

        var ex = await Assert.ThrowsAsync<HostKeyMismatchException>(() => new GuestConnector(new SshConnector()).ConnectAsync(
            Host, GuestEndpoint, wrong, _admin.PrivateKey, TimeSpan.FromSeconds(20), Ct));

        Assert.Equal(GuestEndpoint, ex.Endpoint);
    }

    [Fact]
    public async Task ConnectAsync_KnownHostsPinsAnotherKeyForJumpHost_Rejected()
    {
        Require();
        await WriteKnownHostsAsync(SshKeyPair.GenerateEd25519("not-the-kvm-host").PublicKey);

        var ex = await Assert.ThrowsAsync<HostKeyMismatchException>(() => new GuestConnector(new SshConnector()).ConnectAsync(
            Host, GuestEndpoint, _guest!.HostKey.PublicKey, _admin.PrivateKey, TimeSpan.FromSeconds(20), Ct));

        Assert.Equal(_jump!.Port, ex.Endpoint.Port);
        Assert.Equal(_jump.HostKey.Fingerprint, ex.PresentedFingerprint);
    }

    [Fact]
    public async Task ConnectAsync_JumpHostMissingFromKnownHosts_NodeAccessExceptionNamingFile_NoTrustOnFirstUse()
    {
        Require();
        await KnownHostsFile.WriteAsync(Path.Combine(_dir, "known_hosts"), [new KnownHostEntry("127.0.0.1", 22, _jump!.HostKey.PublicKey)], Ct);

        var ex = await Assert.ThrowsAsync<NodeAccessException>(() => new GuestConnector(new SshConnector()).ConnectAsync(
            Host, GuestEndpoint, _guest!.HostKey.PublicKey, _admin.PrivateKey, TimeSpan.FromSeconds(20), Ct));

        Assert.Contains(Path.Combine(_dir, "known_hosts"), ex.Message);
        Assert.Contains($"[127.0.0.1]:{_jump.Port}", ex.Message);
        Assert.False(SshErrors.IsTransient(ex));
    }

    [Fact]
    public async Task SshNodeAccess_RemoteHostNode_OpensSessionThroughHost()
    {
        Require();
        var node = new NodeStatus
        {
            Name = "guest", Host = Host.Name, Role = "sandbox", Address = _guestAddress, State = "Running",
            HostKeyFingerprint = _guest!.HostKey.PublicKey.Fingerprint, HostPublicKey = _guest.HostKey.PublicKeyOpenSsh,
            Ready = true, Created = DateTimeOffset.UnixEpoch,
        };

        await using var session = await new SshNodeAccess(new SshConnector(), _keys).OpenAsync(_stack, node, Ct);

        Assert.NotNull(Assert.IsType<RemoteSession>(session).Jump);
        Assert.Equal(0, (await session.RunAsync(ShellCommand.Create("true"), Ct)).ExitCode);
    }

    [Fact]
    public async Task SshNodeReadiness_RemoteHostNode_WaitsThroughHost()
    {
        Require();
        // The host's libvirt side is the test driver (its default domain 'test' is running); SSH goes through the jump.
        using var hostSession = HostSession.Open(Host, new TestDriver.DefaultTestDriverConnector());
        var context = new StackRunContext(_stack, _admin, new ImageReference("debian-12", null), new Dictionary<string, HostSession> { [Host.Name] = hostSession });
        var node = GuestNode("test");

        await new SshNodeReadiness(new SshConnector(), TimeProvider.System, TimeSpan.FromMinutes(1), NullLogger.Instance)
            .WaitReadyAsync(hostSession, node, _guest!.HostKey.PublicKey, context, Ct);
    }

    [Fact]
    public async Task SshNodeReadiness_WrongJumpKey_FailsAtOnceWithoutRetrying()
    {
        Require();
        await WriteKnownHostsAsync(SshKeyPair.GenerateEd25519("not-the-kvm-host").PublicKey);
        using var hostSession = HostSession.Open(Host, new TestDriver.DefaultTestDriverConnector());
        var context = new StackRunContext(_stack, _admin, new ImageReference("debian-12", null), new Dictionary<string, HostSession> { [Host.Name] = hostSession });
        var watch = System.Diagnostics.Stopwatch.StartNew();

        await Assert.ThrowsAsync<HostKeyMismatchException>(() =>
            new SshNodeReadiness(new SshConnector(), TimeProvider.System, TimeSpan.FromMinutes(5), NullLogger.Instance)
                .WaitReadyAsync(hostSession, GuestNode("test"), _guest!.HostKey.PublicKey, context, Ct));
        Assert.True(watch.Elapsed < TimeSpan.FromMinutes(1));
    }

    private DesiredNode GuestNode(string domainName)
    {
        Assert.True(Ipv4Address.TryParse(_guestAddress, out var address));
        return new DesiredNode
        {
            Definition = _stack.Nodes[0],
            Host = Host.Name,
            Addresses = new NodeAddresses { Node = "guest", Network = "sandbox", MacAddress = "52:54:00:84:00:01", Ipv4Address = address },
            DefinitionHash = "x",
            DomainName = domainName,
            RootVolume = "guest-root",
            SeedVolume = "guest-seed",
            LibvirtNetwork = "jump-net",
        };
    }

    private static LibvirtUri LibvirtUriOf(string text)
    {
        Assert.True(LibvirtUri.TryParse(text, out var uri, out var error), error);
        return uri!;
    }
}
