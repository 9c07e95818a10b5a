using System.Diagnostics;
using System.Globalization;
using LibvirtSharp;
using Microsoft.Extensions.Logging.Abstractions;
using Provisioner.Cli;
using Provisioner.Core.Audit;
using Provisioner.Core.Hardening;
using Provisioner.Core.Stacks;
using Provisioner.Engine;
using Provisioner.Engine.Audit;
using Provisioner.Engine.Keys;
using Provisioner.Remote.Sessions;
using Provisioner.Remote.Shell;

namespace Provisioner.Live.Tests;

/// <summary>
/// Issue 5's proof on a real guest: the node comes up hardened from its first boot (userns-remapped Docker, our
/// nftables table, the DOCKER-USER policy), published ports answer only the sources their policy names, SSH only
/// the admin network, and all of it survives a Docker restart, a firewall reload and a reboot. The audit passes on
/// the fresh node, fails naming the check after a setting is changed by hand, and passes again after repair.
/// The second traffic source is a network namespace with its own address, plugged into the guest's bridge.
/// </summary>
public sealed class HardeningLiveTests : IAsyncLifetime
{
    // The only addresses this test uses: its own libvirt network and a namespace on it.
    private const string Cidr = "10.85.0.0/24";
    private const string HostAddress = "10.85.0.1";
    private const string NamespaceAddress = "10.85.0.250";
    private const int HostOnlyPort = 8080;
    private const int NamespaceOnlyPort = 8081;

