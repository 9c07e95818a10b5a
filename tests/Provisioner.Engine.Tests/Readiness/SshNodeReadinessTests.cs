using Microsoft.Extensions.Logging.Abstractions;
using Provisioner.Core.Security;
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

namespace Provisioner.Engine.Tests.Readiness;

/// <summary>
/// How long the readiness check lets cloud-init run once SSH answers. The guest side is a recording session (the
/// real SSH path is covered by GuestConnectorTests and every live test); the domain is libvirt's test driver's.
/// </summary>
public sealed class SshNodeReadinessTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("engtest-ready-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task WaitReadyAsync_CloudInitWait_GetsTheWholeBudgetNotAShorterLimit()
    {
        var ct = TestContext.Current.CancellationToken;
        var budget = TimeSpan.FromMinutes(40);
        var guests = new RecordingGuests();
        var stack = SandboxStackBuilder.Build(new SandboxHost { Uri = "test:///default", HostName = "local", Cidr = "10.84.1.0/24" }, [new SandboxSpec { Name = "box" }]);
        var keys = new StackKeyStore(_dir);
        var admin = await keys.GetOrCreateAsync(stack.Name, ct);
        using var host = HostSession.Open(stack.Hosts[0], new TestDriver.DefaultTestDriverConnector());
        var context = new StackRunContext(stack, admin, new ImageReference("debian-12", null), new Dictionary<string, HostSession> { [host.Name] = host });
        Assert.True(Ipv4Address.TryParse("10.84.1.10", out var address));
        var node = new DesiredNode
        {
            Definition = stack.Nodes[0],
            Host = host.Name,
            Addresses = new NodeAddresses { Node = "box", Network = "sandbox", MacAddress = "52:54:00:84:01:0a", Ipv4Address = address },
            DefinitionHash = "x",
            DomainName = "test", // the test driver's running domain
            RootVolume = "box-root",
            SeedVolume = "box-seed",
            LibvirtNetwork = "sandbox-net",
        };
        var hostKey = SshKeyPair.GenerateEd25519("box").PublicKey;

        await new SshNodeReadiness(guests, TimeProvider.System, budget, NullLogger.Instance).WaitReadyAsync(host, node, hostKey, context, ct);

        var (command, timeout) = Assert.Single(guests.Session.Commands);
        Assert.Equal("cloud-init status --wait --long", command);
        Assert.Equal(budget, timeout);
    }

    private sealed class RecordingGuests : IGuestConnector
    {
        public RecordingSession Session { get; } = new();

        public Task<IRemoteSession> ConnectAsync(HostDefinition host, SshEndpoint guest, PinnedHostKey guestKey, Secret clientPrivateKey, TimeSpan timeout, CancellationToken cancellationToken) =>
            Task.FromResult<IRemoteSession>(Session);
    }

    private sealed class RecordingSession : IRemoteSession
    {
        public List<(string Command, TimeSpan Timeout)> Commands { get; } = [];

        public SshEndpoint Endpoint { get; } = new("10.84.1.10", "ops");

        public PinnedHostKey HostKey => throw new NotSupportedException();

        public Task<CommandResult> RunAsync(ShellCommand command, CancellationToken cancellationToken) => RunAsync(command, Timeout.InfiniteTimeSpan, cancellationToken);

        public Task<CommandResult> RunAsync(ShellCommand command, TimeSpan timeout, CancellationToken cancellationToken)
        {
            Commands.Add((command.ToString(), timeout));
            return Task.FromResult(new CommandResult(0, "status: done\n", string.Empty));
        }

        public Task UploadAsync(Stream content, string remotePath, UnixFileMode mode, string? owner, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task UploadAsync(ReadOnlyMemory<byte> content, string remotePath, UnixFileMode mode, string? owner, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<byte[]> DownloadAsync(string remotePath, bool useSudo, CancellationToken cancellationToken) => throw new NotSupportedException();

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
