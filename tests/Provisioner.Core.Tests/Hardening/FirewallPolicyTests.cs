using Provisioner.Core.Hardening;
using Provisioner.Core.Stacks;
using Provisioner.Core.Templates;

namespace Provisioner.Core.Tests.Hardening;

public sealed class FirewallPolicyTests
{
    private static Ipv4Cidr C(string text) => Ipv4Cidr.Parse(text);

    private static FirewallPolicy Policy(StackDefinition stack, string node) => FirewallPolicy.For(HardeningSamples.Target(stack, node));

    [Fact]
    public void For_Sandbox_AllowsSshFromAdminNetworksOnly()
    {
        var policy = Policy(HardeningSamples.Sandbox(), "box");

        var ssh = Assert.Single(policy.Input);
        Assert.Equal("ssh", ssh.Name);
        Assert.Equal(PortRange.Of(22), ssh.Ports);
        Assert.Equal(FirewallProtocol.Tcp, ssh.Protocol);
        Assert.Equal([C("10.77.0.0/24"), C("192.0.2.0/24")], ssh.Sources);
        Assert.False(policy.IsKubernetesNode);
    }

    [Fact]
    public void For_Sandbox_NormalisesPublishedSources()
    {
        var policy = Policy(HardeningSamples.Sandbox(), "box");

        Assert.Equal([8080, 9000, 5353], policy.Published.Select(p => p.Port));
        Assert.Equal([C("192.168.0.0/16"), C("198.51.100.7/32")], policy.Published[1].Sources);
        Assert.True(policy.Published[2].AnySource);
        Assert.Equal(TransportProtocol.Udp, policy.Published[2].Protocol);
    }

    [Fact]
    public void For_NodeWithOwnPorts_AddsThemAfterTheStacks()
    {
        var stack = HardeningSamples.SandboxWithNodePorts();

        var edge = Policy(stack, "edge");
        var box = Policy(stack, "box");

        Assert.Equal([8080, 9000, 5353, 443, 8443], edge.Published.Select(p => p.Port));
        Assert.True(edge.Published[3].AnySource);
        Assert.Equal([C("10.1.2.0/24"), C("198.51.100.0/24")], edge.Published[4].Sources);
        Assert.Equal([8080, 9000, 5353], box.Published.Select(p => p.Port));
    }

    [Fact]
    public void For_NodePortAlsoOnStack_IsRefusedWithTheNodesPath()
    {
        var stack = HardeningSamples.SandboxWithNodePorts();
        var pools = stack.NodePools.ToList();
        pools[1] = pools[1] with { PublishedPorts = [new PublishedPortPolicy { Port = 9000, Protocol = TransportProtocol.Tcp, From = [C("10.0.0.0/8")] }] };
        var nodes = stack.Nodes.Select(n => n.Name == "edge" ? n with { PublishedPorts = pools[1].PublishedPorts } : n).ToList();

        var e = Assert.Throws<RenderModelException>(() => HardeningSamples.Render(stack with { NodePools = pools, Nodes = nodes }, "edge"));

        Assert.Equal("provisioner:nodes[1].publishedPorts[0].port", e.FieldPath);
    }

    [Fact]
    public void For_ControlPlane_OpensTheClustersPortsToTheirSourcesOnly()
    {
        var stack = HardeningSamples.Cluster();
        var addresses = NodeAddressing.Assign(stack);
        var policy = Policy(stack, "cp-1");

        var nodes = stack.Nodes.Select(n => CidrSet.Host(addresses[n.Name].Ipv4Address)).ToHashSet();
        var controlPlane = stack.Nodes.Where(n => n.Role == NodeRole.ControlPlane).Select(n => CidrSet.Host(addresses[n.Name].Ipv4Address)).ToHashSet();
        var byName = policy.Input.ToDictionary(r => r.Name);
        Assert.Equal(["ssh", "kube-apiserver, kube-apiserver-admin, kube-apiserver-pods", "etcd", "kubelet", "calico-vxlan"], policy.Input.Select(r => r.Name));
        var api = byName["kube-apiserver, kube-apiserver-admin, kube-apiserver-pods"];
        Assert.Equal(PortRange.Of(6443), api.Ports);
        Assert.Equal(nodes.Append(C("10.244.0.0/16")).Append(C("192.0.2.0/24")).ToHashSet(), api.Sources.ToHashSet());
        Assert.Equal(new PortRange(2379, 2380), byName["etcd"].Ports);
        Assert.Equal(controlPlane, byName["etcd"].Sources.ToHashSet());
        Assert.Equal(controlPlane, byName["kubelet"].Sources.ToHashSet());
        Assert.Equal(nodes, byName["calico-vxlan"].Sources.ToHashSet());
        Assert.Equal(FirewallProtocol.Udp, byName["calico-vxlan"].Protocol);
        Assert.Equal(PortRange.Of(4789), byName["calico-vxlan"].Ports);
        Assert.Equal(C("10.244.0.0/16"), policy.PodCidr);
    }

    [Fact]
    public void For_ClusterNode_ForwardsPodsByAddress()
    {
        var stack = HardeningSamples.Cluster();
        var addresses = NodeAddressing.Assign(stack);

        var forward = Policy(stack, "worker-1").Forward;

        Assert.Contains(forward, f => f.Source == C("10.244.0.0/16") && f.Destination is null);
        Assert.All(stack.Nodes, n => Assert.Contains(forward, f => f.Source == CidrSet.Host(addresses[n.Name].Ipv4Address) && f.Destination == C("10.244.0.0/16")));
        Assert.Empty(Policy(HardeningSamples.Sandbox(), "box").Forward);
    }

