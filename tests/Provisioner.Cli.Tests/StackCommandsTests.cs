using System.Text.Json;

namespace Provisioner.Cli.Tests;

/// <summary>preview/up/destroy/status run in-process against libvirt's test driver.</summary>
public sealed class StackCommandsTests : IDisposable
{
    private readonly CliLab _lab = new();

    public void Dispose() => _lab.Dispose();

    [Fact]
    public async Task Preview_EmptyHost_PrintsPlanAndExitsZero()
    {
        _lab.WriteStack("t", _lab.StackYaml());

        var run = await _lab.RunAsync("preview", "--stack", "t");

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("+ node     web on localhost: create", run.StdOut);
        Assert.Contains("pool", run.StdOut);
        Assert.Contains("network", run.StdOut);
        Assert.Contains("plan for stack t:", run.StdOut);
    }

    [Fact]
    public async Task Preview_Json_PrintsOneParsableDocumentOnly()
    {
        _lab.WriteStack("t", _lab.StackYaml());

        var run = await _lab.RunAsync("preview", "--stack", "t", "--json");

        Assert.Equal(0, run.ExitCode);
        using var doc = JsonDocument.Parse(run.StdOut);
        Assert.Equal("t", doc.RootElement.GetProperty("stack").GetString());
        Assert.True(doc.RootElement.GetProperty("hasChanges").GetBoolean());
        var resources = doc.RootElement.GetProperty("plan").GetProperty("resources").EnumerateArray().ToList();
        Assert.Contains(resources, r => r.GetProperty("kind").GetString() == "Node" && r.GetProperty("name").GetString() == "web" && r.GetProperty("change").GetString() == "Create");
    }

    [Fact]
    public async Task Preview_InvalidStackFile_ExitsTwoWithEveryFieldPathAndLocation()
    {
        var path = _lab.WriteStack("t", _lab.StackYaml().Replace(_lab.HostUri, "qemu+shh://h/system").Replace("cpus: 1", "cpus: 0"));

        var run = await _lab.RunAsync("preview", "--stack", "t");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains(path + ":", run.StdErr);
        Assert.Contains("provisioner:hosts[0].uri: ", run.StdErr);
        Assert.Contains("provisioner:nodes[0].cpus: ", run.StdErr);
        Assert.Matches(@"Pulumi\.t\.yaml:\d+:\d+: provisioner:hosts\[0\]\.uri: ", run.StdErr);
        Assert.Equal(string.Empty, run.StdOut.Trim());
    }

    [Fact]
    public async Task Preview_InvalidStackFileJson_PrintsErrorDocumentWithPaths()
    {
        _lab.WriteStack("t", _lab.StackYaml().Replace("cpus: 1", "cpus: 0"));

        var run = await _lab.RunAsync("preview", "--stack", "t", "--json");

        Assert.Equal(2, run.ExitCode);
        using var doc = JsonDocument.Parse(run.StdOut);
        Assert.Equal(2, doc.RootElement.GetProperty("exitCode").GetInt32());
        Assert.Contains(doc.RootElement.GetProperty("validationErrors").EnumerateArray(), e => e.GetProperty("path").GetString() == "provisioner:nodes[0].cpus");
    }

    [Fact]
    public async Task Preview_UnknownStack_ExitsTwoNamingStackAndAvailableOnes()
    {
        _lab.WriteStack("t", _lab.StackYaml());

        var run = await _lab.RunAsync("preview", "--stack", "nope");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("no stack 'nope'", run.StdErr);
        Assert.Contains("stacks there: t", run.StdErr);
    }

    [Fact]
    public async Task Preview_StackNameWithPath_IsRejectedBeforeTouchingFiles()
    {
        var run = await _lab.RunAsync("preview", "--stack", "../etc/passwd");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--stack: '../etc/passwd' is not a stack name", run.StdErr);
    }

    [Fact]
    public async Task Preview_StacksDirOption_UsesThatFolder()
    {
        var other = Path.Combine(_lab.Root, "elsewhere");
        Directory.CreateDirectory(other);
        File.WriteAllText(Path.Combine(other, "Pulumi.o.yaml"), _lab.StackYaml());

        var run = await _lab.RunAsync("preview", "--stack", "o", "--stacks-dir", other);

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("web on localhost: create", run.StdOut);
    }

    [Fact]
    public async Task Run_UnknownOption_ExitsTwo()
    {
        var run = await _lab.RunAsync("preview", "--stack", "t", "--frobnicate");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--frobnicate", run.StdErr);
    }

