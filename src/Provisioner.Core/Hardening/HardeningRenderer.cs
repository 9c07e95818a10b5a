using Provisioner.Core.Stacks;
using Provisioner.Core.Templates;
using Scriban.Runtime;

namespace Provisioner.Core.Hardening;

/// <summary>
/// Renders the hardened container runtime and host firewall of a node into a <see cref="HardeningBundle"/>:
/// daemon.json (baseline plus the stack's explained overrides), the nftables table, the DOCKER-USER
/// rules, and the systemd units and scripts that load them at boot and after every Docker restart.
/// </summary>
/// <remarks>
/// The firewall has two layers, both always installed, because each covers what the other cannot:
/// <list type="bullet">
/// <item>table <c>inet provisioner</c>: default-drop input and forward chains hooked at priority
/// <c>filter - 10</c>, so they see every packet before Docker's filter chains (iptables-nft's or Docker's
/// own nftables backend) whatever Docker does with its own rules; a drop there is final.</item>
/// <item><c>DOCKER-USER</c> → <c>PROVISIONER-PUBLISHED</c> in Docker's iptables table: the place Docker
/// documents for user policy, seen by anyone inspecting Docker's rules, and effective even if our
/// table were deleted. With Docker's nftables backend there is no such chain and the script detects it.</item>
/// </list>
/// </remarks>
public sealed class HardeningRenderer
{
    private readonly TemplateRenderer _templates;

    /// <summary>Creates a renderer reading templates from <paramref name="templates"/>.</summary>
    public HardeningRenderer(TemplateRenderer templates)
    {
        ArgumentNullException.ThrowIfNull(templates);
        _templates = templates;
    }

    /// <summary>
    /// Checks what rendering would refuse for any node of <paramref name="stack"/>, without rendering:
    /// daemon.json overrides and firewall values, with their field paths.
    /// </summary>
    public static IReadOnlyList<ValidationError> Validate(StackDefinition stack)
    {
        ArgumentNullException.ThrowIfNull(stack);
        var errors = DaemonConfiguration.Validate(stack.Runtime ?? RuntimeSettings.Default).ToList();
        var node = stack.Nodes.Count > 0 ? stack.Nodes[0] : null;
        if (node is not null)
        {
            try
            {
                // Cluster ports depend on peers' addresses, which are checked when rendering a node.
                FirewallPolicy.For(new HardeningTarget { Stack = stack with { Kubernetes = null }, Node = node });
            }
            catch (RenderModelException e)
            {
                errors.Add(new ValidationError(e.FieldPath, e.Message[(e.FieldPath.Length + 2)..]));
            }
        }
        return errors.AsReadOnly();
    }

    /// <summary>Renders the bundle for <paramref name="target"/>'s node.</summary>
    /// <exception cref="RenderModelException">A stack value cannot be rendered; the message names its field path.</exception>
    public HardeningBundle Render(HardeningTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        var daemon = DaemonConfiguration.Build(_templates, target.Stack.Runtime ?? RuntimeSettings.Default);
        var firewall = FirewallPolicy.For(target);

        const UnixFileMode File = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        const UnixFileMode Program = File | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        var files = new List<HardeningFile>
        {
            new() { Path = HardeningPaths.EnsureDockremap, Content = _templates.ReadStaticFile("docker/ensure-dockremap.sh"), Mode = Program },
            new() { Path = HardeningPaths.DockerUserPolicy, Content = _templates.ReadStaticFile("firewall/docker-user-policy.sh"), Mode = Program },
            new() { Path = HardeningPaths.Ruleset, Content = _templates.RenderFirewall("firewall/provisioner.nft.sbn", NftModel(firewall)), Mode = File },
            new() { Path = HardeningPaths.DockerUserRules, Content = _templates.RenderFirewall("firewall/docker-user.rules.sbn", DockerUserModel(firewall)), Mode = File },
            new() { Path = HardeningPaths.FirewallUnit, Content = _templates.ReadStaticFile("firewall/provisioner-firewall.service"), Mode = File },
            new() { Path = HardeningPaths.DockerUserUnit, Content = _templates.ReadStaticFile("firewall/provisioner-docker-user.service"), Mode = File },
            new() { Path = HardeningPaths.DaemonJson, Content = daemon.Json, Mode = File },
            new() { Path = HardeningPaths.DockerDropIn, Content = _templates.ReadStaticFile("docker/docker-provisioner.conf"), Mode = File },
        };

        return new HardeningBundle
        {
            Node = target.Node.Name,
            Files = files.AsReadOnly(),
            Activation = Activation(),
            Daemon = daemon,
            Firewall = firewall,
        };
    }

