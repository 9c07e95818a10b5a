using Provisioner.Core.CloudInit;
using Provisioner.Core.Kubernetes;
using Provisioner.Core.Kubernetes.Bootstrap;
using Provisioner.Core.Stacks;
using Provisioner.Core.Templates;
using Provisioner.Engine.Hardening;
using Provisioner.Engine.Tests.Hardening;
using Provisioner.Engine.Kubernetes;
using Provisioner.Engine.Planning;

namespace Provisioner.Engine.Tests.Kubernetes;

public sealed class KubernetesNodePreparationTests
{
    private static readonly KubernetesNodePreparation Preparation = new(KubernetesTemplates.CreateDefault());

    private static DesiredNode Desired(StackDefinition stack, string name) => new()
    {
        Definition = stack.FindNode(name)!,
        Host = "kvm-1",
        Addresses = NodeAddressing.Assign(stack)[name],
        DefinitionHash = "h",
        DomainName = "lab-" + name,
        RootVolume = "lab-" + name + "-root",
        SeedVolume = "lab-" + name + "-seed",
        LibvirtNetwork = "lab-cluster",
    };

    [Fact]
    public void FirstBoot_ClusterNode_ContainerdModulesSysctlsAndSwapOff()
    {
        var stack = KubernetesPhaseTests.Stack();

        var extras = Preparation.FirstBoot(stack, Desired(stack, "worker-1"));

        Assert.Equal([KubernetesPaths.ModulesLoad, KubernetesPaths.Sysctl, KubernetesPaths.ContainerdConfig], extras.Files.Select(f => f.Path));
        Assert.All(extras.Files, f => Assert.Equal(("0644", "root:root"), (f.Permissions, f.Owner)));
        var containerd = extras.Files.Single(f => f.Path == KubernetesPaths.ContainerdConfig).Content;
        Assert.Contains("SystemdCgroup = true", containerd, StringComparison.Ordinal);
        Assert.Contains("disabled_plugins = []", containerd, StringComparison.Ordinal);
        Assert.Contains("br_netfilter", extras.Files.Single(f => f.Path == KubernetesPaths.ModulesLoad).Content, StringComparison.Ordinal);
        Assert.Contains("net.bridge.bridge-nf-call-iptables = 1", extras.Files.Single(f => f.Path == KubernetesPaths.Sysctl).Content, StringComparison.Ordinal);
        Assert.Equal(
            ["modprobe -a overlay br_netfilter", "sysctl --system", "sh -c " + NodeScripts.DisableSwap + " sh", "systemctl restart containerd"],
            extras.Commands.Select(c => string.Join(' ', c)));
    }

    [Fact]
    public void FirstBoot_Files_AreByteForByteTheManagedFiles()
    {
        // So the Kubernetes phase finds them in place and writes nothing again.
        var stack = KubernetesPhaseTests.Stack();
        var spec = KubernetesClusterSpec.From(stack);
        var managed = KubernetesNodeFiles.For(spec, spec.FirstControlPlane, null, spec.PodSecurity(new UserNamespaceCapability(false, "")),
            KubernetesDocuments.EncryptionConfiguration(BootstrapTokens.NewEncryptionKey()), KubernetesTemplates.CreateDefault());

        var extras = Preparation.FirstBoot(stack, Desired(stack, "cp-1"));

        Assert.All(extras.Files, f => Assert.Equal(managed.Single(m => m.Path == f.Path).Content.Reveal(), f.Content));
        Assert.DoesNotContain(extras.Files, f => f.Path.StartsWith(KubernetesPaths.ConfigDirectory, StringComparison.Ordinal));
    }

    [Fact]
    public void FirstBoot_StackWithoutCluster_Nothing()
    {
        var stack = EngineHardeningSamples.Sandbox();

        Assert.Same(NodeProvisioningExtras.None, Preparation.FirstBoot(stack, Desired(stack, stack.Nodes[0].Name)));
    }

    [Fact]
    public void Then_HardeningThenKubernetes_FilesAndCommandsInOrder()
    {
        var first = new NodeProvisioningExtras { Files = [new CloudInitFile { Path = "/a", Content = "a" }], Commands = [["one"]] };
        var second = new NodeProvisioningExtras { Files = [new CloudInitFile { Path = "/b", Content = "b" }], Commands = [["two"]] };

        var both = first.Then(second);

        Assert.Equal(["/a", "/b"], both.Files.Select(f => f.Path));
        Assert.Equal(["one", "two"], both.Commands.Select(c => c[0]));
    }

    [Fact]
    public void AuditChecks_ControlPlaneGetsApiServerChecks_WorkerOnlyNodeChecks_SandboxNone()
    {
        var stack = KubernetesPhaseTests.Stack();
        var hardening = new NodeHardening(TemplateRenderer.CreateDefault()) { AdditionalChecks = KubernetesNodeAudit.ChecksFor };
        var plain = new NodeHardening(TemplateRenderer.CreateDefault());

        var controlPlane = hardening.ChecksFor(stack, "cp-1");
        var worker = hardening.ChecksFor(stack, "worker-1");

        Assert.Contains(controlPlane, c => c.Id == "kubernetes.1.2.1" && c.Benchmark == Core.Audit.AuditChecks.KubernetesBenchmark);
        Assert.Contains(controlPlane, c => c.Id == "kubernetes.4.2.1");
        Assert.DoesNotContain(worker, c => c.Id == "kubernetes.1.2.1");
        Assert.Contains(worker, c => c.Id == "kubernetes.4.2.1");
        Assert.Equal(plain.ChecksFor(stack, "worker-1").Select(c => c.Id), worker.Select(c => c.Id).Where(id => !id.StartsWith("kubernetes.", StringComparison.Ordinal)));
        var sandbox = EngineHardeningSamples.Sandbox();
        Assert.Empty(KubernetesNodeAudit.ChecksFor(sandbox, sandbox.Nodes[0], hardening.Render(sandbox, sandbox.Nodes[0].Name)));
    }
}
