using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Provisioner.Core.Kubernetes;
using Provisioner.Core.Kubernetes.Bootstrap;
using Provisioner.Core.Security;
using Provisioner.Core.Stacks;
using static Provisioner.Core.Tests.Kubernetes.KubernetesSamples;

namespace Provisioner.Core.Tests.Kubernetes;

public sealed class ClusterBootstrapPlanTests
{
    private static readonly Secret NewKey = new(EncryptionKey);

    /// <summary>What inspection would report on a complete, converged cluster for <paramref name="spec"/>.</summary>
    internal static ObservedCluster Converged(KubernetesClusterSpec spec, IEnumerable<string>? only = null)
    {
        var names = only?.ToHashSet() ?? spec.Nodes.Select(n => n.Name).ToHashSet();
        var facts = spec.Nodes.ToDictionary(n => n.Name, n => (NodeFacts?)DebianFacts);
        var rules = spec.PodSecurity(UserNamespaceCapability.Evaluate(spec.Version, facts));
        var nodes = new Dictionary<string, ObservedNode>();
        foreach (var node in spec.Nodes.Where(n => names.Contains(n.Name)))
        {
            var files = KubernetesNodeFiles.For(spec, node, DebianFacts, rules, EncryptionConfiguration, KubeTemplates)
                .ToDictionary(f => f.Path, f => new ObservedFile(f.Sha256, f.Mode, f.Owner));
            files[KubernetesPaths.AptKeyring] = new ObservedFile("00", KubernetesNodeFiles.WorldReadable, "root:root");
            files[KubernetesPaths.KubeletKubeconfig] = new ObservedFile("11", KubernetesNodeFiles.OwnerReadWrite, "root:root");
            foreach (var requirement in KubernetesPaths.ModeRequirements.Where(r => r.AllNodes || node.Role == NodeRole.ControlPlane))
            {
                files[requirement.Path] = new ObservedFile("22", requirement.Mode, "root:root");
            }

            if (node.Name == spec.FirstControlPlane.Name)
            {
                var policies = new ManagedFile
                {
                    Path = KubernetesPaths.AdmissionPolicies,
                    Content = new Secret(KubernetesDocuments.AdmissionPolicies(rules)),
                    IsSecret = false,
                    Mode = KubernetesNodeFiles.OwnerReadWrite,
                    Activation = FileActivation.None,
                };
                files[policies.Path] = new ObservedFile(policies.Sha256, policies.Mode, policies.Owner);
                files[KubernetesPaths.CniManifest] = new ObservedFile(CniSha256, KubernetesNodeFiles.OwnerReadWrite, "root:root");
            }

            var packages = new Dictionary<string, string> { ["kubeadm"] = "1.34.2-1.1", ["kubelet"] = "1.34.2-1.1", ["kubectl"] = "1.34.2-1.1", ["curl"] = "7.88.1-10+deb12u8" };
            if (node.Role == NodeRole.ControlPlane)
            {
                packages["keepalived"] = "1:2.2.7-1+b2";
            }

            nodes[node.Name] = new ObservedNode
            {
                Facts = DebianFacts,
                Files = files,
                Packages = packages,
                HeldPackages = new HashSet<string> { "kubeadm", "kubelet", "kubectl" },
            };
        }

        return new ObservedCluster { Nodes = nodes, EncryptionConfiguration = EncryptionConfiguration };
    }

    private static ObservedCluster Inspected(KubernetesClusterSpec spec) => new()
    {
        Nodes = spec.Nodes.ToDictionary(n => n.Name, _ => new ObservedNode { Facts = DebianFacts }),
    };

    [Fact]
    public void For_ConvergedCluster_HasNoStep()
    {
        var spec = Spec();

        var plan = ClusterBootstrapPlan.For(spec, Converged(spec), KubeTemplates, NewKey);

        Assert.Empty(plan.Steps);
        Assert.Empty(plan.Blockers);
    }