    /// <summary>The activation commands, in order; every one is idempotent.</summary>
    public static IReadOnlyList<ActivationCommand> Activation() =>
    [
        new() { Argv = ["systemctl", "daemon-reload"], Purpose = "load the installed units and the docker.service drop-in" },
        new() { Argv = [HardeningPaths.EnsureDockremap], Purpose = "create the dockremap account and its subordinate ID ranges" },
        // Debian's nftables.service runs `flush ruleset` on start and stop, wiping Docker's chains and
        // ours: masked (not stopped: stopping it would run that flush) so nothing can start it.
        new() { Argv = ["systemctl", "mask", "nftables.service"], Purpose = "keep Debian's nftables.service (flush ruleset) from ever running" },
        new() { Argv = ["systemctl", "enable", HardeningPaths.FirewallUnitName, HardeningPaths.DockerUserUnitName], Purpose = "load the firewall at every boot and after every Docker start" },
        new() { Argv = ["systemctl", "restart", HardeningPaths.FirewallUnitName], Purpose = "load table inet provisioner and the DOCKER-USER policy now" },
        new()
        {
            Argv = ["systemctl", "restart", "docker.service"],
            Purpose = "apply daemon.json and the docker.service drop-in",
            WhenChanged = [HardeningPaths.DaemonJson, HardeningPaths.DockerDropIn],
        },
        // The golden image ships Docker off, so it never runs before this configuration and the firewall exist;
        // from here on it starts at boot. Also repairs a Docker someone stopped or disabled.
        new() { Argv = ["systemctl", "enable", "--now", "docker.service"], Purpose = "start Docker at every boot, and now if it is not running" },
        new() { Argv = ["systemctl", "start", HardeningPaths.DockerUserUnitName], Purpose = "make sure the DOCKER-USER unit is active" },
    ];

    private static ScriptObject NftModel(FirewallPolicy policy)
    {
        var input = new ScriptArray();
        foreach (var rule in policy.Input)
        {
            var ported = rule.Ports is { } ports;
            input.Add(new ScriptObject
            {
                ["ip_protocol"] = ported ? null : FirewallToken.IpProtocol(rule.Protocol),
                ["protocol"] = ported ? FirewallToken.Protocol(rule.Protocol) : null,
                ["ports"] = rule.Ports is { } p ? FirewallToken.Ports(p) : null,
                ["any_source"] = rule.AnySource,
                ["sources"] = rule.AnySource ? null : FirewallToken.NetworkSet(rule.Sources),
            });
        }
        var published = new ScriptArray();
        foreach (var rule in policy.Published)
        {
            published.Add(new ScriptObject
            {
                ["protocol"] = FirewallToken.Protocol(rule.Protocol),
                ["port"] = FirewallToken.Port(rule.Port),
                ["any_source"] = rule.AnySource,
                ["sources"] = rule.AnySource ? null : FirewallToken.NetworkSet(rule.Sources),
            });
        }
        var forward = new ScriptArray();
        foreach (var rule in policy.Forward)
        {
            forward.Add(new ScriptObject
            {
                ["source"] = FirewallToken.Network(rule.Source),
                ["destination"] = rule.Destination is { } d ? FirewallToken.Network(d) : null,
            });
        }
        return new ScriptObject
        {
            ["input"] = input,
            ["forward"] = forward,
            ["published"] = published,
            ["kubernetes"] = policy.IsKubernetesNode,
        };
    }

    private static ScriptObject DockerUserModel(FirewallPolicy policy)
    {
        // iptables has no sets: one rule per allowed network.
        var published = new ScriptArray();
        foreach (var rule in policy.Published)
        {
            IEnumerable<Ipv4Cidr?> sources = rule.AnySource ? [null] : rule.Sources.Select(s => (Ipv4Cidr?)s);
            foreach (var source in sources)
            {
                published.Add(new ScriptObject
                {
                    ["protocol"] = FirewallToken.Protocol(rule.Protocol),
                    ["port"] = FirewallToken.Port(rule.Port),
                    ["any_source"] = source is null,
                    ["source"] = source is { } s ? FirewallToken.Network(s) : null,
                });
            }
        }
        return new ScriptObject { ["published"] = published };
    }
}
