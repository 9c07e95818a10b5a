using Provisioner.Core.Stacks;
using static Provisioner.Core.Tests.Stacks.StackYaml;

namespace Provisioner.Core.Tests.Stacks;

public sealed class NodeDefinitionHashTests
{
    private static string HashOfBox(params (string Key, string? Body)[] overrides)
    {
        var stack = Load(overrides);
        return NodeDefinitionHash.Compute(stack, stack.FindNode("box")!);
    }

    [Fact]
    public void Compute_IsStableHexSha256()
    {
        var hash = HashOfBox();
        Assert.Matches("^[0-9a-f]{64}$", hash);
        Assert.Equal(hash, HashOfBox());
    }

    [Fact]
    public void CanonicalForm_IsCompactJsonInFixedOrder()
    {
        var stack = Load();
        Assert.Equal(
            """{"v":1,"stack":"test","node":"box","pool":"box","role":"sandbox","cpus":1,"memoryMiB":1024,"diskGiB":4,"diskBus":"nvme","network":"net","cidr":"10.1.0.0/24","image":"debian-12","recipe":"debian-12"}""",
            NodeDefinitionHash.CanonicalForm(stack, stack.FindNode("box")!));
    }

    [Fact]
    public void Compute_ChangesWithDefiningFields()
    {
        var baseline = HashOfBox();
        const string Cp = "- {name: cp, role: control-plane, count: 2, cpus: 2, memoryMiB: 2048, diskGiB: 10, network: net}\n";
        Assert.NotEqual(baseline, HashOfBox(("nodes", Cp + "- {name: box, role: sandbox, cpus: 2, memoryMiB: 1024, diskGiB: 4, diskBus: nvme, network: net}")));
        Assert.NotEqual(baseline, HashOfBox(("nodes", Cp + "- {name: box, role: sandbox, cpus: 1, memoryMiB: 1024, diskGiB: 4, diskBus: virtio, network: net}")));
        Assert.NotEqual(baseline, HashOfBox(("image", "name: debian-13")));
        Assert.NotEqual(baseline, HashOfBox(("networks", "- {name: net, cidr: 10.2.0.0/24, mode: nat}")));
    }

    [Fact]
    public void Compute_IgnoresPlacementAndGuestConfiguration()
    {
        var baseline = HashOfBox();
        const string Cp = "- {name: cp, role: control-plane, count: 2, cpus: 2, memoryMiB: 2048, diskGiB: 10, network: net}\n";
        Assert.Equal(baseline, HashOfBox(("nodes", Cp + "- {name: box, role: sandbox, cpus: 1, memoryMiB: 1024, diskGiB: 4, diskBus: nvme, network: net, host: h1}")));
        Assert.Equal(baseline, HashOfBox(("access", "user: admin2\nadminCidrs: [10.0.0.0/8]")));
        Assert.Equal(baseline, HashOfBox(("firewall", "publishedPorts: [{port: 80, from: [0.0.0.0/0]}]")));
    }

    [Fact]
    public void Compute_NodeOfAnotherStack_Throws()
    {
        var stack = Load();
        var stranger = stack.Nodes[0] with { Network = "elsewhere" };
        Assert.Throws<ArgumentException>(() => NodeDefinitionHash.Compute(stack, stranger));
    }
}
