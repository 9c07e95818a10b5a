using System.Text.Json;

namespace Provisioner.Cli.Tests;

/// <summary>The sandbox commands in-process, on a test:/// host through --host-uri.</summary>
public sealed class SandboxCommandsTests : IDisposable
{
    private readonly CliLab _lab = new();

    public void Dispose() => _lab.Dispose();

    private Task<CliRun> Sandbox(params string[] args) => _lab.RunAsync(["sandbox", .. args, "--host-uri", _lab.HostUri]);

    [Theory]
    [InlineData("2x")]
    [InlineData("1m")]
    [InlineData("8d")]
    public async Task Up_BadTtl_ExitsTwoNamingFlagBeforeCreatingAnything(string ttl)
    {
        var run = await Sandbox("up", "--ttl", ttl);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains($"--ttl: '{ttl}'", run.StdErr);
        Assert.Equal(0, _lab.OpenCount);
    }

    [Fact]
    public async Task Up_BadName_ExitsTwo()
    {
        var run = await Sandbox("up", "--name", "Bad_Name");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--name: 'Bad_Name'", run.StdErr);
    }

    [Fact]
    public async Task Extend_BadTtl_ExitsTwo()
    {
        var run = await Sandbox("extend", "sb-aaaa", "--ttl", "soon");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--ttl: 'soon' is not a duration", run.StdErr);
    }

    [Fact]
    public async Task Up_List_Extend_Destroy_Lifecycle()
    {
        var up = await Sandbox("up", "--ttl", "2h", "--memory", "1024", "--disk", "4");
        var list = await Sandbox("list", "--json");
        var extend = await Sandbox("extend", "sb-aaaa", "--ttl", "1h");
        var clash = await Sandbox("up", "--memory", "1024", "--disk", "4");
        var destroy = await Sandbox("destroy", "sb-aaaa");
        var empty = await Sandbox("list");

        Assert.Equal(0, up.ExitCode);
        Assert.Contains("sandbox sb-aaaa is up at 10.78.0.", up.StdOut);
        Assert.Contains("login: ssh -i ", up.StdOut);
        Assert.Contains("expires: 2026-11-28 14:00:00Z", up.StdOut);
        Assert.Equal(0, list.ExitCode);
        using (var doc = JsonDocument.Parse(list.StdOut))
        {
            var s = Assert.Single(doc.RootElement.GetProperty("sandboxes").EnumerateArray());
            Assert.Equal("sb-aaaa", s.GetProperty("name").GetString());
            Assert.False(s.GetProperty("expired").GetBoolean());
        }

        Assert.Equal(0, extend.ExitCode);
        Assert.Contains("now expires 2026-11-28 15:00:00Z", extend.StdOut);
        Assert.Equal(2, clash.ExitCode);
        Assert.Contains("already exists", clash.StdErr);
        Assert.Equal(0, destroy.ExitCode);
        Assert.Contains("removed sandbox sb-aaaa", destroy.StdOut);
        Assert.Contains("no sandboxes", empty.StdOut);
    }

