using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Provisioner.Core.Kubernetes.Check;

/// <summary>What a policy applies to.</summary>
public enum PolicyTarget
{
    /// <summary>Pods (create, update, and the ephemeral-containers subresource).</summary>
    Pods,

    /// <summary>Namespaces (create, update).</summary>
    Namespaces,
}

/// <summary>One CEL validation of a ValidatingAdmissionPolicy.</summary>
/// <param name="Expression">The CEL expression that must be true.</param>
/// <param name="Message">The message when it is false.</param>
public sealed record CelValidation(string Expression, string Message);

/// <summary>
/// One of the project's admission policies: what <c>restricted</c> leaves out but the seed policy required.
/// The same object carries the CEL the cluster runs and the evaluator the offline checker runs, and both are
/// built from the allow-lists of <see cref="PodSecurityRuleSet"/>.
/// </summary>
public sealed class AdmissionPolicyRule
{
    private readonly Func<PodSecurityRuleSet, IReadOnlyList<CelValidation>> _validations;
    private readonly Func<PodView, PodSecurityRuleSet, IEnumerable<ManifestViolation>>? _podEvaluator;
    private readonly Func<YamlMappingNode, PodSecurityRuleSet, IEnumerable<ManifestViolation>>? _namespaceEvaluator;

    private AdmissionPolicyRule(
        string name,
        string seedClause,
        PolicyTarget target,
        Func<PodSecurityRuleSet, IReadOnlyList<CelValidation>> validations,
        Func<PodView, PodSecurityRuleSet, IEnumerable<ManifestViolation>>? podEvaluator = null,
        Func<YamlMappingNode, PodSecurityRuleSet, IEnumerable<ManifestViolation>>? namespaceEvaluator = null)
    {
        Name = name;
        SeedClause = seedClause;
        Target = target;
        _validations = validations;
        _podEvaluator = podEvaluator;
        _namespaceEvaluator = namespaceEvaluator;
    }

    /// <summary>Policy and binding name (also the rule id in checker output).</summary>
    public string Name { get; }

    /// <summary>The part of the seed policy it carries over, for the output and documentation.</summary>
    public string SeedClause { get; }

    /// <summary>What it applies to.</summary>
    public PolicyTarget Target { get; }

    /// <summary>The CEL validations under <paramref name="rules"/>.</summary>
    public IReadOnlyList<CelValidation> Validations(PodSecurityRuleSet rules) => _validations(rules);

    internal IEnumerable<ManifestViolation> EvaluatePod(PodView pod, PodSecurityRuleSet rules) =>
        _podEvaluator?.Invoke(pod, rules) ?? [];

    internal IEnumerable<ManifestViolation> EvaluateNamespace(YamlMappingNode ns, PodSecurityRuleSet rules) =>
        _namespaceEvaluator?.Invoke(ns, rules) ?? [];

    /// <inheritdoc />
    public override string ToString() => Name;

    // CEL fragments. "c" is a container; the three lists are checked separately because their element types differ.
    private static readonly string[] ContainerLists = ["containers", "initContainers", "ephemeralContainers"];

    private static List<CelValidation> ForEachContainerList(string containerCondition, string message) =>
        ContainerLists.Select(list => new CelValidation(
            list == "containers"
                ? $"object.spec.containers.all(c, {containerCondition})"
                : $"!has(object.spec.{list}) || object.spec.{list}.all(c, {containerCondition})",
            $"{list}: {message}")).ToList();

    private static string GroupInRange(string field) =>
        string.Create(CultureInfo.InvariantCulture, $"{field} >= {PodSecurityRuleSet.MinimumGroupId} && {field} <= {PodSecurityRuleSet.MaximumGroupId}");

