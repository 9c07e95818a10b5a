using Provisioner.Core.Kubernetes;
using Provisioner.Core.Kubernetes.Audit;
using Provisioner.Core.Stacks;
using Provisioner.Core.Templates;
using Provisioner.Core.Tests.Templates;
using static Provisioner.Core.Tests.Kubernetes.KubernetesSamples;

namespace Provisioner.Core.Tests.Kubernetes;

public sealed class KubernetesClusterSpecTests
{
    [Fact]
    public void From_Stack_OrdersNodesAndUsesTheVirtualIp()
    {
        var spec = Spec();

        Assert.Equal(["cp-1", "cp-2", "cp-3"], spec.ControlPlanes.Select(n => n.Name));
        Assert.Equal(["worker-1", "worker-2"], spec.Workers.Select(n => n.Name));
        Assert.True(spec.EndpointIsVirtual);
        Assert.Equal("https://10.20.0.10:6443", spec.ApiServerUrl);
        Assert.DoesNotContain(spec.Nodes, n => n.Address.ToString() == "10.20.0.10");
        Assert.InRange(spec.VirtualRouterId, 1, 255);
    }

    [Fact]
    public void From_NoPackageSource_DefaultsToUpstreamChannelOfTheMinor()
    {
        var spec = Spec();

        Assert.Equal("https://pkgs.k8s.io/core:/stable:/v1.34/deb/", spec.PackageRepository.AbsoluteUri);
        Assert.False(spec.PackageRepositoryConfigured);
    }

    [Fact]
    public void From_PackageSource_IsUsedAsMirror()
    {
        var spec = KubernetesClusterSpec.From(Stack(extraKubernetes: "packageSource: https://mirror.osl.example.net/kubernetes/v1.34"));

        Assert.Equal("https://mirror.osl.example.net/kubernetes/v1.34/", spec.PackageRepository.AbsoluteUri);
        Assert.True(spec.PackageRepositoryConfigured);
    }

