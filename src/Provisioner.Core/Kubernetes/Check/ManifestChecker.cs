using System.Globalization;
using System.Text;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Provisioner.Core.Kubernetes.Check;

/// <summary>How an object in a manifest was treated.</summary>
public enum CheckOutcome
{
    /// <summary>Evaluated; see the violations.</summary>
    Checked,

    /// <summary>Not a kind admission looks at (a Service, a ConfigMap, …).</summary>
    NotApplicable,

    /// <summary>In a namespace exempt from Pod Security and the project's policies.</summary>
    Exempt,
}

/// <summary>One object (YAML document) of a manifest file and what the check found.</summary>
public sealed record CheckedObject
{
    /// <summary>0-based index of the YAML document in its file.</summary>
    public required int Document { get; init; }

    /// <summary>1-based line where the document starts.</summary>
    public required int Line { get; init; }

    /// <summary><c>kind</c>, or empty when missing.</summary>
    public required string Kind { get; init; }

    /// <summary><c>metadata.name</c>, or empty.</summary>
    public required string Name { get; init; }

    /// <summary><c>metadata.namespace</c>, or null.</summary>
    public string? Namespace { get; init; }

    /// <summary>How it was treated.</summary>
    public required CheckOutcome Outcome { get; init; }

    /// <summary>Why (for <see cref="CheckOutcome.NotApplicable"/> and <see cref="CheckOutcome.Exempt"/>).</summary>
    public string? Note { get; init; }

    /// <summary>The violations, at most one per field path, Pod Security first.</summary>
    public required IReadOnlyList<ManifestViolation> Violations { get; init; }
}

/// <summary>The result for one file.</summary>
public sealed record ManifestCheckResult
{
    /// <summary>The file name as given.</summary>
    public required string File { get; init; }

    /// <summary>Each object found.</summary>
    public required IReadOnlyList<CheckedObject> Objects { get; init; }

    /// <summary>A YAML syntax error, if the file could not be read to the end.</summary>
    public string? ParseError { get; init; }

    /// <summary>Whether any object has a violation.</summary>
    public bool HasViolations => Objects.Any(o => o.Violations.Count > 0);
}

/// <summary>
/// <c>provisioner k8s check</c>: evaluates workload manifests offline against exactly the rules the cluster
/// enforces: Pod Security <c>restricted</c> at the pinned version plus the project's ValidatingAdmissionPolicies,
/// all from one <see cref="PodSecurityRuleSet"/>. Handles multi-document files and the kinds Pod, Deployment,
/// StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job and CronJob (the pod template is evaluated), and
/// Namespace (its Pod Security labels). Pure: the caller reads the files.
/// </summary>
/// <param name="rules">The rules to check against.</param>
public sealed class ManifestChecker(PodSecurityRuleSet rules)
{
    private static readonly Dictionary<string, (string Spec, string Metadata)> PodPaths = new(StringComparer.Ordinal)
    {
        ["Pod"] = ("spec", "metadata"),
        ["Deployment"] = ("spec.template.spec", "spec.template.metadata"),
        ["StatefulSet"] = ("spec.template.spec", "spec.template.metadata"),
        ["DaemonSet"] = ("spec.template.spec", "spec.template.metadata"),
        ["ReplicaSet"] = ("spec.template.spec", "spec.template.metadata"),
        ["ReplicationController"] = ("spec.template.spec", "spec.template.metadata"),
        ["Job"] = ("spec.template.spec", "spec.template.metadata"),
        ["CronJob"] = ("spec.jobTemplate.spec.template.spec", "spec.jobTemplate.spec.template.metadata"),
    };

    /// <summary>The rules in force.</summary>
    public PodSecurityRuleSet Rules { get; } = rules ?? throw new ArgumentNullException(nameof(rules));