    private readonly string _suffix = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray())[..6];
    private readonly string _stateDir = Directory.CreateTempSubdirectory("provlive-hz-").FullName;
    private readonly List<string> _cleanup = [];
    private StackDefinition? _stack;
    private EngineContext? _context;

    private string StackName => "hz" + _suffix;

    private string Namespace => "hzns" + _suffix;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        foreach (var command in Enumerable.Reverse(_cleanup))
        {
            await LiveHost.RunAsync("sh", ["-c", command], CancellationToken.None);
        }

        if (_context is not null && _stack is not null)
        {
            try
            {
                await _context.Engine.DestroyAsync(_stack, CancellationToken.None);
            }
            catch (Exception ex)
            {
                Console.Error.WriteLine($"cleanup of stack {_stack.Name} failed: {ex}");
            }
        }

        Directory.Delete(_stateDir, recursive: true);
    }

    [Fact]
    public async Task FreshNode_RuntimeFirewallAndAudit_HoldAcrossRestartReloadAndReboot()
    {
        LivePrerequisites.Require();
        var ct = TestContext.Current.CancellationToken;
        _stack = StackLoader.Parse(StackYaml(), StackName, $"Pulumi.{StackName}.yaml");
        _context = EngineFactory.Create(NullLoggerFactory.Instance, TimeProvider.System, new StackKeyStore(Path.Combine(_stateDir, "keys")), LiveBudget.Readiness);
        var engine = _context.Engine;

        // First boot applies the hardening through cloud-init; up ends with the audit.
        var up = await engine.UpAsync(_stack, ct);
        var node = Assert.Single(up.Nodes);
        Assert.All(up.Phases, p => Assert.False(p.Failed, $"{p.Phase}: {p.Summary}"));
        var audit = Assert.Single(up.Phases.OfType<AuditPhaseResult>());
        Assert.False(audit.Failed, "fresh node failed its audit:\n" + string.Join("\n", audit.Details));
        Assert.NotEqual(NamespaceAddress, node.Address);
        var address = node.Address!;

        await using (var session = await _context.Access.OpenAsync(_stack, node, ct))
        {
            await AssertRemappedRuntimeAsync(session, ct);
            await StartPublishingContainerAsync(session, ct);
        }

        await CreateSecondSourceAsync(ct);
        await AssertTrafficPolicyAsync(address, "fresh node", ct);

        await using (var session = await _context.Access.OpenAsync(_stack, node, ct))
        {
            await Sudo(session, ["systemctl", "restart", "docker"], ct);
            await WaitContainerRunningAsync(session, ct);
        }
        await AssertTrafficPolicyAsync(address, "after a Docker restart", ct);

        await using (var session = await _context.Access.OpenAsync(_stack, node, ct))
        {
            await Sudo(session, ["systemctl", "restart", HardeningPaths.FirewallUnitName], ct);
        }
        await AssertTrafficPolicyAsync(address, "after a firewall reload", ct);

        await using (var session = await _context.Access.OpenAsync(_stack, node, ct))
        {
            // The connection drops as the guest goes down; the exit status of reboot is not observable.
            await session.RunAsync(ShellCommand.Create("systemctl", "reboot").WithSudo(), TimeSpan.FromSeconds(30), ct).ContinueWith(_ => { }, TaskScheduler.Default);
        }
        await using (var session = await WaitForSshAsync(node, ct))
        {
            await WaitContainerRunningAsync(session, ct);
            var rules = await Sudo(session, ["nft", "list", "table", "inet", "provisioner"], ct);
            Assert.Contains("policy drop", rules, StringComparison.Ordinal);
        }
        await AssertTrafficPolicyAsync(address, "after a reboot", ct);

        // Drift by hand: the audit names the check; repair over SSH makes it pass again.
        await using (var session = await _context.Access.OpenAsync(_stack, node, ct))
        {
            await Sudo(session, ["sed", "-i", "s/\"icc\": false/\"icc\": true/", HardeningPaths.DaemonJson], ct);
            await Sudo(session, ["systemctl", "restart", "docker"], ct);
        }
        var drifted = Assert.Single((await engine.RunPhasesAsync(_stack, [_context.Audit], null, ct)).OfType<AuditPhaseResult>());
        Assert.True(drifted.Failed);
        // The file drift is named. docker.icc reads the running bridge, which live-restore keeps as it was created
        // (icc off) across the restart, so that check rightly still passes: seen on a real guest.
        var results = drifted.Reports.Single().Results;
        Assert.Equal(AuditStatus.Fail, results.Single(r => r.Id == "docker.daemon-json").Status);
        Assert.Equal(AuditStatus.Pass, results.Single(r => r.Id == "docker.icc").Status);

        var repaired = await engine.RunPhasesAsync(_stack, [_context.Repair, _context.Audit], null, ct);
        Assert.True(repaired[0].Changed, "the repair found nothing to rewrite");
        var after = Assert.IsType<AuditPhaseResult>(repaired[1]);
        Assert.False(after.Failed, "audit after repair:\n" + string.Join("\n", after.Details));

        var again = await engine.RunPhasesAsync(_stack, [_context.Repair], null, ct);
        Assert.False(again[0].Changed, "a second repair must change nothing");
    }

    private static async Task AssertRemappedRuntimeAsync(IRemoteSession session, CancellationToken ct)
    {
        var security = await Sudo(session, ["docker", "info", "--format", "{{json .SecurityOptions}}"], ct);
        Assert.Contains("name=userns", security, StringComparison.Ordinal);
        Assert.Contains("name=seccomp", security, StringComparison.Ordinal);
        var bridge = await Sudo(session, ["docker", "network", "inspect", "bridge", "--format", "{{json .Options}}"], ct);
        Assert.Contains("\"com.docker.network.bridge.enable_icc\":\"false\"", bridge, StringComparison.Ordinal);
        Assert.Contains("\"com.docker.network.bridge.host_binding_ipv4\":\"127.0.0.1\"", bridge, StringComparison.Ordinal);
        var sockets = await Sudo(session, ["ss", "-ltnp"], ct);
        Assert.DoesNotContain("dockerd", sockets, StringComparison.Ordinal);
    }

    /// <summary>A container made by <c>docker import</c> from a root filesystem of one static busybox, publishing two ports on every address.</summary>
    private async Task StartPublishingContainerAsync(IRemoteSession session, CancellationToken ct)
    {
        var tarball = await LiveHost.BusyboxRootfsAsync(_stateDir, ct);
        await session.UploadAsync(await File.ReadAllBytesAsync(tarball, ct), "/tmp/rootfs.tar", UnixFileMode.UserRead | UnixFileMode.UserWrite, null, ct);
        await Sudo(session, ["docker", "import", "/tmp/rootfs.tar", "provisioner-test/busybox:1"], ct);
        await Sudo(session, ["docker", "run", "-d", "--name", "web", "--restart", "unless-stopped",
            "-p", $"0.0.0.0:{HostOnlyPort}:8000", "-p", $"0.0.0.0:{NamespaceOnlyPort}:8000",
            "provisioner-test/busybox:1", "/bin/busybox", "httpd", "-f", "-p", "8000", "-h", "/"], ct);
        await WaitContainerRunningAsync(session, ct);

        // Container root is an unprivileged host uid from dockremap's subordinate range, not 0. The range is the
        // fixed one ensure-dockremap adds, or the one dockerd took itself when it started first at first boot
        // (seen: 165536), which ensure-dockremap keeps so existing containers keep their files.
        var pid = (await Sudo(session, ["docker", "inspect", "-f", "{{.State.Pid}}", "web"], ct)).Trim();
        var uid = long.Parse((await Sudo(session, ["ps", "-o", "uid=", "-p", pid], ct)).Trim(), CultureInfo.InvariantCulture);
        var range = (await Sudo(session, ["grep", "^" + HardeningPaths.RemapUser + ":", "/etc/subuid"], ct)).Trim().Split(':');
        var first = long.Parse(range[1], CultureInfo.InvariantCulture);
        Assert.InRange(uid, Math.Max(first, 65536), first + long.Parse(range[2], CultureInfo.InvariantCulture) - 1);
    }
    /// <summary>A network namespace with its own address, its veth plugged into the guest network's bridge.</summary>
    private async Task CreateSecondSourceAsync(CancellationToken ct)
    {
        string bridge;
        using (var connection = Connection.Open("qemu:///system"))
        using (var network = connection.LookupNetwork($"{StackName}-net"))
        {
            bridge = network.BridgeName;
        }

        var outer = "hzv" + _suffix;
        var inner = "hzp" + _suffix;
        await LiveHost.CheckedAsync("ip", ["netns", "add", Namespace], ct);
        _cleanup.Add($"ip netns del {Namespace}");
        await LiveHost.CheckedAsync("ip", ["link", "add", outer, "type", "veth", "peer", "name", inner], ct);
        _cleanup.Add($"ip link del {outer}");
        await LiveHost.CheckedAsync("ip", ["link", "set", inner, "netns", Namespace], ct);
        await LiveHost.CheckedAsync("ip", ["link", "set", outer, "master", bridge, "up"], ct);
        await LiveHost.CheckedAsync("ip", ["netns", "exec", Namespace, "ip", "addr", "add", NamespaceAddress + "/24", "dev", inner], ct);
        await LiveHost.CheckedAsync("ip", ["netns", "exec", Namespace, "ip", "link", "set", inner, "up"], ct);
        await LiveHost.CheckedAsync("ip", ["netns", "exec", Namespace, "ip", "link", "set", "lo", "up"], ct);
    }

    private async Task AssertTrafficPolicyAsync(string guest, string when, CancellationToken ct)
    {
        Assert.True(await LiveHost.TcpConnectsAsync(guest, HostOnlyPort, TimeSpan.FromSeconds(5), ct), $"{when}: port {HostOnlyPort} (allowed from {HostAddress}) does not answer the host");
        Assert.False(await LiveHost.TcpConnectsAsync(guest, NamespaceOnlyPort, TimeSpan.FromSeconds(5), ct), $"{when}: port {NamespaceOnlyPort} (allowed only from {NamespaceAddress}) answers the host");
        Assert.True(await ConnectsFromNamespaceAsync(guest, NamespaceOnlyPort, ct), $"{when}: port {NamespaceOnlyPort} does not answer {NamespaceAddress}, which its policy allows");
        Assert.False(await ConnectsFromNamespaceAsync(guest, HostOnlyPort, ct), $"{when}: port {HostOnlyPort} answers {NamespaceAddress}, which its policy does not allow");
        Assert.True(await LiveHost.TcpConnectsAsync(guest, 22, TimeSpan.FromSeconds(5), ct), $"{when}: SSH does not answer the admin network");
        Assert.False(await ConnectsFromNamespaceAsync(guest, 22, ct), $"{when}: SSH answers {NamespaceAddress}, which is not an admin network");
    }
    private async Task<bool> ConnectsFromNamespaceAsync(string address, int port, CancellationToken ct) =>
        (await LiveHost.RunAsync("ip", ["netns", "exec", Namespace, "timeout", "5", "bash", "-c", $"exec 3<>/dev/tcp/{address}/{port}"], ct)).ExitCode == 0;

    private static async Task WaitContainerRunningAsync(IRemoteSession session, CancellationToken ct)
    {
        for (var attempt = 0; attempt < 60; attempt++)
        {
            var state = await session.RunAsync(ShellCommand.Create("docker", "inspect", "-f", "{{.State.Running}}", "web").WithSudo(), ct);
            if (state.Succeeded && state.StdOut.Trim() == "true")
            {
                return;
            }
            await Task.Delay(TimeSpan.FromSeconds(5), ct);
        }

        Assert.Fail("container 'web' is not running after 5 minutes");
    }

    private async Task<IRemoteSession> WaitForSshAsync(NodeStatus node, CancellationToken ct)
    {
        // Give the guest time to go down first, so the old sshd does not answer.
        await Task.Delay(TimeSpan.FromSeconds(20), ct);
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return await _context!.Access.OpenAsync(_stack!, node, ct);
            }
            catch (RemoteException) when (deadline.Elapsed < LiveBudget.Readiness)
            {
                await Task.Delay(TimeSpan.FromSeconds(10), ct);
            }
        }
    }

    private static async Task<string> Sudo(IRemoteSession session, string[] argv, CancellationToken ct)
    {
        var result = await session.RunAsync(ShellCommand.Create(argv[0], argv[1..]).WithSudo(), TimeSpan.FromMinutes(5), ct);
        Assert.True(result.Succeeded, $"{string.Join(' ', argv)} failed ({result.ExitCode}): {result.StdErr}");
        return result.StdOut;
    }
    private string StackYaml() => $"""
        config:
          provisioner:hosts:
            - name: localhost
              uri: qemu:///system
              region: local
              zone: local
              pool: {"{"} name: {StackName}, path: /var/lib/provisioner/pools/{StackName}, media: nvme {"}"}
          provisioner:networks:
            - name: net
              cidr: {Cidr}
              mode: nat
          provisioner:image:
            name: debian-12
            recipe: debian-12
          provisioner:nodes:
            - name: box
              role: sandbox
              cpus: 1
              memoryMiB: 1024
              diskGiB: 4
              diskBus: virtio
              network: net
          provisioner:placement:
            region: local
          provisioner:access:
            user: ops
            sshPublicKeys: []
            adminCidrs: [{HostAddress}/32]
          provisioner:virtualization:
            allowEmulation: true
            type: qemu
          provisioner:firewall:
            publishedPorts:
              - port: {HostOnlyPort}
                protocol: tcp
                from: [{HostAddress}/32]
              - port: {NamespaceOnlyPort}
                protocol: tcp
                from: [{NamespaceAddress}/32]
        """;
}
