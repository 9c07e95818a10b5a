using Provisioner.Core.Hardening;
using Provisioner.Core.Tests.Templates;

namespace Provisioner.Core.Tests.Hardening;

/// <summary>
/// Every file the hardening bundle installs, compared byte for byte with a reviewed copy in
/// TestFiles/hardening/ (re-bless with PROVISIONER_BLESS=1 and review the diff).
/// </summary>
public sealed class HardeningGoldenTests
{
    public static TheoryData<string, string, string> Files => new()
    {
        { "sandbox", "box", HardeningPaths.DaemonJson },
        { "sandbox", "box", HardeningPaths.Ruleset },
        { "sandbox", "box", HardeningPaths.DockerUserRules },
        { "sandbox", "box", HardeningPaths.DockerDropIn },
        { "sandbox", "box", HardeningPaths.FirewallUnit },
        { "sandbox", "box", HardeningPaths.DockerUserUnit },
        { "sandbox", "box", HardeningPaths.EnsureDockremap },
        { "sandbox", "box", HardeningPaths.DockerUserPolicy },
        { "cluster", "cp-1", HardeningPaths.DaemonJson },
        { "cluster", "cp-1", HardeningPaths.Ruleset },
        { "cluster", "cp-1", HardeningPaths.DockerUserRules },
        { "cluster", "worker-2", HardeningPaths.Ruleset },
        { "vip", "cp-2", HardeningPaths.Ruleset },
        { "sandbox-ports", "edge", HardeningPaths.Ruleset },
        { "sandbox-ports", "edge", HardeningPaths.DockerUserRules },
    };

    [Theory]
    [MemberData(nameof(Files))]
    public void Render_File_MatchesGoldenFile(string stack, string node, string path)
    {
        var bundle = HardeningSamples.Render(stack switch { "sandbox" => HardeningSamples.Sandbox(), "sandbox-ports" => HardeningSamples.SandboxWithNodePorts(), "vip" => HardeningSamples.ClusterWithVip(), _ => HardeningSamples.Cluster() }, node);

        var file = bundle.FindFile(path);

        Assert.NotNull(file);
        Golden.AssertMatches($"hardening/{stack}-{node}{path.Replace('/', '_')}", file.Content);
    }

    [Fact]
    public void Render_Sandbox_InstallsEveryFileWithItsModeAndOwner()
    {
        var bundle = HardeningSamples.Render(HardeningSamples.Sandbox(), "box");

        var listing = string.Join('\n', bundle.Files.Select(f => $"{f.OctalMode} {f.Owner} {f.Path}")) + "\n";
        var commands = string.Join('\n', bundle.Activation.Select(c => (c.Always ? "always " : $"when {string.Join(',', c.WhenChanged)} changed: ") + string.Join(' ', c.Argv))) + "\n";

        Golden.AssertMatches("hardening/sandbox-box.files.txt", listing + "\n" + commands);
    }
}