    /// <summary>Checks every document of <paramref name="yaml"/>.</summary>
    /// <param name="file">Name shown in the output.</param>
    /// <param name="yaml">The file's text.</param>
    public ManifestCheckResult Check(string file, string yaml)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(yaml);
        var objects = new List<CheckedObject>();
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            return new ManifestCheckResult
            {
                File = file,
                Objects = objects,
                ParseError = string.Create(CultureInfo.InvariantCulture, $"line {e.Start.Line}, column {e.Start.Column}: {e.Message}"),
            };
        }

        for (var i = 0; i < stream.Documents.Count; i++)
        {
            var root = stream.Documents[i].RootNode;
            if (root is not YamlMappingNode map)
            {
                continue;
            }

            objects.Add(CheckObject(map, i));
        }

        return new ManifestCheckResult { File = file, Objects = objects };
    }

    private CheckedObject CheckObject(YamlMappingNode map, int document)
    {
        var kind = Yaml.Str(map, "kind") ?? string.Empty;
        var metadata = Yaml.Map(map, "metadata");
        var result = new CheckedObject
        {
            Document = document,
            Line = (int)map.Start.Line,
            Kind = kind,
            Name = Yaml.Str(metadata, "name") ?? string.Empty,
            Namespace = Yaml.Str(metadata, "namespace"),
            Outcome = CheckOutcome.NotApplicable,
            Violations = [],
        };

        if (kind == "Namespace")
        {
            if (Rules.IsExempt(result.Name))
            {
                return result with { Outcome = CheckOutcome.Exempt, Note = $"namespace {result.Name} is exempt" };
            }

            return result with { Outcome = CheckOutcome.Checked, Violations = Dedupe(AdmissionPolicyRule.NamespacePodSecurityLabels.EvaluateNamespace(map, Rules)) };
        }

        if (!PodPaths.TryGetValue(kind, out var paths))
        {
            return result with { Note = kind.Length == 0 ? "no kind" : $"{kind} has no pod template" };
        }

        if (Rules.IsExempt(result.Namespace))
        {
            var reasons = Rules.Exemptions.First(e => e.Namespace == result.Namespace).Reasons;
            return result with { Outcome = CheckOutcome.Exempt, Note = $"namespace {result.Namespace} is exempt ({string.Join("; ", reasons)})" };
        }

        var spec = Navigate(map, paths.Spec);
        if (spec is null)
        {
            return result with
            {
                Outcome = CheckOutcome.Checked,
                Violations = [new ManifestViolation(RuleSource.PodSecurity, "podSpec", paths.Spec, $"{kind} has no pod spec at {paths.Spec}")],
            };
        }

        var pod = new PodView(spec, paths.Spec, Navigate(map, paths.Metadata), paths.Metadata);
        var violations = PodSecurityRestricted.Evaluate(pod, Rules)
            .Concat(Rules.ProjectPolicies.Where(p => p.Target == PolicyTarget.Pods).SelectMany(p => p.EvaluatePod(pod, Rules)));
        return result with { Outcome = CheckOutcome.Checked, Violations = Dedupe(violations) };
    }

    // Admission stops at the first rejection, so one field never needs two reports: Pod Security's comes first.
    private static List<ManifestViolation> Dedupe(IEnumerable<ManifestViolation> violations) =>
        violations.GroupBy(v => v.Path, StringComparer.Ordinal).Select(g => g.First()).ToList();

    private static YamlMappingNode? Navigate(YamlMappingNode root, string path)
    {
        YamlNode? node = root;
        foreach (var segment in path.Split('.'))
        {
            node = Yaml.Get(node, segment);
        }

        return node as YamlMappingNode;
    }

    /// <summary>
    /// The text report: one line per violation, <c>FILE:LINE KIND/NAME RULE PATH: MESSAGE</c>, then a summary line.
    /// </summary>
    public static string Format(IEnumerable<ManifestCheckResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var text = new StringBuilder();
        int objects = 0, failed = 0, violations = 0, errors = 0;
        foreach (var result in results)
        {
            if (result.ParseError is not null)
            {
                errors++;
                text.Append(CultureInfo.InvariantCulture, $"{result.File}: cannot parse: {result.ParseError}\n");
            }

            foreach (var o in result.Objects)
            {
                objects++;
                if (o.Outcome == CheckOutcome.Exempt)
                {
                    text.Append(CultureInfo.InvariantCulture, $"{result.File}:{o.Line} {o.Kind}/{o.Name} skipped: {o.Note}\n");
                }

                if (o.Violations.Count > 0)
                {
                    failed++;
                }

                foreach (var v in o.Violations)
                {
                    violations++;
                    var source = v.Source == RuleSource.PodSecurity ? "PodSecurity" : "AdmissionPolicy";
                    text.Append(CultureInfo.InvariantCulture, $"{result.File}:{o.Line} {o.Kind}/{o.Name} {source}/{v.Rule} {v.Path}: {v.Message}\n");
                }
            }
        }

        text.Append(CultureInfo.InvariantCulture, $"{objects} objects checked, {failed} with violations, {violations} violations, {errors} unreadable files\n");
        return text.ToString();
    }

    /// <summary>Exit status for the CLI: 0 clean, 1 violations, 2 a file could not be parsed.</summary>
    public static int ExitCode(IEnumerable<ManifestCheckResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var list = results.ToList();
        return list.Any(r => r.ParseError is not null) ? 2 : list.Any(r => r.HasViolations) ? 1 : 0;
    }
}
