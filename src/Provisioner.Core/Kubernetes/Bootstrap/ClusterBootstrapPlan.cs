using System.Globalization;
using Provisioner.Core.Kubernetes.Check;
using Provisioner.Core.Security;
using Provisioner.Core.Stacks;

namespace Provisioner.Core.Kubernetes.Bootstrap;

/// <summary>Stages of the bootstrap, run in this order.</summary>
public enum BootstrapPhase
{
    /// <summary>Host preparation on every node: files, modules, sysctls, swap, containerd, packages, keepalived. Nodes are independent.</summary>
    PrepareNodes,

    /// <summary><c>kubeadm init</c> on the first control plane (only when no control plane exists).</summary>
    InitCluster,

    /// <summary>The project's admission policies.</summary>
    ClusterPolicies,

    /// <summary>The CNI, applied from a verified manifest.</summary>
    Network,

    /// <summary>Further control planes, one at a time (etcd grows one member at a time).</summary>
    JoinControlPlanes,

    /// <summary>Workers.</summary>
    JoinWorkers,

    /// <summary>File modes CIS wants on existing members.</summary>
    Harden,
}

/// <summary>What a step does.</summary>
public abstract record BootstrapAction;

/// <summary>Runs a program with arguments (no shell), through sudo.</summary>
/// <param name="Argv">Program and arguments.</param>
public sealed record RunCommand(IReadOnlyList<string> Argv) : BootstrapAction
{
    /// <inheritdoc />
    public override string ToString() => string.Join(' ', Argv);
}

/// <summary>Runs one of the constant <see cref="NodeScripts"/> with positional arguments, through sudo.</summary>
/// <param name="Name">The script's name (for plans and logs).</param>
/// <param name="Script">The constant script text.</param>
/// <param name="Arguments">Its positional arguments.</param>
public sealed record RunScript(string Name, string Script, IReadOnlyList<string> Arguments) : BootstrapAction
{
    /// <inheritdoc />
    public override string ToString() => $"{Name} {string.Join(' ', Arguments)}";
}

/// <summary>Writes a managed file atomically with its mode and owner.</summary>
/// <param name="File">The file.</param>
public sealed record WriteFile(ManagedFile File) : BootstrapAction
{
    /// <inheritdoc />
    public override string ToString() => $"write {File.Path} ({Convert.ToString((int)File.Mode, 8)}{(File.IsSecret ? ", secret" : string.Empty)})";
}

/// <summary>
/// <c>kubeadm init</c> from a rendered configuration with a tool-made, short-lived init token that is deleted
/// right after; then the CIS file modes. Composite: the executor makes the token.
/// </summary>
public sealed record InitControlPlane : BootstrapAction;

/// <summary>
/// Uploads the control-plane certificates under a fresh certificate key right before control planes join
/// (the uploaded copy expires after two hours; it is deleted once the joins are done). Composite.
/// </summary>
public sealed record UploadCertificates : BootstrapAction;

/// <summary>
/// Joins the step's node through control plane <paramref name="Via"/>: a bootstrap token created right before the
/// join with a 15-minute TTL, a discovery kubeconfig pinning the CA fetched from <paramref name="Via"/>, a join
/// configuration (with the certificate key for control planes), <c>kubeadm join</c>, then the token and both
/// files are deleted and the CIS file modes set. Composite.
/// </summary>
/// <param name="Via">The control plane that creates the token.</param>
public sealed record JoinNode(string Via) : BootstrapAction;

/// <summary>Approves the step node's kubelet serving certificate request on <paramref name="Via"/> (see <see cref="KubeletServingCsrPolicy"/>). Composite.</summary>
/// <param name="Via">The control plane to run kubectl on.</param>
public sealed record ApproveKubeletServing(string Via) : BootstrapAction;

