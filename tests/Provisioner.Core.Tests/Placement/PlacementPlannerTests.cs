using Provisioner.Core.Placement;
using Provisioner.Core.Stacks;

namespace Provisioner.Core.Tests.Placement;

public sealed class PlacementPlannerTests
{
    private const ulong GiB = 1024UL * 1024 * 1024;

    private static HostDefinition Host(string name, string region = "oslo", StorageMedia media = StorageMedia.Nvme, string? zone = null, HostLimits? limits = null) => new()
    {
        Name = name,
        Uri = LibvirtUri.TryParse("test:///default", out var uri, out _) ? uri! : throw new InvalidOperationException(),
        Region = region,
        Zone = zone,
        Pool = new StoragePoolDefinition { Name = "p", Path = "/srv/p", Media = media },
        Limits = limits,
    };

    private static NodeDefinition Node(string name, NodeRole role = NodeRole.Worker, long memoryMiB = 1024, int cpus = 1, DiskBus bus = DiskBus.Virtio, string? host = null, string? region = null) => new()
    {
        Name = name,
        Pool = name,
        Role = role,
        Cpus = cpus,
        MemoryMiB = memoryMiB,
        DiskGiB = 4,
        DiskBus = bus,
        Network = "net",
        Host = host,
        Region = region,
    };

    private static StackDefinition Stack(IEnumerable<HostDefinition> hosts, IEnumerable<NodeDefinition> nodes, bool antiAffinity = true) => new()
    {
        Name = "t",
        Hosts = hosts.ToList(),
        Networks = [new NetworkDefinition { Name = "net", Cidr = Ipv4Cidr.Parse("10.0.0.0/16"), Mode = NetworkMode.Nat, Gateway = Ipv4Address.Parse("10.0.0.1") }],
        Image = new ImageDefinition { Name = "debian-12", Recipe = "debian-12" },
        NodePools = [],
        Nodes = nodes.ToList(),
        Placement = new PlacementRules { Region = "oslo", ControlPlaneAntiAffinity = antiAffinity },
        Access = new AccessSettings { User = "ops", SshPublicKeys = [], AdminCidrs = [Ipv4Cidr.Parse("10.0.0.0/16")] },
        Virtualization = VirtualizationSettings.Default,
        Runtime = RuntimeSettings.Default,
        Firewall = FirewallSettings.Default,
    };

    private static HostFacts Facts(string host, ulong memoryGiB = 64, int cpus = 32) => new(host, memoryGiB * GiB, cpus);

    [Fact]
    public void Plan_SameInputsInAnyOrder_SamePlan()
    {
        var hosts = Enumerable.Range(1, 4).Select(i => Host($"h{i}", zone: $"z{i % 2}")).ToList();
        var nodes = Enumerable.Range(1, 20).Select(i => Node($"n{i:00}", memoryMiB: 512 * ((i % 4) + 1), cpus: (i % 3) + 1))
            .Append(Node("cp-1", NodeRole.ControlPlane)).Append(Node("cp-2", NodeRole.ControlPlane)).ToList();
        var facts = hosts.Select((h, i) => Facts(h.Name, memoryGiB: 8 + (ulong)i)).ToList();

        var first = PlacementPlanner.Plan(Stack(hosts, nodes), facts, []);
        var random = new Random(42);
        for (var round = 0; round < 5; round++)
        {
            var shuffled = PlacementPlanner.Plan(
                Stack(hosts.OrderBy(_ => random.Next()), nodes.OrderBy(_ => random.Next())),
                facts.OrderBy(_ => random.Next()).ToList(),
                []);
            Assert.Equal(first.Assignments, shuffled.Assignments);
        }

        Assert.True(first.IsComplete);
        Assert.Equal(22, first.Assignments.Count);
        Assert.Equal(first.Assignments.OrderBy(a => a.Node, StringComparer.Ordinal), first.Assignments);
    }

    [Fact]
    public void Plan_ExistingNodes_NeverMove()
    {
        var hosts = new[] { Host("h1"), Host("h2"), Host("h3") };
        var nodes = Enumerable.Range(1, 6).Select(i => Node($"n{i}")).ToList();
        var facts = new[] { Facts("h1", 4), Facts("h2", 64), Facts("h3", 64) };

        // n1 and n2 run on the host with the least memory; a fresh plan would not put them there.
        var plan = PlacementPlanner.Plan(Stack(hosts, nodes), facts, [new ExistingNode("n1", "h1"), new ExistingNode("n2", "h1")]);

        Assert.Equal("h1", plan.HostOf("n1"));
        Assert.Equal("h1", plan.HostOf("n2"));
        Assert.True(plan.Assignments.Single(a => a.Node == "n1").Existing);
        Assert.All(plan.Assignments.Where(a => a.Node is not ("n1" or "n2")), a => Assert.False(a.Existing));
        Assert.Empty(plan.Warnings);
    }

