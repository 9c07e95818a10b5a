using Microsoft.Extensions.Logging;
using Provisioner.Core.Kubernetes;
using Provisioner.Core.Templates;
using Provisioner.Engine;
using Provisioner.Engine.Access;
using Provisioner.Engine.Audit;
using Provisioner.Engine.Hardening;
using Provisioner.Engine.Images;
using Provisioner.Engine.Kubernetes;
using Provisioner.Engine.Keys;
using Provisioner.Engine.Readiness;
using Provisioner.Remote.Sessions;

namespace Provisioner.Cli;

/// <summary>Everything a command needs to drive stacks: the engine and the pieces around it.</summary>
public sealed record EngineContext
{
    /// <summary>The engine.</summary>
    public required StackEngine Engine { get; init; }

    /// <summary>Where admin keys and known_hosts files live (also used to print ssh commands).</summary>
    public required StackKeyStore Keys { get; init; }

    /// <summary>Opens SSH sessions to nodes (<c>sandbox run</c>).</summary>
    public required ISshConnector Ssh { get; init; }

    /// <summary>The clock the engine uses.</summary>
    public required TimeProvider Time { get; init; }

    /// <summary>How commands reach nodes over SSH (pinned host keys, the stack's admin key).</summary>
    public required INodeAccess Access { get; init; }

    /// <summary>The hardened runtime and firewall every node gets.</summary>
    public required NodeHardening Hardening { get; init; }

    /// <summary>The audit, as run at the end of <c>up</c> and by <c>provisioner audit</c>.</summary>
    public required AuditPhase Audit { get; init; }

    /// <summary>Re-applies the hardening over SSH (<c>provisioner audit --repair</c>).</summary>
    public required HardeningRepairPhase Repair { get; init; }
}

/// <summary>
/// Builds the production engine. The single place where the CLI chooses its golden image source,
/// readiness check and connectors, so tests can swap the whole thing through <see cref="CliEnvironment.EngineFactory"/>.
/// </summary>
public static class EngineFactory
{
    /// <summary>Environment variable naming a prebuilt golden image file to use instead of building one.</summary>
    public const string ImageFileVariable = "PROVISIONER_IMAGE_FILE";

    /// <summary>
    /// How long a new node may take from start to SSH with cloud-init done. A budget, not a wait (a guest that
    /// stops is reported at once): KVM guests are ready in about a minute, software-emulated ones sharing two
    /// cores with other emulated guests have taken over twenty.
    /// </summary>
    public static readonly TimeSpan ReadinessBudget = TimeSpan.FromMinutes(40);

    /// <summary>Creates the production engine context.</summary>
    public static EngineContext Create(ILoggerFactory loggerFactory) => Create(loggerFactory, TimeProvider.System, StackKeyStore.Default());

    /// <summary>
    /// Creates the production engine context with its own clock and key store (the live tests use both), and
    /// optionally a longer <paramref name="readinessBudget"/> than <see cref="ReadinessBudget"/> (emulated guests
    /// on a host shared with other emulated guests).
    /// </summary>
    public static EngineContext Create(ILoggerFactory loggerFactory, TimeProvider time, StackKeyStore keys, TimeSpan? readinessBudget = null)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(keys);
        var ssh = new SshConnector(null, loggerFactory, time);
        var templates = TemplateRenderer.CreateDefault();
        var access = new SshNodeAccess(ssh, keys);
        var hardening = new NodeHardening(templates) { AdditionalChecks = KubernetesNodeAudit.ChecksFor };
        var kubernetesTemplates = KubernetesTemplates.CreateDefault();
        var kubernetes = new KubernetesPhase(kubernetesTemplates, loggerFactory);
        var clusterNodes = new KubernetesNodePreparation(kubernetesTemplates);
        var audit = new AuditPhase(hardening, new AuditRunner(loggerFactory.CreateLogger<AuditRunner>()));
        var repair = new HardeningRepairPhase(hardening, new HardeningApplier(loggerFactory.CreateLogger<HardeningApplier>()));
        var engine = new StackEngine(new StackEngineOptions
        {
            Templates = templates,
            Images = CreateImageSource(time),
            Readiness = new SshNodeReadiness(ssh, time, readinessBudget ?? ReadinessBudget, loggerFactory.CreateLogger<SshNodeReadiness>()),
            Keys = keys,
            Time = time,
            LoggerFactory = loggerFactory,
            // Every node comes up with the hardened runtime and firewall from its first boot; cluster nodes
            // also with containerd, modules, sysctls and swap off for Kubernetes.
            Extras = (stack, node) => hardening.FirstBoot(stack, node).Then(clusterNodes.FirstBoot(stack, node)),
            // The bootstrap before the audit, so the audit sees the cluster.
            Phases = [kubernetes, audit],
            Access = access,
        });
        return new EngineContext { Engine = engine, Keys = keys, Ssh = ssh, Time = time, Access = access, Hardening = hardening, Audit = audit, Repair = repair };
    }

    /// <summary>
    /// Golden images are built from the recipes in <c>images/</c> and cached by recipe hash;
    /// <see cref="ImageFileVariable"/> names a prebuilt image instead (e.g. one copied from a build host).
    /// </summary>
    private static IGoldenImageSource CreateImageSource(TimeProvider time)
    {
        var file = Environment.GetEnvironmentVariable(ImageFileVariable);
        return string.IsNullOrWhiteSpace(file) ? RecipeImageSource.FromEnvironment(time) : new FileImageSource(file);
    }
}
