using Provisioner.Core.Hardening;

namespace Provisioner.Core.Tests.Hardening;

/// <summary>
/// The rendered firewall loaded into real nftables/iptables-nft in network namespaces that simulate a
/// Docker 20.10 node (see <see cref="SimulatedNode"/>), proven with real TCP connections.
/// A dropped connection times out (2 s) rather than being refused.
/// </summary>
public sealed class FirewallNetnsTests
{
    [Fact]
    public async Task DockerOnly_WithoutOurRules_PublishedPortsAreOpenToEveryone()
    {
        // The control: the simulation publishes like Docker, so what blocks in the other tests is our rules.
        await using var node = await SimulatedNode.CreateAsync();
        await node.StartDockerAsync();

        Assert.Equal("container", await node.ConnectAsync(node.Stranger, SimulatedNode.PublishedWithPolicy));
        Assert.Equal("container", await node.ConnectAsync(node.Stranger, SimulatedNode.PublishedWithoutPolicy));
        Assert.Equal("container", await node.ConnectToContainerAsync(node.Stranger));
        Assert.Equal("ssh", await node.ConnectAsync(node.Stranger, 22));
    }

    [Fact]
    public async Task FullFirewall_PublishedPort_ReachableFromAllowedSourceOnly()
    {
        await using var node = await SimulatedNode.CreateAsync();
        await node.LoadTableAsync();
        await node.ApplyDockerUserAsync();
        await node.StartDockerAsync();

        Assert.Equal("container", await node.ConnectAsync(node.Admin, SimulatedNode.PublishedWithPolicy));
        Assert.Null(await node.ConnectExpectingDropAsync(node.Stranger, SimulatedNode.PublishedWithPolicy));
        Assert.Null(await node.ConnectExpectingDropAsync(node.Admin, SimulatedNode.PublishedWithoutPolicy));
        Assert.Null(await node.ConnectToContainerExpectingDropAsync(node.Admin));
    }

    [Fact]
    public async Task FullFirewall_Ssh_ReachableFromAdminNetworkOnly()
    {
        await using var node = await SimulatedNode.CreateAsync();
        await node.StartDockerAsync();
        await node.LoadTableAsync();
        await node.ApplyDockerUserAsync();

        Assert.Equal("ssh", await node.ConnectAsync(node.Admin, 22));
        Assert.Null(await node.ConnectExpectingDropAsync(node.Stranger, 22));
        Assert.Null(await node.ConnectExpectingDropAsync(node.Admin, 2222));
    }

    [Fact]
    public async Task OurTableAlone_EnforcesThePublishedPortPolicyBeforeDocker()
    {
        await using var node = await SimulatedNode.CreateAsync();
        await node.StartDockerAsync();
        await node.LoadTableAsync();

        Assert.Equal("container", await node.ConnectAsync(node.Admin, SimulatedNode.PublishedWithPolicy));
        Assert.Null(await node.ConnectExpectingDropAsync(node.Stranger, SimulatedNode.PublishedWithPolicy));
        Assert.Null(await node.ConnectExpectingDropAsync(node.Admin, SimulatedNode.PublishedWithoutPolicy));
        Assert.Null(await node.ConnectToContainerExpectingDropAsync(node.Admin));
    }

    [Fact]
    public async Task DockerUserAlone_EnforcesThePublishedPortPolicyInDockersChain()
    {
        await using var node = await SimulatedNode.CreateAsync();
        await node.StartDockerAsync();
        await node.ApplyDockerUserAsync();

        var dockerUser = await node.Node.ExecAsync("iptables", "-S", "DOCKER-USER");
        Assert.StartsWith("-N DOCKER-USER\n-A DOCKER-USER -j PROVISIONER-PUBLISHED\n", dockerUser, StringComparison.Ordinal);
        Assert.Equal("container", await node.ConnectAsync(node.Admin, SimulatedNode.PublishedWithPolicy));
        Assert.Null(await node.ConnectExpectingDropAsync(node.Stranger, SimulatedNode.PublishedWithPolicy));
        Assert.Null(await node.ConnectExpectingDropAsync(node.Admin, SimulatedNode.PublishedWithoutPolicy));
        Assert.Null(await node.ConnectToContainerExpectingDropAsync(node.Admin));
    }