    [Fact]
    public void Plan_AddingNodes_KeepsEarlierPlacementWhenFedBack()
    {
        var hosts = new[] { Host("h1"), Host("h2"), Host("h3") };
        var facts = new[] { Facts("h1"), Facts("h2"), Facts("h3") };
        var before = PlacementPlanner.Plan(Stack(hosts, Enumerable.Range(1, 5).Select(i => Node($"n{i}"))), facts, []);
        var existing = before.Assignments.Select(a => new ExistingNode(a.Node, a.Host)).ToList();

        var after = PlacementPlanner.Plan(Stack(hosts, Enumerable.Range(1, 8).Select(i => Node($"n{i}", memoryMiB: i * 1024))), facts, existing);

        foreach (var a in before.Assignments)
        {
            Assert.Equal(a.Host, after.HostOf(a.Node));
        }

        Assert.Equal(8, after.Assignments.Count);
    }

    [Fact]
    public void Plan_ExistingNodeInWrongRegion_KeptAndWarned()
    {
        var hosts = new[] { Host("osl-1"), Host("fra-1", region: "frankfurt") };
        var plan = PlacementPlanner.Plan(Stack(hosts, [Node("n1")]), [Facts("osl-1"), Facts("fra-1")], [new ExistingNode("n1", "fra-1")]);

        Assert.Equal("fra-1", plan.HostOf("n1"));
        var warning = Assert.Single(plan.Warnings);
        Assert.Contains("runs in region 'frankfurt', but must stay in 'oslo'", warning.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_ExistingNodeOnUndeclaredHost_KeptAndWarned()
    {
        var plan = PlacementPlanner.Plan(Stack([Host("h1")], [Node("n1")]), [Facts("h1")], [new ExistingNode("n1", "gone"), new ExistingNode("deleted", "h1")]);
        Assert.Equal("gone", plan.HostOf("n1"));
        Assert.Contains("no longer declares", Assert.Single(plan.Warnings).Reason, StringComparison.Ordinal);
        Assert.Single(plan.Assignments);
    }

    [Fact]
    public void Plan_RegionIsHard_FailureNamesEveryHostAndWhy()
    {
        var hosts = new[] { Host("fra-1", region: "frankfurt"), Host("osl-1"), Host("osl-2", media: StorageMedia.Ssd) };
        var facts = new[] { Facts("fra-1", 512), Facts("osl-1", 2), Facts("osl-2", 512) };
        var plan = PlacementPlanner.Plan(Stack(hosts, [Node("db", memoryMiB: 4096, bus: DiskBus.Nvme)]), facts, []);

        Assert.False(plan.IsComplete);
        Assert.Empty(plan.Assignments);
        var failure = Assert.Single(plan.Failures);
        Assert.Equal("db", failure.Node);
        Assert.Equal(
            [("fra-1", RejectionReason.WrongRegion), ("osl-1", RejectionReason.NotEnoughMemory), ("osl-2", RejectionReason.NotNvme)],
            failure.Rejections.Select(r => (r.Host, r.Reason)));
        Assert.Equal(
            "node 'db' (worker, 4096 MiB, 1 CPUs, nvme disk, region 'oslo') cannot be placed: "
            + "fra-1: wrong region 'frankfurt' (node must stay in 'oslo'); "
            + "osl-1: not enough free memory (needs 4096 MiB, has 2048 MiB); "
            + "osl-2: not nvme (pool 'p' is ssd)",
            failure.Reason);
    }

    [Fact]
    public void Plan_NodeRegionOverride_LandsOnlyInThatRegion()
    {
        var hosts = new[] { Host("fra-1", region: "frankfurt"), Host("osl-1") };
        var plan = PlacementPlanner.Plan(Stack(hosts, [Node("a", region: "frankfurt"), Node("b")]), [Facts("fra-1", 1), Facts("osl-1", 512)], []);
        Assert.Equal("fra-1", plan.HostOf("a"));
        Assert.Equal("osl-1", plan.HostOf("b"));
    }

    [Fact]
    public void Plan_ControlPlaneAntiAffinity_DistinctHostsOrFailure()
    {
        var hosts = new[] { Host("h1"), Host("h2") };
        var nodes = new[] { Node("cp-1", NodeRole.ControlPlane), Node("cp-2", NodeRole.ControlPlane), Node("cp-3", NodeRole.ControlPlane) };
        var plan = PlacementPlanner.Plan(Stack(hosts, nodes), [Facts("h1"), Facts("h2")], []);

        Assert.NotEqual(plan.HostOf("cp-1"), plan.HostOf("cp-2"));
        var failure = Assert.Single(plan.Failures);
        Assert.Equal("cp-3", failure.Node);
        Assert.All(failure.Rejections, r => Assert.Equal(RejectionReason.AntiAffinity, r.Reason));
        Assert.Contains("h1: anti-affinity: already runs control-plane node 'cp-", failure.Reason, StringComparison.Ordinal);

        var relaxed = PlacementPlanner.Plan(Stack(hosts, nodes, antiAffinity: false), [Facts("h1"), Facts("h2")], []);
        Assert.True(relaxed.IsComplete);
    }

    [Fact]
    public void Plan_ControlPlaneAntiAffinity_CountsExistingControlPlanes()
    {
        var hosts = new[] { Host("h1"), Host("h2") };
        var nodes = new[] { Node("cp-1", NodeRole.ControlPlane), Node("cp-2", NodeRole.ControlPlane) };
        // h1 has far more memory, but already runs cp-1.
        var plan = PlacementPlanner.Plan(Stack(hosts, nodes), [Facts("h1", 512), Facts("h2", 8)], [new ExistingNode("cp-1", "h1")]);
        Assert.Equal("h2", plan.HostOf("cp-2"));
    }

    [Fact]
    public void Plan_ControlPlanes_SpreadOverZonesFirst()
    {
        // h1 and h2 share zone a and have the most memory; the second control plane still goes to zone b.
        var hosts = new[] { Host("h1", zone: "a"), Host("h2", zone: "a"), Host("h3", zone: "b") };
        var nodes = new[] { Node("cp-1", NodeRole.ControlPlane), Node("cp-2", NodeRole.ControlPlane) };
        var plan = PlacementPlanner.Plan(Stack(hosts, nodes), [Facts("h1", 100), Facts("h2", 90), Facts("h3", 10)], []);
        Assert.Equal("h1", plan.HostOf("cp-1"));
        Assert.Equal("h3", plan.HostOf("cp-2"));
    }

    [Fact]
    public void Plan_Capacity_SubtractsWhatThePlanAlreadyPutThere()
    {
        var hosts = new[] { Host("h1") };
        var nodes = new[] { Node("a", memoryMiB: 3072, cpus: 2), Node("b", memoryMiB: 3072, cpus: 1), Node("c", memoryMiB: 512, cpus: 2) };
        var plan = PlacementPlanner.Plan(Stack(hosts, nodes), [new HostFacts("h1", 7 * GiB, 4) { AllocatedCpus = 1 }], []);

        Assert.Equal("h1", plan.HostOf("a"));
        Assert.Equal("h1", plan.HostOf("b"));
        var failure = Assert.Single(plan.Failures);
        Assert.Equal("c", failure.Node);
        Assert.Equal("h1: not enough CPUs (needs 2, has 0 free)", failure.Rejections.Single().ToString());

        var memory = PlacementPlanner.Plan(Stack(hosts, [Node("a", memoryMiB: 4096), Node("b", memoryMiB: 4096)]), [Facts("h1", 7)], []);
        Assert.Equal("h1: not enough free memory (needs 4096 MiB, has 3072 MiB)", memory.Failures.Single().Rejections.Single().ToString());
    }

    [Fact]
    public void Plan_ReservedMemory_HeldBack()
    {
        var plan = PlacementPlanner.Plan(
            Stack([Host("h1")], [Node("a", memoryMiB: 1024)]),
            [Facts("h1", 1)],
            [],
            new PlacementOptions { ReservedMemoryBytesPerHost = 512 * 1024 * 1024 });
        Assert.Equal(RejectionReason.NotEnoughMemory, plan.Failures.Single().Rejections.Single().Reason);
    }

    [Fact]
    public void Plan_DeclaredLimits_CountExistingAndNewNodes()
    {
        var hosts = new[] { Host("h1", limits: new HostLimits { MemoryMiB = 3072 }), Host("h2") };
        var nodes = new[] { Node("a", memoryMiB: 2048), Node("b", memoryMiB: 2048) };
        var plan = PlacementPlanner.Plan(Stack(hosts, nodes), [Facts("h1", 512), Facts("h2", 8)], [new ExistingNode("a", "h1")]);
        Assert.Equal("h2", plan.HostOf("b"));
    }

    [Fact]
    public void Plan_NvmeNodes_OnlyOnNvmeHosts()
    {
        var hosts = new[] { Host("big-ssd", media: StorageMedia.Ssd), Host("small-nvme") };
        var plan = PlacementPlanner.Plan(
            Stack(hosts, [Node("fast", bus: DiskBus.Nvme), Node("plain")]),
            [Facts("big-ssd", 512), Facts("small-nvme", 4)],
            []);
        Assert.Equal("small-nvme", plan.HostOf("fast"));
        Assert.Equal("big-ssd", plan.HostOf("plain"));
    }

    [Fact]
    public void Plan_PinnedNode_OnlyOnItsHost()
    {
        var hosts = new[] { Host("h1"), Host("h2") };
        var plan = PlacementPlanner.Plan(Stack(hosts, [Node("pinned", host: "h2", memoryMiB: 2048)]), [Facts("h1", 512), Facts("h2", 1)], []);
        var failure = Assert.Single(plan.Failures);
        Assert.Equal([RejectionReason.NotPinnedHost, RejectionReason.NotEnoughMemory], failure.Rejections.Select(r => r.Reason));
    }

    [Fact]
    public void Plan_HostWithoutFacts_TakesNoNewNodes()
    {
        var plan = PlacementPlanner.Plan(Stack([Host("h1"), Host("h2")], [Node("a")]), [Facts("h2", 1)], []);
        Assert.Equal("h2", plan.HostOf("a"));
        var none = PlacementPlanner.Plan(Stack([Host("h1")], [Node("a")]), [], []);
        Assert.Equal(RejectionReason.NoFacts, none.Failures.Single().Rejections.Single().Reason);
    }

    [Fact]
    public void Plan_MostFreeMemoryWins_TiesByName()
    {
        var hosts = new[] { Host("b"), Host("a"), Host("c") };
        var plan = PlacementPlanner.Plan(Stack(hosts, [Node("n1"), Node("n2"), Node("n3")]), [Facts("a"), Facts("b"), Facts("c")], []);
        // Equal hosts: n1 goes to 'a', then 'a' has less free memory, so n2 goes to 'b', n3 to 'c'.
        Assert.Equal(["a", "b", "c"], plan.Assignments.Select(a => a.Host));
    }

    [Fact]
    public void Plan_DuplicateFacts_Throws() =>
        Assert.Throws<ArgumentException>(() => PlacementPlanner.Plan(Stack([Host("h1")], []), [Facts("h1"), Facts("h1")], []));

    [Fact]
    public void Plan_FiveHundredNodesOnTenHosts_AllPlacedBalancedAndDeterministic()
    {
        var hosts = Enumerable.Range(1, 10).Select(i => Host($"h{i:00}", zone: $"z{i % 3}")).ToList();
        var nodes = Enumerable.Range(1, 500)
            .Select(i => Node($"n{i:000}", role: i <= 3 ? NodeRole.ControlPlane : NodeRole.Worker, memoryMiB: 1024 * ((i % 4) + 1), cpus: (i % 2) + 1, bus: i % 5 == 0 ? DiskBus.Nvme : DiskBus.Virtio))
            .ToList();
        var facts = hosts.Select(h => Facts(h.Name, memoryGiB: 256, cpus: 128)).ToList();

        var plan = PlacementPlanner.Plan(Stack(hosts, nodes), facts, []);
        var again = PlacementPlanner.Plan(Stack(hosts, nodes), facts, []);

        Assert.True(plan.IsComplete, string.Join("\n", plan.Failures.Select(f => f.Reason)));
        Assert.Equal(500, plan.Assignments.Count);
        Assert.Equal(plan.Assignments, again.Assignments);
        var memoryPerHost = plan.Assignments.GroupBy(a => a.Host).Select(g => g.Sum(a => nodes.Single(n => n.Name == a.Node).MemoryMiB)).ToList();
        Assert.True(memoryPerHost.Max() - memoryPerHost.Min() <= 4096, "memory is spread evenly");
        Assert.Equal(3, plan.Assignments.Where(a => a.Node is "n001" or "n002" or "n003").Select(a => a.Host).Distinct().Count());
    }

    [Fact]
    public void Plan_OsloExample_ControlPlanesOnThreeHostsInThreeZones()
    {
        var stack = StackLoader.LoadFile(Path.Combine(Stacks.StackYaml.RepoRoot(), "stacks", "Pulumi.oslo.yaml"));
        var facts = stack.Hosts.Select(h => new HostFacts(h.Name, 128 * GiB, 48)).ToList();
        var plan = PlacementPlanner.Plan(stack, facts, []);

        Assert.True(plan.IsComplete);
        var controlPlaneHosts = stack.Nodes.Where(n => n.Role == NodeRole.ControlPlane).Select(n => plan.HostOf(n.Name)).ToList();
        Assert.Equal(3, controlPlaneHosts.Distinct().Count());
        Assert.Equal(3, plan.Assignments.Where(a => a.Node.StartsWith("worker", StringComparison.Ordinal)).Select(a => a.Host).Distinct().Count());
    }
}
