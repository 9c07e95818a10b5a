using System.Buffers;
using System.Collections.Frozen;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Provisioner.Core.Kubernetes;
using Provisioner.Core.Naming;

namespace Provisioner.Core.Stacks;

/// <summary>A bound item with the path and location it was declared at (index as written).</summary>
internal readonly record struct Declared<T>(T Value, string Path, SourceLocation? Location);

/// <summary>What the binder could read of a stack; sections that failed are null or partial.</summary>
internal sealed class BoundStack
{
    public required string Name { get; init; }

    public List<Declared<HostDefinition>> Hosts { get; } = [];

    /// <summary>Host names declared, including hosts with errors in other fields (for reference checks).</summary>
    public HashSet<string> HostNames { get; } = new(StringComparer.Ordinal);

    public bool HostsComplete { get; set; }

    public List<Declared<NetworkDefinition>> Networks { get; } = [];

    public HashSet<string> NetworkNames { get; } = new(StringComparer.Ordinal);

    public bool NetworksComplete { get; set; }

    public ImageDefinition? Image { get; set; }

    public List<Declared<NodePoolDefinition>> Pools { get; } = [];

    public bool PoolsComplete { get; set; }

    /// <summary>Names referenced by pools that failed to bind, so references are still checked.</summary>
    public List<Declared<(string? Network, string? Host, string? Region)>> BrokenPoolReferences { get; } = [];

    public PlacementRules? Placement { get; set; }

    public AccessSettings? Access { get; set; }

    public VirtualizationSettings? Virtualization { get; set; }

    public RuntimeSettings? Runtime { get; set; }

    public FirewallSettings? Firewall { get; set; }

    public KubernetesSettings? Kubernetes { get; set; }

    /// <summary>Path and location of the kubernetes section, when one was declared.</summary>
    public Declared<bool>? KubernetesDeclared { get; set; }

    /// <summary>The kubernetes fields that bound, even when others did not (for cross-field checks).</summary>
    public (Ipv4Cidr? Pod, Ipv4Cidr? Service, Ipv4Address? Endpoint) KubernetesParts { get; set; }
}

/// <summary>Binds each <c>provisioner:*</c> section to its records (field-level rules only).</summary>
internal sealed partial class SectionBinder(Binder binder)
{
    public const int MaxNodesPerPool = 1000;

    private static readonly Dictionary<string, VirtualizationType> VirtualizationChoices = new(StringComparer.Ordinal)
    {
        ["auto"] = VirtualizationType.Auto,
        ["kvm"] = VirtualizationType.Kvm,
        ["qemu"] = VirtualizationType.Qemu,
    };

    private static readonly Dictionary<string, StorageMedia> MediaChoices = new(StringComparer.Ordinal)
    {
        ["nvme"] = StorageMedia.Nvme,
        ["ssd"] = StorageMedia.Ssd,
        ["hdd"] = StorageMedia.Hdd,
    };

    private static readonly Dictionary<string, NetworkMode> ModeChoices = new(StringComparer.Ordinal)
    {
        ["nat"] = NetworkMode.Nat,
        ["bridge"] = NetworkMode.Bridge,
    };

    private static readonly Dictionary<string, NodeRole> RoleChoices = new(StringComparer.Ordinal)
    {
        ["control-plane"] = NodeRole.ControlPlane,
        ["worker"] = NodeRole.Worker,
        ["sandbox"] = NodeRole.Sandbox,
    };

    private static readonly Dictionary<string, DiskBus> BusChoices = new(StringComparer.Ordinal)
    {
        ["virtio"] = DiskBus.Virtio,
        ["nvme"] = DiskBus.Nvme,
    };

    private static readonly Dictionary<string, TransportProtocol> ProtocolChoices = new(StringComparer.Ordinal)
    {
        ["tcp"] = TransportProtocol.Tcp,
        ["udp"] = TransportProtocol.Udp,
    };