    [Fact]
    public void For_Worker_HasNoApiServerOrEtcdPort()
    {
        var policy = Policy(HardeningSamples.Cluster(), "worker-2");

        Assert.Equal(["ssh", "kubelet", "calico-vxlan"], policy.Input.Select(r => r.Name));
    }

    [Theory]
    [InlineData("cp-1")]
    [InlineData("worker-1")]
    public void For_ClusterNode_NeverOpensControllerManagerSchedulerOrNodePorts(string node)
    {
        var policy = Policy(HardeningSamples.Cluster(), node);

        Assert.DoesNotContain(policy.Input, r => r.Ports is { } p && (p.Contains(10257) || p.Contains(10259) || p.Contains(30080)));
    }

    [Fact]
    public void For_VirtualApiEndpoint_AcceptsVrrpBetweenControlPlanesOnly()
    {
        var stack = HardeningSamples.ClusterWithVip();

        var vrrp = Assert.Single(Policy(stack, "cp-2").Input, r => r.Protocol == FirewallProtocol.Vrrp);
        Assert.Equal(2, vrrp.Sources.Count);
        Assert.DoesNotContain(Policy(stack, "worker-1").Input, r => r.Protocol == FirewallProtocol.Vrrp);
    }

    [Fact]
    public void For_ClusterNodeTargetWithoutClusterNeeds_IsRefused()
    {
        var stack = HardeningSamples.Cluster();
        var target = new HardeningTarget { Stack = stack, Node = stack.FindNode("cp-1")! };

        var e = Assert.Throws<RenderModelException>(() => FirewallPolicy.For(target));

        Assert.Equal("hardening.cluster", e.FieldPath);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(65536)]
    [InlineData(int.MaxValue)]
    public void For_PublishedPortOutOfRange_IsRefusedWithFieldPath(int port)
    {
        var stack = HardeningSamples.WithPublished(HardeningSamples.Sandbox(),
            new PublishedPortPolicy { Port = 8080, Protocol = TransportProtocol.Tcp, From = [C("10.0.0.0/8")] },
            new PublishedPortPolicy { Port = port, Protocol = TransportProtocol.Tcp, From = [C("10.0.0.0/8")] });

        var e = Assert.Throws<RenderModelException>(() => HardeningSamples.Render(stack, "box"));

        Assert.Equal("provisioner:firewall.publishedPorts[1].port", e.FieldPath);
    }

    [Fact]
    public void For_UndefinedProtocol_IsRefusedWithFieldPath()
    {
        var stack = HardeningSamples.WithPublished(HardeningSamples.Sandbox(),
            new PublishedPortPolicy { Port = 8080, Protocol = (TransportProtocol)7, From = [C("10.0.0.0/8")] });

        var e = Assert.Throws<RenderModelException>(() => HardeningSamples.Render(stack, "box"));

        Assert.Equal("provisioner:firewall.publishedPorts[0].protocol", e.FieldPath);
    }

    [Fact]
    public void For_EmptySources_IsRefusedRatherThanOpened()
    {
        var stack = HardeningSamples.WithPublished(HardeningSamples.Sandbox(),
            new PublishedPortPolicy { Port = 8080, Protocol = TransportProtocol.Tcp, From = [] });

        var e = Assert.Throws<RenderModelException>(() => HardeningSamples.Render(stack, "box"));

        Assert.Equal("provisioner:firewall.publishedPorts[0].from", e.FieldPath);
    }

    [Fact]
    public void For_DuplicatePolicy_IsRefused()
    {
        var policy = new PublishedPortPolicy { Port = 8080, Protocol = TransportProtocol.Tcp, From = [C("10.0.0.0/8")] };
        var stack = HardeningSamples.WithPublished(HardeningSamples.Sandbox(), policy, policy);

        var e = Assert.Throws<RenderModelException>(() => HardeningSamples.Render(stack, "box"));

        Assert.Equal("provisioner:firewall.publishedPorts[1].port", e.FieldPath);
    }

    [Fact]
    public void For_NoAdminNetworks_IsRefusedSoSshIsNeverLeftUnreachableOrOpen()
    {
        var stack = HardeningSamples.Sandbox();
        stack = stack with { Access = stack.Access with { AdminCidrs = [] } };

        var e = Assert.Throws<RenderModelException>(() => HardeningSamples.Render(stack, "box"));

        Assert.Equal("provisioner:access.adminCidrs", e.FieldPath);
        Assert.Single(HardeningRenderer.Validate(stack), x => x.Path == "provisioner:access.adminCidrs");
    }

    [Fact]
    public void Normalize_NestedAndDuplicateNetworks_KeepsTheWidestSorted()
    {
        var result = CidrSet.Normalize([C("10.1.0.0/16"), C("10.0.0.0/8"), C("192.0.2.0/24"), C("10.0.0.0/8"), C("172.16.0.0/12"), C("192.0.2.128/25")]);

        Assert.Equal([C("10.0.0.0/8"), C("172.16.0.0/12"), C("192.0.2.0/24")], result);
    }
}
