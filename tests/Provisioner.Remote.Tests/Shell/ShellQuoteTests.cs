using System.Text;
using Provisioner.Remote.Shell;

namespace Provisioner.Remote.Tests.Shell;

public sealed class ShellQuoteTests
{
    public static TheoryData<string> Shells => new("/bin/sh", "/bin/bash", "/bin/dash");

    [Theory]
    [InlineData("plain")]
    [InlineData("/usr/bin/docker")]
    [InlineData("--flag")]
    [InlineData("a-b_c.d,e:f@g%h+i")]
    public void Quote_SafeWord_LeftBare(string word) => Assert.Equal(word, ShellQuote.Quote(word));

    [Theory]
    [InlineData("", "''")]
    [InlineData("a b", "'a b'")]
    [InlineData("it's", "'it'\\''s'")]
    [InlineData("'", "''\\'''")]
    [InlineData("$(id)", "'$(id)'")]
    [InlineData("A=B", "'A=B'")]
    [InlineData("~", "'~'")]
    public void Quote_SpecialWord_SingleQuoted(string word, string expected) => Assert.Equal(expected, ShellQuote.Quote(word));

    [Fact]
    public void Quote_Nul_ThrowsNamingTheNul()
    {
        var ex = Assert.Throws<ArgumentException>(() => ShellQuote.Quote("a\0b"));
        Assert.Contains("NUL", ex.Message);
        Assert.Contains("index 1", ex.Message);
    }

    [Fact]
    public void Quote_UnpairedSurrogate_Throws()
    {
        var ex = Assert.Throws<ArgumentException>(() => ShellQuote.Quote("x\ud800y"));
        Assert.Contains("surrogate", ex.Message);
    }

    [Fact]
    public void Join_NulInThirdElement_ThrowsNamingTheIndex()
    {
        var ex = Assert.Throws<ArgumentException>(() => ShellQuote.Join(["a", "b", "c\0"]));
        Assert.Contains("argv[2]", ex.Message);
    }

    [Fact]
    public void Join_EmptyElement_StaysAWord() => Assert.Equal("a '' b", ShellQuote.Join(["a", "", "b"]));

    [Theory]
    [MemberData(nameof(Shells))]
    public async Task Join_HostileSamples_ReadBackByteForByte(string shell)
    {
        Assert.SkipUnless(File.Exists(shell), $"{shell} is not installed");
        await AssertRoundTripAsync(shell, HostileStrings.Samples);
    }

    [Theory]
    [MemberData(nameof(Shells))]
    public async Task Join_RandomHostileStrings_ReadBackByteForByte(string shell)
    {
        Assert.SkipUnless(File.Exists(shell), $"{shell} is not installed");
        // Property-style: many random strings from the dangerous alphabet, seeded so a failure reproduces.
        for (var seed = 1; seed <= 10; seed++)
        {
            await AssertRoundTripAsync(shell, [.. HostileStrings.Random(seed, 100, 40)]);
        }
    }

    [Theory]
    [MemberData(nameof(Shells))]
    public async Task Quote_EachHostileSampleAlone_IsOneWord(string shell)
    {
        Assert.SkipUnless(File.Exists(shell), $"{shell} is not installed");
        // "$#" counts the words the shell made of the quoted text: exactly one, whatever the content.
        var script = string.Join("; ", HostileStrings.Samples.Select(s => "set -- " + ShellQuote.Quote(s) + "; printf '%s\\n' \"$#\""));
        var result = await LocalProcess.RunAsync(shell, ["-c", script]);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(string.Concat(Enumerable.Repeat("1\n", HostileStrings.Samples.Length)), result.StdOutText);
    }

    private static async Task AssertRoundTripAsync(string shell, IReadOnlyList<string> arguments)
    {
        var script = "printf '%s\\0' " + ShellQuote.Join(arguments);
        var result = await LocalProcess.RunAsync(shell, ["-c", script]);
        Assert.True(result.ExitCode == 0, $"{shell} failed: {result.StdErr}");
        var expected = arguments.SelectMany(a => Encoding.UTF8.GetBytes(a).Append((byte)0)).ToArray();
        if (!expected.AsSpan().SequenceEqual(result.StdOut))
        {
            var actual = Encoding.UTF8.GetString(result.StdOut).Split('\0');
            for (var i = 0; i < arguments.Count; i++)
            {
                Assert.True(i < actual.Length && actual[i] == arguments[i], $"argument {i} {ShellQuote.Quote(arguments[i])} came back as {(i < actual.Length ? actual[i] : "<missing>")}");
            }

            Assert.Equal(expected, result.StdOut);
        }
    }
}
