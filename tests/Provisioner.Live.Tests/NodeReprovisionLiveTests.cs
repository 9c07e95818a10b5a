using System.Text.Json;
using LibvirtSharp;
using Microsoft.Extensions.Logging.Abstractions;
using Provisioner.Cli;
using Provisioner.Core.Stacks;
using Provisioner.Core.Templates;
using Provisioner.Engine;
using Provisioner.Engine.Access;
using Provisioner.Engine.Audit;
using Provisioner.Engine.Forensics;
using Provisioner.Engine.Hardening;
using Provisioner.Engine.Images;
using Provisioner.Engine.Keys;
using Provisioner.Engine.Readiness;
using Provisioner.Engine.Replacement;
using Provisioner.Remote.Keys;
using Provisioner.Remote.Sessions;
using Provisioner.Remote.Shell;

namespace Provisioner.Live.Tests;

/// <summary>
/// Re-provisioning a compromised node on the real local libvirt: one small hardened guest under qemu is quarantined
/// (proved with real packets from the host while the domain keeps running), its memory and disk are captured and
/// verified (and a tampered file is caught), then it is replaced: a new host key, the same address, the audit
/// passing, the evidence untouched.
/// </summary>
public sealed class NodeReprovisionLiveTests : IAsyncLifetime
{
    /// <summary>
    /// The disk copy is evidence only if it can be read away from the host: rebased onto the golden image the set keeps
    /// (whose SHA-256 is the checksum its volume name carries), its root filesystem holds this node's hostname.
    /// </summary>
    private static async Task AssertDiskCopyReadableAsync(EvidenceCaptureResult capture, EvidenceFile disk, CancellationToken ct)
    {
        var backing = capture.Manifest.Files.Single(f => f.Kind == "backing-image");
        Assert.StartsWith(capture.Manifest.BackingVolume![^12..], backing.Sha256, StringComparison.Ordinal);
        var scratch = Directory.CreateTempSubdirectory("reprov-disk-").FullName;
        try
        {
            var overlay = Path.Combine(scratch, "disk.qcow2");
            File.Copy(Path.Combine(capture.Directory, disk.Name), overlay);
            await LiveHost.CheckedAsync("qemu-img", ["rebase", "-u", "-F", "qcow2", "-b", Path.Combine(capture.Directory, backing.Name), overlay], ct);
            var raw = Path.Combine(scratch, "disk.raw");
            await LiveHost.CheckedAsync("qemu-img", ["convert", "-O", "raw", overlay, raw], ct);
            // The image's one partition starts at sector 2048 (images/debian-12/build.sh): cut it out, sparse. The guest
            // was paused, not shut down: what it wrote lately may still be only in the ext4 journal, which debugfs does
            // not replay, so the scratch copy is checked (its journal replayed) first, as an examiner would. (e2fsck's
            // "file?offset=" form loses the offset when it re-opens the file after a replay, hence the cut.)
            var partition = Path.Combine(scratch, "root.ext4");
            await LiveHost.CheckedAsync("dd", [$"if={raw}", $"of={partition}", "bs=1M", "skip=1", "conv=sparse", "status=none"], ct);
            var fsck = await LiveHost.RunAsync("e2fsck", ["-fy", partition], ct);
            Assert.True(fsck.ExitCode is 0 or 1, $"e2fsck on the disk copy exited {fsck.ExitCode}: {fsck.StdOut}{fsck.StdErr}");
            var hostname = await LiveHost.RunAsync("debugfs", ["-R", "cat /etc/hostname", partition], ct);
            Assert.True(hostname.StdOut.Trim() == "node", $"/etc/hostname in the disk copy: '{hostname.StdOut.Trim()}' ({hostname.StdErr.Trim()})");
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    private readonly string _suffix = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray())[..6];
    private readonly string _stateDir = Directory.CreateTempSubdirectory("reprov-state-").FullName;
    private readonly string _evidenceRoot;
    private StackDefinition? _stack;
    private StackEngine? _engine;

    public NodeReprovisionLiveTests()
    {
        _evidenceRoot = Path.Combine(Path.GetTempPath(), "reprov-evidence-" + _suffix);
    }

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
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

        if (Directory.Exists(_evidenceRoot))
        {
            Directory.Delete(_evidenceRoot, recursive: true);
        }

        Directory.Delete(_stateDir, recursive: true);
    }

