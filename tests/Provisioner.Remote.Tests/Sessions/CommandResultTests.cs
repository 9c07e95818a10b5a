using Provisioner.Remote.Sessions;

namespace Provisioner.Remote.Tests.Sessions;

public sealed class CommandResultTests
{
    private static readonly SshEndpoint Endpoint = new("192.0.2.5", 2222, "admin");

    [Fact]
    public void EnsureSuccess_ExitZero_ReturnsSameResult()
    {
        var result = new CommandResult(0, "out", "") { Command = "true", Endpoint = Endpoint };
        Assert.Same(result, result.EnsureSuccess());
    }

    [Fact]
    public void EnsureSuccess_NonZero_ThrowsWithCommandEndpointAndStderr()
    {
        var result = new CommandResult(3, "", "E: Unable to locate package nginx-x\n") { Command = "apt-get install -y nginx-x", Endpoint = Endpoint };

        var ex = Assert.Throws<RemoteCommandException>(() => result.EnsureSuccess());

        Assert.Equal(3, ex.ExitCode);
        Assert.Equal("apt-get install -y nginx-x", ex.Command);
        Assert.Contains("admin@192.0.2.5:2222", ex.Message);
        Assert.Contains("exited with status 3", ex.Message);
        Assert.Contains("Unable to locate package", ex.Message);
    }

    [Fact]
    public void EnsureSuccess_KilledBySignal_SaysSo()
    {
        var result = new CommandResult(-1, "", "") { Command = "sleep 100", Endpoint = Endpoint, ExitSignal = "KILL" };
        var ex = Assert.Throws<RemoteCommandException>(() => result.EnsureSuccess());
        Assert.Contains("killed by signal KILL", ex.Message);
        Assert.Contains("no output on stderr", ex.Message);
    }

    [Fact]
    public void EnsureSuccess_LongStderr_KeepsOnlyTheTail()
    {
        var stderr = string.Join('\n', Enumerable.Range(1, 100).Select(i => "line " + i)) + "\n";
        var result = new CommandResult(1, "", stderr) { Command = "make", Endpoint = Endpoint };

        var ex = Assert.Throws<RemoteCommandException>(() => result.EnsureSuccess());

        Assert.StartsWith("…\n", ex.StdErrTail);
        Assert.EndsWith("line 100", ex.StdErrTail);
        Assert.Contains("line 81", ex.StdErrTail);
        Assert.DoesNotContain("line 80\n", ex.StdErrTail);
    }

    [Fact]
    public void Tail_HugeSingleLine_CappedInLength() =>
        Assert.True(CommandResult.Tail(new string('x', 100_000)).Length <= 4001);
}