    /// <summary>Accounts that exist in a Debian guest already or belong to a daemon (dockremap: Docker's userns-remap user).</summary>
    private static readonly FrozenSet<string> ReservedUsers = FrozenSet.Create(
        StringComparer.Ordinal,
        ["root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news", "uucp", "proxy", "www-data", "backup",
         "list", "irc", "gnats", "nobody", "_apt", "sshd", "messagebus", "systemd-network", "systemd-resolve",
         "systemd-timesync", "dnsmasq", "dockremap"]);

    public void Hosts(ConfigNode? node, string path, BoundStack stack)
    {
        var items = binder.List(node, path);
        if (items is null)
        {
            return;
        }

        if (items.Count == 0)
        {
            binder.Error(path, node!.Location, "declares no hosts; at least one is required");
        }

        var complete = true;
        foreach (var (item, itemPath) in items)
        {
            var host = Host(item, itemPath, stack);
            if (host is null)
            {
                complete = false;
                continue;
            }

            stack.Hosts.Add(new Declared<HostDefinition>(host, itemPath, item.Location));
        }

        stack.HostsComplete = complete;
    }

    private HostDefinition? Host(ConfigNode item, string path, BoundStack stack)
    {
        var r = binder.Object(item, path, ["name", "uri", "region", "zone", "pool", "limits"]);
        if (r is null)
        {
            return null;
        }

        var name = r.Name("name", ResourceName.MaxHostLength, required: true);
        if (name is not null)
        {
            stack.HostNames.Add(name);
        }

        LibvirtUri? uri = null;
        var uriText = r.String("uri", required: true);
        if (uriText is not null && !LibvirtUri.TryParse(uriText, out uri, out var uriError))
        {
            binder.Error(r.PathOf("uri"), r.Node("uri")!.Location, $"{Binder.Q(uriText)} {uriError}");
        }

        var region = r.Name("region", ResourceName.MaxLength, required: true);
        var zone = r.Name("zone", ResourceName.MaxLength);
        var pool = Pool(r);
        var limits = Limits(r);
        var limitsOk = !r.Has("limits") || limits is not null;
        return name is null || uri is null || region is null || pool is null || !limitsOk || (r.Has("zone") && zone is null)
            ? null
            : new HostDefinition { Name = name, Uri = uri, Region = region, Zone = zone, Pool = pool, Limits = limits };
    }

    private StoragePoolDefinition? Pool(ObjectReader host)
    {
        var r = host.Object("pool", ["name", "path", "media"], required: true);
        if (r is null)
        {
            return null;
        }

        var name = r.Name("name", ResourceName.MaxHostLength, required: true);
        var path = r.String("path", required: true);
        if (path is not null && !LibvirtUri.IsSafeAbsolutePath(path))
        {
            binder.Error(r.PathOf("path"), r.Node("path")!.Location, $"{Binder.Q(path)} is not an absolute directory of safe characters (A-Z a-z 0-9 . _ -, no '.' or '..' segments)");
            path = null;
        }

        var media = r.Choice("media", MediaChoices, required: true);
        return name is null || path is null || media is null
            ? null
            : new StoragePoolDefinition { Name = name, Path = path, Media = media.Value };
    }

    private static HostLimits? Limits(ObjectReader host)
    {
        var r = host.Object("limits", ["cpus", "memoryMiB"]);
        if (r is null)
        {
            return null;
        }

        var cpus = r.Integer("cpus", 1, 4096);
        var memory = r.Integer("memoryMiB", 128, 64L * 1024 * 1024);
        if ((r.Has("cpus") && cpus is null) || (r.Has("memoryMiB") && memory is null))
        {
            return null;
        }

        return new HostLimits { Cpus = (int?)cpus, MemoryMiB = memory };
    }

