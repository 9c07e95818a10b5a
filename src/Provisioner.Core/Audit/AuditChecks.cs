using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Provisioner.Core.Hardening;
using Provisioner.Core.Kubernetes.Audit;
using Provisioner.Core.Stacks;

namespace Provisioner.Core.Audit;

/// <summary>
/// The checks the audit runs on a node, with expectations derived from the node's
/// <see cref="HardeningBundle"/> (so a declared override is expected, and reported as waived with its
/// reason, rather than failed). Ids of the CIS Docker Benchmark are those of <see cref="CisBenchmark"/>.
/// </summary>
/// <remarks>
/// Known false positives of generic scanners, which these evaluators account for:
/// <list type="bullet">
/// <item>Under <c>userns-remap</c> Docker's data root moves to <c>/var/lib/docker/&lt;uid&gt;.&lt;gid&gt;</c>
/// (here <c>/var/lib/docker/1000000000.1000000000</c>); <c>docker info</c> reports that directory.</item>
/// <item><c>docker info</c> always lists <c>127.0.0.0/8</c> among the insecure registry CIDRs: Docker's
/// built-in default, not a configured insecure registry (CIS 2.5).</item>
/// <item>The default seccomp profile is reported as <c>profile=default</c> by Docker 20.10 and
/// <c>profile=builtin</c> by later engines; both are the default profile (CIS 2.17).</item>
/// <item>The Docker socket is <c>/run/docker.sock</c>; <c>/var/run</c> is a symlink to <c>/run</c>,
/// so checks that do not follow links see a symlink owned by root:root (CIS 3.15/3.16).</item>
/// <item>DOCKER-USER is not empty: it holds our jump first and Docker's own <c>RETURN</c>.</item>
/// <item>Debian's <c>nftables.service</c> is masked on purpose (its configuration flushes the whole
/// ruleset, Docker's chains included); <c>provisioner-firewall.service</c> loads the firewall instead.</item>
/// </list>
/// </remarks>
public static class AuditChecks
{
    /// <summary>The benchmark and version the CIS ids refer to (written for Docker Engine 20.10, Debian 12's docker.io).</summary>
    public const string CisBenchmark = "CIS Docker Benchmark v1.6.0";

    private const string DockerService = "/lib/systemd/system/docker.service";
    private const string DockerSocketUnit = "/lib/systemd/system/docker.socket";
    private const string DockerSocket = "/run/docker.sock";
    private const string ContainerdSocket = "/run/containerd/containerd.sock";

    private static readonly AuditProbe DockerInfo = AuditProbe.Of("docker", "info", "--format", "{{json .}}");
    private static readonly AuditProbe BridgeOptions = AuditProbe.Of("docker", "network", "inspect", "bridge", "--format", "{{json .Options}}");
    private static readonly AuditProbe DaemonJson = AuditProbe.Of("cat", HardeningPaths.DaemonJson);
    private static readonly AuditProbe Listening = AuditProbe.Of("ss", "-Hltnp");
    private static readonly AuditProbe PublishedPorts = AuditProbe.Of("docker", "ps", "--format", "{{.Ports}}");
    private static readonly AuditProbe Stat = AuditProbe.Of("stat", "-L", "-c", "%n %U %G %a", DockerService, DockerSocketUnit, "/etc/docker", DockerSocket, HardeningPaths.DaemonJson, ContainerdSocket);
    private static readonly AuditProbe SubIds = AuditProbe.Of("grep", "-H", "^" + HardeningPaths.RemapUser + ":", "/etc/subuid", "/etc/subgid");
    private static readonly AuditProbe NftTable = AuditProbe.Of("nft", "-j", "list", "table", "inet", "provisioner");
    private static readonly AuditProbe NftTables = AuditProbe.Of("nft", "list", "tables");
    private static readonly AuditProbe DockerUser = AuditProbe.Of("iptables", "-w", "-S", "DOCKER-USER");
    private static readonly AuditProbe PublishedChain = AuditProbe.Of("iptables", "-w", "-S", HardeningPaths.DockerUserChain);
    private static readonly AuditProbe UnitsEnabled = AuditProbe.Of("systemctl", "is-enabled", HardeningPaths.FirewallUnitName, HardeningPaths.DockerUserUnitName);
    private static readonly AuditProbe NftablesService = AuditProbe.Of("systemctl", "is-enabled", "nftables.service");
    private static readonly AuditProbe DockerEnabled = AuditProbe.Of("systemctl", "is-enabled", "docker.service");

    /// <summary>The benchmark the Kubernetes checks' CIS ids refer to (see <see cref="KubernetesAuditCheck.CisId"/>).</summary>
    public const string KubernetesBenchmark = "CIS Kubernetes Benchmark v1.10.0";

