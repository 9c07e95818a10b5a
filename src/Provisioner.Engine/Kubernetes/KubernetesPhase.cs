using Microsoft.Extensions.Logging;
using Provisioner.Core.Kubernetes;
using Provisioner.Core.Kubernetes.Bootstrap;
using Provisioner.Core.Security;
using Provisioner.Engine.Phases;

namespace Provisioner.Engine.Kubernetes;

/// <summary>
/// The Kubernetes bootstrap as a phase after <c>up</c>: inspects the cluster nodes over SSH, plans only what differs
/// from the stack's <c>provisioner:kubernetes</c> section and runs it (<see cref="ClusterBootstrapExecutor"/>). On an
/// existing, complete cluster it changes nothing; a new worker gets its preparation and join and nothing else
/// changes. The admin kubeconfig comes back in <see cref="StackPhaseResult.Secrets"/> under
/// <see cref="KubeconfigSecret"/>, never in the summary or details. A stack without a cluster is left alone.
/// </summary>
public sealed class KubernetesPhase : IStackPhase
{
    /// <summary>The key of the admin kubeconfig in <see cref="StackPhaseResult.Secrets"/>.</summary>
    public const string KubeconfigSecret = "kubeconfig";

    private readonly KubernetesTemplates _templates;
    private readonly ILoggerFactory _loggers;

    /// <summary>Creates the phase.</summary>
    /// <param name="templates">The node file templates.</param>
    /// <param name="loggers">Progress logging (step descriptions only, never a secret).</param>
    public KubernetesPhase(KubernetesTemplates templates, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(templates);
        ArgumentNullException.ThrowIfNull(loggers);
        _templates = templates;
        _loggers = loggers;
    }

    /// <inheritdoc />
    public string Name => "kubernetes";

    /// <summary>
    /// Runs only the steps this accepts; null runs all. Where no Kubernetes package source is reachable,
    /// <see cref="WithoutKubernetesPackages"/> still prepares the nodes (containerd, modules, sysctls, swap, files).
    /// </summary>
    public Func<BootstrapStep, bool>? StepFilter { get; init; }

    /// <summary>A filter for <see cref="StepFilter"/>: every step that does not need the Kubernetes packages.</summary>
    public static bool WithoutKubernetesPackages(BootstrapStep step)
    {
        ArgumentNullException.ThrowIfNull(step);
        return !step.RequiresKubernetesPackages;
    }

    /// <inheritdoc />
    /// <exception cref="KubernetesConfigurationException">A cluster setting cannot be bootstrapped.</exception>
    /// <exception cref="KubernetesBootstrapException">A step failed; the message names it and the node.</exception>
    public async Task<StackPhaseResult> RunAsync(StackPhaseContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Stack.Kubernetes is null)
        {
            return new StackPhaseResult { Phase = Name, Summary = "the stack declares no Kubernetes cluster: nothing to do" };
        }

        var spec = KubernetesClusterSpec.From(context.Stack);
        var sessions = new NodeAccessSessions(context.Stack, context.Nodes, context.Access);
        await using (sessions.ConfigureAwait(false))
        {
            var executor = new ClusterBootstrapExecutor(sessions, _templates, context.Time, _loggers.CreateLogger<ClusterBootstrapExecutor>());
            var result = await executor.UpAsync(spec, StepFilter, cancellationToken).ConfigureAwait(false);
            var plan = result.Plan;
            var skipped = plan.Steps.Count - result.Completed.Count;
            var summary = result.Completed.Count == 0
                ? $"cluster {spec.ClusterName} matches its definition: nothing to do"
                : $"cluster {spec.ClusterName}: {result.Completed.Count} bootstrap step(s) run";
            if (skipped > 0)
            {
                summary += $"; {skipped} step(s) needing the Kubernetes packages not run";
            }

            if (plan.Blockers.Count > 0)
            {
                summary += $"; {plan.Blockers.Count} blocker(s)";
            }

            var secrets = new Dictionary<string, Secret>(StringComparer.Ordinal);
            if (result.AdminKubeconfig is { } kubeconfig)
            {
                secrets[KubeconfigSecret] = kubeconfig;
            }

            return new KubernetesPhaseResult
            {
                Phase = Name,
                Changed = result.Completed.Count > 0,
                Failed = plan.Blockers.Count > 0,
                Summary = summary,
                Details = [.. plan.Notes, .. plan.Blockers.Select(b => "blocked: " + b), .. result.Completed.Select(s => s.ToString())],
                Secrets = secrets,
                Bootstrap = result,
            };
        }
    }
}

/// <summary>The Kubernetes phase's result, with the plan and the steps that ran.</summary>
public sealed record KubernetesPhaseResult : StackPhaseResult
{
    /// <summary>What the bootstrap planned and did (the kubeconfig in it is a <see cref="Secret"/>).</summary>
    public required ClusterBootstrapResult Bootstrap { get; init; }
}
