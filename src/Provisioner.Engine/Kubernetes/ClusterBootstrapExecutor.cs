using System.Text;
using Microsoft.Extensions.Logging;
using Provisioner.Core.Kubernetes;
using Provisioner.Core.Kubernetes.Bootstrap;
using Provisioner.Core.Security;
using Provisioner.Remote.Sessions;
using Provisioner.Remote.Shell;

namespace Provisioner.Engine.Kubernetes;

/// <summary>Gives the executor an SSH session to each node (connected with the node's pinned host key).</summary>
public interface IKubernetesNodeSessions
{
    /// <summary>The session for <paramref name="node"/>. The executor does not dispose it.</summary>
    Task<IRemoteSession> GetAsync(string node, CancellationToken cancellationToken);
}

/// <summary>What a bootstrap run did and produced.</summary>
/// <param name="Plan">The plan that ran.</param>
/// <param name="Completed">The steps that ran to completion, in order.</param>
/// <param name="AdminKubeconfig">The cluster's admin kubeconfig (a secret: write it with mode 0600, never print it), or null when no control plane exists.</param>
public sealed record ClusterBootstrapResult(ClusterBootstrapPlan Plan, IReadOnlyList<BootstrapStep> Completed, Secret? AdminKubeconfig);

/// <summary>A bootstrap step failed; the message names the step and node, never a secret.</summary>
public sealed class KubernetesBootstrapException(BootstrapStep step, string message, Exception? inner = null)
    : Exception($"{step}: {message}", inner)
{
    /// <summary>The step that failed.</summary>
    public BootstrapStep Step { get; } = step;
}

/// <summary>
/// Runs the Kubernetes bootstrap over SSH: inspects every node, plans with <see cref="ClusterBootstrapPlan"/>,
/// and executes the steps, expanding the composite ones (init, certificate upload, joins, serving-certificate
/// approval) into commands with secrets made at the last moment: tokens are created right before each join with a
/// 15-minute TTL and deleted after it, the certificate key is fresh per run, and every file holding a secret is
/// written with mode 0600 and removed when used. Node preparation runs on all nodes in parallel; everything after
/// it runs in order. Every command runs through <c>sudo -n</c>; no command output is logged.
/// </summary>
public sealed partial class ClusterBootstrapExecutor
{
    /// <summary>Time allowed for commands that download or start a control plane (apt, kubeadm).</summary>
    public static readonly TimeSpan LongCommandTimeout = TimeSpan.FromMinutes(15);

    /// <summary>Lifetime of a join token: long enough for a slow join, created only when the node is ready to use it.</summary>
    public const string JoinTokenTtl = "15m0s";

    private const string Root = "root:root";
    private readonly IKubernetesNodeSessions _sessions;
    private readonly KubernetesTemplates _templates;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <summary>Creates the executor.</summary>
    /// <param name="sessions">SSH sessions to the nodes.</param>
    /// <param name="templates">The node file templates.</param>
    /// <param name="time">Clock for waiting on certificate requests.</param>
    /// <param name="logger">Progress (step descriptions only).</param>
    public ClusterBootstrapExecutor(IKubernetesNodeSessions sessions, KubernetesTemplates templates, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(sessions);
        ArgumentNullException.ThrowIfNull(templates);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _sessions = sessions;
        _templates = templates;
        _time = time;
        _logger = logger;
    }

    /// <summary>How often and how long to look for a kubelet's serving certificate request.</summary>
    public TimeSpan CsrPollInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <inheritdoc cref="CsrPollInterval"/>
    public int CsrPollAttempts { get; init; } = 60;

