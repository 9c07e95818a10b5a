using Provisioner.Core.Hardening;
using Provisioner.Engine.Hardening;

namespace Provisioner.Engine.Tests.Hardening;

/// <summary>
/// The applier against the real local shell and file system (through <see cref="LocalShellSession"/>),
/// with the bundle's files moved under a temporary root and marker commands in place of systemctl.
/// </summary>
public sealed class HardeningApplierTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("hd-apply-").FullName;
    private readonly string _log;
    private readonly HardeningBundle _bundle;

    public HardeningApplierTests()
    {
        _log = Path.Combine(_root, "activation.log");
        _bundle = EngineHardeningSamples.Rebase(EngineHardeningSamples.Render(), _root,
        [
            EngineHardeningSamples.Marker("daemon-reload", _log),
            EngineHardeningSamples.Marker("restart-firewall", _log),
            EngineHardeningSamples.Marker("restart-docker", _log, _root + HardeningPaths.DaemonJson, _root + HardeningPaths.DockerDropIn),
        ]);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static HardeningApplier Applier() => new(useSudo: false);

    private string[] Log() => File.Exists(_log) ? File.ReadAllLines(_log) : [];

    [Fact]
    public async Task Apply_FreshNode_WritesEveryFileWithModeAndOwnerAndRunsEveryCommand()
    {
        Assert.SkipUnless(EngineHardeningSamples.IsRoot, "writing root-owned files needs root");
        var session = new LocalShellSession();

        var result = await Applier().ApplyAsync(session, _bundle, TestContext.Current.CancellationToken);

        Assert.Equal(_bundle.Files.Select(f => f.Path), result.ChangedFiles);
        foreach (var file in _bundle.Files)
        {
            Assert.Equal(file.Content, await File.ReadAllTextAsync(file.Path, TestContext.Current.CancellationToken));
            Assert.Equal(file.Mode, File.GetUnixFileMode(file.Path));
            Assert.Equal("root:root", (await EngineHardeningSamples.RunAsync("stat", "-c", "%U:%G", file.Path)).Trim());
        }
        Assert.Equal(["daemon-reload", "restart-firewall", "restart-docker"], Log());
        Assert.Empty(result.Skipped);
    }

    [Fact]
    public async Task Apply_Twice_SecondUploadsNothingAndSkipsDockerRestart()
    {
        Assert.SkipUnless(EngineHardeningSamples.IsRoot, "writing root-owned files needs root");
        var session = new LocalShellSession();
        await Applier().ApplyAsync(session, _bundle, TestContext.Current.CancellationToken);
        session.Uploads.Clear();

        var second = await Applier().ApplyAsync(session, _bundle, TestContext.Current.CancellationToken);

        Assert.Empty(second.ChangedFiles);
        Assert.Empty(session.Uploads);
        Assert.False(second.Repaired);
        Assert.Equal(["restart-docker"], second.Skipped.Select(c => c.Argv[3]));
        Assert.Equal(["daemon-reload", "restart-firewall", "restart-docker", "daemon-reload", "restart-firewall"], Log());
    }

    [Fact]
    public async Task Apply_AfterDaemonJsonDrift_RewritesItAndRestartsDocker()
    {
        Assert.SkipUnless(EngineHardeningSamples.IsRoot, "writing root-owned files needs root");
        var session = new LocalShellSession();
        await Applier().ApplyAsync(session, _bundle, TestContext.Current.CancellationToken);
        var daemonJson = _root + HardeningPaths.DaemonJson;
        await File.WriteAllTextAsync(daemonJson, "{\"icc\": true}\n", TestContext.Current.CancellationToken);

        var result = await Applier().ApplyAsync(session, _bundle, TestContext.Current.CancellationToken);

        Assert.Equal([daemonJson], result.ChangedFiles);
        Assert.Equal(_bundle.FindFile(daemonJson)!.Content, await File.ReadAllTextAsync(daemonJson, TestContext.Current.CancellationToken));
        Assert.Equal("restart-docker", Log()[^1]);
    }

    [Fact]
    public async Task Apply_AfterRulesetDriftOrModeDrift_RewritesWithoutRestartingDocker()
    {
        Assert.SkipUnless(EngineHardeningSamples.IsRoot, "writing root-owned files needs root");
        var session = new LocalShellSession();
        await Applier().ApplyAsync(session, _bundle, TestContext.Current.CancellationToken);
        var ruleset = _root + HardeningPaths.Ruleset;
        var script = _root + HardeningPaths.DockerUserPolicy;
        await File.AppendAllTextAsync(ruleset, "# edited by hand\n", TestContext.Current.CancellationToken);
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.OtherWrite);

        var result = await Applier().ApplyAsync(session, _bundle, TestContext.Current.CancellationToken);

        Assert.Equal(new[] { script, ruleset }.Order(StringComparer.Ordinal), result.ChangedFiles.Order(StringComparer.Ordinal));
        Assert.Equal(_bundle.FindFile(script)!.Mode, File.GetUnixFileMode(script));
        Assert.Equal(["restart-docker"], result.Skipped.Select(c => c.Argv[3]));
    }

    [Fact]
    public async Task Apply_FailingActivation_ThrowsNamingTheCommandAndItsPurpose()
    {
        Assert.SkipUnless(EngineHardeningSamples.IsRoot, "writing root-owned files needs root");
        var failing = _bundle with
        {
            Activation = [new ActivationCommand { Argv = ["sh", "-c", "echo 'nft: syntax error' >&2; exit 3"], Purpose = "load the firewall" }],
        };

        var e = await Assert.ThrowsAsync<HardeningApplyException>(() => Applier().ApplyAsync(new LocalShellSession(), failing, TestContext.Current.CancellationToken));

        Assert.Equal("box", e.Node);
        Assert.Contains("load the firewall", e.Message, StringComparison.Ordinal);
        Assert.Contains("nft: syntax error", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Apply_WithSudo_RunsEveryCommandThroughSudo()
    {
        Assert.SkipUnless(EngineHardeningSamples.IsRoot && EngineHardeningSamples.HasProgram("sudo"), "needs root and sudo");
        var session = new LocalShellSession();

        await new HardeningApplier(useSudo: true).ApplyAsync(session, _bundle, TestContext.Current.CancellationToken);

        Assert.All(session.CommandLines.Where(c => !c.StartsWith("chown", StringComparison.Ordinal)), c => Assert.StartsWith("sudo -n -- ", c, StringComparison.Ordinal));
        Assert.Equal(["daemon-reload", "restart-firewall", "restart-docker"], Log());
    }

    [Fact]
    public void CloudInit_TheSameBundle_GivesWriteFilesAndRunCommands()
    {
        var bundle = EngineHardeningSamples.Render();

        var files = bundle.CloudInitFiles();
        var commands = bundle.CloudInitRunCommands();

        Assert.Equal(bundle.Files.Select(f => (f.Path, f.Content, f.OctalMode)), files.Select(f => (f.Path, f.Content, f.Permissions)));
        Assert.Equal(bundle.Activation.Select(a => string.Join(' ', a.Argv)), commands.Select(c => string.Join(' ', c)));
        Assert.Contains(commands, c => c.SequenceEqual(["systemctl", "restart", "docker.service"]));
    }
}