    [Fact]
    public void From_SettingsBuiltInCodeBelow132_ThrowsWithTheReason()
    {
        var stack = Stack();
        var old = stack with { Kubernetes = stack.Kubernetes! with { Version = new KubernetesVersion(1, 31, 4) } };

        var e = Assert.Throws<KubernetesConfigurationException>(() => KubernetesClusterSpec.From(old));

        Assert.Equal("provisioner:kubernetes.version", e.Field);
        Assert.Contains("CIS 1.2.1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void From_SettingsBuiltInCodeWithBadCniChecksum_Throws()
    {
        var stack = Stack();
        var bad = stack with { Kubernetes = stack.Kubernetes! with { CniManifestSha256 = "abc" } };

        Assert.Equal("provisioner:kubernetes.cni.sha256", Assert.Throws<KubernetesConfigurationException>(() => KubernetesClusterSpec.From(bad)).Field);
    }

    [Fact]
    public void From_StackSettings_CarryChecksumsPidsLimitAndRegistry()
    {
        const string key = "AB3e9d1c2b4a5968778695a4b3c2d1e0f0e1d2c3b4a5968778695a4b3c2d1e0f";
        var spec = KubernetesClusterSpec.From(Stack(extraKubernetes: $"packageKeySha256: {key}\n    podPidsLimit: 2048\n    imageRepository: registry.osl.example.net/k8s"));

        Assert.Equal(key.ToLowerInvariant(), spec.PackageKeySha256);
        Assert.Equal(CniSha256, spec.Cni.ManifestSha256);
        Assert.Equal(CniPlugin.DefaultCalicoManifest, spec.Cni.ManifestUrl);
        Assert.Equal(2048, spec.PodPidsLimit);
        Assert.Equal("registry.osl.example.net/k8s", spec.ImageRepository);
    }

    [Fact]
    public void NodeFiles_ControlPlane_HasApiServerFilesWithTightModes()
    {
        var spec = Spec();
        var files = KubernetesNodeFiles.For(spec, spec.FirstControlPlane, DebianFacts, Rules(), EncryptionConfiguration, KubeTemplates);

        var encryption = files.Single(f => f.Path == KubernetesPaths.EncryptionConfiguration);
        Assert.True(encryption.IsSecret);
        Assert.Equal(KubernetesNodeFiles.OwnerReadWrite, encryption.Mode);
        Assert.All(files.Where(f => f.Path.StartsWith(KubernetesPaths.ApiServerConfigDirectory, StringComparison.Ordinal)), f => Assert.Equal(KubernetesNodeFiles.OwnerReadWrite, f.Mode));
        Assert.Contains(files, f => f.Path == KubernetesPaths.KeepalivedConfig);
        Assert.Equal(KubernetesNodeFiles.OwnerOnlyExecutable, files.Single(f => f.Path == KubernetesPaths.KeepalivedCheck).Mode);
    }

    [Fact]
    public void NodeFiles_Worker_HasOnlyHostFiles()
    {
        var spec = Spec();
        var files = KubernetesNodeFiles.For(spec, spec.Workers[0], DebianFacts, Rules(), EncryptionConfiguration, KubeTemplates);

        Assert.Equal([KubernetesPaths.ModulesLoad, KubernetesPaths.Sysctl, KubernetesPaths.ContainerdConfig, KubernetesPaths.AptSource, KubernetesPaths.AptPreferences], files.Select(f => f.Path));
        Assert.DoesNotContain(files, f => f.IsSecret);
    }

    [Fact]
    public void NodeFiles_TextFiles_MatchGoldenFiles()
    {
        var spec = Spec();
        var files = KubernetesNodeFiles.For(spec, spec.ControlPlanes[1], DebianFacts, Rules(), EncryptionConfiguration, KubeTemplates)
            .ToDictionary(f => f.Path, f => f.Content.Reveal());

        Golden.AssertMatches("kubernetes/sysctl.out.conf", files[KubernetesPaths.Sysctl]);
        Golden.AssertMatches("kubernetes/kubernetes.out.sources", files[KubernetesPaths.AptSource]);
        Golden.AssertMatches("kubernetes/kubernetes-preferences.out", files[KubernetesPaths.AptPreferences]);
        Golden.AssertMatches("kubernetes/keepalived-cp-2.out.conf", files[KubernetesPaths.KeepalivedConfig]);
        Golden.AssertMatches("kubernetes/check-apiserver.out.sh", files[KubernetesPaths.KeepalivedCheck]);
    }

    [Fact]
    public void Sysctl_HasForwardingBridgeAndKubeletKernelDefaults()
    {
        var settings = KubernetesNodeFiles.Sysctl(KubeTemplates).Split('\n')
            .Where(l => l.Contains(" = ", StringComparison.Ordinal))
            .Select(l => l.Split(" = "))
            .ToDictionary(p => p[0], p => p[1]);

        Assert.Equal("1", settings["net.ipv4.ip_forward"]);
        Assert.Equal("1", settings["net.bridge.bridge-nf-call-iptables"]);
        foreach (var (key, value) in KubernetesHardening.KubeletKernelDefaults)
        {
            Assert.Equal(value, settings[key]);
        }
    }

    [Fact]
    public void ContainerdConfig_SystemdCgroupAndCriEnabled_ForBothConfigVersions()
    {
        foreach (var name in new[] { "containerd-config-v2.toml", "containerd-config-v3.toml" })
        {
            var text = KubeTemplates.Read(name);
            Assert.Contains("SystemdCgroup = true", text, StringComparison.Ordinal);
            Assert.Contains("disabled_plugins = []", text, StringComparison.Ordinal);
        }

        var spec = Spec();
        var containerd2 = KubernetesNodeFiles.For(spec, spec.Workers[0], DebianFacts with { ContainerdVersion = "2.1.0" }, Rules(), EncryptionConfiguration, KubeTemplates);
        Assert.StartsWith("# Managed by provisioner: containerd 2.x", containerd2.Single(f => f.Path == KubernetesPaths.ContainerdConfig).Content.Reveal(), StringComparison.Ordinal);
    }

    [Fact]
    public void Keepalived_UnicastToTheOtherControlPlanesOnly()
    {
        var spec = Spec();
        var text = KubernetesNodeFiles.Keepalived(spec, spec.ControlPlanes[0], DebianFacts, KubeTemplates);

        Assert.Contains($"unicast_src_ip {spec.ControlPlanes[0].Address}", text, StringComparison.Ordinal);
        foreach (var peer in spec.ControlPlanes.Skip(1))
        {
            Assert.Contains($"        {peer.Address}\n", text, StringComparison.Ordinal);
        }

        Assert.Contains("priority 200", text, StringComparison.Ordinal);
        Assert.Contains("10.20.0.10/24 dev enp1s0", text, StringComparison.Ordinal);
    }

    [Fact]
    public void TokenTemplates_ValueWithSpaceOrNewline_Refused()
    {
        var e = Assert.Throws<TemplateRenderException>(() =>
            KubernetesNodeFiles.Keepalived(Spec(), Spec().ControlPlanes[0], DebianFacts with { ClusterInterface = "eth0\n}\nvrrp_script x {" }, KubeTemplates));

        Assert.Contains("is not a token", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FirewallPorts_ApiServerEtcdKubeletCalicoAndVrrp_FromTheRightSources()
    {
        var stack = Stack();
        var needs = KubernetesFirewallPorts.For(stack);
        var spec = Spec();

        var api = needs.Inbound.Single(r => r.Name == "kube-apiserver-admin");
        Assert.Equal(["192.0.2.0/24"], api.SourceAddresses.Select(c => c.ToString()));
        var etcd = needs.Inbound.Single(r => r.Name == "etcd");
        Assert.Equal((2379, 2380), (etcd.FromPort!.Value, etcd.ToPort!.Value));
        Assert.Equal(spec.ControlPlanes.Select(n => $"{n.Address}/32"), etcd.SourceAddresses.Select(c => c.ToString()));
        Assert.True(etcd.ControlPlaneOnly);
        Assert.Contains(needs.Inbound, r => r.Protocol == KubernetesTrafficProtocol.Vrrp && r.Sources == FirewallSourceSet.ControlPlaneNodes);
        var vxlan = needs.Inbound.Single(r => r.Name == "calico-vxlan");
        Assert.Equal((KubernetesTrafficProtocol.Udp, 4789, FirewallSourceSet.ClusterNodes, false), (vxlan.Protocol, vxlan.FromPort!.Value, vxlan.Sources, vxlan.ControlPlaneOnly));
        Assert.DoesNotContain(needs.Inbound, r => r.FromPort == 179);
        Assert.DoesNotContain(needs.Inbound, r => r.FromPort is >= 30000 and <= 32767);
        Assert.Contains(needs.Forward, f => f.Source == spec.PodCidr && f.Destination is null);
    }

    [Fact]
    public void AuditChecks_CoverEveryCisArgumentAndKubeletSetting()
    {
        var checks = KubernetesAuditChecks.For(Spec(), Rules());

        foreach (var argument in KubernetesHardening.ApiServerArguments())
        {
            Assert.Contains(checks, c => c.CisId == argument.CisId && c.Title.Contains($"--{argument.Name}=", StringComparison.Ordinal));
        }

        Assert.Contains(checks, c => c.CisId == "4.2.1" && c.Scope == AuditScope.AllNodes);
        Assert.Contains(checks, c => c.CisId == "1.1.13" && c.Command.SequenceEqual(["stat", "-c", "%a %U:%G", "/etc/kubernetes/admin.conf"]));
    }

    [Fact]
    public void AuditChecks_EvaluateRenderedConfiguration_Pass()
    {
        var checks = KubernetesAuditChecks.For(Spec(), Rules());
        var kubelet = KubernetesDocuments.KubeadmInit(Spec(), Spec().FirstControlPlane, new Provisioner.Core.Security.Secret(Token)).Reveal().Split("---\n")[2];

        Assert.All(checks.Where(c => c.Command[0] == "cat" && c.Command[^1] == KubernetesPaths.KubeletConfig), c => Assert.True(c.Evaluate(kubelet, 0).Passed, c.Title));
        Assert.True(checks.Single(c => c.Command[^1] == KubernetesPaths.AuthenticationConfiguration).Evaluate(KubernetesDocuments.AuthenticationConfiguration(Spec().Version), 0).Passed);
        Assert.True(checks.Single(c => c.Command[^1] == KubernetesPaths.AdmissionConfiguration).Evaluate(KubernetesDocuments.AdmissionConfiguration(Rules()), 0).Passed);
        Assert.True(checks.Single(c => c.CisId == "1.2.28").Evaluate("secretbox:\nidentity:\n", 0).Passed);
        Assert.False(checks.Single(c => c.CisId == "1.2.28").Evaluate("identity:\nsecretbox:\n", 0).Passed);
    }

    [Fact]
    public void AuditChecks_ArgumentAndModeVerdicts()
    {
        var profiling = KubernetesHardening.ApiServerArguments().Single(a => a.Name == "profiling");
        const string manifest = "spec:\n  containers:\n  - command:\n    - kube-apiserver\n    - --profiling=false\n";

        Assert.True(KubernetesAuditChecks.ArgumentVerdict(manifest, 0, profiling).Passed);
        Assert.False(KubernetesAuditChecks.ArgumentVerdict(manifest.Replace("false", "true", StringComparison.Ordinal), 0, profiling).Passed);
        Assert.True(KubernetesAuditChecks.ModeVerdict("600 root:root\n", 0, KubernetesNodeFiles.OwnerReadWrite).Passed);
        Assert.True(KubernetesAuditChecks.ModeVerdict("400 root:root\n", 0, KubernetesNodeFiles.OwnerReadWrite).Passed);
        Assert.False(KubernetesAuditChecks.ModeVerdict("644 root:root\n", 0, KubernetesNodeFiles.OwnerReadWrite).Passed);
        Assert.False(KubernetesAuditChecks.ModeVerdict("600 ops:ops\n", 0, KubernetesNodeFiles.OwnerReadWrite).Passed);
        Assert.False(KubernetesAuditChecks.AnonymousVerdict("anonymous:\n  enabled: true\n", 0).Passed);
    }
}

public sealed class KubernetesClusterSpecRegistryTests
{
    [Theory]
    [InlineData("registry.example.net/k8s\nimageRepository: evil")]
    [InlineData("registry.example.net/k8s # x")]
    [InlineData("\"quoted\"")]
    public void From_HostileImageRepositoryBuiltInCode_RefusedAtTheEdge(string registry)
    {
        var stack = Stack();
        var e = Assert.Throws<KubernetesConfigurationException>(() =>
            KubernetesClusterSpec.From(stack with { Kubernetes = stack.Kubernetes! with { ImageRepository = registry } }));

        Assert.Equal("provisioner:kubernetes.imageRepository", e.Field);
    }

    [Fact]
    public void From_MirrorImageRepository_RenderedIntoClusterConfiguration()
    {
        var spec = KubernetesClusterSpec.From(Stack(extraKubernetes: "imageRepository: registry.osl.example.net:5000/k8s"));
        var init = LoadAll(KubernetesDocuments.KubeadmInit(spec, spec.FirstControlPlane, new Provisioner.Core.Security.Secret(Token)).Reveal());

        Assert.Equal("registry.osl.example.net:5000/k8s", Scalar(init[1], "imageRepository"));
    }

    [Fact]
    public void FirewallPorts_StackWithoutCluster_NothingToOpen()
    {
        var yaml = StackYaml[..StackYaml.IndexOf("  provisioner:kubernetes:", StringComparison.Ordinal)]
            .Replace("role: control-plane", "role: sandbox", StringComparison.Ordinal)
            .Replace("role: worker", "role: sandbox", StringComparison.Ordinal);
        var needs = KubernetesFirewallPorts.For(StackLoader.Parse(yaml, "lab", "test"));

        Assert.Empty(needs.Inbound);
        Assert.Empty(needs.Forward);
    }
}
