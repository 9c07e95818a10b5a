using System.Globalization;

namespace Provisioner.Core.Kubernetes;

/// <summary>A command-line argument of a control-plane component and the CIS recommendation it meets.</summary>
/// <param name="Name">Flag name without dashes, e.g. <c>profiling</c>.</param>
/// <param name="Value">Its value.</param>
/// <param name="CisId">CIS Kubernetes Benchmark v1.10.0 id, or null when it serves the project's own design.</param>
/// <param name="Why">Why it is set.</param>
public sealed record ComponentArgument(string Name, string Value, string? CisId, string Why);

/// <summary>
/// The CIS-style settings of the control plane and the kubelet, as data: the kubeadm configuration is rendered
/// from these lists and the audit checks (<see cref="Audit.KubernetesAuditChecks"/>) are derived from them, so a
/// setting cannot be rendered without being audited. Ids are from the CIS Kubernetes Benchmark v1.10.0 (as
/// numbered by kube-bench's <c>cis-1.10</c> controls); settings the benchmark dropped or never had say so.
/// </summary>
public static class KubernetesHardening
{
    /// <summary>The benchmark the ids refer to.</summary>
    public const string Benchmark = "CIS Kubernetes Benchmark v1.10.0";

    /// <summary>TLS cipher suites for the API server and kubelet: ECDHE with AEAD only (forward secrecy), a subset of CIS 1.2.29 and 4.2.12.</summary>
    public static readonly IReadOnlyList<string> TlsCipherSuites =
    [
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
    ];

    /// <summary>Admission plugins enabled on top of the defaults.</summary>
    public static readonly IReadOnlyList<string> AdmissionPlugins = ["NodeRestriction", "PodSecurity", "DenyServiceExternalIPs"];

    /// <summary>Paths anonymous requests may reach (the health endpoints kubeadm and keepalived probe); everything else needs credentials.</summary>
    public static readonly IReadOnlyList<string> AnonymousPaths = ["/livez", "/readyz", "/healthz"];

    /// <summary>kube-apiserver arguments.</summary>
    public static IReadOnlyList<ComponentArgument> ApiServerArguments() =>
    [
        new("authentication-config", KubernetesPaths.AuthenticationConfiguration, "1.2.1",
            "anonymous requests only for " + string.Join(", ", AnonymousPaths) + " (--anonymous-auth=false would fail kubeadm's own probes)"),
        new("authorization-mode", "Node,RBAC", "1.2.6, 1.2.7, 1.2.8", "Node and RBAC authorization, never AlwaysAllow"),
        new("enable-admission-plugins", string.Join(',', AdmissionPlugins), "1.2.14, 1.2.3, 5.2.1", "NodeRestriction, Pod Security, no Service externalIPs"),
        new("admission-control-config-file", KubernetesPaths.AdmissionConfiguration, "5.2.1", "Pod Security restricted by default"),
        new("profiling", "false", "1.2.15", "no profiling endpoint"),
        new("audit-policy-file", KubernetesPaths.AuditPolicy, "3.2.1", "audit what matters"),
        new("audit-log-path", KubernetesPaths.AuditLog, "1.2.16", "audit log on the node"),
        new("audit-log-maxage", "30", "1.2.17", "keep 30 days"),
        new("audit-log-maxbackup", "10", "1.2.18", "keep 10 files"),
        new("audit-log-maxsize", "100", "1.2.19", "rotate at 100 MB"),
        new("encryption-provider-config", KubernetesPaths.EncryptionConfiguration, "1.2.27, 1.2.28", "Secrets encrypted at rest with secretbox"),
        new("kubelet-certificate-authority", KubernetesPaths.CaCertificate, "1.2.5", "verify kubelet serving certificates (issued by the cluster CA through serverTLSBootstrap)"),
        new("service-account-lookup", "true", "1.2.21", "revoked service account tokens stop working"),
        new("tls-min-version", "VersionTLS12", "1.2.29", "no TLS below 1.2"),
        new("tls-cipher-suites", string.Join(',', TlsCipherSuites), "1.2.29", "strong ciphers only"),
    ];

    /// <summary>kube-controller-manager arguments.</summary>
    public static IReadOnlyList<ComponentArgument> ControllerManagerArguments() =>
    [
        new("bind-address", "127.0.0.1", "1.3.7", "metrics and health on localhost only"),
        new("profiling", "false", "1.3.2", "no profiling endpoint"),
        new("use-service-account-credentials", "true", "1.3.3", "one service account per controller"),
        new("terminated-pod-gc-threshold", "1000", "1.3.1", "garbage-collect terminated pods"),
    ];

    /// <summary>kube-scheduler arguments.</summary>
    public static IReadOnlyList<ComponentArgument> SchedulerArguments() =>
    [
        new("bind-address", "127.0.0.1", "1.4.2", "metrics and health on localhost only"),
        new("profiling", "false", "1.4.1", "no profiling endpoint"),
    ];

    /// <summary>A KubeletConfiguration field and the recommendation it meets.</summary>
    /// <param name="Path">Dotted path in the KubeletConfiguration, e.g. <c>authentication.anonymous.enabled</c>.</param>
    /// <param name="Value">The value as YAML would print it.</param>
    /// <param name="CisId">Recommendation id, or a note when it is not in v1.10.0.</param>
    public sealed record KubeletSetting(string Path, string Value, string? CisId);

    /// <summary>The hardening fields of the KubeletConfiguration (the audit reads <c>/var/lib/kubelet/config.yaml</c> for them).</summary>
    public static IReadOnlyList<KubeletSetting> KubeletSettings(int podPidsLimit) =>
    [
        new("authentication.anonymous.enabled", "false", "4.2.1"),
        new("authentication.webhook.enabled", "true", "4.2.2"),
        new("authorization.mode", "Webhook", "4.2.2"),
        new("authentication.x509.clientCAFile", KubernetesPaths.CaCertificate, "4.2.3"),
        new("readOnlyPort", "0", "4.2.4"),
        new("streamingConnectionIdleTimeout", "5m0s", "4.2.5"),
        new("makeIPTablesUtilChains", "true", "4.2.6"),
        new("eventRecordQPS", "50", "4.2.8"),
        new("rotateCertificates", "true", "4.2.10"),
        new("serverTLSBootstrap", "true", "4.2.11"),
        new("tlsMinVersion", "VersionTLS12", "4.2.12"),
        new("podPidsLimit", podPidsLimit.ToString(CultureInfo.InvariantCulture), "4.2.13"),
        new("protectKernelDefaults", "true", "CIS v1.8.0 4.2.6 (dropped from v1.9.0)"),
        new("seccompDefault", "true", "5.7.2 (RuntimeDefault for every container, also in exempt namespaces)"),
        new("cgroupDriver", "systemd", null),
    ];

    /// <summary>
    /// Kernel settings the kubelet insists on when <c>protectKernelDefaults</c> is true (it refuses to start
    /// otherwise), written to the sysctl file together with what pod networking needs.
    /// </summary>
    public static readonly IReadOnlyList<(string Key, string Value)> KubeletKernelDefaults =
    [
        ("vm.overcommit_memory", "1"),
        ("vm.panic_on_oom", "0"),
        ("kernel.panic", "10"),
        ("kernel.panic_on_oops", "1"),
        ("kernel.keys.root_maxkeys", "1000000"),
        ("kernel.keys.root_maxbytes", "25000000"),
    ];
}