    public void Networks(ConfigNode? node, string path, BoundStack stack)
    {
        var items = binder.List(node, path);
        if (items is null)
        {
            return;
        }

        if (items.Count == 0)
        {
            binder.Error(path, node!.Location, "declares no networks; at least one is required");
        }

        var complete = true;
        foreach (var (item, itemPath) in items)
        {
            var network = Network(item, itemPath, stack);
            if (network is null)
            {
                complete = false;
                continue;
            }

            stack.Networks.Add(new Declared<NetworkDefinition>(network, itemPath, item.Location));
        }

        stack.NetworksComplete = complete;
    }

    private NetworkDefinition? Network(ConfigNode item, string path, BoundStack stack)
    {
        var r = binder.Object(item, path, ["name", "cidr", "mode", "bridge", "gateway"]);
        if (r is null)
        {
            return null;
        }

        var name = r.Name("name", ResourceName.MaxNetworkLength, required: true);
        if (name is not null)
        {
            stack.NetworkNames.Add(name);
        }

        var cidr = r.Cidr("cidr", required: true);
        if (cidr is { PrefixLength: < 8 or > 29 })
        {
            binder.Error(r.PathOf("cidr"), r.Node("cidr")!.Location, $"'{cidr}' has prefix length /{cidr.Value.PrefixLength}; networks must be /8 to /29");
            cidr = null;
        }

        var mode = r.Choice("mode", ModeChoices, required: true);
        var bridge = r.String("bridge");
        var ok = true;
        if (mode == NetworkMode.Bridge && bridge is null && !r.Has("bridge"))
        {
            binder.Error(r.PathOf("bridge"), r.Location, "is required for mode 'bridge' (the existing host bridge to attach to)");
            ok = false;
        }
        else if (mode == NetworkMode.Nat && r.Has("bridge"))
        {
            binder.Error(r.PathOf("bridge"), r.Node("bridge")!.Location, "is only for mode 'bridge'; a NAT network's bridge is named by the tool");
            ok = false;
        }
        else if (bridge is not null && !BridgeName().IsMatch(bridge))
        {
            binder.Error(r.PathOf("bridge"), r.Node("bridge")!.Location, $"{Binder.Q(bridge)} is not a Linux interface name (1-15 characters A-Z a-z 0-9 . _ -)");
            ok = false;
        }
        else if (r.Has("bridge") && bridge is null)
        {
            ok = false;
        }

        Ipv4Address? gateway = null;
        if (r.Has("gateway"))
        {
            gateway = r.Address("gateway");
            ok &= gateway is not null;
        }

        if (name is null || cidr is null || mode is null || !ok)
        {
            return null;
        }

        var network = new NetworkDefinition
        {
            Name = name,
            Cidr = cidr.Value,
            Mode = mode.Value,
            Bridge = bridge,
            Gateway = gateway ?? cidr.Value.Network.Add(1),
        };
        if (gateway is { } g)
        {
            if (!cidr.Value.Contains(g) || g == cidr.Value.Network || g == cidr.Value.Broadcast)
            {
                binder.Error(r.PathOf("gateway"), r.Node("gateway")!.Location, $"'{g}' is not a host address of {cidr}");
                return null;
            }

            if (network.DhcpRange.Contains(g))
            {
                binder.Error(r.PathOf("gateway"), r.Node("gateway")!.Location, $"'{g}' lies in the DHCP range {network.DhcpRange}, which DHCP hands out; use an address below {network.DhcpRange.First}");
                return null;
            }
        }

        return network;
    }

    public ImageDefinition? Image(ConfigNode? node, string path)
    {
        var r = binder.Object(node, path, ["name", "recipe"]);
        if (r is null)
        {
            return null;
        }

        var name = r.Name("name", ResourceName.MaxImageLength, required: true);
        var recipe = r.Has("recipe") ? r.Name("recipe", ResourceName.MaxLength) : name;
        return name is null || recipe is null ? null : new ImageDefinition { Name = name, Recipe = recipe };
    }

    public void Nodes(ConfigNode? node, string path, BoundStack stack)
    {
        var items = binder.List(node, path);
        if (items is null)
        {
            return;
        }

        var complete = true;
        foreach (var (item, itemPath) in items)
        {
            var pool = NodePool(item, itemPath, stack);
            if (pool is null)
            {
                complete = false;
                continue;
            }

            stack.Pools.Add(new Declared<NodePoolDefinition>(pool, itemPath, item.Location));
        }

        stack.PoolsComplete = complete;
    }

