using System.Text;
using Provisioner.Core.Kubernetes.Check;
using Provisioner.Core.Security;
using YamlDotNet.RepresentationModel;
using static Provisioner.Core.CloudInit.YamlDocumentBuilder;

namespace Provisioner.Core.Kubernetes;

/// <summary>
/// Renders the cluster's YAML configuration: kubeadm (init, upload-certs, join), the kubelet, the API server's
/// admission, audit, authentication and encryption files, and the admission policies. Every document is a
/// YamlDotNet node graph serialised by YamlDotNet, so no value (node name, address, token, CEL) can change a
/// document's structure. Documents holding a token or key are returned as <see cref="Secret"/>.
/// </summary>
public static class KubernetesDocuments
{
    private const string KubeadmApi = "kubeadm.k8s.io/v1beta4";

    /// <summary>
    /// <c>kubeadm init</c> configuration for the first control plane: InitConfiguration, ClusterConfiguration and
    /// KubeletConfiguration. kubeadm always creates a bootstrap token at init; <paramref name="initToken"/> is that
    /// token, chosen by the tool with a short TTL and deleted right after init (joins get their own).
    /// </summary>
    public static Secret KubeadmInit(KubernetesClusterSpec spec, ClusterNode node, Secret initToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(initToken);
        BootstrapTokens.Validate(initToken);
        var init = Map(
            ("apiVersion", Str(KubeadmApi)),
            ("kind", Str("InitConfiguration")),
            ("bootstrapTokens", Seq([Map(
                ("token", Str(initToken.Reveal())),
                ("description", Str("provisioner: created by kubeadm init, deleted right after it")),
                ("ttl", Str("10m0s")),
                ("usages", Seq([Str("signing"), Str("authentication")])),
                ("groups", Seq([Str("system:bootstrappers:kubeadm:default-node-token")])))])),
            ("nodeRegistration", NodeRegistration(node)),
            ("localAPIEndpoint", LocalApiEndpoint(node)));
        return new Secret(Documents(init, ClusterConfiguration(spec), KubeletConfiguration(spec)));
    }

