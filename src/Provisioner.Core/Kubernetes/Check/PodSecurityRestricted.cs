using YamlDotNet.RepresentationModel;

namespace Provisioner.Core.Kubernetes.Check;

/// <summary>
/// The Pod Security <c>restricted</c> profile (baseline checks not overridden, plus the restricted checks) as
/// upstream evaluates it at a policy version. Each violation names the field; the rule id is the upstream check id.
/// </summary>
internal static class PodSecurityRestricted
{
    public static IEnumerable<ManifestViolation> Evaluate(PodView pod, PodSecurityRuleSet rules)
    {
        var found = new List<ManifestViolation>();
        void Add(string rule, string path, string message) => found.Add(new ManifestViolation(RuleSource.PodSecurity, rule, path, message));

        var containers = pod.Containers().ToList();
        var podContext = pod.SecurityContext;

        // hostNamespaces (baseline)
        foreach (var field in new[] { "hostNetwork", "hostPID", "hostIPC" })
        {
            if (Yaml.Bool(pod.Spec, field) == true)
            {
                Add("hostNamespaces", $"{pod.SpecPath}.{field}", $"{field}=true is forbidden: the pod must not share the host's namespaces");
            }
        }

        foreach (var c in containers)
        {
            var sc = c.SecurityContext;

            // privileged (baseline)
            if (Yaml.Bool(sc, "privileged") == true)
            {
                Add("privileged", $"{c.SecurityContextPath}.privileged", $"container \"{c.Name}\" must not set securityContext.privileged=true");
            }

            // hostPorts (baseline)
            if (Yaml.Seq(c.Node, "ports") is { } ports)
            {
                for (var i = 0; i < ports.Children.Count; i++)
                {
                    if (Yaml.Long(ports[i], "hostPort") is { } hostPort and not 0)
                    {
                        Add("hostPorts", $"{c.Path}.ports[{i}].hostPort", $"container \"{c.Name}\" must not use hostPort {hostPort}");
                    }
                }
            }

            // procMount (baseline; restricted keeps it unconditional, also for user-namespace pods)
            if (Yaml.Str(sc, "procMount") is { } procMount && procMount != "Default")
            {
                Add("procMount", $"{c.SecurityContextPath}.procMount", $"container \"{c.Name}\" must not set securityContext.procMount to \"{procMount}\" (only Default)");
            }

            // windowsHostProcess (baseline)
            if (Yaml.Bool(Yaml.Map(sc, "windowsOptions"), "hostProcess") == true)
            {
                Add("windowsHostProcess", $"{c.SecurityContextPath}.windowsOptions.hostProcess", $"container \"{c.Name}\" must not set hostProcess=true");
            }

            CheckAppArmorField(sc, c.SecurityContextPath, $"container \"{c.Name}\"", Add);
            CheckSeLinux(sc, c.SecurityContextPath, $"container \"{c.Name}\"", rules, Add);

            // hostProbesAndHostLifecycle (baseline, 1.34+)
            if (rules.ForbidsProbeHosts)
            {
                foreach (var probe in new[] { "livenessProbe", "readinessProbe", "startupProbe" })
                {
                    CheckHandlerHost(Yaml.Map(c.Node, probe), $"{c.Path}.{probe}", c.Name, Add);
                }

                foreach (var hook in new[] { "postStart", "preStop" })
                {
                    CheckHandlerHost(Yaml.Map(Yaml.Map(c.Node, "lifecycle"), hook), $"{c.Path}.lifecycle.{hook}", c.Name, Add);
                }
            }

            if (!pod.IsWindows)
            {
                // allowPrivilegeEscalation (restricted): must be explicitly false.
                if (Yaml.Bool(sc, "allowPrivilegeEscalation") != false)
                {
                    Add("allowPrivilegeEscalation", $"{c.SecurityContextPath}.allowPrivilegeEscalation", $"container \"{c.Name}\" must set securityContext.allowPrivilegeEscalation=false");
                }

                // capabilities_restricted: drop ALL, add at most NET_BIND_SERVICE.
                var capabilities = Yaml.Map(sc, "capabilities");
                var drop = Yaml.Seq(capabilities, "drop");
                if (drop is null || !drop.Children.OfType<YamlScalarNode>().Any(n => n.Value == "ALL"))
                {
                    Add("capabilities_restricted", $"{c.SecurityContextPath}.capabilities.drop", $"container \"{c.Name}\" must set securityContext.capabilities.drop=[\"ALL\"]");
                }

                if (Yaml.Seq(capabilities, "add") is { } add)
                {
                    for (var i = 0; i < add.Children.Count; i++)
                    {
                        var value = (add[i] as YamlScalarNode)?.Value ?? string.Empty;
                        if (!PodSecurityRuleSet.RestrictedAddableCapabilities.Contains(value))
                        {
                            Add("capabilities_restricted", $"{c.SecurityContextPath}.capabilities.add[{i}]", $"container \"{c.Name}\" must not add capability \"{value}\" (only NET_BIND_SERVICE)");
                        }
                    }
                }
            }
        }

        // windowsHostProcess, AppArmor, SELinux at pod level (baseline)
        if (Yaml.Bool(Yaml.Map(podContext, "windowsOptions"), "hostProcess") == true)
        {
            Add("windowsHostProcess", $"{pod.SecurityContextPath}.windowsOptions.hostProcess", "pod must not set hostProcess=true");
        }

        CheckAppArmorField(podContext, pod.SecurityContextPath, "pod", Add);
        CheckSeLinux(podContext, pod.SecurityContextPath, "pod", rules, Add);
        CheckAppArmorAnnotations(pod, Add);

        // hostPathVolumes is overridden by restrictedVolumes in restricted.
        if (Yaml.Seq(pod.Spec, "volumes") is { } volumes)
        {
            var allowed = rules.RestrictedVolumeTypes;
            for (var i = 0; i < volumes.Children.Count; i++)
            {
                foreach (var type in VolumeTypes(volumes[i]))
                {
                    if (!allowed.Contains(type))
                    {
                        Add("restrictedVolumes", $"{pod.SpecPath}.volumes[{i}].{type}", $"volume \"{Yaml.Str(volumes[i], "name")}\" uses type {type}; restricted allows {string.Join(", ", allowed)}");
                    }
                }
            }
        }

        // sysctls (baseline): pod level only.
        if (Yaml.Seq(podContext, "sysctls") is { } sysctls)
        {
            var safe = rules.SafeSysctls;
            for (var i = 0; i < sysctls.Children.Count; i++)
            {
                var name = Yaml.Str(sysctls[i], "name") ?? string.Empty;
                if (!safe.Contains(name))
                {
                    Add("sysctls", $"{pod.SecurityContextPath}.sysctls[{i}].name", $"sysctl \"{name}\" is not in the safe set of policy {rules.PolicyVersionTag}");
                }
            }
        }

        var relaxed = rules.RestrictedRelaxesRunAsNonRootForUserNamespaces && pod.UserNamespace;
        if (!relaxed)
        {
            foreach (var v in RunAsNonRoot(pod, containers, "runAsNonRoot", RuleSource.PodSecurity))
            {
                found.Add(v);
            }

            foreach (var v in RunAsUserNotRoot(pod, containers, "runAsUser", RuleSource.PodSecurity))
            {
                found.Add(v);
            }
        }

        if (!pod.IsWindows)
        {
            CheckSeccomp(pod, containers, Add);
        }

        return found;
    }