/// <summary>One step of the bootstrap.</summary>
/// <param name="Node">The node it acts on.</param>
/// <param name="Phase">Its stage.</param>
/// <param name="Action">What it does.</param>
/// <param name="Description">Why, for plans and logs (no secret).</param>
/// <param name="RequiresKubernetesPackages">Whether it needs the Kubernetes packages (reachable only where a package source is).</param>
public sealed record BootstrapStep(string Node, BootstrapPhase Phase, BootstrapAction Action, string Description, bool RequiresKubernetesPackages)
{
    /// <inheritdoc />
    public override string ToString() => $"[{Phase}] {Node}: {Description}";
}

/// <summary>
/// The ordered command plan that brings the cluster from what was observed to what the stack declares: only
/// what is missing or different. Re-planning an unchanged, complete cluster yields no step; adding a worker
/// yields that worker's preparation and join, nothing on other nodes beyond its token and certificate approval.
/// Pure: the executor (Engine) inspects, plans and runs it.
/// </summary>
public sealed record ClusterBootstrapPlan
{
    /// <summary>kubeadm, kubelet and kubectl.</summary>
    public static readonly IReadOnlyList<string> KubernetesPackages = ["kubeadm", "kubelet", "kubectl"];

    /// <summary>The cluster.</summary>
    public required KubernetesClusterSpec Spec { get; init; }

    /// <summary>The Pod Security rules the policies and admission configuration are rendered from.</summary>
    public required PodSecurityRuleSet Rules { get; init; }

    /// <summary>The control plane kubectl and tokens run on (the first member, or the first control plane before init).</summary>
    public required string Via { get; init; }

    /// <summary>The steps, in order.</summary>
    public required IReadOnlyList<BootstrapStep> Steps { get; init; }

    /// <summary>Statements for the output: exemptions and their reasons, user namespaces, upstream or mirror.</summary>
    public required IReadOnlyList<string> Notes { get; init; }

    /// <summary>What stops a step from being planned (e.g. an unpinned CNI checksum); the step is left out.</summary>
    public required IReadOnlyList<string> Blockers { get; init; }

    /// <summary>Plans <paramref name="spec"/> against <paramref name="observed"/>.</summary>
    /// <param name="spec">The cluster.</param>
    /// <param name="observed">What inspection found.</param>
    /// <param name="templates">Templates for the node files.</param>
    /// <param name="newEncryptionKey">The key to use when no control plane has an encryption configuration yet (ignored otherwise).</param>
    public static ClusterBootstrapPlan For(KubernetesClusterSpec spec, ObservedCluster observed, KubernetesTemplates templates, Secret newEncryptionKey)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(observed);
        ArgumentNullException.ThrowIfNull(templates);
        ArgumentNullException.ThrowIfNull(newEncryptionKey);

        var capability = UserNamespaceCapability.Evaluate(spec.Version,
            spec.Nodes.ToDictionary(n => n.Name, n => observed.Nodes.TryGetValue(n.Name, out var o) ? o.Facts : null, StringComparer.Ordinal));
        var rules = spec.PodSecurity(capability);
        var encryption = observed.EncryptionConfiguration ?? KubernetesDocuments.EncryptionConfiguration(newEncryptionKey);
        var member = spec.ControlPlanes.FirstOrDefault(n => observed.Node(n.Name).ControlPlaneMember);
        var via = member ?? spec.FirstControlPlane;
        var steps = new List<BootstrapStep>();
        var blockers = new List<string>();
        var notes = new List<string>
        {
            $"Pod Security enforces, audits and warns restricted at {rules.PolicyVersionTag} in every namespace but: "
                + string.Join("; ", rules.Exemptions.Select(e => $"{e.Namespace} ({string.Join("; ", e.Reasons)})")),
            capability.Statement,
            $"packages: kubeadm, kubelet, kubectl {spec.Version} from {(spec.PackageRepositoryConfigured ? "the configured source" : "the upstream repository")} {spec.PackageRepository}",
            spec.EndpointIsVirtual
                ? $"API endpoint {spec.ApiServerUrl}: a virtual IP held by keepalived on the control planes"
                : $"API endpoint {spec.ApiServerUrl}: the first control plane (no virtual IP declared; that node is a single point of failure)",
        };

