using System.Globalization;
using Provisioner.Core.Kubernetes.Check;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Provisioner.Core.Kubernetes.Audit;

/// <summary>Where an audit check runs.</summary>
public enum AuditScope
{
    /// <summary>On every control-plane node.</summary>
    ControlPlane,

    /// <summary>On every cluster node.</summary>
    AllNodes,
}

/// <summary>The outcome of one check on one node.</summary>
/// <param name="Passed">Whether the node meets the recommendation.</param>
/// <param name="Detail">What was found (never a secret value).</param>
public sealed record AuditVerdict(bool Passed, string Detail);

/// <summary>
/// One audit check: run <see cref="Command"/> (an argument vector, no shell) on each node in <see cref="Scope"/>
/// through sudo, and judge its standard output and exit code with <see cref="Evaluate"/>. The commands print no
/// secret (the encryption check prints provider names only). This is a small record of its own so the audit
/// helper's check types need not be known here; the coordinator maps it.
/// </summary>
/// <param name="CisId">CIS Kubernetes Benchmark v1.10.0 id (or a note for settings outside it).</param>
/// <param name="Title">What is checked.</param>
/// <param name="Scope">Where.</param>
/// <param name="Command">The argument vector.</param>
/// <param name="Evaluate">Judges (standard output, exit code).</param>
public sealed record KubernetesAuditCheck(string CisId, string Title, AuditScope Scope, IReadOnlyList<string> Command, Func<string, int, AuditVerdict> Evaluate);

/// <summary>
/// The audit checks for the Kubernetes hardening, derived from the same data the configuration is rendered from
/// (<see cref="KubernetesHardening"/>, <see cref="KubernetesPaths.ModeRequirements"/>, the rule set).
/// </summary>
public static class KubernetesAuditChecks
{
    /// <summary>All checks for <paramref name="spec"/> under <paramref name="rules"/>.</summary>
    public static IReadOnlyList<KubernetesAuditCheck> For(KubernetesClusterSpec spec, PodSecurityRuleSet rules)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(rules);
        var checks = new List<KubernetesAuditCheck>();
        foreach (var (manifest, arguments) in new[]
        {
            (KubernetesPaths.ApiServerManifest, KubernetesHardening.ApiServerArguments()),
            ("/etc/kubernetes/manifests/kube-controller-manager.yaml", KubernetesHardening.ControllerManagerArguments()),
            ("/etc/kubernetes/manifests/kube-scheduler.yaml", KubernetesHardening.SchedulerArguments()),
        })
        {
            var component = Path.GetFileNameWithoutExtension(manifest);
            foreach (var argument in arguments.Where(a => a.CisId is not null))
            {
                checks.Add(new KubernetesAuditCheck(
                    argument.CisId!,
                    $"{component}: --{argument.Name}={argument.Value} ({argument.Why})",
                    AuditScope.ControlPlane,
                    ["cat", manifest],
                    (stdout, exit) => ArgumentVerdict(stdout, exit, argument)));
            }
        }

        checks.Add(new KubernetesAuditCheck("1.2.1", "anonymous requests reach only " + string.Join(", ", KubernetesHardening.AnonymousPaths),
            AuditScope.ControlPlane, ["cat", KubernetesPaths.AuthenticationConfiguration], AnonymousVerdict));
        checks.Add(new KubernetesAuditCheck("1.2.28", "Secrets are encrypted with secretbox, aescbc or kms first",
            AuditScope.ControlPlane, ["grep", "-E", "-o", "(secretbox|aescbc|aesgcm|kms|identity):", KubernetesPaths.EncryptionConfiguration], EncryptionVerdict));
        checks.Add(new KubernetesAuditCheck("5.2.1", $"Pod Security enforces restricted at {rules.PolicyVersionTag} by default",
            AuditScope.ControlPlane, ["cat", KubernetesPaths.AdmissionConfiguration], (stdout, exit) => PodSecurityVerdict(stdout, exit, rules)));

        foreach (var setting in KubernetesHardening.KubeletSettings(spec.PodPidsLimit).Where(s => s.CisId is not null))
        {
            checks.Add(new KubernetesAuditCheck(setting.CisId!, $"kubelet: {setting.Path} = {setting.Value}", AuditScope.AllNodes,
                ["cat", KubernetesPaths.KubeletConfig], (stdout, exit) => KubeletVerdict(stdout, exit, setting)));
        }

        foreach (var requirement in KubernetesPaths.ModeRequirements)
        {
            checks.Add(new KubernetesAuditCheck(requirement.CisId,
                string.Create(CultureInfo.InvariantCulture, $"{requirement.Path} is root:root and at most {Octal(requirement.Mode)}"),
                requirement.AllNodes ? AuditScope.AllNodes : AuditScope.ControlPlane,
                ["stat", "-c", "%a %U:%G", requirement.Path], (stdout, exit) => ModeVerdict(stdout, exit, requirement.Mode)));
        }

