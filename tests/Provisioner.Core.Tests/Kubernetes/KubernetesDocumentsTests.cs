using Provisioner.Core.Kubernetes;
using Provisioner.Core.Security;
using Provisioner.Core.Tests.Templates;
using YamlDotNet.RepresentationModel;
using static Provisioner.Core.Tests.Kubernetes.KubernetesSamples;

namespace Provisioner.Core.Tests.Kubernetes;

public sealed class KubernetesDocumentsTests
{
    private static List<YamlMappingNode> InitDocuments() =>
        LoadAll(KubernetesDocuments.KubeadmInit(Spec(), Spec().FirstControlPlane, new Secret(Token)).Reveal());

    private static YamlMappingNode Cluster() => InitDocuments().Single(d => Scalar(d, "kind") == "ClusterConfiguration");

    private static YamlMappingNode Kubelet() => InitDocuments().Single(d => Scalar(d, "kind") == "KubeletConfiguration");

    [Fact]
    public void KubeadmInit_Sample_MatchesGoldenFile() =>
        Golden.AssertMatches("kubernetes/kubeadm-init.out.yaml", KubernetesDocuments.KubeadmInit(Spec(), Spec().FirstControlPlane, new Secret(Token)).Reveal());

    [Fact]
    public void KubeadmJoin_ControlPlaneAndWorker_MatchGoldenFiles()
    {
        var spec = Spec();
        Golden.AssertMatches("kubernetes/kubeadm-join-control-plane.out.yaml",
            KubernetesDocuments.KubeadmJoin(spec, spec.ControlPlanes[1], new Secret(Token), new Secret(CertificateKey)).Reveal());
        Golden.AssertMatches("kubernetes/kubeadm-join-worker.out.yaml",
            KubernetesDocuments.KubeadmJoin(spec, spec.Workers[0], new Secret(Token), null).Reveal());
    }

    [Fact]
    public void ApiServerFiles_Sample_MatchGoldenFiles()
    {
        Golden.AssertMatches("kubernetes/admission-configuration.out.yaml", KubernetesDocuments.AdmissionConfiguration(Rules()));
        Golden.AssertMatches("kubernetes/authentication-configuration.out.yaml", KubernetesDocuments.AuthenticationConfiguration(Spec().Version));
        Golden.AssertMatches("kubernetes/encryption-configuration.out.yaml", EncryptionConfiguration.Reveal());
    }

    [Fact]
    public void AdmissionPolicies_WithAndWithoutUserNamespaces_MatchGoldenFiles()
    {
        Golden.AssertMatches("kubernetes/admission-policies.out.yaml", KubernetesDocuments.AdmissionPolicies(Rules()));
        Golden.AssertMatches("kubernetes/admission-policies-userns-1.35.out.yaml", KubernetesDocuments.AdmissionPolicies(Rules("1.35.0", userNamespaces: true)));
    }

    [Fact]
    public void KubeadmInit_Documents_AreInitClusterAndKubeletConfigurations()
    {
        var kinds = InitDocuments().Select(d => Scalar(d, "apiVersion") + " " + Scalar(d, "kind")).ToList();

        Assert.Equal(
            ["kubeadm.k8s.io/v1beta4 InitConfiguration", "kubeadm.k8s.io/v1beta4 ClusterConfiguration", "kubelet.config.k8s.io/v1beta1 KubeletConfiguration"],
            kinds);
    }

    [Fact]
    public void ClusterConfiguration_EndpointVersionAndNetworks_FromStack()
    {
        var cluster = Cluster();

        Assert.Equal("10.20.0.10:6443", Scalar(cluster, "controlPlaneEndpoint"));
        Assert.Equal("v1.34.2", Scalar(cluster, "kubernetesVersion"));
        Assert.Equal("10.244.0.0/16", Scalar(cluster, "networking.podSubnet"));
        Assert.Equal("10.96.0.0/12", Scalar(cluster, "networking.serviceSubnet"));
        Assert.Equal("/var/lib/etcd", Scalar(cluster, "etcd.local.dataDir"));
        Assert.Contains("10.20.0.10", ((YamlSequenceNode)At(cluster, "apiServer.certSANs")).Select(n => ((YamlScalarNode)n).Value));
    }