        foreach (var node in spec.Nodes)
        {
            PrepareNode(spec, node, observed.Node(node.Name), rules, encryption, templates, member is not null, steps);
        }

        if (member is null)
        {
            steps.Add(new(via.Name, BootstrapPhase.InitCluster, new InitControlPlane(), $"kubeadm init {spec.Version} from {KubernetesPaths.KubeadmInit}", true));
            steps.Add(new(via.Name, BootstrapPhase.InitCluster, new ApproveKubeletServing(via.Name), "approve its kubelet serving certificate", true));
        }

        var viaObserved = observed.Node(via.Name);
        var policies = new ManagedFile
        {
            Path = KubernetesPaths.AdmissionPolicies,
            Content = new Secret(KubernetesDocuments.AdmissionPolicies(rules)),
            IsSecret = false,
            Mode = KubernetesNodeFiles.OwnerReadWrite,
            Activation = FileActivation.None,
        };
        // The file is written whenever it differs, and applied whenever it was rewritten or no cluster exists yet
        // to hold it. Writing it only when it differs keeps a node without the packages (where the apply cannot
        // run) converged on the second run instead of rewriting the same bytes each time.
        var policiesMatch = Matches(viaObserved, policies);
        if (!policiesMatch)
        {
            steps.Add(new(via.Name, BootstrapPhase.ClusterPolicies, new WriteFile(policies), "the project's admission policies", false));
        }

        if (member is null || !policiesMatch)
        {
            steps.Add(new(via.Name, BootstrapPhase.ClusterPolicies, new RunCommand(Kubectl("apply", "--server-side", "--force-conflicts", "--field-manager=provisioner", "-f", KubernetesPaths.AdmissionPolicies)),
                "apply " + string.Join(", ", rules.ProjectPolicies.Select(p => p.Name)), true));
        }

        if (spec.Cni.ManifestSha256 is not { } sha)
        {
            blockers.Add($"provisioner:kubernetes.cni.sha256 is not set: the {spec.Cni.Name} manifest {spec.Cni.ManifestUrl} is never applied without a pinned checksum, so nodes stay NotReady");
        }
        else if (member is null || !viaObserved.Files.TryGetValue(KubernetesPaths.CniManifest, out var cni) || cni.Sha256 != sha)
        {
            steps.Add(new(via.Name, BootstrapPhase.Network,
                new RunScript("apply-verified-manifest", NodeScripts.ApplyVerifiedManifest, [spec.Cni.ManifestUrl.AbsoluteUri, sha, KubernetesPaths.CniManifest, KubernetesPaths.AdminKubeconfig]),
                $"{spec.Cni.Name} from {spec.Cni.ManifestUrl}, applied only if its SHA-256 is {sha}", true));
        }

        var joiningControlPlanes = spec.ControlPlanes.Where(n => n.Name != via.Name && !observed.Node(n.Name).ControlPlaneMember).ToList();
        if (joiningControlPlanes.Count > 0)
        {
            steps.Add(new(via.Name, BootstrapPhase.JoinControlPlanes, new UploadCertificates(), "upload the control-plane certificates under a fresh certificate key", true));
            foreach (var node in joiningControlPlanes)
            {
                steps.Add(new(node.Name, BootstrapPhase.JoinControlPlanes, new JoinNode(via.Name), $"join as control plane through {via.Name} with a 15-minute token made right now", true));
                steps.Add(new(node.Name, BootstrapPhase.JoinControlPlanes, new ApproveKubeletServing(via.Name), "approve its kubelet serving certificate", true));
            }

            steps.Add(new(via.Name, BootstrapPhase.JoinControlPlanes, new RunCommand(Kubectl("-n", "kube-system", "delete", "secret", "kubeadm-certs", "--ignore-not-found")),
                "delete the uploaded certificates now that the control planes have joined", true));
        }

