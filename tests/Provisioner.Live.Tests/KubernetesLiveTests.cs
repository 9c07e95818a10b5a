using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Provisioner.Core.Kubernetes;
using Provisioner.Core.Security;
using Provisioner.Core.Stacks;
using Provisioner.Core.Templates;
using Provisioner.Engine;
using Provisioner.Engine.Access;
using Provisioner.Engine.Audit;
using Provisioner.Engine.Hardening;
using Provisioner.Engine.Images;
using Provisioner.Engine.Keys;
using Provisioner.Engine.Kubernetes;
using Provisioner.Engine.Readiness;
using Provisioner.Remote.Sessions;
using Provisioner.Remote.Shell;

namespace Provisioner.Live.Tests;

/// <summary>
/// A two-node cluster stack (one control plane, one worker) on the real local libvirt under qemu, brought up with the
/// production wiring: hardening and Kubernetes first-boot extras, then the Kubernetes phase and the audit. Without a
/// Kubernetes package source everything before the packages runs for real and is checked on the guests (containerd
/// with CRI and systemd cgroups, modules, sysctls, swap, managed files and their modes, a second run that changes
/// nothing) and the firewall is probed with real packets between the nodes and from a non-cluster source. With
/// <see cref="PackageSourceVariable"/> set, the full cluster comes up and admission is shown to work.
/// </summary>
public sealed class KubernetesLiveTests : IAsyncLifetime
{
    /// <summary>Names a Kubernetes package source (pkgs.k8s.io layout) the guests can reach; enables the end-to-end test.</summary>
    public const string PackageSourceVariable = "PROVISIONER_K8S_PACKAGE_SOURCE";

    /// <summary>The skip reason of the end-to-end test where no package source is configured.</summary>
    public const string NoPackageSourceReason =
        "Kubernetes packages are not reachable from this machine: set " + PackageSourceVariable + " to a package source (e.g. https://pkgs.k8s.io/core:/stable:/v1.33/deb/) to run the full cluster test";

    private const string Version = "1.33.4";

    // Stands in for a pinned CNI checksum so the plan has no blocker; the CNI step needs the packages and is not run without them.
    private const string PlaceholderCniSha256 = "0f3e9d1c2b4a5968778695a4b3c2d1e0f0e1d2c3b4a5968778695a4b3c2d1e0f";

    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(5);