    private NodePoolDefinition? NodePool(ConfigNode item, string path, BoundStack stack)
    {
        var r = binder.Object(item, path, ["name", "role", "cpus", "memoryMiB", "diskGiB", "diskBus", "count", "network", "host", "region", "publishedPorts"]);
        if (r is null)
        {
            return null;
        }

        var count = r.Integer("count", 0, MaxNodesPerPool);
        var name = r.Name("name", r.Has("count") ? ResourceName.MaxPoolLength : ResourceName.MaxNodeLength, required: true);
        var role = r.Choice("role", RoleChoices, required: true);
        var cpus = r.Integer("cpus", 1, 256, required: true);
        var memory = r.Integer("memoryMiB", 256, 4L * 1024 * 1024, required: true);
        var disk = r.Integer("diskGiB", 1, 65536, required: true);
        var bus = r.Has("diskBus") ? r.Choice("diskBus", BusChoices) : DiskBus.Virtio;
        var network = r.Name("network", ResourceName.MaxNetworkLength, required: true);
        var host = r.Name("host", ResourceName.MaxHostLength);
        var region = r.Name("region", ResourceName.MaxLength);
        var published = PublishedPorts(r);
        var optionalOk = (!r.Has("count") || count is not null) && (!r.Has("host") || host is not null) && (!r.Has("region") || region is not null)
            && published is not null;
        var failed = name is null || role is null || cpus is null || memory is null || disk is null || bus is null || network is null || !optionalOk;
        if (failed)
        {
            stack.BrokenPoolReferences.Add(new Declared<(string? Network, string? Host, string? Region)>((network, host, region), path, item.Location));
        }

        return name is null || role is null || cpus is null || memory is null || disk is null || bus is null || network is null || !optionalOk
            ? null
            : new NodePoolDefinition
            {
                Name = name,
                Role = role.Value,
                Cpus = (int)cpus.Value,
                MemoryMiB = memory.Value,
                DiskGiB = (int)disk.Value,
                DiskBus = bus.Value,
                Count = (int?)count,
                Network = network,
                Host = host,
                Region = region,
                PublishedPorts = published!,
            };
    }

    public PlacementRules? Placement(ConfigNode? node, string path)
    {
        var r = binder.Object(node, path, ["region", "controlPlaneAntiAffinity"]);
        if (r is null)
        {
            return null;
        }

        var region = r.Name("region", ResourceName.MaxLength, required: true);
        var antiAffinity = r.Boolean("controlPlaneAntiAffinity");
        return region is null || (r.Has("controlPlaneAntiAffinity") && antiAffinity is null)
            ? null
            : new PlacementRules { Region = region, ControlPlaneAntiAffinity = antiAffinity ?? true };
    }

