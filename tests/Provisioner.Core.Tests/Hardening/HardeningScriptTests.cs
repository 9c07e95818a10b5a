using Provisioner.Core.Hardening;
using Provisioner.Core.Tests.Templates;

namespace Provisioner.Core.Tests.Hardening;

/// <summary>The shipped scripts and units, run or checked by the real tools (in a temporary root or a network namespace).</summary>
public sealed class HardeningScriptTests
{
    private static string Installed(string path) => HardeningSamples.Render(HardeningSamples.Sandbox(), "box").FindFile(path)!.Content;

    [Theory]
    [InlineData(HardeningPaths.EnsureDockremap)]
    [InlineData(HardeningPaths.DockerUserPolicy)]
    public async Task Script_ParsesWithDash(string path)
    {
        var dash = ExternalTool.Require("dash", "dash");
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, Installed(path), TestContext.Current.CancellationToken);

            var (code, _, stderr) = await ExternalTool.RunAsync(dash, ["-n", file]);

            Assert.True(code == 0, stderr);
            Assert.StartsWith("#!/bin/sh\n", Installed(path), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Units_PassSystemdAnalyzeVerify()
    {
        var analyze = ExternalTool.Require("systemd-analyze", "systemd");
        var dir = Directory.CreateTempSubdirectory("hd-units-");
        try
        {
            var units = new[] { HardeningPaths.FirewallUnit, HardeningPaths.DockerUserUnit }.Select(p =>
            {
                var file = Path.Combine(dir.FullName, Path.GetFileName(p));
                File.WriteAllText(file, Installed(p));
                return file;
            }).ToList();

            var (_, stdout, stderr) = await ExternalTool.RunAsync(analyze, ["verify", "--man=no", .. units]);

            // The scripts the units run are not installed on the test machine; anything else is a unit error.
            var problems = (stdout + stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Where(l => !l.Contains("is not executable: No such file or directory", StringComparison.Ordinal))
                .ToList();
            Assert.Empty(problems);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task EnsureDockremap_RunTwiceInATemporaryRoot_CreatesTheAccountAndOneFixedRangeEach()
    {
        Assert.SkipUnless(Environment.UserName == "root", "useradd --prefix needs root");
        ExternalTool.Require("useradd", "passwd");
        var root = PrepareRoot(subuid: "ops:100000:65536\n");
        try
        {
            var script = Path.Combine(root, "ensure-dockremap");
            await File.WriteAllTextAsync(script, Installed(HardeningPaths.EnsureDockremap), TestContext.Current.CancellationToken);

            for (var i = 0; i < 2; i++)
            {
                var (code, _, stderr) = await ExternalTool.RunAsync("/bin/sh", [script, root]);
                Assert.True(code == 0, stderr);
            }

            var passwd = await File.ReadAllLinesAsync(Path.Combine(root, "etc", "passwd"), TestContext.Current.CancellationToken);
            var account = Assert.Single(passwd, l => l.StartsWith("dockremap:", StringComparison.Ordinal));
            Assert.EndsWith(":/nonexistent:/usr/sbin/nologin", account, StringComparison.Ordinal);
            Assert.Equal(["ops:100000:65536", "dockremap:1000000000:65536"], await File.ReadAllLinesAsync(Path.Combine(root, "etc", "subuid"), TestContext.Current.CancellationToken));
            Assert.Equal(["dockremap:1000000000:65536"], await File.ReadAllLinesAsync(Path.Combine(root, "etc", "subgid"), TestContext.Current.CancellationToken));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task EnsureDockremap_RangeDockerdAlreadyChose_IsKept()
    {
        Assert.SkipUnless(Environment.UserName == "root", "useradd --prefix needs root");
        ExternalTool.Require("useradd", "passwd");
        var root = PrepareRoot(subuid: "dockremap:165536:65536\n", subgid: "dockremap:165536:65536\n");
        try
        {
            var script = Path.Combine(root, "ensure-dockremap");
            await File.WriteAllTextAsync(script, Installed(HardeningPaths.EnsureDockremap), TestContext.Current.CancellationToken);

            var (code, _, stderr) = await ExternalTool.RunAsync("/bin/sh", [script, root]);

            Assert.True(code == 0, stderr);
            Assert.Equal(["dockremap:165536:65536"], await File.ReadAllLinesAsync(Path.Combine(root, "etc", "subuid"), TestContext.Current.CancellationToken));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task DockerUserPolicy_UnderDockersNftablesBackend_LeavesIptablesAlone()
    {
        Netns.RequirePrerequisites();
        await using var ns = await Netns.CreateAsync($"hd-{Netns.NewTag()}-nfb");
        var dir = Directory.CreateTempSubdirectory("hd-nfb-");
        try
        {
            var script = Path.Combine(dir.FullName, "docker-user-policy");
            var rules = Path.Combine(dir.FullName, "docker-user.rules");
            await File.WriteAllTextAsync(script, Installed(HardeningPaths.DockerUserPolicy), TestContext.Current.CancellationToken);
            await File.WriteAllTextAsync(rules, Installed(HardeningPaths.DockerUserRules), TestContext.Current.CancellationToken);
            // What Docker 29's nftables firewall backend creates.
            await ns.ExecAsync("nft", "add", "table", "ip", "docker-bridges");

            var (code, _, stderr) = await ns.TryExecAsync("sh", script, rules);

            Assert.Equal(0, code);
            Assert.Contains("nftables firewall backend", stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("table ip filter", await ns.ExecAsync("nft", "list", "tables"), StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static string PrepareRoot(string subuid = "", string subgid = "")
    {
        var root = Directory.CreateTempSubdirectory("hd-root-").FullName;
        var etc = Directory.CreateDirectory(Path.Combine(root, "etc")).FullName;
        foreach (var file in new[] { "passwd", "group", "shadow", "gshadow", "login.defs" })
        {
            if (File.Exists(Path.Combine("/etc", file)))
            {
                File.Copy(Path.Combine("/etc", file), Path.Combine(etc, file));
            }
        }
        File.WriteAllText(Path.Combine(etc, "subuid"), subuid);
        File.WriteAllText(Path.Combine(etc, "subgid"), subgid);
        return root;
    }
}
