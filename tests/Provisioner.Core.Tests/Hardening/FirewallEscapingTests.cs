using Provisioner.Core.Hardening;
using Provisioner.Core.Stacks;
using Provisioner.Core.Templates;

namespace Provisioner.Core.Tests.Hardening;

/// <summary>No value other than a typed firewall token can reach an nftables or iptables rule.</summary>
public sealed class FirewallEscapingTests
{
    public static TheoryData<string> HostileStrings => new()
    {
        "10.0.0.0/8",
        "10.0.0.0/8 accept; flush ruleset",
        "22 accept\n\t\tip saddr 0.0.0.0/0 tcp dport 22",
        "\" ; drop",
        "-j ACCEPT",
        "",
    };

    [Theory]
    [MemberData(nameof(HostileStrings))]
    public void Nftables_String_IsRefusedWhateverItHolds(string value)
    {
        var e = Assert.Throws<TemplateRenderException>(() => FirewallEscaping.Nftables(value));

        Assert.Contains("cannot be written into an nftables rule", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [MemberData(nameof(HostileStrings))]
    public void Iptables_String_IsRefusedWhateverItHolds(string value)
    {
        Assert.Throws<TemplateRenderException>(() => FirewallEscaping.Iptables(value));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(-1)]
    [InlineData(1.5)]
    public void Nftables_OtherValues_AreRefused(object value)
    {
        Assert.Throws<TemplateRenderException>(() => FirewallEscaping.Nftables(value));
    }

    [Fact]
    public void Nftables_Null_IsRefusedRatherThanWrittenEmpty()
    {
        Assert.Throws<TemplateRenderException>(() => FirewallEscaping.Nftables(null));
    }

    [Fact]
    public void Tokens_WriteTheirLanguageForm()
    {
        var set = FirewallToken.NetworkSet([Ipv4Cidr.Parse("10.0.0.0/8"), Ipv4Cidr.Parse("192.0.2.7/32")]);

        Assert.Equal("{ 10.0.0.0/8, 192.0.2.7 }", FirewallEscaping.Nftables(set));
        Assert.Equal("2379-2380", FirewallEscaping.Nftables(FirewallToken.Ports(new PortRange(2379, 2380))));
        Assert.Equal("2379:2380", FirewallEscaping.Iptables(FirewallToken.Ports(new PortRange(2379, 2380))));
        Assert.Equal("udp", FirewallEscaping.Iptables(FirewallToken.Protocol(TransportProtocol.Udp)));
        Assert.Equal("198.51.100.0/24", FirewallEscaping.Iptables(FirewallToken.Network(Ipv4Cidr.Parse("198.51.100.0/24"))));
        Assert.Throws<TemplateRenderException>(() => FirewallEscaping.Iptables(set));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(65536)]
    public void Port_OutOfRange_IsRefused(int port)
    {
        Assert.Throws<TemplateRenderException>(() => FirewallToken.Port(port));
        Assert.Throws<TemplateRenderException>(() => FirewallToken.Ports(new PortRange(1, port)));
    }

    [Fact]
    public void Protocol_Undefined_IsRefused()
    {
        Assert.Throws<TemplateRenderException>(() => FirewallToken.Protocol((TransportProtocol)42));
    }

    [Fact]
    public void PublicRender_FirewallTemplateWithStringModel_FailsInsteadOfWritingTheString()
    {
        var model = new Dictionary<string, object?>
        {
            ["input"] = new[] { new Dictionary<string, object?> { ["protocol"] = "tcp", ["ports"] = "22", ["any_source"] = false, ["sources"] = "0.0.0.0/0" } },
            ["published"] = Array.Empty<object>(),
            ["kubernetes"] = false,
            ["pod_cidr"] = null,
        };

        var e = Assert.Throws<TemplateRenderException>(() => HardeningSamples.Templates().Render("firewall/provisioner.nft.sbn", model));

        Assert.Contains("cannot be written into an nftables rule", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RenderedRuleset_NeverFlushesTheRuleset()
    {
        foreach (var (stack, node) in new[] { (HardeningSamples.Sandbox(), "box"), (HardeningSamples.Cluster(), "cp-1") })
        {
            var ruleset = HardeningSamples.Render(stack, node).FindFile(HardeningPaths.Ruleset)!.Content;

            var statements = ruleset.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
            Assert.DoesNotContain(statements, s => s.Contains("flush", StringComparison.Ordinal));
            Assert.Equal("table inet provisioner", statements[0]);
            Assert.Equal("delete table inet provisioner", statements[1]);
            Assert.All(statements.Where(s => s.StartsWith("table ", StringComparison.Ordinal) || s.StartsWith("delete ", StringComparison.Ordinal)),
                s => Assert.Contains("inet provisioner", s, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void StaticFile_PathOutsideTemplates_IsRefused()
    {
        var templates = HardeningSamples.Templates();

        Assert.Throws<TemplateRenderException>(() => templates.ReadStaticFile("../README.md"));
        Assert.Throws<TemplateRenderException>(() => templates.ReadStaticFile("/etc/passwd"));
        Assert.Throws<TemplateRenderException>(() => templates.ReadStaticFile("firewall/provisioner.nft.sbn"));
    }
}
