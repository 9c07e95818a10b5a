using Provisioner.Core.Naming;

namespace Provisioner.Core.Tests.Naming;

public sealed class ResourceNameTests
{
    [Theory]
    [InlineData("a")]
    [InlineData("dev")]
    [InlineData("osl-kvm-1")]
    [InlineData("cp-1")]
    [InlineData("a1")]
    [InlineData("x--y")]
    public void IsValid_DnsLabels_True(string name) => Assert.True(ResourceName.IsValid(name));

    [Theory]
    [InlineData("", "must not be empty")]
    [InlineData("../etc/passwd", "'.' at position 1")]
    [InlineData("..", "'.'")]
    [InlineData("a/b", "'/'")]
    [InlineData("dev'", "'''")]
    [InlineData("dev\"", "'\"'")]
    [InlineData("$(reboot)", "'$'")]
    [InlineData("`id`", "'`'")]
    [InlineData("a;rm", "';'")]
    [InlineData("a b", "a space")]
    [InlineData("dev\n", "a newline")]
    [InlineData("dev\r", "a carriage return")]
    [InlineData("dev\0", "control character \\u0000")]
    [InlineData("-rf", "must start with a letter")]
    [InlineData("1abc", "must start with a letter")]
    [InlineData("abc-", "must not end with '-'")]
    [InlineData("Dev", "upper-case 'D'")]
    [InlineData("dеv", "non-ASCII character \\u0435")] // Cyrillic 'е'
    [InlineData("dev\u200b", "non-ASCII character \\u200b")] // zero-width space
    [InlineData("ｄev", "non-ASCII character \\uff44")] // full-width 'd'
    [InlineData("a_b", "'_'")]
    [InlineData("a.b", "'.'")]
    [InlineData("<x/>", "'<'")]
    [InlineData("a&b", "'&'")]
    public void Explain_HostileOrMalformed_Refused(string name, string fragment)
    {
        var problem = ResourceName.Explain(name);
        Assert.NotNull(problem);
        Assert.Contains(fragment, problem, StringComparison.Ordinal);
        Assert.False(ResourceName.IsValid(name));
    }

    [Fact]
    public void Explain_TrailingNewline_RefusedUnlikeDollarRegex()
    {
        // Regression guard: "^...$" in .NET matches "dev\n"; our check must not.
        Assert.Matches("^[a-z]([a-z0-9-]*[a-z0-9])?$", "dev\n");
        Assert.False(ResourceName.IsValid("dev\n"));
    }

    [Fact]
    public void Explain_Null_Refused() => Assert.Equal("must not be empty", ResourceName.Explain(null));

    [Fact]
    public void Explain_LongerThanMax_Refused()
    {
        Assert.True(ResourceName.IsValid(new string('a', 63)));
        Assert.Contains("64 characters long, at most 63", ResourceName.Explain(new string('a', 64)), StringComparison.Ordinal);
        Assert.False(ResourceName.IsValid("abcdefghijklmnopqrstu", ResourceName.MaxStackLength));
        Assert.True(ResourceName.IsValid("abcdefghijklmnopqrst", ResourceName.MaxStackLength));
    }

    [Theory]
    [InlineData("dev", null)]
    [InlineData("oslo2", null)]
    [InlineData("oslo-2", "must not contain '-'")]
    [InlineData("Dev", "upper-case")]
    [InlineData("abcdefghijklmnopqrstu", "at most 20")]
    public void ExplainStack_NoHyphens(string name, string? fragment)
    {
        var problem = ResourceName.ExplainStack(name);
        if (fragment is null)
        {
            Assert.Null(problem);
        }
        else
        {
            Assert.Contains(fragment, problem, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Explain_MaxLengthOutOfRange_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ResourceName.Explain("a", 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => ResourceName.Explain("a", 64));
    }

    [Fact]
    public void ThrowIfInvalid_Bad_ThrowsWithQuotedValue()
    {
        var ex = Assert.Throws<ArgumentException>(() => ResourceName.ThrowIfInvalid("x\ny", 10, "node"));
        Assert.Equal("node", ex.ParamName);
        Assert.Contains("'x\\ny'", ex.Message, StringComparison.Ordinal);
        ResourceName.ThrowIfInvalid("ok", 10, "node");
    }

    [Theory]
    [InlineData("plain", "'plain'")]
    [InlineData("it's", "'it\\'s'")]
    [InlineData("a\\b", "'a\\\\b'")]
    [InlineData("line\nbreak", "'line\\nbreak'")]
    [InlineData("\u001b[2J", "'\\u001b[2J'")]
    [InlineData("dеv", "'d\\u0435v'")]
    [InlineData(null, "null")]
    public void Quote_EscapesControlAndNonAscii(string? value, string expected) => Assert.Equal(expected, ResourceName.Quote(value));

    [Fact]
    public void Quote_LongValue_Truncated()
    {
        var quoted = ResourceName.Quote(new string('x', 500));
        Assert.Equal(83, quoted.Length);
        Assert.EndsWith("…'", quoted, StringComparison.Ordinal);
    }

    [Fact]
    public void Limits_DerivedNamesStaySane()
    {
        Assert.Equal(ResourceName.MaxNodeLength, ResourceName.MaxPoolLength + "-1000".Length);
        Assert.True(ResourceName.MaxStackLength + 1 + ResourceName.MaxNodeLength + "-root".Length <= 70);
        Assert.True("golden-".Length + ResourceName.MaxImageLength + 1 + LibvirtNames.ShortChecksumLength <= ResourceName.MaxLength);
    }
}