    /// <summary>
    /// Every check for one node: the runtime and firewall checks of <paramref name="bundle"/>, then those of
    /// <paramref name="kubernetes"/> (from <see cref="KubernetesAuditChecks.For"/>) that apply to a node of
    /// <paramref name="role"/>. What <c>provisioner audit</c> runs.
    /// </summary>
    public static IReadOnlyList<AuditCheck> ForNode(HardeningBundle bundle, NodeRole role, IReadOnlyList<KubernetesAuditCheck>? kubernetes)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        var checks = For(bundle).ToList();
        if (kubernetes is not null && role is NodeRole.ControlPlane or NodeRole.Worker)
        {
            checks.AddRange(FromKubernetes(kubernetes.Where(k => k.Scope == AuditScope.AllNodes || role == NodeRole.ControlPlane)));
        }
        return checks.AsReadOnly();
    }

    /// <summary>The Kubernetes checks in this audit's form: id <c>kubernetes.&lt;cis id&gt;</c>, the evaluator reading standard output and exit code.</summary>
    public static IReadOnlyList<AuditCheck> FromKubernetes(IEnumerable<KubernetesAuditCheck> checks)
    {
        ArgumentNullException.ThrowIfNull(checks);
        var result = new List<AuditCheck>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var check in checks)
        {
            var id = "kubernetes." + check.CisId.Replace(' ', '-');
            seen[id] = seen.GetValueOrDefault(id) + 1;
            var evaluate = check.Evaluate;
            result.Add(new AuditCheck
            {
                Id = seen[id] == 1 ? id : $"{id}#{seen[id].ToString(CultureInfo.InvariantCulture)}",
                CisId = check.CisId,
                Benchmark = KubernetesBenchmark,
                Title = check.Title,
                Expected = check.Title,
                Probes = [new AuditProbe(check.Command)],
                Evaluate = outputs =>
                {
                    var verdict = evaluate(outputs[0].StdOut, outputs[0].ExitCode);
                    return verdict.Passed ? AuditFinding.Pass(verdict.Detail) : AuditFinding.Fail(verdict.Detail);
                },
            });
        }
        return result.AsReadOnly();
    }

    /// <summary>The image ships Docker off until the hardening is in place; a node whose Docker does not start at boot loses its containers on the next reboot.</summary>
    private static AuditCheck DockerStartsAtBoot() => new()
    {
        Id = "docker.enabled",
        Title = "Docker starts at boot",
        Expected = "docker.service enabled",
        Probes = [DockerEnabled],
        Evaluate = outputs =>
        {
            var state = outputs[0].StdOut.Trim();
            return state == "enabled" ? AuditFinding.Pass(state) : AuditFinding.Fail(state.Length == 0 ? outputs[0].ErrorSummary : state);
        },
    };

    /// <summary>Every check for the node <paramref name="bundle"/> was rendered for.</summary>
    public static IReadOnlyList<AuditCheck> For(HardeningBundle bundle)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        var daemon = bundle.Daemon;
        var checks = new List<AuditCheck>
        {
            DockerStartsAtBoot(),

            // Docker daemon configuration (CIS section 2), read from the running daemon where it says.
            BridgeOption("docker.icc", "2.2", "Network traffic is restricted between containers on the default bridge",
                daemon, "icc", "com.docker.network.bridge.enable_icc"),
            DaemonJsonKey("docker.log-level", "2.3", "The logging level is 'info'", daemon, "log-level"),
            DaemonJsonKey("docker.iptables", "2.4", "Docker is allowed to make changes to iptables", daemon, "iptables"),
            InsecureRegistries(daemon),
            DockerInfoValue("docker.storage-driver", "2.6", "The aufs storage driver is not used", "not aufs",
                info => info.GetProperty("Driver").GetString() is { } driver && driver != "aufs" ? AuditFinding.Pass(driver) : AuditFinding.Fail(info.GetProperty("Driver").GetString() ?? "none")),
            TcpSocket(),
            DaemonJsonKey("docker.default-ulimits", "2.8", "The default ulimits are configured", daemon, "default-ulimits"),
            UserNamespaces(daemon),
            DaemonJsonKey("docker.no-new-privileges", "2.14", "Containers are restricted from acquiring new privileges", daemon, "no-new-privileges"),
            DockerInfoFlag("docker.live-restore", "2.15", "Live restore is enabled", daemon, "live-restore", "LiveRestoreEnabled"),
            DaemonJsonKey("docker.userland-proxy", "2.16", "The userland proxy is disabled", daemon, "userland-proxy"),
            Seccomp(),
            DockerInfoFlag("docker.experimental", null, "Experimental features are off", daemon, "experimental", "ExperimentalBuild"),
            BridgeOption("docker.default-bind-address", null, "Published ports bind to the configured address (localhost unless a policy opens them)",
                daemon, "ip", "com.docker.network.bridge.host_binding_ipv4"),
            LoggingDriver(daemon),
            DataRoot(daemon),
            RemapRanges(daemon),
            DaemonJsonContent(daemon),

            // Docker daemon configuration files (CIS section 3).
            FileOwner("docker.service-owner", "3.1", DockerService, "root", "root"),
            FileMode("docker.service-mode", "3.2", DockerService, 0b110_100_100),
            FileOwner("docker.socket-unit-owner", "3.3", DockerSocketUnit, "root", "root"),
            FileMode("docker.socket-unit-mode", "3.4", DockerSocketUnit, 0b110_100_100),
            FileOwner("docker.etc-owner", "3.5", "/etc/docker", "root", "root"),
            FileMode("docker.etc-mode", "3.6", "/etc/docker", 0b111_101_101),
            FileOwner("docker.sock-owner", "3.15", DockerSocket, "root", "docker"),
            FileMode("docker.sock-mode", "3.16", DockerSocket, 0b110_110_000),
            FileOwner("docker.daemon-json-owner", "3.17", HardeningPaths.DaemonJson, "root", "root"),
            FileMode("docker.daemon-json-mode", "3.18", HardeningPaths.DaemonJson, 0b110_100_100),
            FileOwner("containerd.sock-owner", "3.23", ContainerdSocket, "root", "root"),
            FileMode("containerd.sock-mode", "3.24", ContainerdSocket, 0b110_110_000),
        };

        checks.AddRange(FirewallChecks(bundle.Firewall));
        checks.Add(FilesUnchanged(bundle));
        return checks.AsReadOnly();
    }

    private static IEnumerable<AuditCheck> FirewallChecks(FirewallPolicy policy)
    {
        yield return NftCheck("firewall.input-policy", "The input chain of table inet provisioner drops by default",
            "hook input, priority below filter (0), policy drop", table => BaseChainFinding(table, "input"));
        yield return NftCheck("firewall.forward-policy", "The forward chain of table inet provisioner drops by default, before Docker's chains",
            "hook forward, priority below filter (0), policy drop", table => BaseChainFinding(table, "forward"));

        var ssh = policy.Input.Where(a => a.Name == "ssh").Select(FoundAllowance.From).ToList();
        yield return NftCheck("firewall.ssh", "SSH is accepted from the stack's admin networks only",
            Describe(ssh), table => CompareAllowances(table.InputAllowances().Where(a => a.Ports is { } p && p.Contains(22) && a.Protocol == "tcp"), ssh));

        var input = policy.Input.Select(FoundAllowance.From)
            .Append(new FoundAllowance("udp", PortRange.Of(68), []))
            .ToList();
        yield return NftCheck("firewall.input-ports", "The input chain accepts exactly the declared ports and sources (cluster ports from cluster nodes only)",
            Describe(input), table => CompareAllowances(table.InputAllowances(), input));

        var published = policy.Published.Select(p => FoundAllowance.From(p.Protocol, PortRange.Of(p.Port), p.Sources)).ToList();
        yield return NftCheck("firewall.published-ports", "Published container ports are reachable from their policy's sources only; anything else is dropped",
            published.Count == 0 ? "none; every DNAT-ed connection dropped" : Describe(published) + "; anything else dropped",
            table => !table.ForwardJumpsToPublished() || !table.PublishedEndsInDrop()
                ? AuditFinding.Fail("the forward chain does not send DNAT-ed connections through a published chain ending in drop")
                : CompareAllowances(table.PublishedAllowances(), published));

        var expectedDockerUser = policy.Published
            .SelectMany(p => p.AnySource ? [(FirewallToken.ProtocolName(p.Protocol), p.Port, (Ipv4Cidr?)null)] : p.Sources.Select(s => (FirewallToken.ProtocolName(p.Protocol), p.Port, (Ipv4Cidr?)s)))
            .Select(Format)
            .Order(StringComparer.Ordinal)
            .ToList();
        yield return new AuditCheck
        {
            Id = "firewall.docker-user",
            Title = "DOCKER-USER sends forwarded traffic through the published-port policy first",
            Expected = "first rule of DOCKER-USER: -j PROVISIONER-PUBLISHED, which admits " + (expectedDockerUser.Count == 0 ? "no published port" : string.Join("; ", expectedDockerUser)),
            Probes = [NftTables, DockerUser, PublishedChain],
            Evaluate = outputs =>
            {
                if (outputs[0].Succeeded && outputs[0].StdOut.Contains("table ip docker-bridges", StringComparison.Ordinal))
                {
                    return AuditFinding.NotApplicable("Docker uses its nftables firewall backend (table ip docker-bridges)",
                        "there is no DOCKER-USER chain; table inet provisioner enforces the policy");
                }
                if (!outputs[1].Succeeded)
                {
                    return AuditFinding.Fail("no DOCKER-USER chain", outputs[1].ErrorSummary);
                }
                var rules = IptablesView.Rules(outputs[1].StdOut, "DOCKER-USER");
                if (rules.Count == 0 || rules[0] != "-j " + HardeningPaths.DockerUserChain)
                {
                    return AuditFinding.Fail("first rule: " + (rules.Count == 0 ? "none" : rules[0]));
                }
                if (!outputs[2].Succeeded)
                {
                    return AuditFinding.Fail($"no {HardeningPaths.DockerUserChain} chain", outputs[2].ErrorSummary);
                }
                var found = IptablesView.PublishedAllowances(outputs[2].StdOut).Select(Format).Order(StringComparer.Ordinal).ToList();
                var text = "first rule: -j PROVISIONER-PUBLISHED, which admits " + (found.Count == 0 ? "no published port" : string.Join("; ", found));
                return found.SequenceEqual(expectedDockerUser, StringComparer.Ordinal) ? AuditFinding.Pass(text) : AuditFinding.Fail(text);
            },
            KnownFalsePositive = "DOCKER-USER is not empty: it holds our jump first and Docker's own RETURN last.",
        };

        yield return new AuditCheck
        {
            Id = "firewall.units",
            Title = "The firewall is loaded at boot and after every Docker start",
            Expected = $"{HardeningPaths.FirewallUnitName} and {HardeningPaths.DockerUserUnitName} enabled",
            Probes = [UnitsEnabled],
            Evaluate = outputs =>
            {
                var states = outputs[0].StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                var found = states.Length == 0 ? outputs[0].ErrorSummary : string.Join(", ", states);
                return states.Length == 2 && states.All(s => s == "enabled") ? AuditFinding.Pass(found) : AuditFinding.Fail(found);
            },
        };

        yield return new AuditCheck
        {
            Id = "firewall.no-ruleset-flush",
            Title = "Nothing flushes the whole ruleset: Debian's nftables.service is masked",
            Expected = "masked",
            Probes = [NftablesService],
            Evaluate = outputs =>
            {
                var state = outputs[0].StdOut.Trim();
                return state switch
                {
                    "masked" or "masked-runtime" => AuditFinding.Pass(state),
                    "" => AuditFinding.Pass("not installed", outputs[0].ErrorSummary),
                    _ => AuditFinding.Fail(state, "its /etc/nftables.conf starts with 'flush ruleset', which wipes Docker's chains and ours when it runs"),
                };
            },
            KnownFalsePositive = "Benchmarks that expect nftables.service enabled flag the mask; provisioner-firewall.service loads the ruleset instead.",
        };
    }

    private static AuditCheck NftCheck(string id, string title, string expected, Func<NftTableView, AuditFinding> evaluate) => new()
    {
        Id = id,
        Title = title,
        Expected = expected,
        Probes = [NftTable],
        Evaluate = outputs => outputs[0].Succeeded
            ? evaluate(new NftTableView(outputs[0].StdOut))
            : AuditFinding.Fail("table inet provisioner is not loaded", outputs[0].ErrorSummary),
    };

    private static AuditFinding BaseChainFinding(NftTableView table, string chain)
    {
        if (table.BaseChain(chain) is not { } c)
        {
            return AuditFinding.Fail($"no base chain '{chain}'");
        }
        var found = $"hook {c.Hook}, priority {c.Priority.ToString(CultureInfo.InvariantCulture)}, policy {c.Policy}";
        return c.Hook == chain && c.Priority < 0 && c.Policy == "drop" ? AuditFinding.Pass(found) : AuditFinding.Fail(found);
    }

    private static AuditFinding CompareAllowances(IEnumerable<FoundAllowance> found, IReadOnlyList<FoundAllowance> expected)
    {
        var foundKeys = found.Select(a => a.Key).Order(StringComparer.Ordinal).ToList();
        var expectedKeys = expected.Select(a => a.Key).Order(StringComparer.Ordinal).ToList();
        var text = foundKeys.Count == 0 ? "none" : string.Join("; ", foundKeys);
        if (foundKeys.SequenceEqual(expectedKeys, StringComparer.Ordinal))
        {
            return AuditFinding.Pass(text);
        }
        var extra = foundKeys.Except(expectedKeys, StringComparer.Ordinal).ToList();
        var missing = expectedKeys.Except(foundKeys, StringComparer.Ordinal).ToList();
        var note = string.Join("; ", new[]
        {
            extra.Count > 0 ? "not declared: " + string.Join(", ", extra) : null,
            missing.Count > 0 ? "missing: " + string.Join(", ", missing) : null,
        }.Where(s => s is not null));
        return AuditFinding.Fail(text, note);
    }

    private static string Describe(List<FoundAllowance> allowances) =>
        allowances.Count == 0 ? "none" : string.Join("; ", allowances.Select(a => a.Key).Order(StringComparer.Ordinal));

    private static string Format((string Protocol, int Port, Ipv4Cidr? Source) rule) =>
        $"{rule.Protocol} {rule.Port.ToString(CultureInfo.InvariantCulture)} from {(rule.Source is { } s ? s.ToString() : "any")}";

    // ----- Docker -----

    private static AuditFinding Judge(JsonNode? found, JsonElement? expected, DaemonSetting? setting, string foundText)
    {
        var expectedNode = expected is { } e ? JsonNode.Parse(e.GetRawText()) : null;
        if (!JsonNode.DeepEquals(found, expectedNode))
        {
            return AuditFinding.Fail(foundText, setting?.IsOverridden == true ? $"the stack overrides it: {setting.OverrideReason}" : null);
        }
        return setting?.IsOverridden == true
            ? new AuditFinding(AuditStatus.Waived, foundText, $"overridden by the stack: {setting.OverrideReason}")
            : AuditFinding.Pass(foundText);
    }

    private static string ExpectedText(DaemonConfiguration daemon, string key)
    {
        var setting = daemon.Find(key);
        var value = setting is null ? "Docker's default" : setting.Value.GetRawText();
        return setting?.IsOverridden == true ? $"{value} (stack override; baseline {setting.Baseline?.GetRawText() ?? "unset"})" : value;
    }

    private static AuditCheck DaemonJsonKey(string id, string? cis, string title, DaemonConfiguration daemon, string key) => new()
    {
        Id = id,
        CisId = cis,
        Title = title,
        Expected = $"{key}: {ExpectedText(daemon, key)}",
        Probes = [DaemonJson],
        Evaluate = outputs =>
        {
            if (!outputs[0].Succeeded)
            {
                return AuditFinding.Fail($"{HardeningPaths.DaemonJson} unreadable", outputs[0].ErrorSummary);
            }
            var found = JsonNode.Parse(outputs[0].StdOut)?.AsObject()[key];
            return Judge(found?.DeepClone(), daemon[key], daemon.Find(key), $"{key}: {found?.ToJsonString() ?? "unset"}");
        },
    };

    private static AuditCheck DockerInfoValue(string id, string? cis, string title, string expected, Func<JsonElement, AuditFinding> evaluate) => new()
    {
        Id = id,
        CisId = cis,
        Title = title,
        Expected = expected,
        Probes = [DockerInfo],
        Evaluate = outputs =>
        {
            if (!outputs[0].Succeeded)
            {
                return AuditFinding.Error("docker info failed", outputs[0].ErrorSummary);
            }
            using var document = JsonDocument.Parse(outputs[0].StdOut);
            return evaluate(document.RootElement);
        },
    };

    private static AuditCheck DockerInfoFlag(string id, string? cis, string title, DaemonConfiguration daemon, string key, string property) =>
        DockerInfoValue(id, cis, title, $"{property}: {ExpectedText(daemon, key)}", info =>
        {
            var found = info.GetProperty(property);
            return Judge(JsonNode.Parse(found.GetRawText()), daemon[key], daemon.Find(key), $"{property}: {found.GetRawText()}");
        });

    private static AuditCheck BridgeOption(string id, string? cis, string title, DaemonConfiguration daemon, string key, string option) => new()
    {
        Id = id,
        CisId = cis,
        Title = title,
        Expected = $"{option}: {ExpectedText(daemon, key)}",
        Probes = [BridgeOptions],
        Evaluate = outputs =>
        {
            if (!outputs[0].Succeeded)
            {
                return AuditFinding.Error("docker network inspect bridge failed", outputs[0].ErrorSummary);
            }
            var options = JsonNode.Parse(outputs[0].StdOut)?.AsObject();
            var found = options?[option]?.GetValue<string>();
            // Docker keeps bridge options as strings ("false", "127.0.0.1"); daemon.json has typed values.
            var expected = daemon[key] is { } e ? (e.ValueKind == JsonValueKind.String ? e.GetString() : e.GetRawText()) : null;
            var setting = daemon.Find(key);
            var text = $"{option}: {found ?? "unset"}";
            if (found != expected)
            {
                return AuditFinding.Fail(text);
            }
            return setting?.IsOverridden == true ? new AuditFinding(AuditStatus.Waived, text, $"overridden by the stack: {setting.OverrideReason}") : AuditFinding.Pass(text);
        },
    };

    private static AuditCheck InsecureRegistries(DaemonConfiguration daemon)
    {
        var setting = daemon.Find("insecure-registries");
        var declared = setting?.Value.ValueKind == JsonValueKind.Array ? setting.Value.EnumerateArray().Select(e => e.GetString()!).ToList() : [];
        return DockerInfoValue("docker.insecure-registries", "2.5", "Insecure registries are not used",
            declared.Count == 0 ? "none (127.0.0.0/8 is Docker's built-in default)" : $"only the declared {string.Join(", ", declared)}",
            info =>
            {
                var config = info.GetProperty("RegistryConfig");
                var cidrs = config.GetProperty("InsecureRegistryCIDRs").EnumerateArray().Select(e => e.GetString()!).Where(c => c != "127.0.0.0/8");
                var names = config.GetProperty("IndexConfigs").EnumerateObject()
                    .Where(p => p.Value.TryGetProperty("Secure", out var secure) && !secure.GetBoolean()).Select(p => p.Name);
                var insecure = cidrs.Concat(names).Order(StringComparer.Ordinal).ToList();
                var text = insecure.Count == 0 ? "none" : string.Join(", ", insecure);
                if (insecure.Count == 0)
                {
                    return AuditFinding.Pass(text);
                }
                return insecure.All(declared.Contains) && setting?.IsOverridden == true
                    ? new AuditFinding(AuditStatus.Waived, text, $"overridden by the stack: {setting.OverrideReason}")
                    : AuditFinding.Fail(text);
            }) with
        {
            KnownFalsePositive = "docker info always lists 127.0.0.0/8 as an insecure registry CIDR: Docker's built-in default, not a configured registry.",
        };
    }

    private static AuditCheck UserNamespaces(DaemonConfiguration daemon)
    {
        var setting = daemon.Find("userns-remap");
        return DockerInfoValue("docker.userns", "2.9", "User namespace support is enabled",
            daemon.UsesUserNamespaces ? "SecurityOptions has name=userns" : $"userns off (stack override: {setting?.OverrideReason})",
            info =>
            {
                var on = info.GetProperty("SecurityOptions").EnumerateArray().Any(o => o.GetString() == "name=userns");
                var text = on ? "name=userns" : "no name=userns";
                if (on != daemon.UsesUserNamespaces)
                {
                    return AuditFinding.Fail(text);
                }
                return setting?.IsOverridden == true ? new AuditFinding(AuditStatus.Waived, text, $"overridden by the stack: {setting.OverrideReason}") : AuditFinding.Pass(text);
            });
    }

    private static AuditCheck Seccomp() =>
        DockerInfoValue("docker.seccomp", "2.17", "Docker's default seccomp profile applies to containers", "name=seccomp,profile=default (or builtin)", info =>
        {
            var option = info.GetProperty("SecurityOptions").EnumerateArray().Select(o => o.GetString()!).FirstOrDefault(o => o.StartsWith("name=seccomp", StringComparison.Ordinal));
            return option is "name=seccomp,profile=default" or "name=seccomp,profile=builtin"
                ? AuditFinding.Pass(option)
                : AuditFinding.Fail(option ?? "no seccomp");
        }) with
        {
            KnownFalsePositive = "Docker 20.10 reports the default profile as profile=default, later engines as profile=builtin.",
        };

    private static AuditCheck LoggingDriver(DaemonConfiguration daemon)
    {
        var driver = daemon["log-driver"]?.GetString() ?? "json-file";
        var options = daemon["log-opts"];
        var expected = $"{driver} with max-size {options?.GetProperty("max-size").GetString() ?? "unset"}";
        return new AuditCheck
        {
            Id = "docker.log-driver",
            Title = "Container logs go to a size-limited log driver",
            Expected = expected,
            Probes = [DockerInfo, DaemonJson],
            Evaluate = outputs =>
            {
                if (!outputs[0].Succeeded)
                {
                    return AuditFinding.Error("docker info failed", outputs[0].ErrorSummary);
                }
                using var info = JsonDocument.Parse(outputs[0].StdOut);
                var running = info.RootElement.GetProperty("LoggingDriver").GetString();
                var file = outputs[1].Succeeded ? JsonNode.Parse(outputs[1].StdOut)?["log-opts"]?["max-size"]?.GetValue<string>() : null;
                var text = $"{running} with max-size {file ?? "unset"}";
                var overridden = daemon.Find("log-driver")?.IsOverridden == true || daemon.Find("log-opts")?.IsOverridden == true;
                if (text != expected || file is null)
                {
                    return AuditFinding.Fail(text);
                }
                return overridden
                    ? new AuditFinding(AuditStatus.Waived, text, "overridden by the stack: " + string.Join("; ", daemon.Overrides.Where(o => o.Key is "log-driver" or "log-opts").Select(o => o.OverrideReason)))
                    : AuditFinding.Pass(text);
            },
        };
    }

    /// <summary>
    /// No TCP listener of dockerd but the ones holding running containers' published ports: with the userland proxy
    /// off, dockerd still binds each published host port to reserve it (seen on Debian 12's 20.10 after a restart
    /// under live-restore); the firewall decides who reaches those. Any other dockerd listener is the API on TCP.
    /// </summary>
    private static AuditCheck TcpSocket() => new()
    {
        Id = "docker.tcp-socket",
        CisId = "2.7",
        Title = "The Docker daemon listens on its Unix socket only (no TCP, so no TLS to configure)",
        Expected = "no TCP listener owned by dockerd but published container ports",
        Probes = [Listening, PublishedPorts],
        Evaluate = outputs =>
        {
            if (!outputs[0].Succeeded)
            {
                return AuditFinding.Error("ss failed", outputs[0].ErrorSummary);
            }
            var listeners = outputs[0].StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Where(l => l.Contains("\"dockerd\"", StringComparison.Ordinal))
                .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries).ElementAtOrDefault(3) ?? l)
                .ToList();
            var published = outputs[1].Succeeded ? PublishedTcpHostPorts(outputs[1].StdOut) : [];
            var reserved = listeners.Where(l => PortOf(l) is { } port && published.Contains(port)).ToList();
            var api = listeners.Except(reserved).ToList();
            if (api.Count > 0)
            {
                return AuditFinding.Fail("dockerd listens on " + string.Join(", ", api),
                    outputs[1].Succeeded ? null : "the published ports could not be read (docker ps failed), so every dockerd listener counts");
            }
            return reserved.Count == 0
                ? AuditFinding.Pass("no TCP listener owned by dockerd")
                : AuditFinding.Pass("only published container ports: " + string.Join(", ", reserved), "dockerd binds published ports to reserve them when the userland proxy is off");
        },
    };

    /// <summary>Host ports of <c>docker ps --format {{.Ports}}</c> lines such as <c>0.0.0.0:8080-8081-&gt;80-81/tcp, :::8080-&gt;80/tcp</c>.</summary>
    private static HashSet<int> PublishedTcpHostPorts(string dockerPs)
    {
        var ports = new HashSet<int>();
        foreach (var mapping in dockerPs.Split(['\n', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var arrow = mapping.IndexOf("->", StringComparison.Ordinal);
            if (arrow < 0 || !mapping.EndsWith("/tcp", StringComparison.Ordinal))
            {
                continue;
            }
            var host = mapping[..arrow];
            var range = host[(host.LastIndexOf(':') + 1)..].Split('-');
            if (int.TryParse(range[0], NumberStyles.None, CultureInfo.InvariantCulture, out var first))
            {
                var last = range.Length > 1 && int.TryParse(range[1], NumberStyles.None, CultureInfo.InvariantCulture, out var l) ? l : first;
                for (var port = first; port <= last && port <= 65535; port++)
                {
                    ports.Add(port);
                }
            }
        }
        return ports;
    }

    private static int? PortOf(string localAddress) =>
        int.TryParse(localAddress[(localAddress.LastIndexOf(':') + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) ? port : null;

    private static AuditCheck DataRoot(DaemonConfiguration daemon)
    {
        var root = daemon["data-root"]?.GetString() ?? "/var/lib/docker";
        var expected = daemon.UsesUserNamespaces
            ? $"{root}/<uid>.<gid> of dockremap ({root}/{HardeningPaths.RemapFirstId}.{HardeningPaths.RemapFirstId})"
            : root;
        return DockerInfoValue("docker.data-root", null, "Docker keeps its data where the configuration says", expected, info =>
        {
            var found = info.GetProperty("DockerRootDir").GetString() ?? "";
            if (!daemon.UsesUserNamespaces)
            {
                return found == root ? AuditFinding.Pass(found) : AuditFinding.Fail(found);
            }
            var suffix = found.StartsWith(root + "/", StringComparison.Ordinal) ? found[(root.Length + 1)..] : null;
            var ids = suffix?.Split('.');
            if (ids is not [var uid, var gid] || !long.TryParse(uid, NumberStyles.None, CultureInfo.InvariantCulture, out _) || !long.TryParse(gid, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                return AuditFinding.Fail(found, "userns-remap is on, so the data root should be a <uid>.<gid> directory");
            }
            var ours = uid == HardeningPaths.RemapFirstId.ToString(CultureInfo.InvariantCulture) && gid == uid;
            return AuditFinding.Pass(found, ours ? "moved under userns-remap (expected)" : "moved under userns-remap, to a range dockerd chose itself before the tool's range was in place");
        }) with
        {
            KnownFalsePositive = "Under userns-remap the data root moves to /var/lib/docker/<uid>.<gid>; scanners comparing DockerRootDir with /var/lib/docker flag it.",
        };
    }

    private static AuditCheck RemapRanges(DaemonConfiguration daemon) => new()
    {
        Id = "docker.userns-ranges",
        Title = "Container root maps to an unprivileged subordinate ID range (dockremap in /etc/subuid and /etc/subgid)",
        Expected = daemon.UsesUserNamespaces
            ? $"dockremap:{HardeningPaths.RemapFirstId}:{HardeningPaths.RemapIdCount} in both files"
            : "not needed (userns-remap off)",
        Probes = [SubIds],
        Evaluate = outputs =>
        {
            if (!daemon.UsesUserNamespaces)
            {
                return AuditFinding.NotApplicable(outputs[0].StdOut.Trim().Length == 0 ? "no ranges" : outputs[0].StdOut.Trim().Replace('\n', ' '), "userns-remap is off in this stack");
            }
            var ranges = outputs[0].StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(l => l.Split(':'))
                .Where(p => p.Length == 4)
                .Select(p => (File: p[0], First: long.Parse(p[2], NumberStyles.None, CultureInfo.InvariantCulture), Count: long.Parse(p[3], NumberStyles.None, CultureInfo.InvariantCulture)))
                .ToList();
            var text = ranges.Count == 0 ? "no dockremap range" : string.Join(", ", ranges.Select(r => $"{r.File}: {r.First}+{r.Count}"));
            var both = ranges.Any(r => r.File == "/etc/subuid") && ranges.Any(r => r.File == "/etc/subgid");
            // Root of a container must not map to a low (system or login) ID on the host.
            var unprivileged = ranges.All(r => r.First >= 100_000 && r.Count >= 65536);
            if (!both || !unprivileged)
            {
                return AuditFinding.Fail(text);
            }
            var ours = ranges.All(r => r.First == HardeningPaths.RemapFirstId && r.Count == HardeningPaths.RemapIdCount);
            return AuditFinding.Pass(text, ours ? null : "a range dockerd chose itself at first start; kept, since changing it would orphan the remapped data root");
        },
    };

    private static AuditCheck DaemonJsonContent(DaemonConfiguration daemon) => new()
    {
        Id = "docker.daemon-json",
        Title = "daemon.json is the rendered configuration (no drift)",
        Expected = "same JSON as rendered (sha256 " + Sha256(daemon.Json)[..12] + ")",
        Probes = [DaemonJson],
        Evaluate = outputs =>
        {
            if (!outputs[0].Succeeded)
            {
                return AuditFinding.Fail("missing", outputs[0].ErrorSummary);
            }
            var same = JsonNode.DeepEquals(JsonNode.Parse(outputs[0].StdOut), JsonNode.Parse(daemon.Json));
            var text = "sha256 " + Sha256(outputs[0].StdOut)[..12];
            return same ? AuditFinding.Pass(text) : AuditFinding.Fail(text, "differs from the rendered file; re-apply the hardening to repair");
        },
    };

    private static AuditCheck FileOwner(string id, string cis, string path, string owner, string group) => new()
    {
        Id = id,
        CisId = cis,
        Title = $"{path} is owned by {owner}:{group}",
        Expected = $"{owner}:{group}",
        Probes = [Stat],
        Evaluate = outputs => StatView.Find(outputs[0].StdOut, path) is { } s
            ? (s.Owner == owner && s.Group == group ? AuditFinding.Pass($"{s.Owner}:{s.Group}") : AuditFinding.Fail($"{s.Owner}:{s.Group}"))
            : AuditFinding.Fail("missing", outputs[0].ErrorSummary),
        KnownFalsePositive = path == DockerSocket ? "/var/run/docker.sock is a path through the /var/run symlink; stat it with -L (or use /run/docker.sock)." : null,
    };

    private static AuditCheck FileMode(string id, string cis, string path, int mostPermissive) => new()
    {
        Id = id,
        CisId = cis,
        Title = $"{path} permissions are {Convert.ToString(mostPermissive, 8)} or more restrictive",
        Expected = $"{Convert.ToString(mostPermissive, 8)} or more restrictive",
        Probes = [Stat],
        Evaluate = outputs => StatView.Find(outputs[0].StdOut, path) is { } s
            ? ((s.Mode & ~mostPermissive) == 0 ? AuditFinding.Pass(Convert.ToString(s.Mode, 8)) : AuditFinding.Fail(Convert.ToString(s.Mode, 8)))
            : AuditFinding.Fail("missing", outputs[0].ErrorSummary),
    };

    private static AuditCheck FilesUnchanged(HardeningBundle bundle)
    {
        var expected = bundle.Files.ToDictionary(f => f.Path, f => Sha256(f.Content), StringComparer.Ordinal);
        return new AuditCheck
        {
            Id = "hardening.files",
            Title = "Every hardening file is installed as rendered (no drift)",
            Expected = $"{expected.Count} files with their rendered sha256",
            Probes = [new AuditProbe(["sha256sum", .. bundle.Files.Select(f => f.Path)])],
            Evaluate = outputs =>
            {
                var found = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var line in outputs[0].StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                {
                    var parts = line.Split("  ", 2);
                    if (parts.Length == 2)
                    {
                        found[parts[1]] = parts[0];
                    }
                }
                var drifted = expected.Where(e => !found.TryGetValue(e.Key, out var hash) || hash != e.Value)
                    .Select(e => found.ContainsKey(e.Key) ? $"{e.Key} changed" : $"{e.Key} missing")
                    .ToList();
                return drifted.Count == 0
                    ? AuditFinding.Pass($"{expected.Count} files as rendered")
                    : AuditFinding.Fail(string.Join(", ", drifted), "re-apply the hardening to repair");
            },
        };
    }

    private static string Sha256(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