    [Theory]
    [InlineData("authentication-config", "/etc/kubernetes/provisioner/apiserver/authentication-configuration.yaml")] // CIS 1.2.1
    [InlineData("authorization-mode", "Node,RBAC")] // CIS 1.2.6-1.2.8
    [InlineData("enable-admission-plugins", "NodeRestriction,PodSecurity,DenyServiceExternalIPs")] // CIS 1.2.14, 1.2.3
    [InlineData("admission-control-config-file", "/etc/kubernetes/provisioner/apiserver/admission-configuration.yaml")]
    [InlineData("profiling", "false")] // CIS 1.2.15
    [InlineData("audit-policy-file", "/etc/kubernetes/provisioner/apiserver/audit-policy.yaml")] // CIS 3.2.1
    [InlineData("audit-log-path", "/var/log/kubernetes/audit/audit.log")] // CIS 1.2.16
    [InlineData("audit-log-maxage", "30")] // CIS 1.2.17
    [InlineData("audit-log-maxbackup", "10")] // CIS 1.2.18
    [InlineData("audit-log-maxsize", "100")] // CIS 1.2.19
    [InlineData("encryption-provider-config", "/etc/kubernetes/provisioner/apiserver/encryption-configuration.yaml")] // CIS 1.2.27
    [InlineData("kubelet-certificate-authority", "/etc/kubernetes/pki/ca.crt")] // CIS 1.2.5
    [InlineData("tls-min-version", "VersionTLS12")] // CIS 1.2.29
    public void ClusterConfiguration_ApiServer_HasCisArgument(string name, string value) =>
        Assert.Equal(value, Arg(At(Cluster(), "apiServer"), name));

    [Fact]
    public void ClusterConfiguration_ApiServer_NoAnonymousAuthFlagNextToAuthenticationConfig() =>
        // The two are mutually exclusive in the API server; anonymous access is limited in the file.
        Assert.Null(Arg(At(Cluster(), "apiServer"), "anonymous-auth"));

    [Fact]
    public void ClusterConfiguration_ApiServer_CipherSuitesAreEcdheAead()
    {
        var suites = Arg(At(Cluster(), "apiServer"), "tls-cipher-suites")!.Split(',');

        Assert.NotEmpty(suites);
        Assert.All(suites, s => Assert.Matches("^TLS_ECDHE_(ECDSA|RSA)_WITH_(AES_(128|256)_GCM_SHA(256|384)|CHACHA20_POLY1305)$", s));
    }

    [Fact]
    public void ClusterConfiguration_ApiServer_MountsOnlyItsOwnFilesReadOnlyAndTheAuditLog()
    {
        var volumes = ((YamlSequenceNode)At(Cluster(), "apiServer.extraVolumes")).Cast<YamlMappingNode>().ToList();

        Assert.Equal(2, volumes.Count);
        Assert.Equal("/etc/kubernetes/provisioner/apiserver", Scalar(volumes[0], "hostPath"));
        Assert.Equal("true", Scalar(volumes[0], "readOnly"));
        Assert.Equal("/var/log/kubernetes/audit", Scalar(volumes[1], "hostPath"));
        Assert.Equal("false", Scalar(volumes[1], "readOnly"));
        // Every file the API server is pointed at lies under a mounted directory.
        foreach (var file in new[] { "authentication-config", "admission-control-config-file", "audit-policy-file", "encryption-provider-config" })
        {
            Assert.StartsWith("/etc/kubernetes/provisioner/apiserver/", Arg(At(Cluster(), "apiServer"), file));
        }
    }

    [Theory]
    [InlineData("controllerManager", "bind-address", "127.0.0.1")] // CIS 1.3.7
    [InlineData("controllerManager", "profiling", "false")] // CIS 1.3.2
    [InlineData("controllerManager", "use-service-account-credentials", "true")] // CIS 1.3.3
    [InlineData("scheduler", "bind-address", "127.0.0.1")] // CIS 1.4.2
    [InlineData("scheduler", "profiling", "false")] // CIS 1.4.1
    public void ClusterConfiguration_ControllerManagerAndScheduler_HaveCisArguments(string component, string name, string value) =>
        Assert.Equal(value, Arg(At(Cluster(), component), name));

    [Theory]
    [InlineData("authentication.anonymous.enabled", "false")] // CIS 4.2.1
    [InlineData("authentication.webhook.enabled", "true")]
    [InlineData("authorization.mode", "Webhook")] // CIS 4.2.2
    [InlineData("authentication.x509.clientCAFile", "/etc/kubernetes/pki/ca.crt")] // CIS 4.2.3
    [InlineData("readOnlyPort", "0")] // CIS 4.2.4
    [InlineData("rotateCertificates", "true")] // CIS 4.2.10
    [InlineData("serverTLSBootstrap", "true")] // CIS 4.2.11
    [InlineData("protectKernelDefaults", "true")]
    [InlineData("seccompDefault", "true")]
    [InlineData("podPidsLimit", "4096")] // CIS 4.2.13
    [InlineData("cgroupDriver", "systemd")]
    [InlineData("makeIPTablesUtilChains", "true")] // CIS 4.2.6
    public void KubeletConfiguration_HasHardeningSetting(string path, string value) =>
        Assert.Equal(value, Scalar(Kubelet(), path));