    public AccessSettings? Access(ConfigNode? node, string path)
    {
        var r = binder.Object(node, path, ["user", "sshPublicKeys", "adminCidrs"]);
        if (r is null)
        {
            return null;
        }

        var user = r.String("user", required: true);
        if (user is not null && !UserName().IsMatch(user))
        {
            binder.Error(r.PathOf("user"), r.Node("user")!.Location, $"{Binder.Q(user)} is not a Linux user name (^[a-z_][a-z0-9_-]{{0,31}}$)");
            user = null;
        }
        else if (user is not null && ReservedUsers.Contains(user))
        {
            binder.Error(r.PathOf("user"), r.Node("user")!.Location, $"{Binder.Q(user)} is a system account; choose a dedicated admin user");
            user = null;
        }

        var keys = new List<SshPublicKey>();
        var keysOk = true;
        foreach (var (item, itemPath) in r.List("sshPublicKeys") ?? [])
        {
            var line = binder.String(item, itemPath);
            if (line is null)
            {
                keysOk = false;
                continue;
            }

            if (!SshPublicKey.TryParse(line, out var key, out var error))
            {
                // The message quotes only the start of the line: enough to find it, and never a whole
                // private key pasted here by mistake.
                binder.Error(itemPath, item.Location, $"'{Preview(line)}' {error}");
                keysOk = false;
                continue;
            }

            if (keys.Any(k => k.Type == key!.Type && k.Blob == key.Blob))
            {
                binder.Error(itemPath, item.Location, $"'{Preview(line)}' is listed twice");
                keysOk = false;
                continue;
            }

            keys.Add(key!);
        }

        keysOk &= !r.Has("sshPublicKeys") || r.Node("sshPublicKeys") is ConfigSequence;
        var cidrs = r.CidrList("adminCidrs", required: true);
        if (cidrs is { Count: 0 })
        {
            binder.Error(r.PathOf("adminCidrs"), r.Node("adminCidrs")!.Location, "is empty; SSH is only allowed from admin networks, so at least one is required");
            cidrs = null;
        }

        return user is null || !keysOk || cidrs is null
            ? null
            : new AccessSettings { User = user, SshPublicKeys = keys.AsReadOnly(), AdminCidrs = cidrs };
    }

    public VirtualizationSettings? Virtualization(ConfigNode? node, string path)
    {
        var r = binder.Object(node, path, ["allowEmulation", "type"]);
        if (r is null)
        {
            return node is null ? VirtualizationSettings.Default : null;
        }

        var allow = r.Boolean("allowEmulation");
        if (r.Has("allowEmulation") && allow is null)
        {
            return null;
        }

        var type = r.Has("type") ? r.Choice("type", VirtualizationChoices) : VirtualizationType.Auto;
        if (type is null)
        {
            return null;
        }

        if (type == VirtualizationType.Qemu && allow != true)
        {
            // Emulation is never chosen by accident: asking for it needs the explicit allowance too.
            binder.Error($"{path}.type", null, "'qemu' (software emulation) requires allowEmulation: true");
            return null;
        }

        return new VirtualizationSettings { AllowEmulation = allow ?? false, DomainType = type.Value };
    }

    public RuntimeSettings? Runtime(ConfigNode? node, string path)
    {
        var r = binder.Object(node, path, ["daemonOverrides"]);
        if (r is null)
        {
            return node is null ? RuntimeSettings.Default : null;
        }

        var overrides = new List<DaemonJsonOverride>();
        var ok = true;
        foreach (var (item, itemPath) in r.List("daemonOverrides") ?? [])
        {
            var o = binder.Object(item, itemPath, ["key", "value", "reason"]);
            if (o is null)
            {
                ok = false;
                continue;
            }

            var key = o.String("key", required: true);
            if (key is not null && !DaemonKey().IsMatch(key))
            {
                binder.Error(o.PathOf("key"), o.Node("key")!.Location, $"{Binder.Q(key)} is not a daemon.json key (^[a-z][a-z0-9-]*$)");
                key = null;
            }
            else if (key is not null && overrides.Any(x => x.Key == key))
            {
                binder.Error(o.PathOf("key"), o.Node("key")!.Location, $"{Binder.Q(key)} is overridden twice");
                key = null;
            }

            JsonElement? value = null;
            if (o.Require("value"))
            {
                value = ToJson(o.Node("value")!, o.PathOf("value"));
            }

            var reason = o.String("reason", required: true);
            if (reason is not null && string.IsNullOrWhiteSpace(reason))
            {
                binder.Error(o.PathOf("reason"), o.Node("reason")!.Location, "is blank; say why the hardened default is not good enough");
                reason = null;
            }

            if (key is null || value is null || reason is null)
            {
                ok = false;
                continue;
            }

            overrides.Add(new DaemonJsonOverride { Key = key, Value = value.Value, Reason = reason.Trim() });
        }

        ok &= !r.Has("daemonOverrides") || r.Node("daemonOverrides") is ConfigSequence;
        return ok ? new RuntimeSettings { DaemonOverrides = overrides.AsReadOnly() } : null;
    }

