namespace Provisioner.Core.Kubernetes;

/// <summary>Where the bootstrap puts things on the nodes.</summary>
public static class KubernetesPaths
{
    /// <summary>The project's own configuration (mode 0700, root): mounted read-only into the API server.</summary>
    public const string ConfigDirectory = "/etc/kubernetes/provisioner";

    /// <summary>kubeadm init configuration (0600: holds the init bootstrap token); removed after init.</summary>
    public const string KubeadmInit = ConfigDirectory + "/kubeadm-init.yaml";

    /// <summary>Configuration for uploading the control-plane certificates (0600: holds the certificate key); removed after use.</summary>
    public const string KubeadmUploadCertificates = ConfigDirectory + "/kubeadm-upload-certs.yaml";

    /// <summary>kubeadm join configuration (0600: holds the token and certificate key); removed after the join.</summary>
    public const string KubeadmJoin = ConfigDirectory + "/kubeadm-join.yaml";

    /// <summary>Discovery kubeconfig for a join (0600: holds the bootstrap token); removed after the join.</summary>
    public const string DiscoveryKubeconfig = ConfigDirectory + "/discovery.kubeconfig";

    /// <summary>
    /// The API server's own files (mode 0700, root), mounted read-only into the API server pod: only these, not
    /// the join and init files next to it.
    /// </summary>
    public const string ApiServerConfigDirectory = ConfigDirectory + "/apiserver";

    /// <summary>API server admission configuration (Pod Security defaults and exemptions).</summary>
    public const string AdmissionConfiguration = ApiServerConfigDirectory + "/admission-configuration.yaml";

    /// <summary>API server audit policy.</summary>
    public const string AuditPolicy = ApiServerConfigDirectory + "/audit-policy.yaml";

    /// <summary>API server authentication configuration (anonymous access only to the health endpoints).</summary>
    public const string AuthenticationConfiguration = ApiServerConfigDirectory + "/authentication-configuration.yaml";

    /// <summary>Encryption of Secrets at rest (0600: holds the key).</summary>
    public const string EncryptionConfiguration = ApiServerConfigDirectory + "/encryption-configuration.yaml";

    /// <summary>The project's ValidatingAdmissionPolicies and bindings, as applied.</summary>
    public const string AdmissionPolicies = ConfigDirectory + "/admission-policies.yaml";

    /// <summary>The CNI manifest as applied (written only after its checksum matched).</summary>
    public const string CniManifest = ConfigDirectory + "/cni.yaml";

    /// <summary>API server audit log directory (0700).</summary>
    public const string AuditLogDirectory = "/var/log/kubernetes/audit";

    /// <summary>API server audit log.</summary>
    public const string AuditLog = AuditLogDirectory + "/audit.log";

    /// <summary>containerd configuration.</summary>
    public const string ContainerdConfig = "/etc/containerd/config.toml";

    /// <summary>Kernel modules loaded at boot.</summary>
    public const string ModulesLoad = "/etc/modules-load.d/kubernetes.conf";

    /// <summary>Kernel settings.</summary>
    public const string Sysctl = "/etc/sysctl.d/90-kubernetes.conf";

    /// <summary>APT source of the Kubernetes packages (deb822).</summary>
    public const string AptSource = "/etc/apt/sources.list.d/kubernetes.sources";

    /// <summary>APT pin of the Kubernetes packages to the exact release.</summary>
    public const string AptPreferences = "/etc/apt/preferences.d/kubernetes";

    /// <summary>The repository's signing key (ASCII-armoured, which APT reads from a <c>.asc</c> file).</summary>
    public const string AptKeyring = "/etc/apt/keyrings/kubernetes-apt-keyring.asc";

    /// <summary>keepalived configuration (control planes with a virtual IP).</summary>
    public const string KeepalivedConfig = "/etc/keepalived/keepalived.conf";

    /// <summary>keepalived's API server health check.</summary>
    public const string KeepalivedCheck = "/etc/keepalived/check-apiserver.sh";

    /// <summary>kubeadm's admin kubeconfig on control planes.</summary>
    public const string AdminKubeconfig = "/etc/kubernetes/admin.conf";

    /// <summary>The cluster CA certificate.</summary>
    public const string CaCertificate = "/etc/kubernetes/pki/ca.crt";

    /// <summary>The kubelet's kubeconfig; present exactly when the node has joined.</summary>
    public const string KubeletKubeconfig = "/etc/kubernetes/kubelet.conf";

    /// <summary>The API server's static pod manifest; present exactly on control-plane members.</summary>
    public const string ApiServerManifest = "/etc/kubernetes/manifests/kube-apiserver.yaml";

    /// <summary>The kubelet configuration kubeadm writes from the cluster's KubeletConfiguration.</summary>
    public const string KubeletConfig = "/var/lib/kubelet/config.yaml";

    /// <summary>kubeadm's systemd drop-in for the kubelet (pkgs.k8s.io packages).</summary>
    public const string KubeletDropIn = "/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf";

    /// <summary>containerd's CRI socket.</summary>
    public const string CriSocket = "unix:///run/containerd/containerd.sock";

    /// <summary>
    /// Files kubeadm and the packages create whose modes CIS wants tighter than they come, with the CIS
    /// Kubernetes Benchmark v1.10.0 id; the bootstrap sets them after a node joins and the audit checks them.
    /// </summary>
    public static readonly IReadOnlyList<FileModeRequirement> ModeRequirements =
    [
        new(KubeletDropIn, UnixFileMode.UserRead | UnixFileMode.UserWrite, "4.1.1", AllNodes: true),
        new(KubeletKubeconfig, UnixFileMode.UserRead | UnixFileMode.UserWrite, "4.1.5", AllNodes: true),
        new(CaCertificate, UnixFileMode.UserRead | UnixFileMode.UserWrite, "4.1.7", AllNodes: true),
        new(KubeletConfig, UnixFileMode.UserRead | UnixFileMode.UserWrite, "4.1.9", AllNodes: true),
        new(ApiServerManifest, UnixFileMode.UserRead | UnixFileMode.UserWrite, "1.1.1", AllNodes: false),
        new("/etc/kubernetes/manifests/kube-controller-manager.yaml", UnixFileMode.UserRead | UnixFileMode.UserWrite, "1.1.3", AllNodes: false),
        new("/etc/kubernetes/manifests/kube-scheduler.yaml", UnixFileMode.UserRead | UnixFileMode.UserWrite, "1.1.5", AllNodes: false),
        new("/etc/kubernetes/manifests/etcd.yaml", UnixFileMode.UserRead | UnixFileMode.UserWrite, "1.1.7", AllNodes: false),
        new(AdminKubeconfig, UnixFileMode.UserRead | UnixFileMode.UserWrite, "1.1.13", AllNodes: false),
        new("/etc/kubernetes/scheduler.conf", UnixFileMode.UserRead | UnixFileMode.UserWrite, "1.1.15", AllNodes: false),
        new("/etc/kubernetes/controller-manager.conf", UnixFileMode.UserRead | UnixFileMode.UserWrite, "1.1.17", AllNodes: false),
    ];
}

/// <summary>A file whose mode must be at most <see cref="Mode"/>.</summary>
/// <param name="Path">Absolute path.</param>
/// <param name="Mode">The mode to set (and the most permissive one the audit accepts).</param>
/// <param name="CisId">CIS Kubernetes Benchmark v1.10.0 recommendation.</param>
/// <param name="AllNodes">True for every node, false for control planes only.</param>
public sealed record FileModeRequirement(string Path, UnixFileMode Mode, string CisId, bool AllNodes);