    /// <summary>runAsNonRoot as restricted checks it; shared with the project's policy for user-namespace pods.</summary>
    internal static IEnumerable<ManifestViolation> RunAsNonRoot(PodView pod, IReadOnlyList<ContainerView> containers, string rule, RuleSource source)
    {
        var podValue = Yaml.Bool(pod.SecurityContext, "runAsNonRoot");
        if (podValue == false)
        {
            yield return new ManifestViolation(source, rule, $"{pod.SecurityContextPath}.runAsNonRoot", "pod must not set securityContext.runAsNonRoot=false");
        }

        foreach (var c in containers)
        {
            var value = Yaml.Bool(c.SecurityContext, "runAsNonRoot");
            if (value == false)
            {
                yield return new ManifestViolation(source, rule, $"{c.SecurityContextPath}.runAsNonRoot", $"container \"{c.Name}\" must not set securityContext.runAsNonRoot=false");
            }
            else if (value is null && podValue != true)
            {
                yield return new ManifestViolation(source, rule, $"{c.SecurityContextPath}.runAsNonRoot", $"pod or container \"{c.Name}\" must set securityContext.runAsNonRoot=true");
            }
        }
    }

    /// <summary>runAsUser as restricted checks it (0 forbidden, unset allowed).</summary>
    internal static IEnumerable<ManifestViolation> RunAsUserNotRoot(PodView pod, IReadOnlyList<ContainerView> containers, string rule, RuleSource source)
    {
        if (Yaml.Long(pod.SecurityContext, "runAsUser") == 0)
        {
            yield return new ManifestViolation(source, rule, $"{pod.SecurityContextPath}.runAsUser", "pod must not set runAsUser=0");
        }

        foreach (var c in containers)
        {
            if (Yaml.Long(c.SecurityContext, "runAsUser") == 0)
            {
                yield return new ManifestViolation(source, rule, $"{c.SecurityContextPath}.runAsUser", $"container \"{c.Name}\" must not set runAsUser=0");
            }
        }
    }