    /// <summary>Inspects, plans and runs; the admin kubeconfig comes back as a secret.</summary>
    /// <param name="spec">The cluster.</param>
    /// <param name="filter">Runs only the steps it accepts (e.g. <c>s =&gt; !s.RequiresKubernetesPackages</c> where no package source is reachable); null for all.</param>
    /// <param name="cancellationToken">Cancels the run between and within steps.</param>
    public async Task<ClusterBootstrapResult> UpAsync(KubernetesClusterSpec spec, Func<BootstrapStep, bool>? filter, CancellationToken cancellationToken)
    {
        var plan = await PlanAsync(spec, cancellationToken).ConfigureAwait(false);
        return await ExecuteAsync(plan, filter, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Inspects the nodes and plans against what was found.</summary>
    public async Task<ClusterBootstrapPlan> PlanAsync(KubernetesClusterSpec spec, CancellationToken cancellationToken)
    {
        var observed = await InspectAsync(spec, cancellationToken).ConfigureAwait(false);
        var plan = ClusterBootstrapPlan.For(spec, observed, _templates, BootstrapTokens.NewEncryptionKey());
        LogPlanned(_logger, spec.ClusterName, plan.Steps.Count);
        foreach (var note in plan.Notes)
        {
            LogNote(_logger, note);
        }

        foreach (var blocker in plan.Blockers)
        {
            LogBlocker(_logger, blocker);
        }

        return plan;
    }

    /// <summary>Reads every node's state back (facts, packages, holds, managed files' digests and modes) and the shared encryption configuration.</summary>
    public async Task<ObservedCluster> InspectAsync(KubernetesClusterSpec spec, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        // Paths do not depend on file content, so placeholder rules and key give the same list.
        var rules = spec.PodSecurity(new UserNamespaceCapability(false, string.Empty));
        var placeholder = KubernetesDocuments.EncryptionConfiguration(BootstrapTokens.NewEncryptionKey());
        var inspections = spec.Nodes.Select(async node =>
        {
            var paths = NodeInspection.PathsFor(KubernetesNodeFiles.For(spec, node, null, rules, placeholder, _templates));
            var session = await _sessions.GetAsync(node.Name, cancellationToken).ConfigureAwait(false);
            var result = await session.RunAsync(ShellCommand.Script(NodeScripts.Inspect, [node.Address.ToString(), .. paths]).WithSudo(), cancellationToken).ConfigureAwait(false);
            result.EnsureSuccess();
            return (node.Name, Observed: NodeInspection.Parse(result.StdOut));
        }).ToList();
        var nodes = (await Task.WhenAll(inspections).ConfigureAwait(false)).ToDictionary(n => n.Name, n => n.Observed, StringComparer.Ordinal);

        Secret? encryption = null;
        var holder = spec.ControlPlanes.FirstOrDefault(n => nodes[n.Name].Files.ContainsKey(KubernetesPaths.EncryptionConfiguration));
        if (holder is not null)
        {
            var session = await _sessions.GetAsync(holder.Name, cancellationToken).ConfigureAwait(false);
            encryption = new Secret(Encoding.UTF8.GetString(await session.DownloadAsync(KubernetesPaths.EncryptionConfiguration, true, cancellationToken).ConfigureAwait(false)));
        }

        return new ObservedCluster { Nodes = nodes, EncryptionConfiguration = encryption };
    }

    /// <summary>Runs <paramref name="plan"/> (the steps <paramref name="filter"/> accepts).</summary>
    public async Task<ClusterBootstrapResult> ExecuteAsync(ClusterBootstrapPlan plan, Func<BootstrapStep, bool>? filter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var steps = plan.Steps.Where(s => filter?.Invoke(s) ?? true).ToList();
        var completed = new List<BootstrapStep>();
        var run = new RunState();

        // Nodes are prepared independently and in parallel; each node's steps stay in order.
        var prepare = steps.Where(s => s.Phase == BootstrapPhase.PrepareNodes).GroupBy(s => s.Node, StringComparer.Ordinal).Select(async group =>
        {
            var done = new List<BootstrapStep>();
            foreach (var step in group)
            {
                await RunStepAsync(plan, step, run, cancellationToken).ConfigureAwait(false);
                done.Add(step);
            }

            return done;
        }).ToList();
        foreach (var done in await Task.WhenAll(prepare).ConfigureAwait(false))
        {
            completed.AddRange(done);
        }

        foreach (var step in steps.Where(s => s.Phase != BootstrapPhase.PrepareNodes))
        {
            await RunStepAsync(plan, step, run, cancellationToken).ConfigureAwait(false);
            completed.Add(step);
        }

        Secret? kubeconfig = null;
        if (run.ClusterInitialised || plan.Steps.All(s => s.Action is not InitControlPlane))
        {
            var via = await _sessions.GetAsync(plan.Via, cancellationToken).ConfigureAwait(false);
            if ((await via.RunAsync(ShellCommand.Create("test", "-f", KubernetesPaths.AdminKubeconfig).WithSudo(), cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                kubeconfig = new Secret(Encoding.UTF8.GetString(await via.DownloadAsync(KubernetesPaths.AdminKubeconfig, true, cancellationToken).ConfigureAwait(false)));
            }
        }

        LogDone(_logger, plan.Spec.ClusterName, completed.Count);
        return new ClusterBootstrapResult(plan, completed, kubeconfig);
    }

    private async Task RunStepAsync(ClusterBootstrapPlan plan, BootstrapStep step, RunState run, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        LogStep(_logger, step.Phase, step.Node, step.Description);
        try
        {
            var session = await _sessions.GetAsync(step.Node, cancellationToken).ConfigureAwait(false);
            switch (step.Action)
            {
                case RunCommand command:
                    await RunAsync(session, ShellCommand.Create(command.Argv[0], command.Argv.Skip(1)), IsLong(command.Argv), cancellationToken).ConfigureAwait(false);
                    break;
                case RunScript script:
                    await RunAsync(session, ShellCommand.Script(script.Script, script.Arguments), slow: true, cancellationToken).ConfigureAwait(false);
                    break;
                case WriteFile write:
                    await session.UploadAsync(Encoding.UTF8.GetBytes(write.File.Content.Reveal()), write.File.Path, write.File.Mode, write.File.Owner, cancellationToken).ConfigureAwait(false);
                    break;
                case InitControlPlane:
                    await InitAsync(plan.Spec, step.Node, session, cancellationToken).ConfigureAwait(false);
                    run.ClusterInitialised = true;
                    break;
                case UploadCertificates:
                    run.CertificateKey = await UploadCertificatesAsync(plan.Spec, step.Node, session, cancellationToken).ConfigureAwait(false);
                    break;
                case JoinNode join:
                    await JoinAsync(plan.Spec, step.Node, join.Via, session, run, cancellationToken).ConfigureAwait(false);
                    break;
                case ApproveKubeletServing approve:
                    await ApproveAsync(plan.Spec, step.Node, approve.Via, cancellationToken).ConfigureAwait(false);
                    break;
                default:
                    throw new InvalidOperationException($"unknown action {step.Action.GetType().Name}");
            }
        }
        catch (Exception e) when (e is RemoteCommandException or SshTimeoutException or SshConnectionLostException or InvalidOperationException or FormatException)
        {
            throw new KubernetesBootstrapException(step, e.Message, e);
        }
    }

    private async Task InitAsync(KubernetesClusterSpec spec, string nodeName, IRemoteSession session, CancellationToken cancellationToken)
    {
        var node = spec.FindNode(nodeName)!;
        var token = BootstrapTokens.NewToken();
        await EnsureConfigDirectoryAsync(session, cancellationToken).ConfigureAwait(false);
        await UploadSecretAsync(session, KubernetesDocuments.KubeadmInit(spec, node, token), KubernetesPaths.KubeadmInit, cancellationToken).ConfigureAwait(false);
        try
        {
            await RunAsync(session, ShellCommand.Create("kubeadm", "init", "--config", KubernetesPaths.KubeadmInit, "--skip-token-print"), slow: true, cancellationToken).ConfigureAwait(false);
            // kubeadm always makes a token at init; ours was short-lived, and now it is gone.
            await RunAsync(session, ShellCommand.Create("kubeadm", "token", "delete", BootstrapTokens.IdOf(token)), slow: false, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await CleanupAsync(session, ShellCommand.Create("rm", "-f", KubernetesPaths.KubeadmInit)).ConfigureAwait(false);
        }

        await TightenModesAsync(session, node, cancellationToken).ConfigureAwait(false);
    }

    private async Task<Secret> UploadCertificatesAsync(KubernetesClusterSpec spec, string nodeName, IRemoteSession session, CancellationToken cancellationToken)
    {
        var key = BootstrapTokens.NewCertificateKey();
        await EnsureConfigDirectoryAsync(session, cancellationToken).ConfigureAwait(false);
        await UploadSecretAsync(session, KubernetesDocuments.KubeadmUploadCertificates(spec, spec.FindNode(nodeName)!, key), KubernetesPaths.KubeadmUploadCertificates, cancellationToken).ConfigureAwait(false);
        try
        {
            await RunAsync(session, ShellCommand.Create("kubeadm", "init", "phase", "upload-certs", "--upload-certs", "--config", KubernetesPaths.KubeadmUploadCertificates), slow: true, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await CleanupAsync(session, ShellCommand.Create("rm", "-f", KubernetesPaths.KubeadmUploadCertificates)).ConfigureAwait(false);
        }

        return key;
    }

    private async Task JoinAsync(KubernetesClusterSpec spec, string nodeName, string viaName, IRemoteSession session, RunState run, CancellationToken cancellationToken)
    {
        var node = spec.FindNode(nodeName)!;
        var controlPlane = node.Role == Core.Stacks.NodeRole.ControlPlane;
        if (controlPlane && run.CertificateKey is null)
        {
            throw new InvalidOperationException("a control plane joins only after the certificates were uploaded in this run");
        }

        var via = await _sessions.GetAsync(viaName, cancellationToken).ConfigureAwait(false);
        var ca = Encoding.ASCII.GetString(await via.DownloadAsync(KubernetesPaths.CaCertificate, true, cancellationToken).ConfigureAwait(false));

        // The token is made now, when the node is ready to use it at once: a slow VM cannot find it expired.
        var created = await RunAsync(via, ShellCommand.Create("kubeadm", "token", "create", "--ttl", JoinTokenTtl, "--description", $"provisioner: join {node.Name}"), slow: false, cancellationToken).ConfigureAwait(false);
        var text = created.StdOut.Trim();
        if (!BootstrapTokens.IsToken(text))
        {
            throw new FormatException("kubeadm token create did not print a bootstrap token");
        }

        var token = new Secret(text);
        try
        {
            await EnsureConfigDirectoryAsync(session, cancellationToken).ConfigureAwait(false);
            await UploadSecretAsync(session, KubernetesDocuments.DiscoveryKubeconfig(spec, ca, token), KubernetesPaths.DiscoveryKubeconfig, cancellationToken).ConfigureAwait(false);
            await UploadSecretAsync(session, KubernetesDocuments.KubeadmJoin(spec, node, token, controlPlane ? run.CertificateKey : null), KubernetesPaths.KubeadmJoin, cancellationToken).ConfigureAwait(false);
            await RunAsync(session, ShellCommand.Create("kubeadm", "join", "--config", KubernetesPaths.KubeadmJoin), slow: true, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await CleanupAsync(session, ShellCommand.Create("rm", "-f", KubernetesPaths.KubeadmJoin, KubernetesPaths.DiscoveryKubeconfig)).ConfigureAwait(false);
            await CleanupAsync(via, ShellCommand.Create("kubeadm", "token", "delete", BootstrapTokens.IdOf(token))).ConfigureAwait(false);
        }

        await TightenModesAsync(session, node, cancellationToken).ConfigureAwait(false);
    }

    private async Task ApproveAsync(KubernetesClusterSpec spec, string nodeName, string viaName, CancellationToken cancellationToken)
    {
        var node = spec.FindNode(nodeName)!;
        var via = await _sessions.GetAsync(viaName, cancellationToken).ConfigureAwait(false);
        for (var attempt = 0; attempt < CsrPollAttempts; attempt++)
        {
            var list = await RunAsync(via, Kubectl("get", "csr", "-o", "json"), slow: false, cancellationToken).ConfigureAwait(false);
            var names = KubeletServingCsrPolicy.Approvable(list.StdOut, node);
            if (names.Count > 0)
            {
                await RunAsync(via, Kubectl(["certificate", "approve", .. names]), slow: false, cancellationToken).ConfigureAwait(false);
                LogApproved(_logger, node.Name, names.Count);
                return;
            }

            await Task.Delay(CsrPollInterval, _time, cancellationToken).ConfigureAwait(false);
        }

        throw new InvalidOperationException($"no kubelet serving certificate request from {node.Name} that names only {node.Name} and {node.Address} appeared");
    }

    private static ShellCommand Kubectl(params string[] arguments)
    {
        var argv = ClusterBootstrapPlan.Kubectl(arguments);
        return ShellCommand.Create(argv[0], argv.Skip(1));
    }

    private static async Task TightenModesAsync(IRemoteSession session, ClusterNode node, CancellationToken cancellationToken)
    {
        foreach (var group in KubernetesPaths.ModeRequirements.Where(r => r.AllNodes || node.Role == Core.Stacks.NodeRole.ControlPlane).GroupBy(r => r.Mode))
        {
            var mode = Convert.ToString((int)group.Key, 8).PadLeft(4, '0');
            await RunAsync(session, ShellCommand.Script(NodeScripts.ChmodExisting, [mode, .. group.Select(r => r.Path)]), slow: false, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task EnsureConfigDirectoryAsync(IRemoteSession session, CancellationToken cancellationToken) =>
        await RunAsync(session, ShellCommand.Create("install", "-d", "-m", "0700", "-o", "root", "-g", "root", KubernetesPaths.ConfigDirectory), slow: false, cancellationToken).ConfigureAwait(false);

    private static Task UploadSecretAsync(IRemoteSession session, Secret content, string path, CancellationToken cancellationToken) =>
        session.UploadAsync(Encoding.UTF8.GetBytes(content.Reveal()), path, UnixFileMode.UserRead | UnixFileMode.UserWrite, Root, cancellationToken);

    /// <summary>
    /// Removes secret material after use: runs even when the run was cancelled (its own one-minute limit instead),
    /// and never throws, so it cannot hide the failure that brought us here. A failure is logged by command line,
    /// which holds no secret.
    /// </summary>
    private async Task CleanupAsync(IRemoteSession session, ShellCommand command)
    {
        try
        {
            var result = await session.RunAsync(command.WithSudo(), TimeSpan.FromMinutes(1), CancellationToken.None).ConfigureAwait(false);
            if (!result.Succeeded)
            {
                LogCleanupFailed(_logger, session.Endpoint.Host, command.CommandLine, result.ExitCode);
            }
        }
        catch (Exception e) when (e is SshTimeoutException or SshConnectionLostException or RemoteCommandException)
        {
            LogCleanupFailed(_logger, session.Endpoint.Host, command.CommandLine, -1);
        }
    }

    private static async Task<CommandResult> RunAsync(IRemoteSession session, ShellCommand command, bool slow, CancellationToken cancellationToken) =>
        (slow
            ? await session.RunAsync(command.WithSudo(), LongCommandTimeout, cancellationToken).ConfigureAwait(false)
            : await session.RunAsync(command.WithSudo(), cancellationToken).ConfigureAwait(false)).EnsureSuccess();

    private static bool IsLong(IReadOnlyList<string> argv) => argv.Contains("apt-get") || argv[0] is "kubeadm" or "kubectl";

    private sealed class RunState
    {
        public Secret? CertificateKey { get; set; }

        public bool ClusterInitialised { get; set; }
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "cluster {Cluster}: {Steps} bootstrap steps planned")]
    private static partial void LogPlanned(ILogger logger, string cluster, int steps);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "{Note}")]
    private static partial void LogNote(ILogger logger, string note);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "blocked: {Blocker}")]
    private static partial void LogBlocker(ILogger logger, string blocker);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Information, Message = "[{Phase}] {Node}: {Description}")]
    private static partial void LogStep(ILogger logger, BootstrapPhase phase, string node, string description);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Information, Message = "approved {Count} kubelet serving certificate request(s) of {Node}")]
    private static partial void LogApproved(ILogger logger, string node, int count);

    [LoggerMessage(EventId = 4007, Level = LogLevel.Warning, Message = "cleanup on {Host} failed (exit {ExitCode}): {Command}; remove it by hand")]
    private static partial void LogCleanupFailed(ILogger logger, string host, string command, int exitCode);

    [LoggerMessage(EventId = 4006, Level = LogLevel.Information, Message = "cluster {Cluster}: {Steps} bootstrap steps done")]
    private static partial void LogDone(ILogger logger, string cluster, int steps);
}