    [Fact]
    public void For_AddedWorker_PlansOnlyThatWorkerAndItsJoin()
    {
        var before = Spec();
        var after = KubernetesClusterSpec.From(StackLoader.Parse(StackYaml.Replace("count: 2", "count: 3", StringComparison.Ordinal), "lab", "test"));
        var observed = Converged(after, before.Nodes.Select(n => n.Name));
        observed = observed with
        {
            Nodes = new Dictionary<string, ObservedNode>(observed.Nodes) { ["worker-3"] = new ObservedNode { Facts = DebianFacts } },
        };

        var plan = ClusterBootstrapPlan.For(after, observed, KubeTemplates, NewKey);

        Assert.NotEmpty(plan.Steps);
        Assert.All(plan.Steps, s => Assert.Equal("worker-3", s.Node));
        var joins = plan.Steps.Where(s => s.Phase == BootstrapPhase.JoinWorkers).ToList();
        Assert.Equal([typeof(JoinNode), typeof(ApproveKubeletServing)], joins.Select(s => s.Action.GetType()));
        Assert.Equal("cp-1", ((JoinNode)joins[0].Action).Via);
        Assert.DoesNotContain(plan.Steps, s => s.Phase is BootstrapPhase.InitCluster or BootstrapPhase.JoinControlPlanes or BootstrapPhase.Network or BootstrapPhase.ClusterPolicies);
    }

    [Fact]
    public void For_PreparedNodesWithoutACluster_DoesNotRewriteTheUnchangedPoliciesFile()
    {
        // Nodes prepared on an earlier run that could not init (no Kubernetes packages): the policies file is
        // already there, so only the apply (which needs the packages) remains, and a rerun writes nothing.
        var spec = Spec();
        var converged = Converged(spec);
        var observed = converged with
        {
            Nodes = converged.Nodes.ToDictionary(
                n => n.Key,
                n => n.Value with { Files = n.Value.Files.Where(f => f.Key is not KubernetesPaths.ApiServerManifest and not KubernetesPaths.KubeletKubeconfig).ToDictionary() }),
        };

        var plan = ClusterBootstrapPlan.For(spec, observed, KubeTemplates, NewKey);

        var policies = plan.Steps.Where(s => s.Phase == BootstrapPhase.ClusterPolicies).ToList();
        Assert.Equal([typeof(RunCommand)], policies.Select(s => s.Action.GetType()));
        Assert.DoesNotContain(plan.Steps, s => s.Action is WriteFile w && w.File.Path == KubernetesPaths.AdmissionPolicies);
    }

    [Fact]
    public void For_NewCluster_InitsThenPoliciesNetworkControlPlanesWorkers()
    {
        var spec = Spec();

        var plan = ClusterBootstrapPlan.For(spec, Inspected(spec), KubeTemplates, NewKey);
        var phases = plan.Steps.Select(s => s.Phase).ToList();

        Assert.Equal(phases.Order(), phases);
        var init = Assert.Single(plan.Steps, s => s.Action is InitControlPlane);
        Assert.Equal("cp-1", init.Node);
        Assert.Equal(["cp-2", "cp-3"], plan.Steps.Where(s => s.Action is JoinNode && s.Phase == BootstrapPhase.JoinControlPlanes).Select(s => s.Node));
        Assert.Equal(["worker-1", "worker-2"], plan.Steps.Where(s => s.Action is JoinNode && s.Phase == BootstrapPhase.JoinWorkers).Select(s => s.Node));
        Assert.Single(plan.Steps, s => s.Action is UploadCertificates);
        // The uploaded certificates are removed once the control planes have joined.
        var lastControlPlaneStep = plan.Steps.Last(s => s.Phase == BootstrapPhase.JoinControlPlanes);
        Assert.Contains("kubeadm-certs", ((RunCommand)lastControlPlaneStep.Action).Argv);
        var cni = (RunScript)Assert.Single(plan.Steps, s => s.Phase == BootstrapPhase.Network).Action;
        Assert.Equal([CniPlugin.DefaultCalicoManifest.AbsoluteUri, CniSha256, KubernetesPaths.CniManifest, KubernetesPaths.AdminKubeconfig], cni.Arguments);
    }