    [Fact]
    public async Task QuarantineCaptureReplace_OneGuest_IsolatedEvidenceVerifiedReplacedAudited()
    {
        LivePrerequisites.Require();
        var ct = TestContext.Current.CancellationToken;
        var name = "reprov" + _suffix;
        _stack = StackLoader.Parse(StackYaml(name), name, $"Pulumi.{name}.yaml");
        var keys = new StackKeyStore(Path.Combine(_stateDir, "keys"));
        var ssh = new SshConnector();
        var templates = TemplateRenderer.CreateDefault();
        var hardening = new NodeHardening(templates);
        var access = new SshNodeAccess(ssh, keys);
        _engine = new StackEngine(new StackEngineOptions
        {
            Templates = templates,
            Images = RecipeImageSource.FromEnvironment(TimeProvider.System),
            Readiness = new SshNodeReadiness(ssh, TimeProvider.System, LiveBudget.Readiness, NullLogger.Instance),
            Keys = keys,
            Extras = hardening.FirstBoot,
            Access = access,
        });
        var forensics = new ForensicsOptions { EvidenceRoot = _evidenceRoot };

        var up = await _engine.UpAsync(_stack, ct);
        var before = Assert.Single(up.Nodes);
        Assert.True(before.Ready);
        var address = before.Address!;
        Assert.True(await PingsAsync(address, ct), $"{address} does not answer ping before the quarantine");
        Assert.True(await LiveHost.TcpConnectsAsync(address, 22, TimeSpan.FromSeconds(8), ct), $"{address}:22 not open before the quarantine");
        Console.Error.WriteLine($"live: node up at {address}, answers ping and ssh");

        // Quarantine: cut from the host side; the host still holds the guest, running.
        var quarantine = await new NodeQuarantine(forensics).QuarantineAsync(
            _stack, "node", new QuarantineRequest { Reason = "live test: suspected compromise", Operator = "live-test" }, ct);
        Assert.False(quarantine.AlreadyQuarantined);
        Assert.Single(quarantine.CutNow);
        using var connection = Connection.Open("qemu:///system");
        using (var domain = connection.LookupDomain($"{name}-node"))
        {
            Assert.Equal(DomainState.Running, domain.GetState());
            Assert.True(Interfaces.LinkDown(domain.GetXml(), quarantine.CutNow[0]), "live XML does not show the link down");
            Assert.True(Interfaces.LinkDown(domain.GetXml(DomainXmlFlags.Inactive), quarantine.CutNow[0]), "the definition does not keep the link down");
            var record = NodeQuarantine.Read(domain)!;
            Assert.Equal("live-test", record.Operator);
            Assert.Equal("live test: suspected compromise", record.Reason);
        }

        Assert.False(await PingsAsync(address, ct), $"{address} still answers ping while quarantined");
        Assert.False(await LiveHost.TcpConnectsAsync(address, 22, TimeSpan.FromSeconds(8), ct), $"{address}:22 still reachable while quarantined");
        var again = await new NodeQuarantine(forensics).QuarantineAsync(
            _stack, "node", new QuarantineRequest { Reason = "second call", Operator = "someone-else" }, ct);
        Assert.True(again.AlreadyQuarantined);
        Assert.Empty(again.CutNow);
        Assert.Equal("live-test", again.Record.Operator);
        Console.Error.WriteLine($"live: quarantined; link down live and in the definition; ping and tcp/22 fail; domain running; idempotent");

        // Capture and verify.
        var capture = await new EvidenceCapture(forensics).CaptureAsync(_stack, "node", new CaptureRequest { Operator = "live-test" }, null, ct);
        var memory = capture.Manifest.Files.Single(f => f.Kind == "memory");
        Assert.InRange(memory.Bytes, 900L * 1024 * 1024, 1200L * 1024 * 1024);
        var disk = capture.Manifest.Files.First(f => f.Kind == "disk");
        var info = await LiveHost.CheckedAsync("qemu-img", ["info", "--output", "json", Path.Combine(capture.Directory, disk.Name)], ct);
        using (var json = JsonDocument.Parse(info))
        {
            Assert.Equal("qcow2", json.RootElement.GetProperty("format").GetString());
            Assert.Equal(4L * 1024 * 1024 * 1024, json.RootElement.GetProperty("virtual-size").GetInt64());
        }

        await LiveHost.CheckedAsync("qemu-img", ["check", Path.Combine(capture.Directory, disk.Name)], ct);
        await AssertDiskCopyReadableAsync(capture, disk, ct);
        Assert.Contains(capture.Manifest.Files, f => f.Kind == "domain-xml");
        Assert.Contains(capture.Manifest.Files, f => f.Name == "metadata-quarantine.xml");
        Assert.Contains(capture.Manifest.Files, f => f.Kind == "console-log");
        using (var domain = connection.LookupDomain($"{name}-node"))
        {
            Assert.Equal(DomainState.Running, domain.GetState());
        }

        var verified = await EvidenceVerifier.VerifyAsync(capture.Directory, ct);
        Assert.True(verified.Intact, string.Join("; ", verified.Failures));
        Console.Error.WriteLine($"live: captured {capture.Directory}: memory {memory.Bytes} B, disk qcow2 checked and readable with the golden image kept beside it, manifest verifies");

        // A tampered file is named, by the engine and by the CLI's exit code; then put back.
        var tampered = Path.Combine(capture.Directory, "domain-live.xml");
        var original = await File.ReadAllBytesAsync(tampered, ct);
        var changed = (byte[])original.Clone();
        changed[^2] ^= 0x20;
        await File.WriteAllBytesAsync(tampered, changed, ct);
        var bad = await EvidenceVerifier.VerifyAsync(capture.Directory, ct);
        Assert.False(bad.Intact);
        Assert.Equal(EvidenceFileStatus.Modified, bad.Files.Single(f => f.Name == "domain-live.xml").Status);
        var (exit, _, error) = await CliAsync(["node", "verify-evidence", capture.Directory], ct);
        Assert.Equal(ExitCodes.Failed, exit);
        Assert.Contains("domain-live.xml", error, StringComparison.Ordinal);
        await File.WriteAllBytesAsync(tampered, original, ct);
        Assert.True((await EvidenceVerifier.VerifyAsync(capture.Directory, ct)).Intact);
        Console.Error.WriteLine($"live: tampered file named by verifier and CLI (exit 1); restored");

        // Replace: fresh identity, same address, hardening and audit, evidence untouched.
        var replacer = new NodeReplacer(_engine, new NodeReplacerOptions
        {
            Forensics = forensics,
            Repair = new HardeningRepairPhase(hardening, new HardeningApplier()),
            Audit = new AuditPhase(hardening, new AuditRunner()),
        });
        var replaced = await replacer.ReplaceAsync(_stack, "node", "live-test", null, ct);
        Assert.NotEqual(before.HostKeyFingerprint, replaced.Node.HostKeyFingerprint);
        Assert.Equal(before.HostKeyFingerprint, replaced.OldHostKeyFingerprint);
        Assert.Equal(address, replaced.Node.Address);
        Assert.True(replaced.AuditPassed, string.Join("; ", replaced.Phases.SelectMany(p => p.Details)));
        Assert.Contains(replaced.Timeline, s => s.Name == "recreate" && s.Outcome == StepOutcome.Done);
        Assert.Contains(replaced.Timeline, s => s.Name == "drain" && s.Outcome == StepOutcome.Skipped);
        Assert.True((await EvidenceVerifier.VerifyAsync(capture.Directory, ct)).Intact, "evidence changed by the replacement");
        Console.Error.WriteLine($"live: replaced: {before.HostKeyFingerprint} -> {replaced.Node.HostKeyFingerprint} at {replaced.Node.Address}, audit passed, evidence intact");

        using (var domain = connection.LookupDomain($"{name}-node"))
        {
            Assert.Null(NodeQuarantine.Read(domain));
            Assert.False(Interfaces.LinkDown(domain.GetXml(), quarantine.CutNow[0]));
        }

        Assert.True(await PingsAsync(address, ct), $"{address} does not answer ping after the replacement");
        var admin = await keys.GetOrCreateAsync(name, ct);
        await using var session = await ssh.ConnectAsync(
            new SshEndpoint(address, "ops"), PinnedHostKey.FromPublicKeyLine(replaced.Node.HostPublicKey!), admin.PrivateKey, TimeSpan.FromSeconds(60), ct);
        Assert.Equal("node", (await session.RunAsync(ShellCommand.Create("hostname"), ct)).EnsureSuccess().StdOut.Trim());
    }