        foreach (var node in spec.Workers.Where(n => !observed.Node(n.Name).Joined))
        {
            steps.Add(new(node.Name, BootstrapPhase.JoinWorkers, new JoinNode(via.Name), $"join as worker through {via.Name} with a 15-minute token made right now", true));
            steps.Add(new(node.Name, BootstrapPhase.JoinWorkers, new ApproveKubeletServing(via.Name), "approve its kubelet serving certificate", true));
        }

        foreach (var node in spec.Nodes.Where(n => observed.Node(n.Name).Joined))
        {
            var found = observed.Node(node.Name);
            var loose = KubernetesPaths.ModeRequirements
                .Where(r => r.AllNodes || node.Role == NodeRole.ControlPlane)
                .Where(r => found.Files.TryGetValue(r.Path, out var f) && (f.Mode & ~r.Mode) != 0)
                .ToList();
            foreach (var group in loose.GroupBy(r => r.Mode))
            {
                steps.Add(new(node.Name, BootstrapPhase.Harden,
                    new RunScript("chmod-existing", NodeScripts.ChmodExisting, [Octal(group.Key), .. group.Select(r => r.Path)]),
                    $"tighten modes (CIS {string.Join(", ", group.Select(r => r.CisId))})", false));
            }
        }

        return new ClusterBootstrapPlan { Spec = spec, Rules = rules, Via = via.Name, Steps = steps, Notes = notes, Blockers = blockers };
    }

    /// <summary>The files <see cref="For"/> manages on <paramref name="node"/> (for inspection).</summary>
    public static IReadOnlyList<ManagedFile> ManagedFiles(KubernetesClusterSpec spec, ClusterNode node, NodeFacts? facts, PodSecurityRuleSet rules, Secret encryption, KubernetesTemplates templates) =>
        KubernetesNodeFiles.For(spec, node, facts, rules, encryption, templates);

    /// <summary><c>kubectl --kubeconfig /etc/kubernetes/admin.conf …</c>.</summary>
    public static IReadOnlyList<string> Kubectl(params string[] arguments) => ["kubectl", "--kubeconfig", KubernetesPaths.AdminKubeconfig, .. arguments];

    private static void PrepareNode(
        KubernetesClusterSpec spec, ClusterNode node, ObservedNode found, PodSecurityRuleSet rules, Secret encryption,
        KubernetesTemplates templates, bool clusterExists, List<BootstrapStep> steps)
    {
        void Add(BootstrapAction action, string description, bool needsPackages = false) =>
            steps.Add(new(node.Name, BootstrapPhase.PrepareNodes, action, description, needsPackages));

        if (found.Facts.SwapEnabled)
        {
            Add(new RunScript("disable-swap", NodeScripts.DisableSwap, []), "turn swap off (the kubelet refuses to run with it)");
        }

        var controlPlane = node.Role == NodeRole.ControlPlane;
        var hostPackages = controlPlane && spec.EndpointIsVirtual ? new[] { "keepalived", "curl" } : ["curl"];
        var missingHost = hostPackages.Where(p => !found.Packages.ContainsKey(p)).ToList();
        if (missingHost.Count > 0)
        {
            Add(new RunScript("install-host-packages", NodeScripts.InstallHostPackages, missingHost),
                $"install {string.Join(", ", missingHost)} from the Debian mirror");
        }

        var files = KubernetesNodeFiles.For(spec, node, found.Facts, rules, encryption, templates);
        var changed = files.Where(f => !Matches(found, f)).ToList();
        var directories = changed.Select(f => Path.GetDirectoryName(f.Path)!).ToList();
        if (directories.Any(d => d.StartsWith(KubernetesPaths.ConfigDirectory + "/", StringComparison.Ordinal)))
        {
            // install -d makes missing parents 0755; found live: the project's directory must be 0700 itself.
            directories.Insert(0, KubernetesPaths.ConfigDirectory);
        }

        foreach (var directory in directories.Distinct(StringComparer.Ordinal))
        {
            var mode = directory.StartsWith(KubernetesPaths.ConfigDirectory, StringComparison.Ordinal) ? "0700" : "0755";
            Add(new RunCommand(["install", "-d", "-m", mode, "-o", "root", "-g", "root", directory]), $"directory {directory}");
        }

        foreach (var file in changed)
        {
            Add(new WriteFile(file), found.Files.ContainsKey(file.Path) ? $"update {file.Path}" : $"create {file.Path}");
        }

        if (!found.Files.ContainsKey(KubernetesPaths.AptKeyring))
        {
            Add(new RunScript("install-repository-key", NodeScripts.InstallRepositoryKey,
                    [new Uri(spec.PackageRepository, "Release.key").AbsoluteUri, spec.PackageKeySha256 ?? string.Empty, KubernetesPaths.AptKeyring]),
                "the package repository's signing key" + (spec.PackageKeySha256 is null ? " (trusted over HTTPS; pin packageKeySha256 to verify it)" : ", verified against its pinned SHA-256"), true);
        }

        var activations = changed.Select(f => f.Activation).ToHashSet();
        if (activations.Contains(FileActivation.KernelModules))
        {
            Add(new RunCommand(["modprobe", "-a", "overlay", "br_netfilter"]), "load overlay and br_netfilter");
        }

        if (activations.Contains(FileActivation.Sysctl) || activations.Contains(FileActivation.KernelModules))
        {
            Add(new RunCommand(["sysctl", "--system"]), "apply the kernel settings");
        }

        if (activations.Contains(FileActivation.Containerd))
        {
            Add(new RunCommand(["systemctl", "restart", "containerd"]), "restart containerd with CRI and systemd cgroups");
        }

        var wrongVersion = KubernetesPackages.Where(p => !found.Packages.TryGetValue(p, out var v) || !v.StartsWith(spec.Version + "-", StringComparison.Ordinal)).ToList();
        if (activations.Contains(FileActivation.PackageSource) || !found.Files.ContainsKey(KubernetesPaths.AptKeyring) || wrongVersion.Count > 0)
        {
            Add(new RunCommand(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "update"]), "refresh the package lists", true);
        }

        if (wrongVersion.Count > 0)
        {
            Add(new RunCommand(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "--no-install-recommends", "--allow-change-held-packages", .. KubernetesPackages]),
                $"install kubeadm, kubelet and kubectl {spec.Version} (pinned)", true);
        }

        if (wrongVersion.Count > 0 || KubernetesPackages.Any(p => !found.HeldPackages.Contains(p)))
        {
            Add(new RunCommand(["apt-mark", "hold", .. KubernetesPackages]), "hold kubeadm, kubelet and kubectl", true);
        }

        if (activations.Contains(FileActivation.Keepalived))
        {
            Add(new RunCommand(["systemctl", "enable", "keepalived"]), "start keepalived at boot");
            Add(new RunCommand(["systemctl", "restart", "keepalived"]), $"(re)start keepalived for {spec.Endpoint}");
        }

        if (activations.Contains(FileActivation.ApiServer) && clusterExists && found.ControlPlaneMember)
        {
            Add(new RunScript("restart-apiserver", NodeScripts.RestartApiServer, [KubernetesPaths.CriSocket]), "restart the API server to read its changed files", true);
        }
    }

    private static bool Matches(ObservedNode found, ManagedFile file) =>
        found.Files.TryGetValue(file.Path, out var existing)
        && existing.Sha256 == file.Sha256
        && existing.Mode == file.Mode
        && existing.Owner == file.Owner;

    private static string Octal(UnixFileMode mode) => Convert.ToString((int)mode, 8).PadLeft(4, '0').ToString(CultureInfo.InvariantCulture);
}