    [Fact]
    public void KubeletConfiguration_SettingsData_MatchTheRenderedDocument()
    {
        // The audit checks are derived from KubeletSettings; this keeps them honest against what is rendered.
        foreach (var setting in KubernetesHardening.KubeletSettings(4096))
        {
            Assert.Equal(setting.Value, Scalar(Kubelet(), setting.Path));
        }
    }

    [Fact]
    public void KubeadmInit_InitToken_IsShortLived()
    {
        var init = InitDocuments()[0];
        var token = (YamlMappingNode)((YamlSequenceNode)init["bootstrapTokens"])[0];

        Assert.Equal("10m0s", Scalar(token, "ttl"));
        Assert.Equal("cp-1", Scalar(init, "nodeRegistration.name"));
        Assert.Equal(Spec().FirstControlPlane.Address.ToString(), Scalar(init, "localAPIEndpoint.advertiseAddress"));
    }

    [Fact]
    public void KubeadmInit_Result_IsSecretAndRedacted() =>
        Assert.Equal(Secret.Redacted, KubernetesDocuments.KubeadmInit(Spec(), Spec().FirstControlPlane, new Secret(Token)).ToString());

    [Fact]
    public void KubeadmJoin_ControlPlane_UsesFileDiscoveryAndCertificateKey()
    {
        var spec = Spec();
        var join = Load(KubernetesDocuments.KubeadmJoin(spec, spec.ControlPlanes[2], new Secret(Token), new Secret(CertificateKey)).Reveal());

        Assert.Equal(KubernetesPaths.DiscoveryKubeconfig, Scalar(join, "discovery.file.kubeConfigPath"));
        Assert.Equal(Token, Scalar(join, "discovery.tlsBootstrapToken"));
        Assert.Equal(CertificateKey, Scalar(join, "controlPlane.certificateKey"));
        Assert.Equal(spec.ControlPlanes[2].Address.ToString(), Scalar(join, "controlPlane.localAPIEndpoint.advertiseAddress"));
    }

    [Fact]
    public void KubeadmJoin_WorkerWithCertificateKey_Throws()
    {
        var spec = Spec();

        Assert.Throws<ArgumentException>(() => KubernetesDocuments.KubeadmJoin(spec, spec.Workers[0], new Secret(Token), new Secret(CertificateKey)));
        Assert.Throws<ArgumentException>(() => KubernetesDocuments.KubeadmJoin(spec, spec.ControlPlanes[1], new Secret(Token), null));
    }

    [Fact]
    public void KubeadmJoin_MalformedToken_Throws() =>
        Assert.Throws<ArgumentException>(() => KubernetesDocuments.KubeadmJoin(Spec(), Spec().Workers[0], new Secret("abcdef.0123456789abcdef\n- x"), null));

    [Fact]
    public void DiscoveryKubeconfig_PinsCaAndEndpoint()
    {
        const string pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        var config = Load(KubernetesDocuments.DiscoveryKubeconfig(Spec(), pem, new Secret(Token)).Reveal());
        var cluster = (YamlMappingNode)((YamlMappingNode)((YamlSequenceNode)config["clusters"])[0])["cluster"];

        Assert.Equal("https://10.20.0.10:6443", Scalar(cluster, "server"));
        Assert.Equal(pem, System.Text.Encoding.ASCII.GetString(Convert.FromBase64String(Scalar(cluster, "certificate-authority-data"))));
    }

    [Fact]
    public void AdmissionConfiguration_EnforcesAuditsWarnsRestrictedAtPinnedVersion()
    {
        var config = Load(KubernetesDocuments.AdmissionConfiguration(Rules()));
        var plugin = (YamlMappingNode)((YamlSequenceNode)config["plugins"])[0];

        Assert.Equal("PodSecurity", Scalar(plugin, "name"));
        foreach (var mode in new[] { "enforce", "audit", "warn" })
        {
            Assert.Equal("restricted", Scalar(plugin, $"configuration.defaults.{mode}"));
            Assert.Equal("v1.34", Scalar(plugin, $"configuration.defaults.{mode}-version"));
        }

        Assert.Equal(["kube-system"], ((YamlSequenceNode)At(plugin, "configuration.exemptions.namespaces")).Select(n => ((YamlScalarNode)n).Value));
    }