    /// <summary>Every container's root filesystem is read-only.</summary>
    public static readonly AdmissionPolicyRule ReadOnlyRootFilesystem = new(
        "provisioner-read-only-root-filesystem",
        "readOnlyRootFilesystem: true",
        PolicyTarget.Pods,
        _ => ForEachContainerList(
            "has(c.securityContext) && has(c.securityContext.readOnlyRootFilesystem) && c.securityContext.readOnlyRootFilesystem == true",
            "every container must set securityContext.readOnlyRootFilesystem=true"),
        (pod, _) => pod.Containers()
            .Where(c => Yaml.Bool(c.SecurityContext, "readOnlyRootFilesystem") != true)
            .Select(c => new ManifestViolation(RuleSource.AdmissionPolicy, "provisioner-read-only-root-filesystem",
                $"{c.SecurityContextPath}.readOnlyRootFilesystem", $"container \"{c.Name}\" must set securityContext.readOnlyRootFilesystem=true")));

    /// <summary>No root group: fsGroup set in 1-65535, supplementalGroups and runAsGroup (pod and containers) in 1-65535.</summary>
    public static readonly AdmissionPolicyRule NoRootGroup = new(
        "provisioner-no-root-group",
        "fsGroup MustRunAs 1-65535, supplementalGroups MustRunAs 1-65535 (and runAsGroup never 0)",
        PolicyTarget.Pods,
        _ =>
        [
            new CelValidation(
                $"has(object.spec.securityContext) && has(object.spec.securityContext.fsGroup) && {GroupInRange("object.spec.securityContext.fsGroup")}",
                "pod must set securityContext.fsGroup to a group id from 1 to 65535 (the seed policy's fsGroup MustRunAs; admission cannot default it)"),
            new CelValidation(
                $"!has(object.spec.securityContext) || !has(object.spec.securityContext.supplementalGroups) || object.spec.securityContext.supplementalGroups.all(g, {GroupInRange("g")})",
                "pod securityContext.supplementalGroups must all be from 1 to 65535"),
            new CelValidation(
                $"!has(object.spec.securityContext) || !has(object.spec.securityContext.runAsGroup) || {GroupInRange("object.spec.securityContext.runAsGroup")}",
                "pod securityContext.runAsGroup must be from 1 to 65535"),
            .. ForEachContainerList(
                $"!has(c.securityContext) || !has(c.securityContext.runAsGroup) || {GroupInRange("c.securityContext.runAsGroup")}",
                "securityContext.runAsGroup must be from 1 to 65535"),
        ],
        EvaluateNoRootGroup);

    /// <summary>Volumes only of the seed policy's types.</summary>
    public static readonly AdmissionPolicyRule VolumeTypes = new(
        "provisioner-volume-types",
        "volumes: " + string.Join(", ", PodSecurityRuleSet.SeedVolumeTypes),
        PolicyTarget.Pods,
        _ =>
        [
            new CelValidation(
                "!has(object.spec.volumes) || object.spec.volumes.all(v, " + string.Join(" || ", PodSecurityRuleSet.SeedVolumeTypes.Select(t => $"has(v.{t})")) + ")",
                "every volume must be one of: " + string.Join(", ", PodSecurityRuleSet.SeedVolumeTypes)),
        ],
        EvaluateVolumeTypes);

    /// <summary>Tenant pods run in their own user namespace (rendered only when the nodes support it).</summary>
    public static readonly AdmissionPolicyRule UserNamespaces = new(
        "provisioner-user-namespaces",
        "(new) pods must not use the host's user namespace",
        PolicyTarget.Pods,
        _ => [new CelValidation("has(object.spec.hostUsers) && object.spec.hostUsers == false", "pod must set hostUsers: false (its own user namespace)")],
        (pod, _) => pod.UserNamespace
            ? []
            : [new ManifestViolation(RuleSource.AdmissionPolicy, "provisioner-user-namespaces", $"{pod.SpecPath}.hostUsers", "pod must set hostUsers: false (its own user namespace)")]);