    [Fact]
    public void For_NewCluster_PreparesEveryNodeWithPinnedHeldPackages()
    {
        var spec = Spec();

        var plan = ClusterBootstrapPlan.For(spec, Inspected(spec), KubeTemplates, NewKey);

        foreach (var node in spec.Nodes)
        {
            var prepare = plan.Steps.Where(s => s.Node == node.Name && s.Phase == BootstrapPhase.PrepareNodes).Select(s => s.Action.ToString()).ToList();
            Assert.Contains(prepare, a => a.StartsWith($"write {KubernetesPaths.ContainerdConfig}", StringComparison.Ordinal));
            Assert.Contains(prepare, a => a.StartsWith($"write {KubernetesPaths.AptPreferences}", StringComparison.Ordinal));
            Assert.Contains("modprobe -a overlay br_netfilter", prepare);
            Assert.Contains("sysctl --system", prepare);
            Assert.Contains("systemctl restart containerd", prepare);
            Assert.Contains("env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends --allow-change-held-packages kubeadm kubelet kubectl", prepare);
            Assert.Contains("apt-mark hold kubeadm kubelet kubectl", prepare);
            Assert.True(prepare.IndexOf("sysctl --system") > prepare.IndexOf("modprobe -a overlay br_netfilter"));
        }
    }

    [Fact]
    public void For_EncryptionKeyPresentOnAControlPlane_ReusesIt()
    {
        var spec = Spec();
        var existing = KubernetesDocuments.EncryptionConfiguration(BootstrapTokens.NewEncryptionKey());

        var plan = ClusterBootstrapPlan.For(spec, Inspected(spec) with { EncryptionConfiguration = existing }, KubeTemplates, NewKey);
        var written = plan.Steps.Select(s => s.Action).OfType<WriteFile>().Where(w => w.File.Path == KubernetesPaths.EncryptionConfiguration).ToList();

        Assert.Equal(3, written.Count);
        Assert.All(written, w => Assert.Equal(existing, w.File.Content));
        Assert.All(written, w => Assert.True(w.File.IsSecret));
    }

    [Fact]
    public void For_NoCniChecksum_BlockedAndNoNetworkStep()
    {
        var spec = KubernetesClusterSpec.From(Stack()) with { Cni = CniPlugin.Calico() };

        var plan = ClusterBootstrapPlan.For(spec, Inspected(spec), KubeTemplates, NewKey);

        Assert.DoesNotContain(plan.Steps, s => s.Phase == BootstrapPhase.Network);
        Assert.Contains(plan.Blockers, b => b.Contains("cni.sha256", StringComparison.Ordinal));
    }

    [Fact]
    public void For_SwapOnAndLooseModes_FixedOnlyWhereObserved()
    {
        var spec = Spec();
        var observed = Converged(spec);
        var worker = observed.Node("worker-1");
        var files = new Dictionary<string, ObservedFile>(worker.Files)
        {
            [KubernetesPaths.KubeletConfig] = new("22", KubernetesNodeFiles.WorldReadable, "root:root"),
        };
        observed = observed with
        {
            Nodes = new Dictionary<string, ObservedNode>(observed.Nodes) { ["worker-1"] = worker with { Files = files, Facts = DebianFacts with { SwapEnabled = true } } },
        };

        var plan = ClusterBootstrapPlan.For(spec, observed, KubeTemplates, NewKey);

        Assert.Equal(["disable-swap ", $"chmod-existing 0600 {KubernetesPaths.KubeletConfig}"], plan.Steps.Select(s => s.Action.ToString()));
        Assert.All(plan.Steps, s => Assert.Equal("worker-1", s.Node));
    }