        return checks;
    }

    /// <summary>Reads <c>- --name=value</c> from a static pod manifest.</summary>
    public static AuditVerdict ArgumentVerdict(string stdout, int exit, ComponentArgument argument)
    {
        if (exit != 0)
        {
            return new AuditVerdict(false, "manifest not readable");
        }

        var prefix = $"--{argument.Name}=";
        var values = stdout.Split('\n')
            .Select(l => l.Trim().TrimStart('-').Trim().Trim('"', '\''))
            .Where(l => l.StartsWith(prefix, StringComparison.Ordinal))
            .Select(l => l[prefix.Length..])
            .ToList();
        if (values.Count == 0)
        {
            return new AuditVerdict(false, $"--{argument.Name} is not set");
        }

        var actual = values[^1];
        return string.Equals(actual, argument.Value, StringComparison.Ordinal)
            ? new AuditVerdict(true, $"--{argument.Name}={actual}")
            : new AuditVerdict(false, $"--{argument.Name}={actual}, expected {argument.Value}");
    }

    /// <summary>Judges an AuthenticationConfiguration: anonymous off, or limited to the health endpoints.</summary>
    public static AuditVerdict AnonymousVerdict(string stdout, int exit)
    {
        if (exit != 0 || Load(stdout) is not { } root)
        {
            return new AuditVerdict(false, "authentication configuration not readable");
        }

        var anonymous = Yaml.Map(root, "anonymous");
        if (Yaml.Bool(anonymous, "enabled") != true)
        {
            return new AuditVerdict(true, "anonymous requests disabled");
        }

        var paths = Yaml.Seq(anonymous, "conditions")?.Select(c => Yaml.Str(c, "path") ?? string.Empty).ToList() ?? [];
        var extra = paths.Where(p => !KubernetesHardening.AnonymousPaths.Contains(p)).ToList();
        return paths.Count > 0 && extra.Count == 0
            ? new AuditVerdict(true, "anonymous requests only for " + string.Join(", ", paths))
            : new AuditVerdict(false, paths.Count == 0 ? "anonymous requests allowed everywhere" : "anonymous requests also for " + string.Join(", ", extra));
    }

    /// <summary>Judges the provider names of an EncryptionConfiguration (first one must encrypt).</summary>
    public static AuditVerdict EncryptionVerdict(string stdout, int exit)
    {
        var providers = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(p => p.TrimEnd(':')).ToList();
        if (exit != 0 || providers.Count == 0)
        {
            return new AuditVerdict(false, "no encryption configuration");
        }

        return providers[0] is "secretbox" or "aescbc" or "kms"
            ? new AuditVerdict(true, "providers: " + string.Join(", ", providers))
            : new AuditVerdict(false, $"first provider is {providers[0]}");
    }

    /// <summary>Judges an AdmissionConfiguration against <paramref name="rules"/>.</summary>
    public static AuditVerdict PodSecurityVerdict(string stdout, int exit, PodSecurityRuleSet rules)
    {
        if (exit != 0 || Load(stdout) is not { } root)
        {
            return new AuditVerdict(false, "admission configuration not readable");
        }

        var plugin = Yaml.Seq(root, "plugins")?.FirstOrDefault(p => Yaml.Str(p, "name") == "PodSecurity");
        var defaults = Yaml.Map(Yaml.Map(plugin, "configuration"), "defaults");
        var wrong = PodSecurityModes
            .Where(mode => Yaml.Str(defaults, mode) != "restricted" || Yaml.Str(defaults, mode + "-version") != rules.PolicyVersionTag)
            .ToList();
        var exempt = Yaml.Seq(Yaml.Map(Yaml.Map(plugin, "configuration"), "exemptions"), "namespaces")?.Select(n => (n as YamlScalarNode)?.Value).ToList() ?? [];
        var unexpected = exempt.Where(n => !rules.IsExempt(n)).ToList();
        if (wrong.Count > 0 || unexpected.Count > 0)
        {
            return new AuditVerdict(false, wrong.Count > 0 ? $"{string.Join(", ", wrong)} not restricted at {rules.PolicyVersionTag}" : $"unexpected exemptions: {string.Join(", ", unexpected)}");
        }

        return new AuditVerdict(true, $"restricted at {rules.PolicyVersionTag}; exempt: {string.Join(", ", exempt)}");
    }

    /// <summary>Judges one setting of a kubelet configuration file.</summary>
    public static AuditVerdict KubeletVerdict(string stdout, int exit, KubernetesHardening.KubeletSetting setting)
    {
        if (exit != 0 || Load(stdout) is not { } root)
        {
            return new AuditVerdict(false, "kubelet configuration not readable");
        }

        YamlNode? node = root;
        var parts = setting.Path.Split('.');
        foreach (var part in parts[..^1])
        {
            node = Yaml.Map(node, part);
        }

        var actual = Yaml.Str(node, parts[^1]);
        return string.Equals(actual, setting.Value, StringComparison.Ordinal)
            ? new AuditVerdict(true, $"{setting.Path}: {actual}")
            : new AuditVerdict(false, $"{setting.Path}: {actual ?? "unset"}, expected {setting.Value}");
    }

    /// <summary>Judges <c>stat -c '%a %U:%G'</c> output: root:root and no bit beyond <paramref name="maximum"/>.</summary>
    public static AuditVerdict ModeVerdict(string stdout, int exit, UnixFileMode maximum)
    {
        var parts = stdout.Trim().Split(' ');
        if (exit != 0 || parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out _))
        {
            return new AuditVerdict(false, "file missing");
        }

        var mode = (UnixFileMode)Convert.ToInt32(parts[0], 8);
        var tooOpen = mode & ~maximum;
        return tooOpen == 0 && parts[1] == "root:root"
            ? new AuditVerdict(true, $"{parts[0]} {parts[1]}")
            : new AuditVerdict(false, $"{parts[0]} {parts[1]}, expected at most {Octal(maximum)} root:root");
    }

    private static readonly string[] PodSecurityModes = ["enforce", "audit", "warn"];

    private static string Octal(UnixFileMode mode) => Convert.ToString((int)mode, 8).PadLeft(4, '0');

    private static YamlMappingNode? Load(string text)
    {
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(text));
            return stream.Documents.Count > 0 ? stream.Documents[0].RootNode as YamlMappingNode : null;
        }
        catch (YamlException)
        {
            return null;
        }
    }
}