    /// <summary>
    /// runAsNonRoot and runAsUser != 0 for pods with <c>hostUsers: false</c>, which restricted stops checking at
    /// policy 1.35; the seed policy's runAsUser MustRunAsNonRoot applied to every pod.
    /// </summary>
    public static readonly AdmissionPolicyRule RunAsNonRootWithUserNamespaces = new(
        "provisioner-run-as-non-root",
        "runAsUser: MustRunAsNonRoot (also for pods in a user namespace, which restricted 1.35+ no longer checks)",
        PolicyTarget.Pods,
        _ =>
        [
            new CelValidation(
                "!(has(object.spec.hostUsers) && object.spec.hostUsers == false) || !has(object.spec.securityContext) || !has(object.spec.securityContext.runAsNonRoot) || object.spec.securityContext.runAsNonRoot == true",
                "pod must not set securityContext.runAsNonRoot=false"),
            new CelValidation(
                "!(has(object.spec.hostUsers) && object.spec.hostUsers == false) || !has(object.spec.securityContext) || !has(object.spec.securityContext.runAsUser) || object.spec.securityContext.runAsUser != 0",
                "pod must not set securityContext.runAsUser=0"),
            .. ContainerLists.Select(list => new CelValidation(
                "!(has(object.spec.hostUsers) && object.spec.hostUsers == false) || "
                + (list == "containers" ? string.Empty : $"!has(object.spec.{list}) || ")
                + $"object.spec.{list}.all(c, (has(c.securityContext) && has(c.securityContext.runAsNonRoot) ? c.securityContext.runAsNonRoot == true"
                + " : (has(object.spec.securityContext) && has(object.spec.securityContext.runAsNonRoot) && object.spec.securityContext.runAsNonRoot == true))"
                + " && (!has(c.securityContext) || !has(c.securityContext.runAsUser) || c.securityContext.runAsUser != 0))",
                $"{list}: every container must run as non-root (runAsNonRoot=true at pod or container level, runAsUser not 0)")),
        ],
        (pod, _) =>
        {
            if (!pod.UserNamespace)
            {
                return [];
            }

            var containers = pod.Containers().ToList();
            return PodSecurityRestricted.RunAsNonRoot(pod, containers, "provisioner-run-as-non-root", RuleSource.AdmissionPolicy)
                .Concat(PodSecurityRestricted.RunAsUserNotRoot(pod, containers, "provisioner-run-as-non-root", RuleSource.AdmissionPolicy))
                .ToList();
        });

    /// <summary>Namespaces cannot weaken Pod Security with labels: only <c>restricted</c> at the pinned version.</summary>
    public static readonly AdmissionPolicyRule NamespacePodSecurityLabels = new(
        "provisioner-namespace-pod-security-labels",
        "(new) a namespace label must not lower the cluster-wide Pod Security level or version",
        PolicyTarget.Namespaces,
        rules =>
        [
            new CelValidation(
                "!has(object.metadata.labels) || object.metadata.labels.all(k, !k.startsWith('pod-security.kubernetes.io/') || "
                + $"(k.endsWith('-version') ? object.metadata.labels[k] == '{rules.PolicyVersionTag}' : object.metadata.labels[k] == 'restricted'))",
                $"pod-security.kubernetes.io/* labels may only say restricted and {rules.PolicyVersionTag}"),
        ],
        namespaceEvaluator: EvaluateNamespaceLabels);

