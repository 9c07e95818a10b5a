using System.Text.Json;
using Provisioner.Core.Hardening;
using Provisioner.Core.Stacks;
using Provisioner.Core.Templates;

namespace Provisioner.Core.Tests.Hardening;

public sealed class DaemonConfigurationTests
{
    private static DaemonConfiguration Build(params DaemonJsonOverride[] overrides) =>
        DaemonConfiguration.Build(HardeningSamples.Templates(), new RuntimeSettings { DaemonOverrides = overrides });

    private static DaemonJsonOverride Override(string key, string json, string reason = "needed here") =>
        new() { Key = key, Value = JsonDocument.Parse(json).RootElement.Clone(), Reason = reason };

    private static JsonElement Parse(DaemonConfiguration config) => JsonDocument.Parse(config.Json).RootElement;

    [Fact]
    public void Build_Baseline_SetsEveryHardeningKey()
    {
        var json = Parse(Build());

        Assert.Equal("default", json.GetProperty("userns-remap").GetString());
        Assert.False(json.GetProperty("icc").GetBoolean());
        Assert.True(json.GetProperty("no-new-privileges").GetBoolean());
        Assert.True(json.GetProperty("live-restore").GetBoolean());
        Assert.False(json.GetProperty("userland-proxy").GetBoolean());
        Assert.Equal("127.0.0.1", json.GetProperty("ip").GetString());
        Assert.True(json.GetProperty("iptables").GetBoolean());
        Assert.Equal("info", json.GetProperty("log-level").GetString());
        Assert.Equal("local", json.GetProperty("log-driver").GetString());
        Assert.Equal("10m", json.GetProperty("log-opts").GetProperty("max-size").GetString());
        Assert.Equal("3", json.GetProperty("log-opts").GetProperty("max-file").GetString());
        Assert.Equal(65536, json.GetProperty("default-ulimits").GetProperty("nofile").GetProperty("Hard").GetInt32());
        Assert.Equal("nproc", json.GetProperty("default-ulimits").GetProperty("nproc").GetProperty("Name").GetString());
        Assert.Equal(0, json.GetProperty("insecure-registries").GetArrayLength());
        Assert.False(json.GetProperty("experimental").GetBoolean());
    }

    [Fact]
    public void Build_Baseline_KeepsDefaultSeccompAndUnixSocketOnly()
    {
        var json = Parse(Build());

        // No seccomp-profile: Docker's built-in default profile applies. No hosts: -H fd:// on the command line only.
        Assert.False(json.TryGetProperty("seccomp-profile", out _));
        Assert.False(json.TryGetProperty("hosts", out _));
        Assert.False(json.TryGetProperty("tls", out _));
    }

    [Fact]
    public void Build_Baseline_IsIndentedJsonEndingInNewLineWithNothingOverridden()
    {
        var config = Build();

        Assert.EndsWith("}\n", config.Json, StringComparison.Ordinal);
        Assert.Contains("\n  \"icc\": false,\n", config.Json, StringComparison.Ordinal);
        Assert.Empty(config.Overrides);
        Assert.True(config.UsesUserNamespaces);
        Assert.Equal("iptables", config.FirewallBackend);
    }

    [Fact]
    public void Build_OverrideOfBaselineKey_ReplacesValueInPlaceAndRecordsReason()
    {
        var config = Build(Override("log-opts", """{"max-size": "50m", "max-file": "10"}""", "incident review needs more history"));

        var setting = config.Find("log-opts");
        Assert.NotNull(setting);
        Assert.True(setting.IsOverridden);
        Assert.Equal("incident review needs more history", setting.OverrideReason);
        Assert.Equal("10m", setting.Baseline!.Value.GetProperty("max-size").GetString());
        Assert.Equal("50m", Parse(config).GetProperty("log-opts").GetProperty("max-size").GetString());
        Assert.Equal(config.Settings.Select(s => s.Key).ToList(), Parse(config).EnumerateObject().Select(p => p.Name).ToList());
        Assert.Equal(["log-opts"], config.Overrides.Select(o => o.Key));
    }

    [Fact]
    public void Build_OverrideOfNewKey_AppendsItWithoutBaseline()
    {
        var config = Build(Override("registry-mirrors", """["https://mirror.example.net"]"""));

        var setting = config.Find("registry-mirrors")!;
        Assert.Null(setting.Baseline);
        Assert.Equal("registry-mirrors", config.Settings[^1].Key);
        Assert.Equal("https://mirror.example.net", Parse(config).GetProperty("registry-mirrors")[0].GetString());
    }

    [Fact]
    public void Build_UsernsRemapOff_IsAllowedWithReasonAndReported()
    {
        var config = Build(Override("userns-remap", "\"\"", "the legacy image needs host UIDs on a bind mount"));

        Assert.False(config.UsesUserNamespaces);
        Assert.Equal("the legacy image needs host UIDs on a bind mount", config.Find("userns-remap")!.OverrideReason);
    }