    private string StackYaml(string name) => $"""
        config:
          provisioner:hosts:
            - name: localhost
              uri: qemu:///system
              region: local
              zone: local
              pool:
                name: {name}-pool
                path: /var/lib/provisioner/pools/{name}
                media: ssd
          provisioner:networks:
            - name: net
              cidr: 10.82.0.0/24
              mode: nat
          provisioner:image:
            name: debian-12
            recipe: debian-12
          provisioner:nodes:
            - name: node
              role: worker
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
            adminCidrs:
              - 10.82.0.0/24
          provisioner:virtualization:
            allowEmulation: true
            type: qemu
        """;

    private static async Task<bool> PingsAsync(string address, CancellationToken ct)
    {
        // ICMP echo through a raw socket (the tests run as root; no ping binary is needed).
        using var ping = new System.Net.NetworkInformation.Ping();
        for (var i = 0; i < 3; i++)
        {
            var reply = await ping.SendPingAsync(System.Net.IPAddress.Parse(address), TimeSpan.FromSeconds(2), cancellationToken: ct);
            if (reply.Status == System.Net.NetworkInformation.IPStatus.Success)
            {
                return true;
            }
        }

        return false;
    }

    private static async Task<(int Exit, string Out, string Error)> CliAsync(string[] args, CancellationToken ct)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await CliApp.RunAsync(args, new CliEnvironment { Out = stdout, Error = stderr, WorkingDirectory = Path.GetTempPath() }, ct);
        return (exit, stdout.ToString(), stderr.ToString());
    }
}