    private static IEnumerable<ManifestViolation> EvaluateNoRootGroup(PodView pod, PodSecurityRuleSet rules)
    {
        const string rule = "provisioner-no-root-group";
        static bool InRange(long? id) => id is >= PodSecurityRuleSet.MinimumGroupId and <= PodSecurityRuleSet.MaximumGroupId;
        var sc = pod.SecurityContext;
        if (!InRange(Yaml.Long(sc, "fsGroup")))
        {
            yield return new ManifestViolation(RuleSource.AdmissionPolicy, rule, $"{pod.SecurityContextPath}.fsGroup",
                Yaml.Has(sc, "fsGroup")
                    ? $"pod securityContext.fsGroup must be from 1 to 65535, not {Yaml.Long(sc, "fsGroup")}"
                    : "pod must set securityContext.fsGroup to a group id from 1 to 65535");
        }

        if (Yaml.Seq(sc, "supplementalGroups") is { } groups)
        {
            for (var i = 0; i < groups.Children.Count; i++)
            {
                if (!InRange(Yaml.Int(groups[i])))
                {
                    yield return new ManifestViolation(RuleSource.AdmissionPolicy, rule, $"{pod.SecurityContextPath}.supplementalGroups[{i}]", "supplemental groups must be from 1 to 65535");
                }
            }
        }

        if (Yaml.Has(sc, "runAsGroup") && !InRange(Yaml.Long(sc, "runAsGroup")))
        {
            yield return new ManifestViolation(RuleSource.AdmissionPolicy, rule, $"{pod.SecurityContextPath}.runAsGroup", "pod securityContext.runAsGroup must be from 1 to 65535");
        }

        foreach (var c in pod.Containers())
        {
            if (Yaml.Has(c.SecurityContext, "runAsGroup") && !InRange(Yaml.Long(c.SecurityContext, "runAsGroup")))
            {
                yield return new ManifestViolation(RuleSource.AdmissionPolicy, rule, $"{c.SecurityContextPath}.runAsGroup", $"container \"{c.Name}\" securityContext.runAsGroup must be from 1 to 65535");
            }
        }
    }

    private static IEnumerable<ManifestViolation> EvaluateVolumeTypes(PodView pod, PodSecurityRuleSet rules)
    {
        if (Yaml.Seq(pod.Spec, "volumes") is not { } volumes)
        {
            yield break;
        }

        for (var i = 0; i < volumes.Children.Count; i++)
        {
            var types = PodSecurityRestricted.VolumeTypes(volumes[i]).ToList();
            foreach (var type in types.Where(t => !PodSecurityRuleSet.SeedVolumeTypes.Contains(t)))
            {
                yield return new ManifestViolation(RuleSource.AdmissionPolicy, "provisioner-volume-types", $"{pod.SpecPath}.volumes[{i}].{type}",
                    $"volume \"{Yaml.Str(volumes[i], "name")}\" uses type {type}; allowed: {string.Join(", ", PodSecurityRuleSet.SeedVolumeTypes)}");
            }

            if (types.Count == 0)
            {
                yield return new ManifestViolation(RuleSource.AdmissionPolicy, "provisioner-volume-types", $"{pod.SpecPath}.volumes[{i}]",
                    $"volume \"{Yaml.Str(volumes[i], "name")}\" has no volume type this tool knows");
            }
        }
    }

    private static IEnumerable<ManifestViolation> EvaluateNamespaceLabels(YamlMappingNode ns, PodSecurityRuleSet rules)
    {
        if (Yaml.Map(Yaml.Map(ns, "metadata"), "labels") is not { } labels)
        {
            yield break;
        }

        foreach (var (key, value) in labels.Children)
        {
            var name = (key as YamlScalarNode)?.Value ?? string.Empty;
            if (!name.StartsWith("pod-security.kubernetes.io/", StringComparison.Ordinal))
            {
                continue;
            }

            var text = (value as YamlScalarNode)?.Value ?? string.Empty;
            var wanted = name.EndsWith("-version", StringComparison.Ordinal) ? rules.PolicyVersionTag : "restricted";
            if (!string.Equals(text, wanted, StringComparison.Ordinal))
            {
                yield return new ManifestViolation(RuleSource.AdmissionPolicy, "provisioner-namespace-pod-security-labels", $"metadata.labels[{name}]",
                    $"label {name} must be \"{wanted}\", not \"{text}\"");
            }
        }
    }
}
