using System.Text.Json;
using LibvirtSharp;
using Microsoft.Extensions.Logging.Abstractions;
using Provisioner.Cli;
using Provisioner.Core.Stacks;
using Provisioner.Core.Templates;
using Provisioner.Engine;
using Provisioner.Engine.Keys;
using Provisioner.Remote.Keys;
using Provisioner.Remote.Sessions;
using Provisioner.Remote.Shell;

namespace Provisioner.Live.Tests;

/// <summary>
/// The dev stack on the real local libvirt: two guests under qemu (one on virtio, one on an NVMe
/// disk), reached over SSH with the host keys the tool generated and pinned, then a no-op second
/// run and a destroy that leaves nothing behind.
/// </summary>
public sealed class DevStackLiveTests : IAsyncLifetime
{
    private readonly string _stateDir = Directory.CreateTempSubdirectory("provlive-").FullName;
    private StackDefinition? _stack;
    private StackEngine? _engine;
    private StackKeyStore? _keys;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        // Whatever happened, leave nothing of the stack behind.
        if (_engine is not null && _stack is not null)
        {
            try
            {
                await _engine.DestroyAsync(_stack, CancellationToken.None);
            }
            catch (Exception ex)
            {
                Console.Error.WriteLine($"cleanup of stack {_stack.Name} failed: {ex}");
            }
        }

        Directory.Delete(_stateDir, recursive: true);
    }

    [Fact]
    public async Task UpVerifyRerunDestroy_DevStack_RealGuestsReachableWithPinnedKeys()
    {
        LivePrerequisites.Require();
        var ct = TestContext.Current.CancellationToken;
        _stack = StackLoader.LoadFile(Path.Combine(LiveHost.RepoRoot(), "stacks", "Pulumi.dev.yaml"));
        _keys = new StackKeyStore(Path.Combine(_stateDir, "keys"));
        var connector = new SshConnector();
        // The production engine (hardening at first boot, the audit after up), with this test's key store.
        _engine = EngineFactory.Create(NullLoggerFactory.Instance, TimeProvider.System, _keys, LiveBudget.Readiness).Engine;

        // Start clean even if an earlier run was killed.
        await _engine.DestroyAsync(_stack, ct);

        var plan = await _engine.PreviewAsync(_stack, ct);
        Assert.Contains(plan.Notes, n => n.Contains("nvme", StringComparison.OrdinalIgnoreCase));

        var up = await _engine.UpAsync(_stack, ct);
        Assert.True(up.Changed);
        Assert.Contains(up.Phases, p => p.Phase == "audit");
        Assert.All(up.Phases, p => Assert.False(p.Failed, $"phase {p.Phase} failed: {p.Summary}\n" + string.Join("\n", p.Details)));
        Assert.Equal(["dev-a", "dev-b"], up.Nodes.Select(n => n.Name));

        var admin = await _keys.GetOrCreateAsync(_stack.Name, ct);
        using var connection = Connection.Open("qemu:///system");
        foreach (var node in up.Nodes)
        {
            Assert.True(node.Ready, $"{node.Name} not ready");
            using var domain = connection.LookupDomain($"dev-{node.Name}");
            var metadata = NodeMetadata.Parse(domain.GetMetadata(ProvisionerXml.NodeNamespace)!);
            var pinned = PinnedHostKey.FromPublicKeyLine(metadata.HostPublicKey!);
            Assert.Equal(node.HostKeyFingerprint, pinned.Fingerprint);

            await using var session = await connector.ConnectAsync(new SshEndpoint(node.Address!, "ops"), pinned, admin.PrivateKey, TimeSpan.FromSeconds(30), ct);
            var hostname = await session.RunAsync(ShellCommand.Create("hostname"), ct);
            Assert.Equal(node.Name, hostname.EnsureSuccess().StdOut.Trim());

            var address = await session.RunAsync(ShellCommand.Create("ip", "-4", "-o", "addr", "show", "scope", "global"), ct);
            Assert.Contains($"inet {node.Address}/", address.EnsureSuccess().StdOut, StringComparison.Ordinal);

            var disks = await session.RunAsync(ShellCommand.Create("lsblk", "-J", "-b", "-d", "-o", "NAME,SIZE,SERIAL,TYPE"), ct);
            using var json = JsonDocument.Parse(disks.EnsureSuccess().StdOut);
            var devices = json.RootElement.GetProperty("blockdevices").EnumerateArray()
                .Where(d => d.GetProperty("type").GetString() == "disk")
                .ToDictionary(d => d.GetProperty("name").GetString()!, d => d);
            var expectedDisk = node.Name == "dev-b" ? "nvme0n1" : "vda";
            Assert.True(devices.ContainsKey(expectedDisk), $"{node.Name}: no {expectedDisk} in {string.Join(",", devices.Keys)}");
            Assert.Equal(4L * 1024 * 1024 * 1024, devices[expectedDisk].GetProperty("size").GetInt64());
            if (node.Name == "dev-b")
            {
                Assert.Equal("dev-b", devices[expectedDisk].GetProperty("serial").GetString()?.Trim());
            }

            // The seed carried the host's private key: it must be gone from the guest and the host.
            Assert.DoesNotContain("vdb", devices.Keys);

            var rootFs = await session.RunAsync(ShellCommand.Create("findmnt", "-n", "-b", "-o", "SIZE", "/"), ct);
            Assert.True(long.Parse(rootFs.EnsureSuccess().StdOut.Trim(), System.Globalization.CultureInfo.InvariantCulture) > 3L * 1024 * 1024 * 1024,
                $"{node.Name}: root filesystem was not grown to the disk");
        }

        using (var pool = connection.LookupStoragePool(_stack.Hosts[0].Pool.Name))
        {
            Assert.Null(pool.TryLookupVolume("dev-dev-a-seed"));
            Assert.Null(pool.TryLookupVolume("dev-dev-b-seed"));
        }

        var again = await _engine.UpAsync(_stack, ct);
        Assert.False(again.Changed, "a second up with nothing changed must do nothing");

        await _engine.DestroyAsync(_stack, ct);
        Assert.Null(connection.TryLookupDomain("dev-dev-a"));
        Assert.Null(connection.TryLookupDomain("dev-dev-b"));
        Assert.Null(connection.TryLookupNetwork("dev-default"));
        Assert.Null(connection.TryLookupStoragePool(_stack.Hosts[0].Pool.Name));
        _engine = null;
    }

}
