using System.Text;
using Provisioner.Core.Security;
using Provisioner.Remote.Shell;

namespace Provisioner.Remote.Tests.Shell;

public sealed class ShellCommandTests
{
    [Fact]
    public void Create_HostileArgument_IsQuotedAsOneWord()
    {
        var command = ShellCommand.Create("docker", "run", "--name", "x; rm -rf / $(id)");
        Assert.Equal("docker run --name 'x; rm -rf / $(id)'", command.CommandLine);
        Assert.Equal(command.CommandLine, command.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("-rf")]
    [InlineData("A=B")]
    [InlineData("a\0")]
    public void Create_BadProgram_Throws(string program) =>
        Assert.Throws<ArgumentException>(() => ShellCommand.Create(program));

    [Fact]
    public void Create_NulInArgument_ThrowsNamingTheArgument()
    {
        var ex = Assert.Throws<ArgumentException>(() => ShellCommand.Create("echo", "ok", "bad\0"));
        Assert.Contains("arguments[1]", ex.Message);
    }

    [Fact]
    public void Raw_Plain_SendsScriptAsWritten()
    {
        var command = ShellCommand.Raw("set -e; apt-get update >/dev/null");
        Assert.Equal("set -e; apt-get update >/dev/null", command.CommandLine);
    }

    [Fact]
    public void Raw_WithSudo_WrapsScriptInSh()
    {
        var command = ShellCommand.Raw("echo a; echo b").WithSudo();
        Assert.Equal("sudo -n -- sh -c 'echo a; echo b'", command.CommandLine);
    }

    [Fact]
    public void WithSudo_User_UsesDashU()
    {
        var command = ShellCommand.Create("id").WithSudo("postgres");
        Assert.Equal("sudo -n -u postgres -- id", command.CommandLine);
        Assert.True(command.UsesSudo);
        Assert.Equal("postgres", command.SudoUser);
    }

    [Theory]
    [InlineData("-u")]
    [InlineData("a b")]
    [InlineData("root\n")]
    [InlineData("$(id)")]
    public void WithSudo_BadUser_Throws(string user) =>
        Assert.Throws<ArgumentException>(() => ShellCommand.Create("id").WithSudo(user));

    [Theory]
    [InlineData("")]
    [InlineData("1A")]
    [InlineData("A-B")]
    [InlineData("A B")]
    [InlineData("A\n")]
    [InlineData("A=")]
    public void WithEnvironment_BadName_ThrowsNamingIt(string name)
    {
        var ex = Assert.Throws<ArgumentException>(() => ShellCommand.Create("env").WithEnvironment(name, "v"));
        Assert.Contains("environment variable name", ex.Message);
    }

    [Fact]
    public void WithEnvironment_ValueWithQuotes_IsQuoted()
    {
        var command = ShellCommand.Create("printenv", "GREETING").WithEnvironment("GREETING", "it's $(x)");
        Assert.Equal("env 'GREETING=it'\\''s $(x)' printenv GREETING", command.CommandLine);
    }

    [Fact]
    public void WithSecretEnvironment_ValueNeverOnCommandLine()
    {
        const string secretValue = "hunter2-$(id)-'q'";
        var command = ShellCommand.Create("kubeadm", "join").WithSecretEnvironment("TOKEN", new Secret(secretValue));
        Assert.DoesNotContain("hunter2", command.CommandLine);
        Assert.DoesNotContain("hunter2", command.ToString());
        Assert.Contains("TOKEN", command.CommandLine);
        Assert.True(command.HasStandardInput);
    }

    [Fact]
    public void WithSecretEnvironment_LineBreak_ThrowsWithoutRevealingTheValue()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            ShellCommand.Create("true").WithSecretEnvironment("KEY", new Secret("line1-topsecret\nline2")));
        Assert.Contains("KEY", ex.Message);
        Assert.DoesNotContain("topsecret", ex.Message);
    }

    [Fact]
    public void WithEnvironment_SameNameTwice_LastWins()
    {
        var command = ShellCommand.Create("true").WithEnvironment("A", "1").WithSecretEnvironment("A", new Secret("2")).WithEnvironment("A", "3");
        Assert.Single(command.Environment);
        Assert.Empty(command.SecretEnvironment);
        Assert.Equal("3", command.Environment[0].Value);
    }

    [Fact]
    public void With_ReturnsNewInstance_OriginalUnchanged()
    {
        var original = ShellCommand.Create("id");
        var sudo = original.WithSudo();
        Assert.False(original.UsesSudo);
        Assert.True(sudo.UsesSudo);
        Assert.Equal("id", original.CommandLine);
    }

    // The next tests run the command line through a local sh exactly as sshd hands it to the login shell
    // (`$SHELL -c COMMANDLINE`), with the same standard input the session would send.

    [Fact]
    public async Task Script_HostileArguments_ArriveAsPositionalParameters()
    {
        var command = ShellCommand.Script("printf '%s\\0' \"$@\"", HostileStrings.Samples);
        var result = await RunLocallyAsync(command);
        Assert.Equal(HostileStrings.Samples.SelectMany(a => Encoding.UTF8.GetBytes(a).Append((byte)0)).ToArray(), result.StdOut);
    }

    [Fact]
    public async Task WithEnvironment_HostileValues_ReachTheCommandUnchanged()
    {
        var command = ShellCommand.Script("printf '%s\\0' \"$ONE\" \"$TWO\"")
            .WithEnvironment("ONE", "$(id) `id` 'x' \"y\"")
            .WithEnvironment("TWO", "line\nbreak");
        var result = await RunLocallyAsync(command);
        Assert.Equal("$(id) `id` 'x' \"y\"\0line\nbreak\0", result.StdOutText);
    }

    [Fact]
    public async Task WithSecretEnvironment_ValuesAndStdinReachTheCommand()
    {
        var command = ShellCommand.Script("printf '%s|%s|' \"$TOKEN\" \"$OTHER\"; cat")
            .WithSecretEnvironment("TOKEN", new Secret("  s3cr3t $(id) 'q' \\n  "))
            .WithSecretEnvironment("OTHER", new Secret(""))
            .WithStandardInput("stdin\nafter\n");
        var result = await RunLocallyAsync(command);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("  s3cr3t $(id) 'q' \\n  ||stdin\nafter\n", result.StdOutText);
    }

    [Fact]
    public async Task WithSecretEnvironment_Raw_ExportedToScript()
    {
        var command = ShellCommand.Raw("printf %s \"$PASS\"").WithSecretEnvironment("PASS", new Secret("pw"));
        Assert.Equal("pw", (await RunLocallyAsync(command)).StdOutText);
    }

    [Fact]
    public async Task WithSecretEnvironment_StdinClosedEarly_FailsWithDistinctExitCode()
    {
        var command = ShellCommand.Script("echo ran").WithSecretEnvironment("PASS", new Secret("pw"));
        var result = await LocalProcess.RunAsync("/bin/sh", ["-c", command.CommandLine], []);
        Assert.Equal(125, result.ExitCode);
        Assert.DoesNotContain("ran", result.StdOutText);
    }

    [Fact]
    public async Task WithStandardInput_Bytes_ArriveUnchanged()
    {
        byte[] content = [0, 1, 2, 255, 10, 13, 0];
        var result = await RunLocallyAsync(ShellCommand.Create("cat").WithStandardInput(content));
        Assert.Equal(content, result.StdOut);
    }

    private static Task<LocalProcess.Result> RunLocallyAsync(ShellCommand command) =>
        LocalProcess.RunAsync("/bin/sh", ["-c", command.CommandLine], command.BuildStandardInputPrefix());
}