    [Fact]
    public async Task List_ShowsEachSandboxsOpenPortsAndSources()
    {
        await Sandbox("up", "--name", "sb-web", "--ttl", "2h", "--memory", "1024", "--disk", "4");
        await Sandbox("up", "--name", "sb-quiet", "--ttl", "2h", "--memory", "1024", "--disk", "4");
        // What `sandbox run -p 8080:80 --allow-from …` records (its SSH half cannot run against the test driver).
        var context = _lab.CreateEngine(Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        var service = new Engine.Sandboxes.SandboxService(context.Engine, Engine.Sandboxes.SandboxHost.Local with { Uri = _lab.HostUri }, context.Time);
        var from = new[] { Core.Stacks.Ipv4Cidr.Parse("10.1.2.0/24"), Core.Stacks.Ipv4Cidr.Parse("192.0.2.7/32") };
        await context.Engine.SetPublishedPortsAsync(service.StackWith([]), "sb-web",
            [new Core.Stacks.PublishedPortPolicy { Port = 8080, Protocol = Core.Stacks.TransportProtocol.Tcp, From = from }], TestContext.Current.CancellationToken);

        var table = await Sandbox("list");
        var json = await Sandbox("list", "--json");

        Assert.Equal(0, table.ExitCode);
        Assert.Contains("open ports", table.StdOut);
        Assert.Contains("8080/tcp from 10.1.2.0/24,", table.StdOut);
        Assert.Contains("192.0.2.7/32", table.StdOut);
        using var doc = JsonDocument.Parse(json.StdOut);
        var sandboxes = doc.RootElement.GetProperty("sandboxes").EnumerateArray().ToDictionary(s => s.GetProperty("name").GetString()!, s => s.GetProperty("publishedPorts"));
        var port = Assert.Single(sandboxes["sb-web"].EnumerateArray());
        Assert.Equal(8080, port.GetProperty("port").GetInt32());
        Assert.Equal("tcp", port.GetProperty("protocol").GetString());
        Assert.Equal(["10.1.2.0/24", "192.0.2.7/32"], port.GetProperty("from").EnumerateArray().Select(f => f.GetString()));
        Assert.Empty(sandboxes["sb-quiet"].EnumerateArray());
    }

    [Fact]
    public async Task Reap_NothingExpired_ThenExpired_RemovesAndExitsZero()
    {
        await Sandbox("up", "--name", "sb-one", "--ttl", "30m", "--memory", "1024", "--disk", "4");

        var early = await Sandbox("reap");
        _lab.Time.Advance(TimeSpan.FromHours(1));
        var due = await Sandbox("reap", "--json");
        var again = await Sandbox("reap");

        Assert.Equal(0, early.ExitCode);
        Assert.Contains("nothing to reap", early.StdOut);
        Assert.Equal(0, due.ExitCode);
        using var doc = JsonDocument.Parse(due.StdOut);
        Assert.Equal("sb-one", Assert.Single(doc.RootElement.GetProperty("removed").EnumerateArray()).GetString());
        Assert.Contains("nothing to reap", again.StdOut);
    }

    [Fact]
    public async Task Up_NotEnoughMemory_ExitsThree()
    {
        var run = await Sandbox("up", "--memory", "65536", "--disk", "4");

        Assert.Equal(3, run.ExitCode);
        Assert.Contains("cannot place node sb-aaaa", run.StdErr);
    }

    [Fact]
    public async Task Run_RelaxationsArePrintedAndBadInputRejectedBeforeConnecting()
    {
        var run = await Sandbox("run", "sb-none", "nginx", "-p", "8080:80", "--allow-from", "10.0.0.0/33");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--allow-from: '10.0.0.0/33'", run.StdErr);
        Assert.Equal(0, _lab.OpenCount);
    }

    [Fact]
    public async Task Run_UnknownSandbox_ExitsTwoAfterPrintingRelaxations()
    {
        var run = await Sandbox("run", "sb-none", "nginx", "-p", "8080:80", "--writable-root");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("relaxed: --writable-root", run.StdErr);
        Assert.Contains("NET_BIND_SERVICE granted automatically", run.StdErr);
        Assert.Contains("no sandbox named 'sb-none'", run.StdErr);
    }

    [Theory]
    [InlineData("10.1.2.3/24", "--allow-from: '10.1.2.3/24' is not canonical")]
    [InlineData("10.1.2.300/24", "--allow-from: '10.1.2.300/24' is not a CIDR")]
    public async Task Run_AllowFromNotACanonicalCidr_ExitsTwoNamingFlagAndValueBeforeConnecting(string cidr, string message)
    {
        var run = await Sandbox("run", "sb-aaaa", "nginx", "-p", "8080:80", "--allow-from", cidr);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains(message, run.StdErr);
        Assert.Equal(0, _lab.OpenCount);
    }

    [Fact]
    public async Task Run_AllowFromForSshPort_ExitsTwoBeforeConnecting()
    {
        var run = await Sandbox("run", "sb-aaaa", "nginx", "-p", "22:2222", "--allow-from", "10.1.2.0/24");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("-p: 22/tcp is the sandbox's SSH port", run.StdErr);
        Assert.Equal(0, _lab.OpenCount);
    }

    [Fact]
    public async Task Run_BadPort_ExitsTwoNamingFlagBeforeConnecting()
    {
        var run = await Sandbox("run", "sb-aaaa", "nginx", "-p", "8080:70000", "--allow-from", "10.1.2.0/24");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("-p: '8080:70000': 70000 is not a port", run.StdErr);
        Assert.Equal(0, _lab.OpenCount);
    }
}