    [Fact]
    public async Task Run_MissingStackOption_ExitsTwo()
    {
        var run = await _lab.RunAsync("up");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--stack", run.StdErr);
    }

    [Fact]
    public async Task Up_TooLittleMemory_ExitsThreeAndNamesNode()
    {
        _lab.WriteStack("t", _lab.StackYaml(CliLab.DefaultNodes.Replace("memoryMiB: 1024", "memoryMiB: 1048576")));

        var run = await _lab.RunAsync("up", "--stack", "t");

        Assert.Equal(3, run.ExitCode);
        Assert.Contains("cannot place node web", run.StdErr);
        Assert.Contains("nothing was changed", run.StdErr);
    }

    [Fact]
    public async Task Up_ThenUpAgain_CreatesThenSaysNothingToDo()
    {
        _lab.WriteStack("t", _lab.StackYaml());

        var first = await _lab.RunAsync("up", "--stack", "t");
        var second = await _lab.RunAsync("up", "--stack", "t");

        Assert.Equal(0, first.ExitCode);
        Assert.Contains("create node web", first.StdErr);
        Assert.Contains("web on localhost: create", first.StdOut);
        Assert.Contains("SHA256:", first.StdOut);
        Assert.Contains("web: ssh -i ", first.StdOut);
        Assert.Contains("StrictHostKeyChecking=yes", first.StdOut);
        Assert.Contains("ops@10.78.9.", first.StdOut);
        Assert.Equal(0, second.ExitCode);
        Assert.Contains("nothing to do", second.StdOut);
        Assert.DoesNotContain("PRIVATE KEY", first.StdOut + first.StdErr + second.StdOut + second.StdErr);
    }

    [Fact]
    public async Task Up_Json_ReportsNodesWithSshCommand()
    {
        _lab.WriteStack("t", _lab.StackYaml());

        var run = await _lab.RunAsync("up", "--stack", "t", "--json");

        Assert.Equal(0, run.ExitCode);
        using var doc = JsonDocument.Parse(run.StdOut);
        Assert.True(doc.RootElement.GetProperty("changed").GetBoolean());
        var node = Assert.Single(doc.RootElement.GetProperty("nodes").EnumerateArray());
        Assert.Equal("web", node.GetProperty("name").GetString());
        Assert.StartsWith("ssh ", node.GetProperty("sshCommand").GetString());
    }

    [Fact]
    public async Task Status_AfterUpAndAfterEdit_SaysWhetherStackMatches()
    {
        _lab.WriteStack("t", _lab.StackYaml());
        await _lab.RunAsync("up", "--stack", "t");

        var matching = await _lab.RunAsync("status", "--stack", "t");
        _lab.WriteStack("t", _lab.StackYaml(CliLab.DefaultNodes.Replace("memoryMiB: 1024", "memoryMiB: 2048")));
        var differing = await _lab.RunAsync("status", "--stack", "t", "--json");

        Assert.Equal(0, matching.ExitCode);
        Assert.Contains("matches its definition", matching.StdOut);
        Assert.Contains("web", matching.StdOut);
        using var doc = JsonDocument.Parse(differing.StdOut);
        Assert.False(doc.RootElement.GetProperty("matchesDefinition").GetBoolean());
    }

    [Fact]
    public async Task Preview_AfterEdit_ShowsPropertyOldAndNew()
    {
        _lab.WriteStack("t", _lab.StackYaml());
        await _lab.RunAsync("up", "--stack", "t");
        _lab.WriteStack("t", _lab.StackYaml(CliLab.DefaultNodes.Replace("memoryMiB: 1024", "memoryMiB: 2048").Replace("diskBus: virtio", "diskBus: nvme")));

        var run = await _lab.RunAsync("preview", "--stack", "t");

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("1024 -> 2048", run.StdOut);
        Assert.Contains("(forces replacement)", run.StdOut);
    }

    [Fact]
    public async Task Destroy_AfterUp_ListsWhatItRemoved()
    {
        _lab.WriteStack("t", _lab.StackYaml());
        await _lab.RunAsync("up", "--stack", "t");

        var run = await _lab.RunAsync("destroy", "--stack", "t");
        var again = await _lab.RunAsync("destroy", "--stack", "t");

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("removed node web on localhost", run.StdOut);
        Assert.Contains("removed network net on localhost", run.StdOut);
        Assert.Equal(0, again.ExitCode);
        Assert.Contains("nothing to remove", again.StdOut);
    }
}