    /// <summary>Every volume-source key of a volume (normally exactly one).</summary>
    internal static IEnumerable<string> VolumeTypes(YamlNode volume) =>
        volume is YamlMappingNode map
            ? map.Children.Keys.OfType<YamlScalarNode>().Select(k => k.Value!).Where(PodSecurityRuleSet.KnownVolumeTypes.Contains)
            : [];

    private static void CheckSeccomp(PodView pod, List<ContainerView> containers, Action<string, string, string> add)
    {
        var podType = Yaml.Str(Yaml.Map(pod.SecurityContext, "seccompProfile"), "type");
        var podValid = podType is "RuntimeDefault" or "Localhost";
        if (podType is not null && !podValid)
        {
            add("seccompProfile_restricted", $"{pod.SecurityContextPath}.seccompProfile.type", $"pod must not set securityContext.seccompProfile.type to \"{podType}\" (RuntimeDefault or Localhost)");
        }

        foreach (var c in containers)
        {
            var type = Yaml.Str(Yaml.Map(c.SecurityContext, "seccompProfile"), "type");
            if (type is not null && type is not ("RuntimeDefault" or "Localhost"))
            {
                add("seccompProfile_restricted", $"{c.SecurityContextPath}.seccompProfile.type", $"container \"{c.Name}\" must not set securityContext.seccompProfile.type to \"{type}\" (RuntimeDefault or Localhost)");
            }
            else if (type is null && !podValid)
            {
                add("seccompProfile_restricted", $"{c.SecurityContextPath}.seccompProfile.type", $"pod or container \"{c.Name}\" must set securityContext.seccompProfile.type to RuntimeDefault or Localhost");
            }
        }
    }

    private static void CheckAppArmorField(YamlMappingNode? securityContext, string path, string who, Action<string, string, string> add)
    {
        if (Yaml.Str(Yaml.Map(securityContext, "appArmorProfile"), "type") is { } type && type is not ("RuntimeDefault" or "Localhost"))
        {
            add("appArmorProfile", $"{path}.appArmorProfile.type", $"{who} must not set appArmorProfile.type to \"{type}\" (RuntimeDefault or Localhost)");
        }
    }

    private static void CheckAppArmorAnnotations(PodView pod, Action<string, string, string> add)
    {
        const string prefix = "container.apparmor.security.beta.kubernetes.io/";
        if (Yaml.Map(pod.Metadata, "annotations") is not { } annotations)
        {
            return;
        }

        foreach (var (key, value) in annotations.Children)
        {
            var name = (key as YamlScalarNode)?.Value ?? string.Empty;
            if (!name.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            var text = (value as YamlScalarNode)?.Value ?? string.Empty;
            if (text.Length != 0 && text != "runtime/default" && !text.StartsWith("localhost/", StringComparison.Ordinal))
            {
                add("appArmorProfile", $"{pod.MetadataPath}.annotations[{name}]", $"annotation {name} must not be \"{text}\" (runtime/default or localhost/*)");
            }
        }
    }

    private static void CheckSeLinux(YamlMappingNode? securityContext, string path, string who, PodSecurityRuleSet rules, Action<string, string, string> add)
    {
        if (Yaml.Map(securityContext, "seLinuxOptions") is not { } options)
        {
            return;
        }

        if (Yaml.Str(options, "type") is { } type && !rules.AllowedSeLinuxTypes.Contains(type))
        {
            add("seLinuxOptions", $"{path}.seLinuxOptions.type", $"{who} must not set seLinuxOptions.type to \"{type}\"");
        }

        foreach (var field in new[] { "user", "role" })
        {
            if (Yaml.Str(options, field) is { Length: > 0 } value)
            {
                add("seLinuxOptions", $"{path}.seLinuxOptions.{field}", $"{who} must not set seLinuxOptions.{field} (\"{value}\")");
            }
        }
    }

    private static void CheckHandlerHost(YamlMappingNode? handler, string path, string container, Action<string, string, string> add)
    {
        foreach (var kind in new[] { "httpGet", "tcpSocket" })
        {
            if (Yaml.Str(Yaml.Map(handler, kind), "host") is { Length: > 0 } host)
            {
                add("hostProbesAndHostLifecycle", $"{path}.{kind}.host", $"container \"{container}\" must not set {kind}.host (\"{host}\")");
            }
        }
    }
}