    public FirewallSettings? Firewall(ConfigNode? node, string path)
    {
        var r = binder.Object(node, path, ["publishedPorts"]);
        if (r is null)
        {
            return node is null ? FirewallSettings.Default : null;
        }

        var policies = PublishedPorts(r);
        return policies is null ? null : new FirewallSettings { PublishedPorts = policies };
    }

    /// <summary>
    /// A <c>publishedPorts</c> list (stack-level firewall or one node pool): port, protocol (default tcp) and a
    /// non-empty <c>from</c> list each; SSH's 22/tcp and a port/protocol declared twice are refused.
    /// </summary>
    /// <returns>The policies (empty when the key is absent), or <see langword="null"/> when any is invalid.</returns>
    private IReadOnlyList<PublishedPortPolicy>? PublishedPorts(ObjectReader r)
    {
        var policies = new List<PublishedPortPolicy>();
        var ok = true;
        foreach (var (item, itemPath) in r.List("publishedPorts") ?? [])
        {
            var p = binder.Object(item, itemPath, ["port", "protocol", "from"]);
            if (p is null)
            {
                ok = false;
                continue;
            }

            var port = p.Integer("port", 1, 65535, required: true);
            var protocol = p.Has("protocol") ? p.Choice("protocol", ProtocolChoices) : TransportProtocol.Tcp;
            var from = p.CidrList("from", required: true);
            if (from is { Count: 0 })
            {
                binder.Error(p.PathOf("from"), p.Node("from")!.Location, "is empty; list the source networks allowed (write 0.0.0.0/0 to allow everyone)");
                from = null;
            }

            if (port is 22 && protocol == TransportProtocol.Tcp)
            {
                binder.Error(p.PathOf("port"), p.Node("port")!.Location, "22/tcp is SSH, which only access.adminCidrs may reach; publish the container on another port");
                port = null;
            }

            if (port is not null && protocol is not null && policies.Any(x => x.Port == port && x.Protocol == protocol))
            {
                binder.Error(p.PathOf("port"), p.Node("port")!.Location, $"{port}/{protocol.Value.ToString().ToLowerInvariant()} has a policy already; merge the 'from' lists");
                port = null;
            }

            if (port is null || protocol is null || from is null)
            {
                ok = false;
                continue;
            }

            policies.Add(new PublishedPortPolicy { Port = (int)port.Value, Protocol = protocol.Value, From = from });
        }

        ok &= !r.Has("publishedPorts") || r.Node("publishedPorts") is ConfigSequence;
        if (!ok)
        {
            return null;
        }

        // No ports: the same empty list the records default to, so nodes with and without the key stay equal.
        return policies.Count == 0 ? Array.Empty<PublishedPortPolicy>() : policies.AsReadOnly();
    }

