using System.Collections.Frozen;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Provisioner.Core.Stacks;
using Provisioner.Core.Templates;

namespace Provisioner.Core.Hardening;

/// <summary>One top-level daemon.json key as rendered: the baseline's value or a stack's override of it.</summary>
public sealed record DaemonSetting
{
    /// <summary>The key, e.g. <c>icc</c>.</summary>
    public required string Key { get; init; }

    /// <summary>The hardened baseline's value, or <see langword="null"/> when the baseline does not set the key.</summary>
    public JsonElement? Baseline { get; init; }

    /// <summary>The value written to daemon.json.</summary>
    public required JsonElement Value { get; init; }

    /// <summary>Why the stack overrides the baseline, or <see langword="null"/> when it does not.</summary>
    public string? OverrideReason { get; init; }

    /// <summary>Whether the value comes from a stack override.</summary>
    public bool IsOverridden => OverrideReason is not null;
}

/// <summary>
/// Docker's <c>/etc/docker/daemon.json</c>: the reviewed hardened baseline
/// (<c>templates/docker/daemon.defaults.json</c>) with a stack's explained overrides merged in.
/// The file is built with System.Text.Json, never from text, so no value can change its structure.
/// </summary>
/// <remarks>
/// <para>Every baseline key can be overridden with a reason, except the few in <see cref="LockedKeys"/>:
/// those would silently break guarantees the rest of the tool relies on (Docker's iptables rules and the
/// DOCKER-USER chain the published-port policy lives in; the Unix-socket-only API; the default seccomp
/// profile), or stop dockerd from starting at all (keys also given on its command line).</para>
/// <para>Overrides are also checked against what dockerd accepts: it refuses to start on an unknown key
/// or a value of the wrong type, so a typo would otherwise leave a node without Docker.</para>
/// </remarks>
public sealed partial class DaemonConfiguration
{
    /// <summary>Where the file is installed.</summary>
    public const string InstallPath = "/etc/docker/daemon.json";

    /// <summary>The baseline's template file.</summary>
    public const string BaselineTemplate = "docker/daemon.defaults.json";

    /// <summary>Keys a stack may not override, with the reason shown in the error.</summary>
    public static readonly FrozenDictionary<string, string> LockedKeys = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["iptables"] = "turning Docker's iptables rules off breaks container isolation and removes the DOCKER-USER chain the published-port policy is enforced in",
        ["hosts"] = "the daemon listens on its Unix socket only; it is also given -H on dockerd's command line, so dockerd would refuse to start",
        ["containerd"] = "it is given on dockerd's command line (--containerd), so dockerd would refuse to start",
        ["seccomp-profile"] = "Docker's default seccomp profile is kept; containers that need another profile set it per container",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    // Top-level keys of Docker Engine 20.10's daemon.json (Debian 12's docker.io) plus later engines'
    // additions a stack may need on a newer image. dockerd refuses any other key.
    private static readonly FrozenSet<string> KnownKeys = new[]
    {
        "allow-nondistributable-artifacts", "api-cors-header", "authorization-plugins", "bip", "bridge", "builder",
        "cgroup-parent", "cluster-advertise", "cluster-store", "cluster-store-opts", "containerd", "containerd-namespace",
        "containerd-plugins-namespace", "data-root", "debug", "default-address-pools", "default-cgroupns-mode",
        "default-gateway", "default-gateway-v6", "default-ipc-mode", "default-network-opts", "default-runtime",
        "default-shm-size", "default-ulimits", "dns", "dns-opts", "dns-search", "exec-opts", "exec-root", "experimental",
        "features", "firewall-backend", "fixed-cidr", "fixed-cidr-v6", "group", "host-gateway-ip", "hosts", "icc", "init",
        "init-path", "insecure-registries", "ip", "ip-forward", "ip-masq", "ip6tables", "iptables", "ipv6", "labels",
        "live-restore", "log-driver", "log-format", "log-level", "log-opts", "max-concurrent-downloads",
        "max-concurrent-uploads", "max-download-attempts", "metrics-addr", "mtu", "no-new-privileges",
        "node-generic-resources", "oom-score-adjust", "pidfile", "proxies", "raw-logs", "registry-mirrors", "runtimes",
        "seccomp-profile", "selinux-enabled", "shutdown-timeout", "storage-driver", "storage-opts",
        "swarm-default-advertise-addr", "tls", "tlscacert", "tlscert", "tlskey", "tlsverify", "userland-proxy",
        "userland-proxy-path", "userns-remap",
    }.ToFrozenSet(StringComparer.Ordinal);