    [Fact]
    public void Exemptions_ComputedFromInstalledComponents_EachWithReasons()
    {
        var exemption = Assert.Single(Spec().Exemptions);

        Assert.Equal("kube-system", exemption.Namespace);
        Assert.Contains(exemption.Reasons, r => r.StartsWith("calico-node", StringComparison.Ordinal));
        Assert.Contains(exemption.Reasons, r => r.StartsWith("kube-proxy", StringComparison.Ordinal));
        // Components that run restricted do not cause an exemption.
        Assert.DoesNotContain(exemption.Reasons, r => r.StartsWith("coredns", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("1.33.4", "apiserver.config.k8s.io/v1beta1")]
    [InlineData("1.34.2", "apiserver.config.k8s.io/v1")]
    public void AuthenticationConfiguration_AnonymousOnlyForHealthEndpoints(string version, string apiVersion)
    {
        var config = Load(KubernetesDocuments.AuthenticationConfiguration(Provisioner.Core.Kubernetes.KubernetesVersion.Parse(version)));

        Assert.Equal(apiVersion, Scalar(config, "apiVersion"));
        Assert.Equal("true", Scalar(config, "anonymous.enabled"));
        Assert.Equal(["/livez", "/readyz", "/healthz"], ((YamlSequenceNode)At(config, "anonymous.conditions")).Select(c => Scalar(c, "path")));
    }

    [Fact]
    public void EncryptionConfiguration_SecretboxFirstIdentityLast()
    {
        var config = Load(EncryptionConfiguration.Reveal());
        var resource = (YamlMappingNode)((YamlSequenceNode)config["resources"])[0];
        var providers = ((YamlSequenceNode)resource["providers"]).Cast<YamlMappingNode>().ToList();

        Assert.Equal(["secrets"], ((YamlSequenceNode)resource["resources"]).Select(n => ((YamlScalarNode)n).Value));
        Assert.Equal("secretbox", ((YamlScalarNode)providers[0].Children.Keys.Single()).Value);
        Assert.Equal("identity", ((YamlScalarNode)providers[^1].Children.Keys.Single()).Value);
        var key = Scalar((YamlMappingNode)((YamlSequenceNode)At(providers[0], "secretbox.keys"))[0], "secret");
        Assert.Equal(32, Convert.FromBase64String(key).Length);
    }

    [Fact]
    public void EncryptionConfiguration_ShortKey_Throws() =>
        Assert.Throws<ArgumentException>(() => KubernetesDocuments.EncryptionConfiguration(new Secret(Convert.ToBase64String(new byte[16]))));

    [Fact]
    public void BootstrapTokens_New_AreWellFormedAndDistinct()
    {
        var a = BootstrapTokens.NewToken();
        var b = BootstrapTokens.NewToken();

        Assert.True(BootstrapTokens.IsToken(a.Reveal()));
        Assert.NotEqual(a, b);
        Assert.Equal(a.Reveal()[..6], BootstrapTokens.IdOf(a));
        BootstrapTokens.ValidateCertificateKey(BootstrapTokens.NewCertificateKey());
        Assert.Equal(32, Convert.FromBase64String(BootstrapTokens.NewEncryptionKey().Reveal()).Length);
    }

    [Fact]
    public void AuditPolicy_SecretsMetadataOnlyAndWorkloadChangesInFull()
    {
        var policy = Load(KubeTemplates.Read("audit-policy.yaml"));
        var rules = ((YamlSequenceNode)policy["rules"]).Cast<YamlMappingNode>().ToList();

        Assert.Equal("audit.k8s.io/v1", Scalar(policy, "apiVersion"));
        int IndexOf(string resource) => rules.FindIndex(r => r.Children.ContainsKey("resources")
            && ((YamlSequenceNode)r["resources"]).Cast<YamlMappingNode>().Any(g => g.Children.ContainsKey("resources")
                && ((YamlSequenceNode)g["resources"]).Any(n => ((YamlScalarNode)n).Value == resource)));
        var secrets = IndexOf("secrets");
        Assert.Equal("Metadata", Scalar(rules[secrets], "level"));
        Assert.Equal("Metadata", Scalar(rules[IndexOf("pods/exec")], "level"));
        var pods = IndexOf("pods");
        Assert.Equal("RequestResponse", Scalar(rules[pods], "level"));
        // No earlier rule may log secrets with bodies: the first match decides.
        Assert.All(rules.Take(secrets), r => Assert.NotEqual("RequestResponse", Scalar(r, "level")));
        Assert.Equal("Metadata", Scalar(rules[^1], "level"));
    }
}
