using System.Security.Cryptography;
using Provisioner.Core.Audit;
using Provisioner.Core.Hardening;
using Provisioner.Engine.Audit;
using Provisioner.Engine.Hardening;
using Provisioner.Engine.Tests.Hardening;
using Provisioner.Remote.Keys;
using Provisioner.Remote.Sessions;
using Provisioner.Remote.Shell;

namespace Provisioner.Engine.Tests.Audit;

/// <summary>
/// The audit runner over the local-shell transport double. The firewall checks run for real inside a
/// network namespace (name prefixed hd-), where the applier installs and activates the firewall; then the
/// firewall drifts (our table deleted, DOCKER-USER jump removed), the audit sees it, and a re-apply repairs it.
/// </summary>
public sealed class AuditRunnerTests
{
    private static readonly string[] FirewallChecks =
        ["firewall.input-policy", "firewall.forward-policy", "firewall.ssh", "firewall.input-ports", "firewall.published-ports", "firewall.docker-user", "hardening.files"];

    [Fact]
    public async Task Run_FirewallInANamespace_PassesThenSeesDriftThenPassesAfterReapply()
    {
        Assert.SkipUnless(EngineHardeningSamples.IsRoot, "network namespaces need root");
        Assert.SkipUnless(EngineHardeningSamples.HasProgram("ip") && EngineHardeningSamples.HasProgram("nft") && EngineHardeningSamples.HasProgram("iptables"),
            "needs ip (iproute2), nft (nftables) and iptables (iptables)");
        var ns = $"hd-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}-audit";
        var root = Directory.CreateTempSubdirectory("hd-audit-").FullName;
        await EngineHardeningSamples.RunAsync("ip", "netns", "add", ns);
        try
        {
            // Docker's DOCKER-USER as Docker 20.10 leaves it, so the policy script has a chain to insert into.
            await EngineHardeningSamples.RunAsync("ip", "netns", "exec", ns, "sh", "-c", "iptables -N DOCKER-USER && iptables -A DOCKER-USER -j RETURN");
            var rendered = EngineHardeningSamples.Render();
            var bundle = EngineHardeningSamples.Rebase(rendered, root,
            [
                new ActivationCommand { Argv = ["nft", "-f", root + HardeningPaths.Ruleset], Purpose = "load table inet provisioner" },
                new ActivationCommand { Argv = ["sh", root + HardeningPaths.DockerUserPolicy, root + HardeningPaths.DockerUserRules], Purpose = "DOCKER-USER policy" },
            ]);
            var checks = AuditChecks.For(bundle).Where(c => FirewallChecks.Contains(c.Id)).ToList();
            var session = new LocalShellSession(ns);
            var runner = new AuditRunner(useSudo: false);
            var applier = new HardeningApplier(useSudo: false);

            var before = await runner.RunAsync(session, "box", checks, TestContext.Current.CancellationToken);
            Assert.False(before.Passed);

            await applier.ApplyAsync(session, bundle, TestContext.Current.CancellationToken);
            var applied = await runner.RunAsync(session, "box", checks, TestContext.Current.CancellationToken);
            Assert.True(applied.Passed, Describe(applied));
            Assert.Equal(FirewallChecks.Length, applied.Count(AuditStatus.Pass));

            await EngineHardeningSamples.RunAsync("ip", "netns", "exec", ns, "sh", "-c", "nft delete table inet provisioner && iptables -D DOCKER-USER -j PROVISIONER-PUBLISHED");
            var drifted = await runner.RunAsync(session, "box", checks, TestContext.Current.CancellationToken);
            var failed = drifted.Results.Where(r => r.IsFailure).Select(r => r.Id).ToList();
            Assert.Equal(FirewallChecks.Where(c => c != "hardening.files"), failed);

            var repair = await applier.ApplyAsync(session, bundle, TestContext.Current.CancellationToken);
            Assert.Empty(repair.ChangedFiles);
            var repaired = await runner.RunAsync(session, "box", checks, TestContext.Current.CancellationToken);
            Assert.True(repaired.Passed, Describe(repaired));
        }
        finally
        {
            await EngineHardeningSamples.RunAsync("ip", "netns", "del", ns);
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task Run_SameProbeInManyChecks_RunsItOnce()
    {
        var session = new ScriptedSession(_ => new CommandResult(1, "", "not here"));
        var checks = AuditChecks.For(EngineHardeningSamples.Render());

        var report = await new AuditRunner().RunAsync(session, "box", checks, TestContext.Current.CancellationToken);

        Assert.Equal(checks.Count, report.Results.Count);
        Assert.Equal(checks.SelectMany(c => c.Probes).Distinct().Count(), session.Commands.Count);
        Assert.Equal(session.Commands.Count, session.Commands.Distinct().Count());
        Assert.All(session.Commands, c => Assert.True(c.UsesSudo));
        Assert.Contains(session.Commands, c => c.CommandLine == "sudo -n -- docker info --format '{{json .}}'");
        Assert.False(report.Passed);
    }

    [Fact]
    public async Task Run_ProbeTimesOut_ItsChecksAreErrorsAndTheRestStillRun()
    {
        var session = new ScriptedSession(c => c.Arguments[0] == "docker"
            ? throw new SshTimeoutException(new SshEndpoint("10.77.0.9", 22, "ops"), SshPhase.Command, TimeSpan.FromSeconds(30), c.CommandLine)
            : new CommandResult(0, "", ""));
        var checks = AuditChecks.For(EngineHardeningSamples.Render());

        var report = await new AuditRunner().RunAsync(session, "box", checks, TestContext.Current.CancellationToken);

        var userns = report.Results.Single(r => r.Id == "docker.userns");
        Assert.Equal(AuditStatus.Error, userns.Status);
        Assert.Contains("timed out", userns.Note, StringComparison.Ordinal);
        Assert.Equal(AuditStatus.Fail, report.Results.Single(r => r.Id == "firewall.units").Status);
    }

    [Fact]
    public async Task Run_ConnectionLost_Propagates()
    {
        var session = new ScriptedSession(c => throw new SshConnectionLostException(new SshEndpoint("10.77.0.9", 22, "ops"), c.CommandLine, new IOException("reset")));

        await Assert.ThrowsAsync<SshConnectionLostException>(() => new AuditRunner().RunAsync(session, EngineHardeningSamples.Render(), TestContext.Current.CancellationToken));
    }

    private static string Describe(AuditReport report) =>
        string.Join("\n", report.Results.Where(r => r.IsFailure).Select(r => $"{r.Id}: {r.Status} found '{r.Found}' expected '{r.Expected}' {r.Note}"));

    /// <summary>A session answering every command from a function; records what it was asked.</summary>
    private sealed class ScriptedSession(Func<ShellCommand, CommandResult> answer) : IRemoteSession
    {
        public List<ShellCommand> Commands { get; } = [];

        public SshEndpoint Endpoint { get; } = new("10.77.0.9", 22, "ops");

        public PinnedHostKey HostKey { get; } = SshKeyPair.GenerateEd25519("scripted").PublicKey;

        public Task<CommandResult> RunAsync(ShellCommand command, CancellationToken cancellationToken)
        {
            Commands.Add(command);
            return Task.FromResult(answer(command));
        }

        public Task<CommandResult> RunAsync(ShellCommand command, TimeSpan timeout, CancellationToken cancellationToken) => RunAsync(command, cancellationToken);

        public Task UploadAsync(Stream content, string remotePath, UnixFileMode mode, string? owner, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task UploadAsync(ReadOnlyMemory<byte> content, string remotePath, UnixFileMode mode, string? owner, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<byte[]> DownloadAsync(string remotePath, bool useSudo, CancellationToken cancellationToken) => throw new NotSupportedException();

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