    private static readonly FrozenSet<string> BooleanKeys = new[]
    {
        "debug", "experimental", "icc", "init", "ip-forward", "ip-masq", "ip6tables", "iptables", "ipv6", "live-restore",
        "no-new-privileges", "raw-logs", "selinux-enabled", "tls", "tlsverify", "userland-proxy",
    }.ToFrozenSet(StringComparer.Ordinal);

    private static readonly FrozenSet<string> StringListKeys = new[]
    {
        "allow-nondistributable-artifacts", "authorization-plugins", "dns", "dns-opts", "dns-search", "exec-opts",
        "insecure-registries", "labels", "node-generic-resources", "registry-mirrors", "storage-opts",
    }.ToFrozenSet(StringComparer.Ordinal);

    private static readonly FrozenSet<string> IntegerKeys = new[]
    {
        "max-concurrent-downloads", "max-concurrent-uploads", "max-download-attempts", "mtu", "oom-score-adjust", "shutdown-timeout",
    }.ToFrozenSet(StringComparer.Ordinal);

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, IndentSize = 2 };

    private readonly Dictionary<string, DaemonSetting> _byKey;

    private DaemonConfiguration(IReadOnlyList<DaemonSetting> settings, string json)
    {
        Settings = settings;
        Json = json;
        _byKey = settings.ToDictionary(s => s.Key, StringComparer.Ordinal);
    }

    /// <summary>Every top-level key written, baseline order first, then keys only the stack adds.</summary>
    public IReadOnlyList<DaemonSetting> Settings { get; }

    /// <summary>The daemon.json content (indented, ending in a newline).</summary>
    public string Json { get; }

    /// <summary>The settings a stack overrides, with their reasons.</summary>
    public IEnumerable<DaemonSetting> Overrides => Settings.Where(s => s.IsOverridden);

    /// <summary>The value of <paramref name="key"/>, or <see langword="null"/> when daemon.json does not set it (Docker's default applies).</summary>
    public JsonElement? this[string key] => _byKey.TryGetValue(key, out var setting) ? setting.Value : null;

    /// <summary>The setting of <paramref name="key"/>, or <see langword="null"/>.</summary>
    public DaemonSetting? Find(string key) => _byKey.GetValueOrDefault(key);

    /// <summary>Whether user-namespace remapping is on (<c>userns-remap</c> names a user).</summary>
    public bool UsesUserNamespaces => this["userns-remap"] is { ValueKind: JsonValueKind.String } v && v.GetString()!.Length > 0;

    /// <summary>Docker's firewall backend as configured: <c>nftables</c> or <c>iptables</c> (the default).</summary>
    public string FirewallBackend => this["firewall-backend"] is { ValueKind: JsonValueKind.String } v ? v.GetString()! : "iptables";

    /// <summary>Builds daemon.json from the baseline in <paramref name="templates"/> and <paramref name="runtime"/>'s overrides.</summary>
    /// <exception cref="RenderModelException">An override is refused; the message names its field path.</exception>
    public static DaemonConfiguration Build(TemplateRenderer templates, RuntimeSettings runtime)
    {
        ArgumentNullException.ThrowIfNull(templates);
        return Build(templates.ReadStaticFile(BaselineTemplate), runtime);
    }

    /// <summary>Builds daemon.json from <paramref name="baselineJson"/> and <paramref name="runtime"/>'s overrides.</summary>
    /// <exception cref="RenderModelException">An override is refused; the message names its field path.</exception>
    public static DaemonConfiguration Build(string baselineJson, RuntimeSettings runtime)
    {
        ArgumentNullException.ThrowIfNull(baselineJson);
        ArgumentNullException.ThrowIfNull(runtime);
        var errors = Validate(runtime);
        if (errors.Count > 0)
        {
            throw new RenderModelException(errors[0].Path, errors[0].Message);
        }

        using var baselineDocument = JsonDocument.Parse(baselineJson);
        if (baselineDocument.RootElement.ValueKind != JsonValueKind.Object)
        {
            throw new TemplateRenderException($"{BaselineTemplate} is not a JSON object");
        }

        var settings = new List<DaemonSetting>();
        foreach (var property in baselineDocument.RootElement.EnumerateObject())
        {
            var baseline = property.Value.Clone();
            var over = runtime.DaemonOverrides.FirstOrDefault(o => o.Key == property.Name);
            settings.Add(over is null
                ? new DaemonSetting { Key = property.Name, Baseline = baseline, Value = baseline }
                : new DaemonSetting { Key = property.Name, Baseline = baseline, Value = over.Value.Clone(), OverrideReason = over.Reason });
        }
        foreach (var over in runtime.DaemonOverrides.Where(o => settings.All(s => s.Key != o.Key)))
        {
            settings.Add(new DaemonSetting { Key = over.Key, Value = over.Value.Clone(), OverrideReason = over.Reason });
        }

        var root = new JsonObject();
        foreach (var setting in settings)
        {
            root.Add(setting.Key, JsonNode.Parse(setting.Value.GetRawText()));
        }
        var json = root.ToJsonString(Indented) + "\n";
        return new DaemonConfiguration(settings.AsReadOnly(), json);
    }

    /// <summary>
    /// Checks <paramref name="runtime"/>'s overrides without rendering: locked keys, keys dockerd does not
    /// know, and values of the wrong type. Errors carry the stack field path
    /// (<c>provisioner:runtime.daemonOverrides[i].key</c> / <c>.value</c> / <c>.reason</c>).
    /// </summary>
    public static IReadOnlyList<ValidationError> Validate(RuntimeSettings runtime)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        var errors = new List<ValidationError>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var overrides = runtime.DaemonOverrides ?? [];
        for (var i = 0; i < overrides.Count; i++)
        {
            var path = $"{StackLoader.Namespace}:runtime.daemonOverrides[{i}]";
            var over = overrides[i];
            if (over is null)
            {
                errors.Add(new ValidationError(path, "is null"));
                continue;
            }
            var key = over.Key;
            if (key is null || !KeyPattern().IsMatch(key))
            {
                errors.Add(new ValidationError($"{path}.key", $"{Quote(key)} is not a daemon.json key (^[a-z][a-z0-9-]*$)"));
                continue;
            }
            if (!seen.Add(key))
            {
                errors.Add(new ValidationError($"{path}.key", $"'{key}' is overridden twice"));
                continue;
            }
            if (LockedKeys.TryGetValue(key, out var why))
            {
                errors.Add(new ValidationError($"{path}.key", $"'{key}' cannot be overridden: {why}"));
                continue;
            }
            if (!KnownKeys.Contains(key))
            {
                errors.Add(new ValidationError($"{path}.key", $"'{key}' is not a daemon.json option Docker knows; dockerd refuses to start on unknown keys"));
                continue;
            }
            if (string.IsNullOrWhiteSpace(over.Reason))
            {
                errors.Add(new ValidationError($"{path}.reason", "is blank; say why the hardened default is not good enough"));
            }
            if (ValueProblem(key, over.Value) is { } problem)
            {
                errors.Add(new ValidationError($"{path}.value", problem));
            }
        }
        return errors.AsReadOnly();
    }

    private static string? ValueProblem(string key, JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Undefined)
        {
            return "is missing";
        }
        if (BooleanKeys.Contains(key))
        {
            return value.ValueKind is JsonValueKind.True or JsonValueKind.False ? null : $"'{key}' takes true or false, not {Describe(value)}";
        }
        if (IntegerKeys.Contains(key))
        {
            return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out _) ? null : $"'{key}' takes an integer, not {Describe(value)}";
        }
        if (StringListKeys.Contains(key))
        {
            return value.ValueKind == JsonValueKind.Array && value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String)
                ? null
                : $"'{key}' takes a list of strings, not {Describe(value)}";
        }
        return key switch
        {
            "ip" => value.ValueKind == JsonValueKind.String && Ipv4Address.TryParse(value.GetString(), out _)
                ? null
                : $"'ip' takes an IPv4 address, e.g. \"127.0.0.1\", not {Describe(value)}",
            "userns-remap" => value.ValueKind == JsonValueKind.String && value.GetString() is "" or "default" or "dockremap" or "dockremap:dockremap"
                ? null
                : $"'userns-remap' takes \"default\" (the dockremap account the tool creates) or \"\" (off), not {Describe(value)}",
            "log-level" => value.ValueKind == JsonValueKind.String && value.GetString() is "debug" or "info" or "warn" or "error" or "fatal"
                ? null
                : $"'log-level' takes debug, info, warn, error or fatal, not {Describe(value)}",
            "firewall-backend" => value.ValueKind == JsonValueKind.String && value.GetString() is "iptables" or "nftables"
                ? null
                : $"'firewall-backend' takes \"iptables\" or \"nftables\", not {Describe(value)}",
            "log-driver" or "storage-driver" or "default-runtime" => value.ValueKind == JsonValueKind.String && NamePattern().IsMatch(value.GetString()!)
                ? null
                : $"'{key}' takes a driver name, not {Describe(value)}",
            "data-root" or "exec-root" or "pidfile" or "init-path" or "userland-proxy-path" =>
                value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 1 } p && p[0] == '/' && !p.Contains('\0', StringComparison.Ordinal)
                    ? null
                    : $"'{key}' takes an absolute path, not {Describe(value)}",
            // dockerd reads log-opts as a map of strings: a number ("max-file": 3) stops it from starting.
            "log-opts" =>
                value.ValueKind == JsonValueKind.Object && value.EnumerateObject().All(p => p.Value.ValueKind == JsonValueKind.String)
                    ? null
                    : $"'log-opts' takes an object of string values (write \"max-file\": \"3\", not 3), not {Describe(value)}",
            "default-ulimits" => UlimitsProblem(value),
            _ => null,
        };
    }

    private static string? UlimitsProblem(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            return $"'default-ulimits' takes an object of {{\"Name\", \"Soft\", \"Hard\"}} entries, not {Describe(value)}";
        }
        foreach (var limit in value.EnumerateObject())
        {
            var entry = limit.Value;
            if (entry.ValueKind != JsonValueKind.Object
                || !entry.TryGetProperty("Name", out var name) || name.ValueKind != JsonValueKind.String || name.GetString() != limit.Name
                || !entry.TryGetProperty("Soft", out var soft) || !soft.TryGetInt64(out var s)
                || !entry.TryGetProperty("Hard", out var hard) || !hard.TryGetInt64(out var h)
                || s > h)
            {
                return $"'default-ulimits.{limit.Name}' must be {{\"Name\": \"{limit.Name}\", \"Soft\": n, \"Hard\": m}} with n <= m";
            }
        }
        return null;
    }

    private static string Describe(JsonElement value)
    {
        var text = value.ValueKind == JsonValueKind.Undefined ? "nothing" : value.GetRawText();
        var builder = new StringBuilder();
        foreach (var c in text.Take(60))
        {
            builder.Append(char.IsControl(c) ? '?' : c);
        }
        return text.Length > 60 ? builder + "…" : builder.ToString();
    }

    private static string Quote(string? value) => value is null ? "null" : $"'{Describe(JsonSerializer.SerializeToElement(value)).Trim('"')}'";

    [GeneratedRegex("^[a-z][a-z0-9-]*\\z", RegexOptions.CultureInvariant)]
    private static partial Regex KeyPattern();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();
}