    [Fact]
    public void For_ChangedAdmissionConfigOnMember_RewritesAndRestartsApiServer()
    {
        var spec = Spec();
        var observed = Converged(spec);
        var cp2 = observed.Node("cp-2");
        var files = new Dictionary<string, ObservedFile>(cp2.Files)
        {
            [KubernetesPaths.AdmissionConfiguration] = new("old", KubernetesNodeFiles.OwnerReadWrite, "root:root"),
        };
        observed = observed with { Nodes = new Dictionary<string, ObservedNode>(observed.Nodes) { ["cp-2"] = cp2 with { Files = files } } };

        var plan = ClusterBootstrapPlan.For(spec, observed, KubeTemplates, NewKey);

        Assert.Equal(
            [$"install -d -m 0700 -o root -g root {KubernetesPaths.ConfigDirectory}", $"install -d -m 0700 -o root -g root {KubernetesPaths.ApiServerConfigDirectory}", $"write {KubernetesPaths.AdmissionConfiguration} (600)", $"restart-apiserver {KubernetesPaths.CriSocket}"],
            plan.Steps.Select(s => s.Action.ToString()));
    }

    [Fact]
    public void For_NotesStateExemptionsUserNamespacesAndSource()
    {
        var spec = Spec();

        var plan = ClusterBootstrapPlan.For(spec, Inspected(spec), KubeTemplates, NewKey);

        Assert.Contains(plan.Notes, n => n.Contains("kube-system (calico-node", StringComparison.Ordinal) || n.Contains("kube-system (kube-apiserver", StringComparison.Ordinal));
        Assert.Contains(plan.Notes, n => n.StartsWith("hostUsers: false is NOT required", StringComparison.Ordinal));
        Assert.Contains(plan.Notes, n => n.Contains("upstream repository https://pkgs.k8s.io/core:/stable:/v1.34/deb/", StringComparison.Ordinal));
        Assert.DoesNotContain(plan.Rules.ProjectPolicies, p => p.Name == "provisioner-user-namespaces");
    }

    [Fact]
    public void For_WithoutPackages_PreparationStillPlannedAndTagged()
    {
        var spec = Spec();

        var plan = ClusterBootstrapPlan.For(spec, Inspected(spec), KubeTemplates, NewKey);
        var withoutPackages = plan.Steps.Where(s => !s.RequiresKubernetesPackages).ToList();

        Assert.Contains(withoutPackages, s => s.Action is WriteFile w && w.File.Path == KubernetesPaths.Sysctl);
        Assert.Contains(withoutPackages, s => s.Action.ToString() == "systemctl restart keepalived");
        Assert.DoesNotContain(withoutPackages, s => s.Action is InitControlPlane or JoinNode);
        Assert.DoesNotContain(withoutPackages, s => s.Action.ToString()!.Contains("apt-get update", StringComparison.Ordinal));
    }

    [Fact]
    public void For_FreshGoldenImage_HostPackagesFromDebianBeforeAnyKubernetesFile()
    {
        // Regression: golden images ship without package lists, so a bare 'apt-get install curl' found nothing.
        var spec = Spec();

        var plan = ClusterBootstrapPlan.For(spec, Inspected(spec), KubeTemplates, NewKey);
        var worker = plan.Steps.Where(s => s.Node == "worker-1").ToList();

        var install = Assert.Single(worker, s => s.Action is RunScript { Name: "install-host-packages" });
        Assert.Equal(["curl"], ((RunScript)install.Action).Arguments);
        Assert.Same(NodeScripts.InstallHostPackages, ((RunScript)install.Action).Script);
        Assert.False(install.RequiresKubernetesPackages);
        Assert.True(worker.IndexOf(install) < worker.FindIndex(s => s.Action is WriteFile { File.Path: KubernetesPaths.AptSource }));
        Assert.Equal(["keepalived", "curl"], ((RunScript)plan.Steps.Single(s => s.Node == "cp-1" && s.Action is RunScript { Name: "install-host-packages" }).Action).Arguments);
    }

