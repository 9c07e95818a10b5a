using Provisioner.Core.Stacks;

namespace Provisioner.Core.Tests.Stacks;

/// <summary>The example stacks shipped in stacks/ load and expand to the expected model.</summary>
public sealed class ExampleStackTests
{
    private static string StackFile(string name) => Path.Combine(StackYaml.RepoRoot(), "stacks", $"Pulumi.{name}.yaml");

    [Fact]
    public void LoadFile_DevStack_ExpandsToTwoLocalNodes()
    {
        var stack = StackLoader.LoadFile(StackFile("dev"));

        Assert.Equal("dev", stack.Name);
        var host = Assert.Single(stack.Hosts);
        Assert.Equal("localhost", host.Name);
        Assert.Equal("qemu:///system", host.Uri.Value);
        Assert.False(host.Uri.IsRemote);
        Assert.Equal("local", host.Region);
        Assert.Equal("/var/lib/provisioner/pools/dev", host.Pool.Path);
        Assert.Equal(StorageMedia.Nvme, host.Pool.Media);

        var network = Assert.Single(stack.Networks);
        Assert.Equal("10.77.0.0/24", network.Cidr.ToString());
        Assert.Equal(NetworkMode.Nat, network.Mode);
        Assert.Equal("10.77.0.1", network.Gateway.ToString());
        Assert.Equal("10.77.0.2-10.77.0.127", network.StaticRange.ToString());
        Assert.Equal("10.77.0.128-10.77.0.254", network.DhcpRange.ToString());

        Assert.Equal(["dev-a", "dev-b"], stack.Nodes.Select(n => n.Name));
        var a = stack.Nodes[0];
        Assert.Equal((NodeRole.Worker, 1, 1024L, 4, DiskBus.Virtio, "default"), (a.Role, a.Cpus, a.MemoryMiB, a.DiskGiB, a.DiskBus, a.Network));
        Assert.Null(a.Index);
        Assert.Equal(DiskBus.Nvme, stack.Nodes[1].DiskBus);
        Assert.Equal(NodeRole.Sandbox, stack.Nodes[1].Role);

        Assert.True(stack.Virtualization.AllowEmulation);
        Assert.Empty(stack.Access.SshPublicKeys);
        Assert.Equal(["10.77.0.0/24", "127.0.0.0/8"], stack.Access.AdminCidrs.Select(c => c.ToString()));
        Assert.Equal("local", stack.Placement.Region);
        Assert.Equal("debian-12", stack.Image.Recipe);
        Assert.Null(stack.Kubernetes);
        Assert.Empty(stack.Firewall.PublishedPorts);
        Assert.Empty(stack.Runtime.DaemonOverrides);
    }

    [Fact]
    public void LoadFile_OsloStack_ExpandsPoolsOnNvmeHostsInOslo()
    {
        var stack = StackLoader.LoadFile(StackFile("oslo"));

        Assert.Equal("oslo", stack.Name);
        Assert.Equal(["osl-kvm-1", "osl-kvm-2", "osl-kvm-3"], stack.Hosts.Select(h => h.Name));
        Assert.Equal(["osl-a", "osl-b", "osl-c"], stack.Hosts.Select(h => h.Zone));
        Assert.All(stack.Hosts, h =>
        {
            Assert.Equal("oslo", h.Region);
            Assert.Equal("qemu+ssh", h.Uri.Scheme);
            Assert.Equal($"{h.Name}.example.net", h.Uri.Host);
            Assert.StartsWith($"qemu+ssh://provisioner@{h.Name}.example.net/system?keyfile=", h.Uri.Value, StringComparison.Ordinal);
            Assert.Equal(StorageMedia.Nvme, h.Pool.Media);
            Assert.Equal(196608, h.Limits!.MemoryMiB);
        });

        Assert.Equal(["cp-1", "cp-2", "cp-3", "worker-1", "worker-2", "worker-3"], stack.Nodes.Select(n => n.Name));
        Assert.Equal([1, 2, 3, 1, 2, 3], stack.Nodes.Select(n => n.Index!.Value));
        Assert.All(stack.Nodes, n => Assert.Equal(DiskBus.Nvme, n.DiskBus));
        Assert.All(stack.Nodes, n => Assert.Equal("oslo", stack.RegionOf(n)));
        Assert.Equal(3, stack.Nodes.Count(n => n.Role == NodeRole.ControlPlane));
        Assert.Equal(3, stack.Nodes.Count(n => n.Role == NodeRole.Worker));
        Assert.Equal(["cp", "worker"], stack.NodePools.Select(p => p.Name));

        Assert.False(stack.Virtualization.AllowEmulation);
        Assert.True(stack.Placement.ControlPlaneAntiAffinity);
        Assert.Equal(NetworkMode.Bridge, stack.Networks[0].Mode);
        Assert.Equal("br-cluster", stack.Networks[0].Bridge);
        Assert.Equal(2, stack.Access.SshPublicKeys.Count);
        Assert.Equal("ops@example.net", stack.Access.SshPublicKeys[0].Comment);

        var kubernetes = stack.Kubernetes!;
        Assert.Equal("1.33.4", kubernetes.Version.ToString());
        Assert.Equal("https://mirror.osl.example.net/kubernetes/v1.33/deb/", kubernetes.PackageSource!.ToString());
        Assert.Equal("https://mirror.osl.example.net/calico/v3.29.0/calico-vxlan.yaml", kubernetes.CniManifestUrl!.ToString());
        Assert.Equal("registry.osl.example.net/k8s", kubernetes.ImageRepository);
        Assert.Equal(4096, kubernetes.PodPidsLimit);
        Assert.Equal("10.244.0.0/16", kubernetes.PodCidr.ToString());
        Assert.Equal("10.96.0.0/12", kubernetes.ServiceCidr.ToString());
        Assert.Equal("10.20.0.10", kubernetes.ControlPlaneEndpoint!.Value.ToString());

        var policy = Assert.Single(stack.Firewall.PublishedPorts);
        Assert.Equal((443, TransportProtocol.Tcp, "10.0.0.0/8"), (policy.Port, policy.Protocol, policy.From.Single().ToString()));
        var daemon = Assert.Single(stack.Runtime.DaemonOverrides);
        Assert.Equal("log-opts", daemon.Key);
        Assert.Equal("""{"max-size":"50m","max-file":"10"}""", daemon.Value.GetRawText());
    }

    [Fact]
    public async Task LoadFileAsync_OsloStack_SameAsSync()
    {
        var stack = await StackLoader.LoadFileAsync(StackFile("oslo"), TestContext.Current.CancellationToken);
        Assert.Equal(6, stack.Nodes.Count);
    }

    [Fact]
    public void Addresses_OsloStack_SkipGatewayAndVip()
    {
        var stack = StackLoader.LoadFile(StackFile("oslo"));
        var addresses = NodeAddressing.Assign(stack);

        Assert.Equal(6, addresses.Count);
        Assert.Equal(6, addresses.Values.Select(a => a.Ipv4Address).Distinct().Count());
        Assert.All(addresses.Values, a =>
        {
            Assert.True(stack.Networks[0].StaticRange.Contains(a.Ipv4Address));
            Assert.NotEqual("10.20.0.1", a.Ipv4Address.ToString());
            Assert.NotEqual("10.20.0.10", a.Ipv4Address.ToString());
        });
    }
}
