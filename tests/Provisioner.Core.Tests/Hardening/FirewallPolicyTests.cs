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
        Assert.Equal(TransportProtocol.Tcp, ssh.Protocol);
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
    public void For_ControlPlane_OpensApiEtcdKubeletAndCniToClusterNodesOnly()
    {
        var stack = HardeningSamples.Cluster();
        var addresses = NodeAddressing.Assign(stack);
        var policy = Policy(stack, "cp-1");

        var nodes = stack.Nodes.Select(n => CidrSet.Host(addresses[n.Name].Ipv4Address)).ToHashSet();
        var controlPlane = stack.Nodes.Where(n => n.Role == NodeRole.ControlPlane).Select(n => CidrSet.Host(addresses[n.Name].Ipv4Address)).ToHashSet();
        var byName = policy.Input.ToDictionary(r => r.Name);
        Assert.Equal(["ssh", "kube-apiserver", "etcd", "kubelet", "cni-vxlan"], policy.Input.Select(r => r.Name));
        Assert.Equal(new PortRange(2379, 2380), byName["etcd"].Ports);
        Assert.Equal(controlPlane, byName["etcd"].Sources.ToHashSet());
        Assert.Equal(nodes.Append(C("10.244.0.0/16")).ToHashSet(), byName["kubelet"].Sources.ToHashSet());
        Assert.Equal(nodes.Append(C("10.244.0.0/16")).Append(C("192.0.2.0/24")).ToHashSet(), byName["kube-apiserver"].Sources.ToHashSet());
        Assert.Equal(nodes, byName["cni-vxlan"].Sources.ToHashSet());
        Assert.Equal(TransportProtocol.Udp, byName["cni-vxlan"].Protocol);
        Assert.Equal(C("10.244.0.0/16"), policy.PodCidr);
    }

    [Fact]
    public void For_Worker_HasNoApiServerOrEtcdPort()
    {
        var policy = Policy(HardeningSamples.Cluster(), "worker-2");

        Assert.Equal(["ssh", "kubelet", "cni-vxlan"], policy.Input.Select(r => r.Name));
    }

    [Theory]
    [InlineData("cp-1")]
    [InlineData("worker-1")]
    public void For_ClusterNode_NeverOpensControllerManagerOrSchedulerPorts(string node)
    {
        var policy = Policy(HardeningSamples.Cluster(), node);

        Assert.DoesNotContain(policy.Input, r => r.Ports.Contains(10257) || r.Ports.Contains(10259));
    }

    [Fact]
    public void For_CalicoBgp_OpensPort179ToClusterNodes()
    {
        var target = HardeningSamples.Target(HardeningSamples.Cluster(), "worker-1") with { CniPorts = [ClusterPort.CalicoBgp] };

        var bgp = Assert.Single(FirewallPolicy.For(target).Input, r => r.Name == "cni-bgp");
        Assert.Equal(PortRange.Of(179), bgp.Ports);
        Assert.Equal(4, bgp.Sources.Count);
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
    public void For_ClusterNodeWithoutPeers_IsRefused()
    {
        var stack = HardeningSamples.Cluster();
        var target = new HardeningTarget { Stack = stack, Node = stack.FindNode("cp-1")! };

        var e = Assert.Throws<RenderModelException>(() => FirewallPolicy.For(target));

        Assert.Equal("hardening.clusterNodes", e.FieldPath);
    }

    [Fact]
    public void Normalize_NestedAndDuplicateNetworks_KeepsTheWidestSorted()
    {
        var result = CidrSet.Normalize([C("10.1.0.0/16"), C("10.0.0.0/8"), C("192.0.2.0/24"), C("10.0.0.0/8"), C("172.16.0.0/12"), C("192.0.2.128/25")]);

        Assert.Equal([C("10.0.0.0/8"), C("172.16.0.0/12"), C("192.0.2.0/24")], result);
    }
}