    [Fact]
    public void Steps_DescriptionsAndActions_HoldNoSecret()
    {
        var spec = Spec();

        var plan = ClusterBootstrapPlan.For(spec, Inspected(spec), KubeTemplates, NewKey);

        Assert.All(plan.Steps, s => Assert.DoesNotContain(EncryptionKey, s.ToString() + s.Action, StringComparison.Ordinal));
    }

    [Fact]
    public void NodeInspection_Parse_ReadsFactsPackagesHoldsAndFiles()
    {
        const string output = "kernel\t6.1.0-28-cloud-amd64\ncontainerd\t1.6.20~ds1\ninterface\tenp1s0\nswap\ton\n"
            + "package\tkubeadm\t1.34.2-1.1\tii \npackage\tkeepalived\t1:2.2.7-1+b2\trc \nheld\tkubeadm\n"
            + "file\t/etc/kubernetes/kubelet.conf\t600\troot:root\tabc\nfile\t/x\tnot-octal\troot:root\tdef\n";

        var node = NodeInspection.Parse(output);

        Assert.Equal(DebianFacts with { SwapEnabled = true }, node.Facts);
        Assert.Equal("1.34.2-1.1", node.Packages["kubeadm"]);
        Assert.False(node.Packages.ContainsKey("keepalived"));
        Assert.Contains("kubeadm", node.HeldPackages);
        Assert.True(node.Joined);
        Assert.False(node.ControlPlaneMember);
        Assert.Equal(new ObservedFile("abc", KubernetesNodeFiles.OwnerReadWrite, "root:root"), node.Files["/etc/kubernetes/kubelet.conf"]);
        Assert.Single(node.Files);
    }

    [Fact]
    public void KubeletServingCsrPolicy_ApprovesOnlyThisNodesOwnNamesAndAddress()
    {
        var node = Spec().Workers[0];
        var csrs = CsrList(
            ("good", Csr(node.Name, [node.Name], [node.Address.ToString()]), $"system:node:{node.Name}", "kubernetes.io/kubelet-serving", false),
            ("extra-name", Csr(node.Name, [node.Name, "kubernetes.default"], [node.Address.ToString()]), $"system:node:{node.Name}", "kubernetes.io/kubelet-serving", false),
            ("other-ip", Csr(node.Name, [node.Name], ["10.20.0.99"]), $"system:node:{node.Name}", "kubernetes.io/kubelet-serving", false),
            ("other-node", Csr("worker-2", ["worker-2"], [node.Address.ToString()]), "system:node:worker-2", "kubernetes.io/kubelet-serving", false),
            ("client", Csr(node.Name, [node.Name], [node.Address.ToString()]), $"system:node:{node.Name}", "kubernetes.io/kube-apiserver-client-kubelet", false),
            ("approved", Csr(node.Name, [node.Name], [node.Address.ToString()]), $"system:node:{node.Name}", "kubernetes.io/kubelet-serving", true));

        Assert.Equal(["good"], KubeletServingCsrPolicy.Approvable(csrs, node));
    }

    private static string Csr(string node, string[] dnsNames, string[] addresses)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName($"O=system:nodes, CN=system:node:{node}"), key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in dnsNames)
        {
            san.AddDnsName(name);
        }

        foreach (var address in addresses)
        {
            san.AddIpAddress(IPAddress.Parse(address));
        }

        request.CertificateExtensions.Add(san.Build());
        return Convert.ToBase64String(Encoding.ASCII.GetBytes(request.CreateSigningRequestPem()));
    }

    private static string CsrList(params (string Name, string Request, string User, string Signer, bool Approved)[] items) =>
        JsonSerializer.Serialize(new
        {
            items = items.Select(i => new
            {
                metadata = new { name = i.Name },
                spec = new { request = i.Request, signerName = i.Signer, username = i.User, groups = new[] { "system:nodes", "system:authenticated" } },
                status = i.Approved ? (object)new { conditions = new[] { new { type = "Approved" } } } : new { },
            }),
        });
}
