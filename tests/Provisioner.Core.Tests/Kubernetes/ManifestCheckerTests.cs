using Provisioner.Core.Kubernetes;
using Provisioner.Core.Kubernetes.Check;
using static Provisioner.Core.Tests.Kubernetes.KubernetesSamples;

namespace Provisioner.Core.Tests.Kubernetes;

public sealed class ManifestCheckerTests
{
    private const string UserNamespacePodRunningAsRoot = """
        apiVersion: v1
        kind: Pod
        metadata: {name: userns}
        spec:
          hostUsers: false
          securityContext:
            runAsUser: 0
            fsGroup: 10001
            seccompProfile: {type: RuntimeDefault}
          containers:
            - name: app
              image: app
              securityContext:
                allowPrivilegeEscalation: false
                readOnlyRootFilesystem: true
                capabilities: {drop: ["ALL"]}
        """;

    private static List<string> Violations(PodSecurityRuleSet rules, string yaml) =>
        new ManifestChecker(rules).Check("x.yaml", yaml).Objects.SelectMany(o => o.Violations).Select(v => $"{v.Source}/{v.Rule} {v.Path}").ToList();

    [Fact]
    public void Check_UserNamespacePodAsRootAt134_PodSecurityRejects()
    {
        var violations = Violations(Rules("1.34.2"), UserNamespacePodRunningAsRoot);

        Assert.Contains("PodSecurity/runAsUser spec.securityContext.runAsUser", violations);
        Assert.Contains("PodSecurity/runAsNonRoot spec.containers[0].securityContext.runAsNonRoot", violations);
    }

    [Fact]
    public void Check_UserNamespacePodAsRootAt135_ProjectPolicyStillRejects()
    {
        // Restricted 1.35 skips runAsNonRoot/runAsUser for hostUsers: false; the seed required non-root always.
        var violations = Violations(Rules("1.35.0", userNamespaces: true), UserNamespacePodRunningAsRoot);

        Assert.DoesNotContain(violations, v => v.StartsWith("PodSecurity/runAs", StringComparison.Ordinal));
        Assert.Contains("AdmissionPolicy/provisioner-run-as-non-root spec.securityContext.runAsUser", violations);
        Assert.Contains("AdmissionPolicy/provisioner-run-as-non-root spec.containers[0].securityContext.runAsNonRoot", violations);
    }

    [Fact]
    public void Check_HostUsersMissingWhenNodesSupportIt_Rejected()
    {
        var yaml = File.ReadAllText(Path.Combine(Provisioner.Core.Tests.Templates.Golden.TestFilesDirectory(), "..", "..", "corpus", "k8s-check", "good", "pod-restricted.yaml"));

        Assert.Equal(["AdmissionPolicy/provisioner-user-namespaces spec.hostUsers"], Violations(Rules("1.34.2", userNamespaces: true), yaml));
        Assert.Empty(Violations(Rules("1.34.2", userNamespaces: false), yaml));
    }

    [Fact]
    public void Check_QuotedFalse_IsNotABoolean()
    {
        const string yaml = """
            apiVersion: v1
            kind: Pod
            metadata: {name: quoted}
            spec:
              securityContext: {runAsNonRoot: true, fsGroup: 1, seccompProfile: {type: RuntimeDefault}}
              containers:
                - name: app
                  image: app
                  securityContext:
                    allowPrivilegeEscalation: "false"
                    readOnlyRootFilesystem: true
                    capabilities: {drop: ["ALL"]}
            """;

        Assert.Equal(["PodSecurity/allowPrivilegeEscalation spec.containers[0].securityContext.allowPrivilegeEscalation"], Violations(Rules(), yaml));
    }

    [Fact]
    public void Check_BrokenYaml_ReportsParseErrorAndExitCode2()
    {
        var result = new ManifestChecker(Rules()).Check("broken.yaml", "kind: Pod\nspec: [unclosed\n");

        Assert.NotNull(result.ParseError);
        Assert.Equal(2, ManifestChecker.ExitCode([result]));
        Assert.Contains("broken.yaml: cannot parse", ManifestChecker.Format([result]), StringComparison.Ordinal);
    }

    [Fact]
    public void Format_Violation_NamesFileLineObjectRuleAndPath()
    {
        var result = new ManifestChecker(Rules()).Check("app.yaml", "# leading comment\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: i}]\n");
        var text = ManifestChecker.Format([result]);

        Assert.Contains("app.yaml:2 Pod/p PodSecurity/allowPrivilegeEscalation spec.containers[0].securityContext.allowPrivilegeEscalation: container \"c\" must set securityContext.allowPrivilegeEscalation=false\n", text, StringComparison.Ordinal);
        Assert.EndsWith("1 objects checked, 1 with violations, 6 violations, 0 unreadable files\n", text, StringComparison.Ordinal);
        Assert.Equal(1, ManifestChecker.ExitCode([result]));
    }

    [Fact]
    public void Check_PodWithoutSpec_ReportsTheMissingPodSpec() =>
        Assert.Equal(["PodSecurity/podSpec spec.template.spec"], Violations(Rules(), "kind: Deployment\nmetadata: {name: d}\nspec: {replicas: 1}\n"));

    [Theory]
    [InlineData("1.32.0", false)]
    [InlineData("1.33.1", true)]
    public void RestrictedVolumeTypes_ImageAllowedFrom133(string version, bool imageAllowed) =>
        Assert.Equal(imageAllowed, Rules(version).RestrictedVolumeTypes.Contains("image"));