    public void Kubernetes(ConfigNode? node, string path, BoundStack stack)
    {
        if (node is null)
        {
            return;
        }

        stack.KubernetesDeclared = new Declared<bool>(true, path, node.Location);
        var r = binder.Object(node, path,
            ["version", "packageSource", "packageKeySha256", "cni", "podPidsLimit", "imageRepository", "podCidr", "serviceCidr", "controlPlaneEndpoint"]);
        if (r is null)
        {
            return;
        }

        var version = Version(r);
        var (source, sourceOk) = Url(r, "packageSource", ["http", "https", "file"]);
        var keySha = Sha256(r, "packageKeySha256");
        var keyOk = !r.Has("packageKeySha256") || keySha is not null;
        if (source is { Scheme: "http" } && keySha is null && keyOk)
        {
            binder.Error(r.PathOf("packageSource"), r.Node("packageSource")!.Location,
                $"{Binder.Q(source.OriginalString)} is plain http: pin the signing key with packageKeySha256, or the key would be trusted from an unauthenticated download");
            sourceOk = false;
        }

        var (cniUrl, cniSha, cniOk) = Cni(r);
        var pids = r.Has("podPidsLimit") ? r.Integer("podPidsLimit", 64, 1_000_000) : KubernetesSettings.DefaultPodPidsLimit;
        var registry = r.String("imageRepository");
        var registryOk = !r.Has("imageRepository") || registry is not null;
        if (registry is not null && !ImageRepository().IsMatch(registry))
        {
            binder.Error(r.PathOf("imageRepository"), r.Node("imageRepository")!.Location, $"{Binder.Q(registry)} is not a registry path (host[:port][/path], lower case)");
            registryOk = false;
        }

        var pod = r.Has("podCidr") ? r.Cidr("podCidr") : KubernetesSettings.DefaultPodCidr;
        if (pod is { PrefixLength: < 8 or > 24 })
        {
            binder.Error(r.PathOf("podCidr"), r.Node("podCidr")!.Location, $"'{pod}' must be /8 to /24 (each node takes a /24 of it)");
            pod = null;
        }

        var service = r.Has("serviceCidr") ? r.Cidr("serviceCidr") : KubernetesSettings.DefaultServiceCidr;
        if (service is { PrefixLength: < 12 or > 28 })
        {
            binder.Error(r.PathOf("serviceCidr"), r.Node("serviceCidr")!.Location, $"'{service}' must be /12 to /28 (the API server refuses larger service ranges)");
            service = null;
        }

        if (pod is { } p && service is { } s && p.Overlaps(s))
        {
            binder.Error(r.PathOf("serviceCidr"), r.Node("serviceCidr")?.Location ?? r.Location, $"'{s}' overlaps podCidr '{p}'");
            service = null;
        }

        var endpoint = r.Has("controlPlaneEndpoint") ? r.Address("controlPlaneEndpoint") : null;
        stack.KubernetesParts = (pod, service, endpoint);
        if (version is null || !sourceOk || !keyOk || !cniOk || pids is null || !registryOk || pod is null || service is null
            || (r.Has("controlPlaneEndpoint") && endpoint is null))
        {
            return;
        }

        stack.Kubernetes = new KubernetesSettings
        {
            Version = version.Value,
            PackageSource = source,
            PackageKeySha256 = keySha,
            CniManifestUrl = cniUrl,
            CniManifestSha256 = cniSha,
            PodPidsLimit = (int)pids.Value,
            ImageRepository = registry,
            PodCidr = pod.Value,
            ServiceCidr = service.Value,
            ControlPlaneEndpoint = endpoint,
        };
    }

    private KubernetesVersion? Version(ObjectReader r)
    {
        var text = r.String("version", required: true);
        if (text is null)
        {
            return null;
        }

        var location = r.Node("version")!.Location;
        if (!KubernetesVersion.TryParse(text, out var version, out var error))
        {
            binder.Error(r.PathOf("version"), location, $"{Binder.Q(text)} {error}");
            return null;
        }

        if (version < KubernetesVersion.MinimumSupported)
        {
            binder.Error(r.PathOf("version"), location,
                $"{Binder.Q(text)} is older than 1.32: anonymous access cannot be limited to the health endpoints before 1.32, so CIS 1.2.1 would break kubeadm's own API server probes");
            return null;
        }

        return version;
    }

    private (Uri? Url, bool Ok) Url(ObjectReader r, string key, IReadOnlyList<string> schemes)
    {
        var text = r.String(key);
        if (text is null)
        {
            return (null, !r.Has(key));
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var url)
            || !schemes.Contains(url.Scheme, StringComparer.Ordinal)
            || url.UserInfo.Length > 0
            || text.Any(c => c is <= ' ' or > '~'))
        {
            binder.Error(r.PathOf(key), r.Node(key)!.Location, $"{Binder.Q(text)} is not an {string.Join(", ", schemes.SkipLast(1))} or {schemes[^1]} URL without credentials");
            return (null, false);
        }