    /// <summary>
    /// Configuration for <c>kubeadm init phase upload-certs --upload-certs --config</c>: uploads the control-plane
    /// certificates encrypted with <paramref name="certificateKey"/> right before control planes join.
    /// </summary>
    public static Secret KubeadmUploadCertificates(KubernetesClusterSpec spec, ClusterNode node, Secret certificateKey)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(certificateKey);
        BootstrapTokens.ValidateCertificateKey(certificateKey);
        var init = Map(
            ("apiVersion", Str(KubeadmApi)),
            ("kind", Str("InitConfiguration")),
            ("certificateKey", Str(certificateKey.Reveal())),
            ("nodeRegistration", NodeRegistration(node)),
            ("localAPIEndpoint", LocalApiEndpoint(node)));
        return new Secret(Documents(init, ClusterConfiguration(spec)));
    }

    /// <summary>
    /// <c>kubeadm join</c> configuration. Discovery is by file (<see cref="DiscoveryKubeconfig"/>): the CA is pinned
    /// by the tool, and no anonymous access to <c>cluster-info</c> is needed (anonymous requests only reach the
    /// health endpoints). <paramref name="certificateKey"/> is required for control planes, forbidden for workers.
    /// </summary>
    public static Secret KubeadmJoin(KubernetesClusterSpec spec, ClusterNode node, Secret token, Secret? certificateKey)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(token);
        BootstrapTokens.Validate(token);
        var controlPlane = node.Role == Stacks.NodeRole.ControlPlane;
        if (controlPlane != certificateKey is not null)
        {
            throw new ArgumentException(controlPlane ? "a control plane joins with a certificate key" : "a worker joins without a certificate key", nameof(certificateKey));
        }

        if (certificateKey is not null)
        {
            BootstrapTokens.ValidateCertificateKey(certificateKey);
        }

        var join = Map(
            ("apiVersion", Str(KubeadmApi)),
            ("kind", Str("JoinConfiguration")),
            ("discovery", Map(
                ("file", Map(("kubeConfigPath", Str(KubernetesPaths.DiscoveryKubeconfig)))),
                ("tlsBootstrapToken", Str(token.Reveal())))),
            ("nodeRegistration", NodeRegistration(node)),
            ("controlPlane", certificateKey is null ? null : Map(
                ("localAPIEndpoint", LocalApiEndpoint(node)),
                ("certificateKey", Str(certificateKey.Reveal())))),
            ("timeouts", Map(("discovery", Str("5m0s")), ("tlsBootstrap", Str("5m0s")))));
        return new Secret(Documents(join));
    }

    /// <summary>
    /// The discovery kubeconfig for a join: the API endpoint, the cluster CA as fetched from the first control plane,
    /// and the bootstrap token as credential (so kubeadm's cluster-info refresh is authenticated and, being
    /// forbidden to non-anonymous users, skipped: the pinned CA is what counts).
    /// </summary>
    public static Secret DiscoveryKubeconfig(KubernetesClusterSpec spec, string caCertificatePem, Secret token)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentException.ThrowIfNullOrEmpty(caCertificatePem);
        ArgumentNullException.ThrowIfNull(token);
        BootstrapTokens.Validate(token);
        var config = Map(
            ("apiVersion", Str("v1")),
            ("kind", Str("Config")),
            ("clusters", Seq([Map(
                ("name", Str(spec.ClusterName)),
                ("cluster", Map(
                    ("server", Str(spec.ApiServerUrl)),
                    ("certificate-authority-data", Str(Convert.ToBase64String(Encoding.ASCII.GetBytes(caCertificatePem)))))))])),
            ("users", Seq([Map(("name", Str("tls-bootstrap-token-user")), ("user", Map(("token", Str(token.Reveal())))))])),
            ("contexts", Seq([Map(("name", Str("tls-bootstrap")), ("context", Map(("cluster", Str(spec.ClusterName)), ("user", Str("tls-bootstrap-token-user")))))])),
            ("current-context", Str("tls-bootstrap")));
        return new Secret(Documents(config));
    }

    /// <summary>
    /// The API server's AdmissionConfiguration: Pod Security enforces, audits and warns <c>restricted</c> at the
    /// pinned version for every namespace, except the computed exemptions.
    /// </summary>
    public static string AdmissionConfiguration(PodSecurityRuleSet rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var tag = rules.PolicyVersionTag;
        var podSecurity = Map(
            ("apiVersion", Str("pod-security.admission.config.k8s.io/v1")),
            ("kind", Str("PodSecurityConfiguration")),
            ("defaults", Map(
                ("enforce", Str("restricted")), ("enforce-version", Str(tag)),
                ("audit", Str("restricted")), ("audit-version", Str(tag)),
                ("warn", Str("restricted")), ("warn-version", Str(tag)))),
            ("exemptions", Map(
                ("usernames", Seq([])),
                ("runtimeClasses", Seq([])),
                ("namespaces", Seq(rules.Exemptions.Select(e => (YamlNode)Str(e.Namespace)))))));
        return Documents(Map(
            ("apiVersion", Str("apiserver.config.k8s.io/v1")),
            ("kind", Str("AdmissionConfiguration")),
            ("plugins", Seq([Map(("name", Str("PodSecurity")), ("configuration", podSecurity))]))));
    }

    /// <summary>
    /// The API server's AuthenticationConfiguration: anonymous requests reach only the health endpoints
    /// (<see cref="KubernetesHardening.AnonymousPaths"/>). v1 from 1.34 (GA), v1beta1 before.
    /// </summary>
    public static string AuthenticationConfiguration(KubernetesVersion version) => Documents(Map(
        ("apiVersion", Str(version.AtLeast(1, 34) ? "apiserver.config.k8s.io/v1" : "apiserver.config.k8s.io/v1beta1")),
        ("kind", Str("AuthenticationConfiguration")),
        ("anonymous", Map(
            ("enabled", Bool(true)),
            ("conditions", Seq(KubernetesHardening.AnonymousPaths.Select(p => (YamlNode)Map(("path", Str(p)))).ToList()))))));

    /// <summary>
    /// Encryption of Secrets at rest with secretbox (XSalsa20-Poly1305; Kubernetes recommends it over aescbc) under
    /// <paramref name="key"/> (32 random bytes, base64); identity last so data written before encryption stays readable.
    /// </summary>
    public static Secret EncryptionConfiguration(Secret key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!IsBase64Key(key.Reveal()))
        {
            throw new ArgumentException("the encryption key must be 32 bytes, base64-encoded", nameof(key));
        }

        return new Secret(Documents(Map(
            ("apiVersion", Str("apiserver.config.k8s.io/v1")),
            ("kind", Str("EncryptionConfiguration")),
            ("resources", Seq([Map(
                ("resources", Seq([Str("secrets")])),
                ("providers", Seq([
                    Map(("secretbox", Map(("keys", Seq([Map(("name", Str("provisioner-1")), ("secret", Str(key.Reveal())))]))))),
                    Map(("identity", new YamlMappingNode())),
                ])))])))));
    }

    /// <summary>
    /// The project's ValidatingAdmissionPolicies and their bindings: each policy Denies (and Audits) in every
    /// namespace except the exempt ones, selected by <c>kubernetes.io/metadata.name</c>.
    /// </summary>
    public static string AdmissionPolicies(PodSecurityRuleSet rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var documents = new List<YamlNode>();
        foreach (var rule in rules.ProjectPolicies)
        {
            var resourceRules = rule.Target == Check.PolicyTarget.Pods
                ? Seq([
                    ResourceRule("CREATE", "pods"),
                    ResourceRule("UPDATE", "pods/ephemeralcontainers"),
                ])
                : Seq([Map(
                    ("apiGroups", Seq([Str("")])),
                    ("apiVersions", Seq([Str("v1")])),
                    ("operations", Seq([Str("CREATE"), Str("UPDATE")])),
                    ("resources", Seq([Str("namespaces")])))]);
            documents.Add(Map(
                ("apiVersion", Str("admissionregistration.k8s.io/v1")),
                ("kind", Str("ValidatingAdmissionPolicy")),
                ("metadata", PolicyMetadata(rule)),
                ("spec", Map(
                    ("failurePolicy", Str("Fail")),
                    ("matchConstraints", Map(("resourceRules", resourceRules))),
                    ("validations", Seq(rule.Validations(rules).Select(v => (YamlNode)Map(
                        ("expression", Str(v.Expression)),
                        ("message", Str(v.Message)),
                        ("reason", Str("Forbidden")))).ToList()))))));
            documents.Add(Map(
                ("apiVersion", Str("admissionregistration.k8s.io/v1")),
                ("kind", Str("ValidatingAdmissionPolicyBinding")),
                ("metadata", PolicyMetadata(rule)),
                ("spec", Map(
                    ("policyName", Str(rule.Name)),
                    ("validationActions", Seq([Str("Deny"), Str("Audit")])),
                    ("matchResources", Map(("namespaceSelector", Map(("matchExpressions", Seq([Map(
                        ("key", Str("kubernetes.io/metadata.name")),
                        ("operator", Str("NotIn")),
                        ("values", Seq(rules.Exemptions.Select(e => (YamlNode)Str(e.Namespace)).ToList())))]))))))))));
        }

        return Documents([.. documents]);
    }

    /// <summary>The ClusterConfiguration: endpoint, networks, and the control-plane flags of <see cref="KubernetesHardening"/>.</summary>
    internal static YamlMappingNode ClusterConfiguration(KubernetesClusterSpec spec) => Map(
        ("apiVersion", Str(KubeadmApi)),
        ("kind", Str("ClusterConfiguration")),
        ("clusterName", Str(spec.ClusterName)),
        ("kubernetesVersion", Str(spec.Version.Tag)),
        ("controlPlaneEndpoint", Str($"{spec.Endpoint}:{KubernetesClusterSpec.ApiServerPort}")),
        ("imageRepository", spec.ImageRepository is null ? null : Str(spec.ImageRepository)),
        ("certificatesDir", Str("/etc/kubernetes/pki")),
        ("networking", Map(
            ("podSubnet", Str(spec.PodCidr.ToString())),
            ("serviceSubnet", Str(spec.ServiceCidr.ToString())),
            ("dnsDomain", Str("cluster.local")))),
        ("etcd", Map(("local", Map(("dataDir", Str("/var/lib/etcd")))))),
        ("apiServer", Map(
            ("certSANs", Seq([Str(spec.Endpoint.ToString()), Str("127.0.0.1")])),
            ("extraArgs", Arguments(KubernetesHardening.ApiServerArguments())),
            ("extraVolumes", Seq([
                Map(
                    ("name", Str("provisioner-apiserver")),
                    ("hostPath", Str(KubernetesPaths.ApiServerConfigDirectory)),
                    ("mountPath", Str(KubernetesPaths.ApiServerConfigDirectory)),
                    ("readOnly", Bool(true)),
                    ("pathType", Str("Directory"))),
                Map(
                    ("name", Str("audit-log")),
                    ("hostPath", Str(KubernetesPaths.AuditLogDirectory)),
                    ("mountPath", Str(KubernetesPaths.AuditLogDirectory)),
                    ("readOnly", Bool(false)),
                    ("pathType", Str("DirectoryOrCreate"))),
            ])))),
        ("controllerManager", Map(("extraArgs", Arguments(KubernetesHardening.ControllerManagerArguments())))),
        ("scheduler", Map(("extraArgs", Arguments(KubernetesHardening.SchedulerArguments())))));

    /// <summary>The KubeletConfiguration every node gets (kubeadm stores it in the cluster and writes it on each join).</summary>
    internal static YamlMappingNode KubeletConfiguration(KubernetesClusterSpec spec) => Map(
        ("apiVersion", Str("kubelet.config.k8s.io/v1beta1")),
        ("kind", Str("KubeletConfiguration")),
        ("authentication", Map(
            ("anonymous", Map(("enabled", Bool(false)))),
            ("webhook", Map(("enabled", Bool(true)), ("cacheTTL", Str("2m0s")))),
            ("x509", Map(("clientCAFile", Str(KubernetesPaths.CaCertificate)))))),
        ("authorization", Map(("mode", Str("Webhook")))),
        ("readOnlyPort", Int(0)),
        ("streamingConnectionIdleTimeout", Str("5m0s")),
        ("makeIPTablesUtilChains", Bool(true)),
        ("eventRecordQPS", Int(50)),
        ("rotateCertificates", Bool(true)),
        ("serverTLSBootstrap", Bool(true)),
        ("tlsMinVersion", Str("VersionTLS12")),
        ("tlsCipherSuites", Seq(KubernetesHardening.TlsCipherSuites.Select(s => (YamlNode)Str(s)).ToList())),
        ("protectKernelDefaults", Bool(true)),
        ("seccompDefault", Bool(true)),
        ("podPidsLimit", Int(spec.PodPidsLimit)),
        ("cgroupDriver", Str("systemd")),
        ("containerRuntimeEndpoint", Str(KubernetesPaths.CriSocket)),
        ("failSwapOn", Bool(true)));

    private static YamlMappingNode NodeRegistration(ClusterNode node) => Map(
        ("name", Str(node.Name)),
        ("criSocket", Str(KubernetesPaths.CriSocket)),
        ("kubeletExtraArgs", Seq([Map(("name", Str("node-ip")), ("value", Str(node.Address.ToString())))])));

    private static YamlMappingNode LocalApiEndpoint(ClusterNode node) => Map(
        ("advertiseAddress", Str(node.Address.ToString())),
        ("bindPort", Int(KubernetesClusterSpec.ApiServerPort)));

    private static YamlSequenceNode Arguments(IEnumerable<ComponentArgument> arguments) =>
        Seq(arguments.Select(a => (YamlNode)Map(("name", Str(a.Name)), ("value", Str(a.Value)))).ToList());

    private static YamlMappingNode ResourceRule(string operation, string resource) => Map(
        ("apiGroups", Seq([Str("")])),
        ("apiVersions", Seq([Str("v1")])),
        ("operations", Seq([Str(operation)])),
        ("resources", Seq([Str(resource)])));

    private static YamlMappingNode PolicyMetadata(AdmissionPolicyRule rule) => Map(
        ("name", Str(rule.Name)),
        ("labels", Map(("app.kubernetes.io/managed-by", Str("provisioner")))),
        ("annotations", Map(("provisioner/seed-policy", Str(rule.SeedClause)))));

    private static bool IsBase64Key(string text)
    {
        Span<byte> buffer = stackalloc byte[48];
        return Convert.TryFromBase64String(text, buffer, out var written) && written == 32;
    }

    /// <summary>Serialises documents, separated by <c>---</c> lines.</summary>
    internal static string Documents(params YamlNode[] documents) =>
        string.Join("---\n", documents.Select(d => Serialize(d)));
}