    private readonly string _stateDir = Directory.CreateTempSubdirectory("kubelive-").FullName;
    private readonly string _name = "kubelive" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3));
    private StackDefinition? _stack;
    private StackEngine? _engine;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        // Whatever happened, leave nothing of the stack behind.
        if (_engine is not null && _stack is not null)
        {
            try
            {
                await _engine.DestroyAsync(_stack, CancellationToken.None);
            }
            catch (Exception ex)
            {
                Console.Error.WriteLine($"cleanup of stack {_stack.Name} failed: {ex}");
            }
        }

        Directory.Delete(_stateDir, recursive: true);
    }

    [Fact]
    public async Task Up_ClusterStackWithoutPackages_NodesPreparedFirewalledAndSecondRunChangesNothing()
    {
        LivePrerequisites.Require();
        var ct = TestContext.Current.CancellationToken;
        var (engine, access, phase) = CreateEngine(KubernetesPhase.WithoutKubernetesPackages);
        _stack = StackLoader.Parse(StackYaml(controlPlaneMiB: 1024, packageSource: null), _name, "kubelive.yaml");
        _engine = engine;

        var up = await engine.UpAsync(_stack, ct);

        Assert.True(up.Changed);
        Assert.Equal(["cp", "worker"], up.Nodes.Select(n => n.Name).Order(StringComparer.Ordinal));
        var kubernetes = Assert.IsType<KubernetesPhaseResult>(up.Phases.Single(p => p.Phase == "kubernetes"));
        Assert.False(kubernetes.Failed, string.Join("\n", kubernetes.Details));
        Assert.Empty(kubernetes.Secrets);
        Assert.Contains("not run", kubernetes.Summary, StringComparison.Ordinal);
        Assert.Equal(["audit"], up.Phases.Skip(1).Select(p => p.Phase));

        var cp = up.Nodes.Single(n => n.Name == "cp");
        var worker = up.Nodes.Single(n => n.Name == "worker");
        var spec = KubernetesClusterSpec.From(_stack);
        var preparation = new KubernetesNodePreparation(KubernetesTemplates.CreateDefault());
        await using var cpSession = await access.OpenAsync(_stack, cp, ct);
        await using var workerSession = await access.OpenAsync(_stack, worker, ct);
        foreach (var (node, session) in new[] { (cp, cpSession), (worker, workerSession) })
        {
            await AssertPreparedAsync(node.Name, session, preparation.FilesFor(_stack, node.Name), ct);
        }

        // The control plane's API server files are in place with mode 0600 under a 0700 directory.
        var modes = await RunAsync(cpSession, ShellCommand.Create("stat", "-c", "%n %a %U:%G",
            KubernetesPaths.ConfigDirectory, KubernetesPaths.ApiServerConfigDirectory, KubernetesPaths.AdmissionConfiguration, KubernetesPaths.AuditPolicy,
            KubernetesPaths.AuthenticationConfiguration, KubernetesPaths.EncryptionConfiguration, KubernetesPaths.AptSource, KubernetesPaths.AptPreferences), ct);
        Assert.Equal(
            [
                $"{KubernetesPaths.ConfigDirectory} 700 root:root", $"{KubernetesPaths.ApiServerConfigDirectory} 700 root:root",
                $"{KubernetesPaths.AdmissionConfiguration} 600 root:root", $"{KubernetesPaths.AuditPolicy} 600 root:root",
                $"{KubernetesPaths.AuthenticationConfiguration} 600 root:root", $"{KubernetesPaths.EncryptionConfiguration} 600 root:root",
                $"{KubernetesPaths.AptSource} 644 root:root", $"{KubernetesPaths.AptPreferences} 644 root:root",
            ],
            Lines(modes));
        var workerFiles = await workerSession.RunAsync(ShellCommand.Create("test", "-e", KubernetesPaths.EncryptionConfiguration).WithSudo(), ct);
        Assert.False(workerFiles.Succeeded, "a worker must not hold the encryption configuration");

        await AssertFirewallAsync(spec, cp, cpSession, worker, workerSession, ct);

        // A second run over the prepared nodes changes nothing.
        var again = await engine.RunPhasesAsync(_stack, [phase], null, ct);
        var second = Assert.Single(again);
        Assert.False(second.Changed, second.Summary + "\n" + string.Join("\n", second.Details));
        Assert.Contains("nothing to do", second.Summary, StringComparison.Ordinal);

        // The admin kubeconfig (CLI `k8s kubeconfig`, the plugin's getKubeconfig) is read back from a control plane over
        // SSH: none before kubeadm init; once a file is where kubeadm writes it, that file whole, as a secret.
        Assert.Null(await AdminKubeconfig.ReadAsync(_stack, up.Nodes, access, ct));
        const string Kubeconfig = "apiVersion: v1\nkind: Config\nusers:\n- name: kubernetes-admin\n  user: {token: kubelive-not-a-real-token}\n";
        await RunAsync(cpSession, ShellCommand.Script("umask 077; mkdir -p /etc/kubernetes; cat > \"$1\"", KubernetesPaths.AdminKubeconfig).WithStandardInput(Kubeconfig), ct);
        try
        {
            var read = await AdminKubeconfig.ReadAsync(_stack, up.Nodes, access, ct);
            Assert.Equal(Kubeconfig, Assert.IsType<Secret>(read).Reveal());
            Assert.DoesNotContain("kubelive-not-a-real-token", read.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            await RunAsync(cpSession, ShellCommand.Create("rm", "-f", KubernetesPaths.AdminKubeconfig), ct);
        }
    }

    [Fact]
    public async Task Up_WithPackageSource_ClusterRejectsPrivilegedAndRootGroupPodsAndRunsCompliantPod()
    {
        var source = Environment.GetEnvironmentVariable(PackageSourceVariable);
        if (string.IsNullOrWhiteSpace(source))
        {
            Assert.Skip(NoPackageSourceReason);
        }

        LivePrerequisites.Require();
        var ct = TestContext.Current.CancellationToken;
        var (engine, access, _) = CreateEngine(null);
        // kubeadm's preflight wants 1700 MB on a control plane.
        _stack = StackLoader.Parse(StackYaml(controlPlaneMiB: 2048, packageSource: source), _name, "kubelive.yaml");
        _engine = engine;

        var up = await engine.UpAsync(_stack, ct);
        var kubernetes = up.Phases.Single(p => p.Phase == "kubernetes");
        Assert.False(kubernetes.Failed, string.Join("\n", kubernetes.Details));
        Assert.True(kubernetes.Secrets.ContainsKey(KubernetesPhase.KubeconfigSecret));
        Assert.DoesNotContain(kubernetes.Details, d => d.Contains("client-key-data", StringComparison.Ordinal));

        var cp = up.Nodes.Single(n => n.Name == "cp");
        await using var session = await access.OpenAsync(_stack, cp, ct);
        await RunAsync(session, Kubectl("create", "namespace", "tenant"), ct);

        var privileged = await ApplyAsync(session, """
            apiVersion: v1
            kind: Pod
            metadata: {name: privileged, namespace: tenant}
            spec:
              containers:
                - name: c
                  image: registry.k8s.io/pause:3.10
                  securityContext: {privileged: true}
            """, ct);
        Assert.False(privileged.Succeeded);
        Assert.Contains("violates PodSecurity \"restricted", privileged.StdErr, StringComparison.Ordinal);

        var rootGroup = await ApplyAsync(session, Compliant("root-group").Replace("fsGroup: 2000", "fsGroup: 0", StringComparison.Ordinal), ct);
        Assert.False(rootGroup.Succeeded);
        Assert.Contains("ValidatingAdmissionPolicy", rootGroup.StdErr, StringComparison.Ordinal);

        var compliant = await ApplyAsync(session, Compliant("compliant"), ct);
        Assert.True(compliant.Succeeded, compliant.StdErr);
        await RunAsync(session, Kubectl("-n", "tenant", "wait", "--for=condition=Ready", "pod/compliant", "--timeout=600s"), TimeSpan.FromMinutes(11), ct);

        var again = await engine.UpAsync(_stack, ct);
        Assert.False(again.Phases.Single(p => p.Phase == "kubernetes").Changed, "a second up on the cluster must change nothing");
    }

    private (StackEngine Engine, INodeAccess Access, KubernetesPhase Phase) CreateEngine(Func<Core.Kubernetes.Bootstrap.BootstrapStep, bool>? stepFilter)
    {
        // The production wiring (EngineFactory), with this test's key store and the live image source.
        var keys = new StackKeyStore(Path.Combine(_stateDir, "keys"));
        var ssh = new SshConnector();
        var access = new SshNodeAccess(ssh, keys);
        var templates = TemplateRenderer.CreateDefault();
        var kubernetesTemplates = KubernetesTemplates.CreateDefault();
        var hardening = new NodeHardening(templates) { AdditionalChecks = KubernetesNodeAudit.ChecksFor };
        var phase = new KubernetesPhase(kubernetesTemplates, NullLoggerFactory.Instance) { StepFilter = stepFilter };
        var clusterNodes = new KubernetesNodePreparation(kubernetesTemplates);
        var engine = new StackEngine(new StackEngineOptions
        {
            Templates = templates,
            Images = RecipeImageSource.FromEnvironment(TimeProvider.System),
            Readiness = new SshNodeReadiness(ssh, TimeProvider.System, TimeSpan.FromMinutes(50), NullLogger.Instance),
            Keys = keys,
            Extras = (stack, node) => hardening.FirstBoot(stack, node).Then(clusterNodes.FirstBoot(stack, node)),
            Phases = [phase, new AuditPhase(hardening, new AuditRunner())],
            Access = access,
        });
        return (engine, access, phase);
    }

    private string StackYaml(int controlPlaneMiB, string? packageSource) => $"""
        config:
          provisioner:hosts:
            - name: localhost
              uri: qemu:///system
              region: local
              zone: local
              pool: {"{"}name: {_name}, path: /var/lib/provisioner/pools/{_name}, media: nvme{"}"}
          provisioner:networks:
            - name: net
              cidr: 10.83.0.0/24
              mode: nat
          provisioner:image:
            name: debian-12
            recipe: debian-12
          provisioner:nodes:
            - name: cp
              role: control-plane
              cpus: 1
              memoryMiB: {controlPlaneMiB}
              diskGiB: 6
              diskBus: virtio
              network: net
            - name: worker
              role: worker
              cpus: 1
              memoryMiB: 1024
              diskGiB: 6
              diskBus: virtio
              network: net
          provisioner:placement:
            region: local
            controlPlaneAntiAffinity: false
          provisioner:access:
            user: ops
            sshPublicKeys: []
            # Only this machine (the NAT gateway) administers the nodes: it is the non-cluster source below.
            adminCidrs: [10.83.0.1/32]
          provisioner:virtualization:
            allowEmulation: true
            type: qemu
          provisioner:kubernetes:
            version: {Environment.GetEnvironmentVariable("PROVISIONER_K8S_VERSION") ?? Version}
        {(packageSource is null ? string.Empty : $"    packageSource: {packageSource}\n")}{Optional("packageKeySha256", "PROVISIONER_K8S_PACKAGE_KEY_SHA256")}{Optional("imageRepository", "PROVISIONER_K8S_IMAGE_REPOSITORY")}    cni:
              sha256: {Environment.GetEnvironmentVariable("PROVISIONER_K8S_CNI_SHA256") ?? PlaceholderCniSha256}
        {Optional("  manifestUrl", "PROVISIONER_K8S_CNI_MANIFEST")}
        """;

    private static string Optional(string key, string variable) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value ? $"    {key}: {value}\n" : string.Empty;

    private static async Task AssertPreparedAsync(string node, IRemoteSession session, IReadOnlyList<ManagedFile> expected, CancellationToken ct)
    {
        // containerd runs with the configuration we wrote: CRI not disabled, runc with systemd cgroups, socket present.
        var dump = (await RunAsync(session, ShellCommand.Create("containerd", "config", "dump"), ct)).StdOut;
        Assert.Contains("SystemdCgroup = true", dump, StringComparison.Ordinal);
        Assert.Contains("[plugins.\"io.containerd.grpc.v1.cri\"", dump, StringComparison.Ordinal);
        var disabled = dump.Split('\n').Single(l => l.TrimStart().StartsWith("disabled_plugins", StringComparison.Ordinal));
        Assert.DoesNotContain("cri", disabled, StringComparison.Ordinal);
        await RunAsync(session, ShellCommand.Create("test", "-S", "/run/containerd/containerd.sock"), ct);
        Assert.Equal("active", (await RunAsync(session, ShellCommand.Create("systemctl", "is-active", "containerd"), ct)).StdOut.Trim());

        // Kernel modules loaded, settings applied, no swap.
        await RunAsync(session, ShellCommand.Create("test", "-d", "/sys/module/overlay", "-a", "-d", "/sys/module/br_netfilter"), ct);
        var sysctl = await RunAsync(session, ShellCommand.Create("sysctl", "-n",
            "net.bridge.bridge-nf-call-iptables", "net.ipv4.ip_forward", "vm.overcommit_memory", "kernel.panic", "kernel.panic_on_oops"), ct);
        Assert.Equal(["1", "1", "1", "10", "1"], Lines(sysctl));
        Assert.Empty((await RunAsync(session, ShellCommand.Create("swapon", "--show", "--noheadings"), ct)).StdOut.Trim());

        // The first-boot files are exactly the managed ones, with their modes.
        Assert.NotEmpty(expected);
        foreach (var file in expected)
        {
            var stat = await RunAsync(session, ShellCommand.Create("sh", "-c", "stat -c '%a %U:%G' \"$1\" && sha256sum \"$1\"", "sh", file.Path), ct);
            var lines = Lines(stat);
            Assert.Equal($"{Convert.ToString((int)file.Mode, 8)} {file.Owner}", lines[0]);
            Assert.True(lines[1].StartsWith(file.Sha256, StringComparison.Ordinal), $"{node}: {file.Path} differs from the rendered file");
        }
    }

    private static async Task AssertFirewallAsync(KubernetesClusterSpec spec, NodeStatus cp, IRemoteSession cpSession, NodeStatus worker, IRemoteSession workerSession, CancellationToken ct)
    {
        var cpAddress = cp.Address!;
        var workerAddress = worker.Address!;
        Assert.Contains(spec.Nodes, n => n.Address.ToString() == cpAddress);

        // Listeners: the kubelet port and Calico's VXLAN port on the worker, the API server and etcd ports on the control plane.
        await ListenAsync(workerSession, "tcp", 10250, ct);
        await ListenAsync(workerSession, "udp", CniPlugin.CalicoVxlanPort, ct);
        await ListenAsync(workerSession, "tcp", 10251, ct);
        await ListenAsync(cpSession, "tcp", KubernetesClusterSpec.ApiServerPort, ct);
        await ListenAsync(cpSession, "tcp", 2379, ct);

        // Between the nodes, as the policy says.
        Assert.Equal("open", await ConnectAsync(cpSession, workerAddress, 10250, ct));        // kubelet: from control planes
        Assert.Equal("open", await ConnectAsync(workerSession, cpAddress, KubernetesClusterSpec.ApiServerPort, ct)); // API server: from cluster nodes
        Assert.Equal("timeout", await ConnectAsync(workerSession, cpAddress, 2379, ct));       // etcd: control planes only
        Assert.Equal("timeout", await ConnectAsync(cpSession, workerAddress, 10251, ct));      // not a cluster port
        await SendUdpAsync(cpSession, workerAddress, CniPlugin.CalicoVxlanPort, "from-cp", ct);

        // From this machine, an admin source but not a cluster node.
        Assert.Equal("open", await ConnectFromHereAsync(cpAddress, KubernetesClusterSpec.ApiServerPort, ct)); // kubectl from admin networks
        Assert.Equal("timeout", await ConnectFromHereAsync(workerAddress, 10250, ct));
        Assert.Equal("timeout", await ConnectFromHereAsync(cpAddress, 2379, ct));
        using (var udp = new UdpClient(AddressFamily.InterNetwork))
        {
            await udp.SendAsync("from-host"u8.ToArray(), new IPEndPoint(IPAddress.Parse(workerAddress), CniPlugin.CalicoVxlanPort), ct);
        }

        await Task.Delay(TimeSpan.FromSeconds(3), ct);
        var received = (await RunAsync(workerSession, ShellCommand.Create("cat", $"/tmp/kubelive-udp-{CniPlugin.CalicoVxlanPort}"), ct)).StdOut;
        Assert.Contains($"{cpAddress} from-cp", received, StringComparison.Ordinal);
        Assert.DoesNotContain("from-host", received, StringComparison.Ordinal);
    }

    // A listener that records each peer (and datagram) in /tmp/kubelive-PROTO-PORT and exits after two idle minutes.
    private const string Listener = """
        import socket, sys
        proto, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", port))
        s.settimeout(120)
        if proto == "tcp":
            s.listen(8)
        while True:
            if proto == "tcp":
                c, peer = s.accept()
                data = b"connect"
                c.close()
            else:
                data, peer = s.recvfrom(256)
            with open(out, "a") as f:
                f.write(peer[0] + " " + data.decode(errors="replace") + "\n")
        """;

    private const string Client = """
        import socket, sys
        proto, host, port, payload = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
        if proto == "udp":
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(payload.encode(), (host, port))
            print("sent")
            sys.exit(0)
        try:
            socket.create_connection((host, port), timeout=5).close()
            print("open")
        except socket.timeout:
            print("timeout")
        except ConnectionRefusedError:
            print("refused")
        """;

    private static async Task ListenAsync(IRemoteSession session, string proto, int port, CancellationToken ct)
    {
        var portText = port.ToString(CultureInfo.InvariantCulture);
        await RunAsync(session, ShellCommand.Script(
            "nohup python3 -c \"$1\" \"$2\" \"$3\" \"$4\" >/dev/null 2>&1 </dev/null & sleep 1",
            [Listener, proto, portText, $"/tmp/kubelive-{proto}-{portText}"]), ct, sudo: false);
    }

    private static async Task<string> ConnectAsync(IRemoteSession from, string host, int port, CancellationToken ct) =>
        (await RunAsync(from, ShellCommand.Create("python3", "-c", Client, "tcp", host, port.ToString(CultureInfo.InvariantCulture), "-"), ct, sudo: false)).StdOut.Trim();

    private static async Task SendUdpAsync(IRemoteSession from, string host, int port, string payload, CancellationToken ct) =>
        Assert.Equal("sent", (await RunAsync(from, ShellCommand.Create("python3", "-c", Client, "udp", host, port.ToString(CultureInfo.InvariantCulture), payload), ct, sudo: false)).StdOut.Trim());

    private static async Task<string> ConnectFromHereAsync(string host, int port, CancellationToken ct)
    {
        using var client = new TcpClient(AddressFamily.InterNetwork);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(ProbeTimeout);
        try
        {
            await client.ConnectAsync(IPAddress.Parse(host), port, timeout.Token);
            return "open";
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return "timeout";
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return "refused";
        }
    }

    private static ShellCommand Kubectl(params string[] arguments) =>
        ShellCommand.Create("kubectl", ["--kubeconfig", KubernetesPaths.AdminKubeconfig, .. arguments]);

    private static async Task<CommandResult> ApplyAsync(IRemoteSession session, string manifest, CancellationToken ct)
    {
        var path = $"/tmp/kubelive-{Guid.NewGuid():N}.yaml";
        await session.UploadAsync(System.Text.Encoding.UTF8.GetBytes(manifest), path, UnixFileMode.UserRead | UnixFileMode.UserWrite, "root:root", ct);
        return await session.RunAsync(Kubectl("apply", "-f", path).WithSudo(), ct);
    }

    private static string Compliant(string name) => $$"""
        apiVersion: v1
        kind: Pod
        metadata: {name: {{name}}, namespace: tenant}
        spec:
          securityContext:
            runAsNonRoot: true
            runAsUser: 1000
            runAsGroup: 1000
            fsGroup: 2000
            supplementalGroups: [2000]
            seccompProfile: {type: RuntimeDefault}
          containers:
            - name: c
              image: registry.k8s.io/pause:3.10
              securityContext:
                allowPrivilegeEscalation: false
                readOnlyRootFilesystem: true
                capabilities: {drop: [ALL]}
        """;

    private static Task<CommandResult> RunAsync(IRemoteSession session, ShellCommand command, CancellationToken ct, bool sudo = true) =>
        RunAsync(session, command, TimeSpan.FromMinutes(2), ct, sudo);

    private static async Task<CommandResult> RunAsync(IRemoteSession session, ShellCommand command, TimeSpan timeout, CancellationToken ct, bool sudo = true) =>
        (await session.RunAsync(sudo ? command.WithSudo() : command, timeout, ct)).EnsureSuccess();

    private static string[] Lines(CommandResult result) => result.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
