using Provisioner.Engine.Sandboxes;

namespace Provisioner.Engine.Tests.Sandboxes;

public sealed class SandboxTtlTests
{
    [Theory]
    [InlineData("90m", 90)]
    [InlineData("2h", 120)]
    [InlineData("1h30m", 90)]
    [InlineData("1d", 1440)]
    [InlineData("5m", 5)]
    [InlineData("7d", 10080)]
    public void Parse_ValidDurations_ReturnsMinutes(string text, int minutes) =>
        Assert.Equal(TimeSpan.FromMinutes(minutes), SandboxTtl.Parse(text));

    [Theory]
    [InlineData("")]
    [InlineData("2")]
    [InlineData("2x")]
    [InlineData("h")]
    [InlineData("-1h")]
    [InlineData("1m2h")]
    [InlineData("1.5h")]
    public void Parse_NotADuration_NamesFlagAndValue(string text)
    {
        var e = Assert.Throws<SandboxInputException>(() => SandboxTtl.Parse(text, "--ttl"));
        Assert.StartsWith($"--ttl: '{text}' is not a duration", e.Message);
    }

    [Theory]
    [InlineData("4m")]
    [InlineData("0m")]
    [InlineData("7d1m")]
    [InlineData("999999d")]
    public void Parse_OutOfBounds_Rejected(string text)
    {
        var e = Assert.Throws<SandboxInputException>(() => SandboxTtl.Parse(text));
        Assert.Contains($"'{text}'", e.Message);
    }

    [Fact]
    public void Extend_NotExpired_AddsToCurrentExpiry()
    {
        var now = new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);

        var result = SandboxTtl.Extend(now.AddHours(1), now, TimeSpan.FromHours(2));

        Assert.Equal(now.AddHours(3), result);
    }

    [Fact]
    public void Extend_AlreadyExpired_CountsFromNow()
    {
        var now = new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);

        Assert.Equal(now.AddHours(1), SandboxTtl.Extend(now.AddHours(-5), now, TimeSpan.FromHours(1)));
        Assert.Equal(now.AddHours(1), SandboxTtl.Extend(null, now, TimeSpan.FromHours(1)));
    }

    [Fact]
    public void Extend_BeyondMaxFromNow_Rejected()
    {
        var now = new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);

        Assert.Throws<SandboxInputException>(() => SandboxTtl.Extend(now.AddDays(6), now, TimeSpan.FromDays(2)));
    }

    [Theory]
    [InlineData(90, "1h30m")]
    [InlineData(45, "45m")]
    [InlineData(1500, "1d1h")]
    [InlineData(0, "0m")]
    [InlineData(-3, "expired")]
    public void Format_Minutes_ShortForm(int minutes, string expected) =>
        Assert.Equal(expected, SandboxTtl.Format(TimeSpan.FromMinutes(minutes)));
}

public sealed class SandboxReapingTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);

    private static Sandbox Make(string name, DateTimeOffset? expires) => new()
    {
        Name = name,
        State = "Running",
        Ready = true,
        Created = Now.AddHours(-3),
        Expires = expires,
        HostKeyFingerprint = "SHA256:x",
    };

    [Fact]
    public void Expired_MixedSandboxes_PicksOnlyThosePastOrAtExpiry()
    {
        var all = new[]
        {
            Make("sb-late", Now.AddMinutes(1)),
            Make("sb-past", Now.AddMinutes(-1)),
            Make("sb-exact", Now),
            Make("sb-forever", null),
        };

        var due = SandboxReaping.Expired(all, Now);

        Assert.Equal(["sb-exact", "sb-past"], due.Select(s => s.Name));
    }

    [Fact]
    public void Expired_ClockMovesOn_LaterSandboxBecomesDue()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(Now);
        var all = new[] { Make("sb-a", Now.AddHours(2)) };

        Assert.Empty(SandboxReaping.Expired(all, time.GetUtcNow()));
        time.Advance(TimeSpan.FromHours(2));
        Assert.Single(SandboxReaping.Expired(all, time.GetUtcNow()));
    }
}

public sealed class SandboxNamesTests
{
    [Theory]
    [InlineData("sb-1a2b")]
    [InlineData("demo")]
    public void ThrowIfInvalid_GoodNames_Pass(string name) => SandboxNames.ThrowIfInvalid(name);

    [Theory]
    [InlineData("Sb-1")]
    [InlineData("-x")]
    [InlineData("a_b")]
    [InlineData("x;rm -rf /")]
    [InlineData("")]
    public void ThrowIfInvalid_BadNames_NameFlagAndValue(string name)
    {
        var e = Assert.Throws<SandboxInputException>(() => SandboxNames.ThrowIfInvalid(name));
        Assert.StartsWith($"--name: '{name}'", e.Message);
    }

    [Fact]
    public void Generate_Hex_PrefixesSb() => Assert.Equal("sb-00ff", SandboxNames.Generate("00ff"));
}
