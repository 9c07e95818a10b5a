using Provisioner.Core.Stacks;
using static Provisioner.Core.Tests.Stacks.StackYaml;

namespace Provisioner.Core.Tests.Stacks;

public sealed class NodeAddressingTests
{
    private static StackDefinition Workers(int count, string cidr = "10.1.0.0/24", string extra = "") => Load(
        ("networks", $"- {{name: net, cidr: {cidr}, mode: nat}}"),
        ("nodes", $"- {{name: w, role: worker, count: {count}, cpus: 1, memoryMiB: 1024, diskGiB: 4, network: net}}{extra}"));

    [Fact]
    public void Assign_SameStack_SameAddresses()
    {
        var a = NodeAddressing.Assign(Workers(10));
        var b = NodeAddressing.Assign(Workers(10));
        Assert.Equal(a.OrderBy(p => p.Key), b.OrderBy(p => p.Key));
    }

    [Fact]
    public void Assign_Addresses_UniqueInStaticRangeWithQemuPrefix()
    {
        var stack = Workers(100);
        var addresses = NodeAddressing.Assign(stack);
        Assert.Equal(100, addresses.Values.Select(a => a.Ipv4Address).Distinct().Count());
        Assert.Equal(100, addresses.Values.Select(a => a.MacAddress).Distinct().Count());
        Assert.All(addresses.Values, a =>
        {
            Assert.True(stack.Networks[0].StaticRange.Contains(a.Ipv4Address));
            Assert.NotEqual(stack.Networks[0].Gateway, a.Ipv4Address);
            Assert.Matches("^52:54:00:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$", a.MacAddress);
            Assert.Equal("net", a.Network);
        });
    }

    [Fact]
    public void Assign_FullNetwork_UsesEverySlot()
    {
        // A /26 has 30 reservable addresses (.2-.31); 30 nodes must fill it without failing.
        var addresses = NodeAddressing.Assign(Workers(30, "10.1.0.0/26"));
        Assert.Equal(
            Enumerable.Range(2, 30).Select(i => $"10.1.0.{i}"),
            addresses.Values.Select(a => a.Ipv4Address).Order().Select(a => a.ToString()));
    }

    [Fact]
    public void Assign_AddingAndRemovingNodes_KeepsAddressesOfNodesFedBack()
    {
        var before = NodeAddressing.Assign(Workers(40, "10.1.0.0/25"));

        var grown = NodeAddressing.Assign(Workers(55, "10.1.0.0/25"), before);
        foreach (var (node, addresses) in before)
        {
            Assert.Equal(addresses, grown[node]);
        }

        var shrunk = NodeAddressing.Assign(Workers(20, "10.1.0.0/25"), grown);
        foreach (var (node, addresses) in shrunk)
        {
            Assert.Equal(grown[node], addresses);
        }
    }

    [Fact]
    public void Assign_WithoutExisting_MostAddressesSurviveAddingANode()
    {
        // Hash-based: without read-back addresses only nodes that collided with the newcomer can move.
        var before = NodeAddressing.Assign(Workers(10));
        var after = NodeAddressing.Assign(Workers(11));
        var unchanged = before.Count(p => after[p.Key] == p.Value);
        Assert.True(unchanged >= 9, $"{unchanged} of 10 kept");
        // 10 MACs in 2^24 slots do not collide, so each is its preferred one.
        Assert.All(before, p => Assert.Equal(NodeAddressing.PreferredMacAddress("test", p.Key), p.Value.MacAddress));
    }

    [Fact]
    public void Assign_MacDependsOnStackAndNode()
    {
        Assert.Equal(NodeAddressing.PreferredMacAddress("dev", "a"), NodeAddressing.PreferredMacAddress("dev", "a"));
        Assert.NotEqual(NodeAddressing.PreferredMacAddress("dev", "a"), NodeAddressing.PreferredMacAddress("prod", "a"));
        Assert.NotEqual(NodeAddressing.PreferredMacAddress("dev", "a"), NodeAddressing.PreferredMacAddress("dev", "b"));
    }

    [Fact]
    public void Assign_ExistingAddressOutsideNetworkOrTaken_Reassigned()
    {
        var stack = Workers(3);
        var fresh = NodeAddressing.Assign(stack);
        var existing = new Dictionary<string, NodeAddresses>
        {
            ["w-1"] = fresh["w-1"] with { Ipv4Address = Ipv4Address.Parse("10.9.9.9") },
            ["w-2"] = fresh["w-2"] with { Ipv4Address = Ipv4Address.Parse("10.1.0.1") },
            ["w-3"] = fresh["w-3"] with { Ipv4Address = Ipv4Address.Parse("10.1.0.200"), MacAddress = "02:00:00:00:00:01" },
            ["gone"] = fresh["w-1"],
        };

        var assigned = NodeAddressing.Assign(stack, existing);

        Assert.All(assigned.Values, a => Assert.True(stack.Networks[0].StaticRange.Contains(a.Ipv4Address)));
        Assert.NotEqual(Ipv4Address.Parse("10.1.0.1"), assigned["w-2"].Ipv4Address);
        Assert.StartsWith("52:54:00:", assigned["w-3"].MacAddress, StringComparison.Ordinal);
        Assert.Equal(3, assigned.Values.Select(a => a.Ipv4Address).Distinct().Count());
    }

    [Fact]
    public void Assign_ExistingMoveToOtherNetwork_GetsNewAddress()
    {
        var stack = Workers(1);
        var existing = new Dictionary<string, NodeAddresses>
        {
            ["w-1"] = new() { Node = "w-1", Network = "old", MacAddress = "52:54:00:aa:bb:cc", Ipv4Address = Ipv4Address.Parse("10.1.0.50") },
        };
        var assigned = NodeAddressing.Assign(stack, existing)["w-1"];
        Assert.Equal("52:54:00:aa:bb:cc", assigned.MacAddress);
        Assert.Equal(NodeAddressing.Assign(stack)["w-1"].Ipv4Address, assigned.Ipv4Address);
    }

    [Fact]
    public void Assign_ControlPlaneVip_NeverHandedToANode()
    {
        var stack = Load(
            ("networks", "- {name: net, cidr: 10.1.0.0/27, mode: nat}"),
            ("nodes", """
                - {name: cp, role: control-plane, count: 2, cpus: 1, memoryMiB: 1024, diskGiB: 4, network: net}
                - {name: w, role: worker, count: 11, cpus: 1, memoryMiB: 1024, diskGiB: 4, network: net}
                """),
            ("kubernetes", "version: 1.33.4\ncontrolPlaneEndpoint: 10.1.0.9"));

        // .2-.15 minus the VIP leaves 13 addresses for 13 nodes.
        var addresses = NodeAddressing.Assign(stack).Values.Select(a => a.Ipv4Address.ToString()).Order().ToList();
        Assert.Equal(13, addresses.Count);
        Assert.DoesNotContain("10.1.0.9", addresses);
        Assert.DoesNotContain("10.1.0.1", addresses);
    }
}