    [Fact]
    public async Task ReloadTwice_LeavesDockersTablesAndChainsAloneAndOursOnce()
    {
        await using var node = await SimulatedNode.CreateAsync();
        await node.StartDockerAsync();
        var filterBefore = await node.DockerRulesAsync("filter");
        var natBefore = await node.DockerRulesAsync("nat");

        for (var i = 0; i < 2; i++)
        {
            await node.LoadTableAsync();
            await node.ApplyDockerUserAsync();
        }

        Assert.Equal(filterBefore, await node.DockerRulesAsync("filter"));
        Assert.Equal(natBefore, await node.DockerRulesAsync("nat"));
        var tables = await node.Node.ExecAsync("nft", "list", "tables");
        Assert.Contains("table ip filter", tables, StringComparison.Ordinal);
        Assert.Contains("table ip nat", tables, StringComparison.Ordinal);
        Assert.Single(tables.Split('\n'), l => l == "table inet provisioner");
        var dockerUser = (await node.Node.ExecAsync("iptables", "-S", "DOCKER-USER")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["-N DOCKER-USER", "-A DOCKER-USER -j PROVISIONER-PUBLISHED", "-A DOCKER-USER -j RETURN"], dockerUser);
        var ours = (await node.Node.ExecAsync("iptables", "-S", "PROVISIONER-PUBLISHED")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(ours, l => l.Contains("--ctorigdstport 8080", StringComparison.Ordinal));
        var chains = await node.Node.ExecAsync("nft", "list", "table", "inet", "provisioner");
        Assert.Single(chains.Split('\n'), l => l.Contains("ct original proto-dst 8080", StringComparison.Ordinal));

        Assert.Equal("container", await node.ConnectAsync(node.Admin, SimulatedNode.PublishedWithPolicy));
        Assert.Null(await node.ConnectExpectingDropAsync(node.Stranger, SimulatedNode.PublishedWithPolicy));
    }

    [Fact]
    public async Task FirewallFirstThenDocker_ThenDockerRestart_PolicyHoldsThroughoutAndComesBackInDockerUser()
    {
        // Boot order: provisioner-firewall.service runs before docker.service and creates DOCKER-USER itself.
        await using var node = await SimulatedNode.CreateAsync();
        await node.LoadTableAsync();
        await node.ApplyDockerUserAsync();
        await node.StartDockerAsync();
        Assert.StartsWith("-N DOCKER-USER\n-A DOCKER-USER -j PROVISIONER-PUBLISHED\n", await node.Node.ExecAsync("iptables", "-S", "DOCKER-USER"), StringComparison.Ordinal);
        Assert.Null(await node.ConnectExpectingDropAsync(node.Stranger, SimulatedNode.PublishedWithPolicy));

        // Docker restarts and rebuilds its chains from scratch: our table still stands in front of them ...
        await node.RestartDockerAsync();
        Assert.DoesNotContain("PROVISIONER-PUBLISHED", await node.Node.ExecAsync("iptables", "-S", "DOCKER-USER"), StringComparison.Ordinal);
        Assert.Null(await node.ConnectExpectingDropAsync(node.Stranger, SimulatedNode.PublishedWithPolicy));
        Assert.Equal("container", await node.ConnectAsync(node.Admin, SimulatedNode.PublishedWithPolicy));

        // ... and provisioner-docker-user.service (PartOf=docker.service) puts the DOCKER-USER layer back.
        await node.ApplyDockerUserAsync();
        await node.Node.ExecAsync("nft", "delete", "table", "inet", "provisioner");
        Assert.Null(await node.ConnectExpectingDropAsync(node.Stranger, SimulatedNode.PublishedWithPolicy));
        Assert.Equal("container", await node.ConnectAsync(node.Admin, SimulatedNode.PublishedWithPolicy));
    }

    [Fact]
    public async Task RenderedRulesets_ForEverySample_LoadIntoNftablesAndIptables()
    {
        Netns.RequirePrerequisites();
        await using var ns = await Netns.CreateAsync($"hd-{Netns.NewTag()}-chk");
        var dir = Directory.CreateTempSubdirectory("hd-check-");
        try
        {
            foreach (var (stack, node) in new[] { (HardeningSamples.Sandbox(), "box"), (HardeningSamples.Cluster(), "cp-1"), (HardeningSamples.Cluster(), "worker-1"), (HardeningSamples.ClusterWithVip(), "cp-1") })
            {
                var bundle = HardeningSamples.Render(stack, node);
                var nft = Path.Combine(dir.FullName, "provisioner.nft");
                var rules = Path.Combine(dir.FullName, "docker-user.rules");
                var script = Path.Combine(dir.FullName, "docker-user-policy");
                await File.WriteAllTextAsync(nft, bundle.FindFile(HardeningPaths.Ruleset)!.Content, TestContext.Current.CancellationToken);
                await File.WriteAllTextAsync(rules, bundle.FindFile(HardeningPaths.DockerUserRules)!.Content, TestContext.Current.CancellationToken);
                await File.WriteAllTextAsync(script, bundle.FindFile(HardeningPaths.DockerUserPolicy)!.Content, TestContext.Current.CancellationToken);

                await ns.ExecAsync("nft", "-f", nft);
                await ns.ExecAsync("sh", script, rules);
                var listed = await ns.ExecAsync("nft", "list", "table", "inet", "provisioner");
                Assert.Contains("policy drop", listed, StringComparison.Ordinal);
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