    [Theory]
    [InlineData("iptables", "false", "breaks container isolation")]
    [InlineData("iptables", "true", "cannot be overridden")]
    [InlineData("hosts", "[\"tcp://0.0.0.0:2375\"]", "Unix socket only")]
    [InlineData("containerd", "\"/run/other.sock\"", "command line")]
    [InlineData("seccomp-profile", "\"unconfined\"", "default seccomp profile is kept")]
    public void Validate_LockedKey_IsRefusedWithFieldPath(string key, string json, string because)
    {
        var errors = DaemonConfiguration.Validate(new RuntimeSettings { DaemonOverrides = [Override(key, json)] });

        var error = Assert.Single(errors);
        Assert.Equal("provisioner:runtime.daemonOverrides[0].key", error.Path);
        Assert.Contains("cannot be overridden", error.Message, StringComparison.Ordinal);
        Assert.Contains(because, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("icc", "\"false\"", "takes true or false")]
    [InlineData("no-new-privileges", "0", "takes true or false")]
    [InlineData("ip", "\"0.0.0.0/0\"", "takes an IPv4 address")]
    [InlineData("ip", "\"::\"", "takes an IPv4 address")]
    [InlineData("userns-remap", "\"root\"", "takes \"default\"")]
    [InlineData("log-opts", """{"max-file": 3}""", "string values")]
    [InlineData("log-level", "\"verbose\"", "debug, info")]
    [InlineData("insecure-registries", "\"registry:5000\"", "list of strings")]
    [InlineData("default-ulimits", """{"nofile": {"Name": "nofile", "Soft": 10, "Hard": 5}}""", "n <= m")]
    [InlineData("default-ulimits", """{"nofile": {"Name": "nproc", "Soft": 1, "Hard": 5}}""", "Name")]
    [InlineData("data-root", "\"relative/dir\"", "absolute path")]
    [InlineData("firewall-backend", "\"pf\"", "\"nftables\"")]
    [InlineData("max-concurrent-downloads", "\"3\"", "integer")]
    public void Validate_ValueOfWrongShape_IsRefusedAtValuePath(string key, string json, string expected)
    {
        var errors = DaemonConfiguration.Validate(new RuntimeSettings { DaemonOverrides = [Override("live-restore", "true"), Override(key, json)] });

        var error = Assert.Single(errors);
        Assert.Equal("provisioner:runtime.daemonOverrides[1].value", error.Path);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("icc-typo")]
    [InlineData("graph")]
    public void Validate_KeyDockerDoesNotKnow_IsRefused(string key)
    {
        var error = Assert.Single(DaemonConfiguration.Validate(new RuntimeSettings { DaemonOverrides = [Override(key, "true")] }));

        Assert.Equal("provisioner:runtime.daemonOverrides[0].key", error.Path);
        Assert.Contains("dockerd refuses to start", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ICC")]
    [InlineData("icc\n")]
    [InlineData("\"icc\": false, \"iptables")]
    [InlineData("")]
    public void Validate_KeyNotOfDaemonJsonShape_IsRefused(string key)
    {
        var error = Assert.Single(DaemonConfiguration.Validate(new RuntimeSettings { DaemonOverrides = [Override(key, "true")] }));

        Assert.Equal("provisioner:runtime.daemonOverrides[0].key", error.Path);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void Validate_BlankReasonAndDuplicateKey_AreRefused()
    {
        var errors = DaemonConfiguration.Validate(new RuntimeSettings
        {
            DaemonOverrides = [Override("icc", "true", "  "), Override("icc", "true")],
        });

        Assert.Equal(["provisioner:runtime.daemonOverrides[0].reason", "provisioner:runtime.daemonOverrides[1].key"], errors.Select(e => e.Path));
    }

    [Fact]
    public void Build_RefusedOverride_ThrowsWithFieldPath()
    {
        var e = Assert.Throws<RenderModelException>(() => Build(Override("iptables", "false")));

        Assert.Equal("provisioner:runtime.daemonOverrides[0].key", e.FieldPath);
    }

    public static TheoryData<string> HostileStrings => new()
    {
        "\"], \"iptables\": false, \"x\": [\"",
        "mirror\n\"icc\": true",
        "\\u0022,\"hosts\":[\"tcp://0.0.0.0\"]",
        "\0\u2028\u2029\uFEFF<script>",
        "https://mirror.example.net/\"}",
    };

    [Theory]
    [MemberData(nameof(HostileStrings))]
    public void Build_HostileStringValues_StayDataAndChangeNoOtherKey(string hostile)
    {
        var config = Build(Override("registry-mirrors", JsonSerializer.Serialize(new[] { hostile })), Override("labels", JsonSerializer.Serialize(new[] { hostile })));

        var json = Parse(config);
        Assert.Equal(hostile, json.GetProperty("registry-mirrors")[0].GetString());
        Assert.Equal(hostile, json.GetProperty("labels")[0].GetString());
        Assert.True(json.GetProperty("iptables").GetBoolean());
        Assert.False(json.GetProperty("icc").GetBoolean());
        Assert.False(json.TryGetProperty("hosts", out _));
        Assert.Equal(config.Settings.Count, json.EnumerateObject().Count());
    }

    [Fact]
    public void RendererValidate_StackLoadedWithLockedOverride_ReportsItsPath()
    {
        var yaml = HardeningSamples.SandboxYaml + """

              provisioner:runtime:
                daemonOverrides:
                  - key: iptables
                    value: false
                    reason: we manage the firewall ourselves
            """;
        var stack = StackLoader.Parse(yaml, "dev", "sandbox.yaml");

        var error = Assert.Single(HardeningRenderer.Validate(stack));
        Assert.Equal("provisioner:runtime.daemonOverrides[0].key", error.Path);
        Assert.Throws<RenderModelException>(() => HardeningSamples.Render(stack, "box"));
    }
}