        return (url, true);
    }

    private string? Sha256(ObjectReader r, string key)
    {
        var text = r.String(key);
        if (text is null)
        {
            return null;
        }

        if (!Sha256Hex().IsMatch(text))
        {
            binder.Error(r.PathOf(key), r.Node(key)!.Location, $"{Binder.Q(text)} is not a SHA-256 in hex (64 characters 0-9 a-f)");
            return null;
        }

        return text.ToLowerInvariant();
    }

    private (Uri? Url, string? Sha256, bool Ok) Cni(ObjectReader kubernetes)
    {
        if (!kubernetes.Has("cni"))
        {
            return (null, null, true);
        }

        var r = kubernetes.Object("cni", ["manifestUrl", "sha256"]);
        if (r is null)
        {
            return (null, null, false);
        }

        var (url, urlOk) = Url(r, "manifestUrl", ["http", "https", "file"]);
        var sha = Sha256(r, "sha256");
        return (url, sha, urlOk && (!r.Has("sha256") || sha is not null));
    }

    /// <summary>Converts a config value to JSON, keeping YAML's scalar types (plain 10 is a number, "10" a string).</summary>
    private JsonElement? ToJson(ConfigNode node, string path)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            if (!Write(writer, node, path))
            {
                return null;
            }
        }

        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }

    private bool Write(Utf8JsonWriter writer, ConfigNode node, string path)
    {
        switch (node)
        {
            case ConfigMapping mapping:
                writer.WriteStartObject();
                foreach (var entry in mapping.Entries)
                {
                    writer.WritePropertyName(entry.Key);
                    if (!Write(writer, entry.Value, $"{path}.{entry.Key}"))
                    {
                        return false;
                    }
                }

                writer.WriteEndObject();
                return true;
            case ConfigSequence sequence:
                writer.WriteStartArray();
                for (var i = 0; i < sequence.Items.Count; i++)
                {
                    if (!Write(writer, sequence.Items[i], $"{path}[{i}]"))
                    {
                        return false;
                    }
                }

                writer.WriteEndArray();
                return true;
            case ConfigScalar { Kind: ScalarKind.Boolean } scalar:
                writer.WriteBooleanValue(scalar.Text is "true" or "True" or "TRUE");
                return true;
            case ConfigScalar { Kind: ScalarKind.Number } scalar:
                if (long.TryParse(scalar.Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
                {
                    writer.WriteNumberValue(integer);
                    return true;
                }

                if (double.TryParse(scalar.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out var real) && double.IsFinite(real))
                {
                    writer.WriteNumberValue(real);
                    return true;
                }

                binder.Error(path, node.Location, $"{Binder.Q(scalar.Text)} is not a JSON number");
                return false;
            case ConfigScalar { Kind: ScalarKind.String } scalar:
                writer.WriteStringValue(scalar.Text);
                return true;
            case ConfigInvalid:
                return false;
            default:
                binder.Error(path, node.Location, "is null; daemon.json values cannot be null (leave the key out to keep the default)");
                return false;
        }
    }

    private static string Preview(string line)
    {
        var clean = new string(line.Select(c => c is < ' ' or > '~' ? '?' : c).ToArray());
        return clean.Length <= 24 ? clean.Replace("'", "\\'", StringComparison.Ordinal) : clean[..24].Replace("'", "\\'", StringComparison.Ordinal) + "…";
    }

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}\z", RegexOptions.CultureInvariant)]
    private static partial Regex BridgeName();

    [GeneratedRegex(@"^[a-z_][a-z0-9_-]{0,31}\z", RegexOptions.CultureInvariant)]
    private static partial Regex UserName();

    [GeneratedRegex(@"^[a-z][a-z0-9-]{0,63}\z", RegexOptions.CultureInvariant)]
    private static partial Regex DaemonKey();

    [GeneratedRegex("^[0-9a-fA-F]{64}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex Sha256Hex();

    [GeneratedRegex(@"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(/[a-z0-9._-]+)*\z", RegexOptions.CultureInvariant)]
    private static partial Regex ImageRepository();
}