    [Theory]
    [InlineData("1.32.0", false)]
    [InlineData("1.34.2", true)]
    public void ForbidsProbeHosts_From134(string version, bool forbidden) => Assert.Equal(forbidden, Rules(version).ForbidsProbeHosts);

    [Fact]
    public void SafeSysctls_At132_IncludeTcpBuffers()
    {
        Assert.Contains("net.ipv4.tcp_rmem", Rules("1.32.0").SafeSysctls);
        Assert.Contains("net.ipv4.tcp_keepalive_time", Rules("1.32.0").SafeSysctls);
    }

    [Fact]
    public void ProjectPolicies_DependOnVersionAndCapability()
    {
        string Names(PodSecurityRuleSet r) => string.Join(',', r.ProjectPolicies.Select(p => p.Name));

        Assert.Equal("provisioner-read-only-root-filesystem,provisioner-no-root-group,provisioner-volume-types,provisioner-namespace-pod-security-labels", Names(Rules("1.34.2")));
        Assert.Contains("provisioner-user-namespaces", Names(Rules("1.34.2", userNamespaces: true)), StringComparison.Ordinal);
        Assert.Contains("provisioner-run-as-non-root", Names(Rules("1.35.0")), StringComparison.Ordinal);
    }

    [Fact]
    public void VolumeTypesPolicy_Cel_IsBuiltFromTheSeedList()
    {
        var cel = AdmissionPolicyRule.VolumeTypes.Validations(Rules()).Single().Expression;

        Assert.All(PodSecurityRuleSet.SeedVolumeTypes, t => Assert.Contains($"has(v.{t})", cel, StringComparison.Ordinal));
        Assert.Equal(PodSecurityRuleSet.SeedVolumeTypes.Count, cel.Split("has(v.").Length - 1);
    }

    [Fact]
    public void NamespaceLabelsPolicy_Cel_NamesThePinnedVersion() =>
        Assert.Contains("'v1.34'", AdmissionPolicyRule.NamespacePodSecurityLabels.Validations(Rules()).Single().Expression, StringComparison.Ordinal);

    [Fact]
    public void UserNamespaceCapability_Debian12Nodes_NotSupportedAndSaysWhy()
    {
        var capability = UserNamespaceCapability.Evaluate(KubernetesVersion.Parse("1.34.2"),
            new Dictionary<string, NodeFacts?> { ["cp-1"] = DebianFacts, ["worker-1"] = null });

        Assert.False(capability.Supported);
        Assert.Contains("node cp-1: kernel 6.1.0-28-cloud-amd64 is older than 6.3", capability.Statement, StringComparison.Ordinal);
        Assert.Contains("node cp-1: containerd 1.6.20~ds1 is older than 2.0", capability.Statement, StringComparison.Ordinal);
        Assert.Contains("node worker-1 has not been inspected yet", capability.Statement, StringComparison.Ordinal);
    }

    [Fact]
    public void UserNamespaceCapability_NewNodesOnOldKubernetes_NotSupported()
    {
        var facts = new NodeFacts { KernelRelease = "6.12.0-1-amd64", ContainerdVersion = "v2.1.4" };

        Assert.True(UserNamespaceCapability.Evaluate(KubernetesVersion.Parse("1.33.0"), new Dictionary<string, NodeFacts?> { ["n"] = facts }).Supported);
        Assert.False(UserNamespaceCapability.Evaluate(KubernetesVersion.Parse("1.32.5"), new Dictionary<string, NodeFacts?> { ["n"] = facts }).Supported);
    }
}

public sealed class PodSecurityRuleSetTests
{
    [Fact]
    public void Describe_StatesProfileExemptionsPoliciesAndUserNamespaces()
    {
        var lines = KubernetesSamples.Rules().Describe();

        Assert.Equal("Pod Security: restricted at v1.34 (enforce, audit, warn) on Kubernetes 1.34.2", lines[0]);
        Assert.Contains(lines, l => l.StartsWith("exempt namespace kube-system: ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("policy provisioner-no-root-group: fsGroup MustRunAs", StringComparison.Ordinal));
        Assert.StartsWith("hostUsers: false is NOT required", lines[^1], StringComparison.Ordinal);
    }

    [Fact]
    public void For_NewerThanModelled_PinsTheNewestModelledPolicy()
    {
        var rules = PodSecurityRuleSet.For(KubernetesVersion.Parse("1.40.1"), KubernetesSamples.NoUserNamespaces, []);

        Assert.Equal("v1.36", rules.PolicyVersionTag);
        Assert.Equal(KubernetesVersion.Parse("1.40.1"), rules.ClusterVersion);
    }
}

public sealed class PodSecurityRuleSetDefaultsTests
{
    [Fact]
    public void ForProjectDefaults_MatchesTheRulesOfABootstrappedCluster()
    {
        var defaults = PodSecurityRuleSet.ForProjectDefaults(KubernetesVersion.Parse("1.34.2"), requireUserNamespaces: false);
        var fromStack = KubernetesSamples.Rules("1.34.2");

        Assert.Equal(fromStack.Exemptions.Select(e => e.Namespace), defaults.Exemptions.Select(e => e.Namespace));
        Assert.Equal(fromStack.ProjectPolicies, defaults.ProjectPolicies);
        Assert.Equal(fromStack.PolicyVersionTag, defaults.PolicyVersionTag);
    }
}
