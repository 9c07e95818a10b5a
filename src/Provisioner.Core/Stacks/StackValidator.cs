namespace Provisioner.Core.Stacks;

/// <summary>
/// Cross-field rules over a bound stack, and assembly of the final <see cref="StackDefinition"/>.
/// Rules that need a complete list (capacity, anti-affinity counts) run only when that list bound
/// without errors, so a typo in one host does not cause a cascade of follow-up errors.
/// </summary>
internal sealed class StackValidator(Binder binder)
{
    private readonly Dictionary<string, List<HostDefinition>> _hostsByRegion = new(StringComparer.Ordinal);

    public StackDefinition? Validate(BoundStack stack)
    {
        CheckHosts(stack);
        CheckNetworks(stack);
        var nodes = ExpandNodes(stack);
        CheckPools(stack);
        CheckPublishedPorts(stack);
        CheckPlacementRegion(stack);
        CheckRegions(stack);
        CheckCapacity(stack);
        CheckNetworkRoom(stack, nodes);
        CheckKubernetes(stack, nodes);

        if (binder.Errors.Count > 0 || stack.Image is null || stack.Placement is null || stack.Access is null
            || stack.Virtualization is null || stack.Runtime is null || stack.Firewall is null)
        {
            return null;
        }

        return new StackDefinition
        {
            Name = stack.Name,
            Hosts = stack.Hosts.Select(h => h.Value).ToList().AsReadOnly(),
            Networks = stack.Networks.Select(n => n.Value).ToList().AsReadOnly(),
            Image = stack.Image,
            NodePools = stack.Pools.Select(p => p.Value).ToList().AsReadOnly(),
            Nodes = nodes.Select(n => n.Value).ToList().AsReadOnly(),
            Placement = stack.Placement,
            Access = stack.Access,
            Virtualization = stack.Virtualization,
            Runtime = stack.Runtime,
            Firewall = stack.Firewall,
            Kubernetes = stack.Kubernetes,
        };
    }

    private void CheckHosts(BoundStack stack)
    {
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        var uris = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (host, path, location) in stack.Hosts)
        {
            if (!seen.TryAdd(host.Name, path))
            {
                binder.Error($"{path}.name", location, $"'{host.Name}' is declared twice (also {seen[host.Name]})");
            }

            // test:///default opened twice gives two independent mock hosts; any other URI twice is one host counted twice.
            if (!uris.TryAdd(host.Uri.Value, path) && host.Uri.Scheme != "test")
            {
                binder.Error($"{path}.uri", location, $"{Binder.Q(host.Uri.Value)} is the same host as {uris[host.Uri.Value]}");
            }

            if (!_hostsByRegion.TryGetValue(host.Region, out var list))
            {
                _hostsByRegion[host.Region] = list = [];
            }

            list.Add(host);
        }
    }

    private void CheckNetworks(BoundStack stack)
    {
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < stack.Networks.Count; i++)
        {
            var (network, path, location) = stack.Networks[i];
            if (!seen.TryAdd(network.Name, path))
            {
                binder.Error($"{path}.name", location, $"'{network.Name}' is declared twice (also {seen[network.Name]})");
            }

            // Networks are few; the pairwise check is cheap.
            for (var j = 0; j < i; j++)
            {
                var other = stack.Networks[j];
                if (network.Cidr.Overlaps(other.Value.Cidr))
                {
                    binder.Error($"{path}.cidr", location, $"'{network.Cidr}' overlaps '{other.Value.Cidr}' of {other.Path} ('{other.Value.Name}')");
                }
            }
        }
    }

    private List<Declared<NodeDefinition>> ExpandNodes(BoundStack stack)
    {
        var nodes = new List<Declared<NodeDefinition>>();
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (pool, path, location) in stack.Pools)
        {
            var names = pool.Count is { } count
                ? Enumerable.Range(1, count).Select(i => ($"{pool.Name}-{i}", (int?)i))
                : [(pool.Name, null)];
            foreach (var (name, index) in names)
            {
                if (!seen.TryAdd(name, path))
                {
                    binder.Error($"{path}.name", location, $"node '{name}' is already defined by {seen[name]}");
                    continue;
                }

                nodes.Add(new Declared<NodeDefinition>(
                    new NodeDefinition
                    {
                        Name = name,
                        Pool = pool.Name,
                        Index = index,
                        Role = pool.Role,
                        Cpus = pool.Cpus,
                        MemoryMiB = pool.MemoryMiB,
                        DiskGiB = pool.DiskGiB,
                        DiskBus = pool.DiskBus,
                        Network = pool.Network,
                        Host = pool.Host,
                        Region = pool.Region,
                        PublishedPorts = pool.PublishedPorts,
                    },
                    path,
                    location));
            }
        }

        return nodes;
    }

    private void CheckPools(BoundStack stack)
    {
        foreach (var (pool, path, location) in stack.Pools)
        {
            CheckReferences(stack, pool.Network, pool.Region, path, location);
            if (pool.Host is not null)
            {
                CheckPin(stack, pool, path, location, pool.Region ?? stack.Placement?.Region);
            }
        }

        // A pool with a bad field still gets its references checked, so one pass reports everything.
        foreach (var ((network, host, region), path, location) in stack.BrokenPoolReferences)
        {
            CheckReferences(stack, network, region, path, location);
            if (host is not null && !stack.HostNames.Contains(host))
            {
                binder.Error($"{path}.host", location, $"'{host}' is not a declared host (declared: {List(stack.HostNames)})");
            }
        }
    }

    /// <summary>A node's own port may not repeat one of the stack's: two 'from' lists for one port would be ambiguous.</summary>
    private void CheckPublishedPorts(BoundStack stack)
    {
        var stackPorts = stack.Firewall?.PublishedPorts ?? [];
        foreach (var (pool, path, location) in stack.Pools)
        {
            for (var i = 0; i < pool.PublishedPorts.Count; i++)
            {
                var own = pool.PublishedPorts[i];
                var index = stackPorts.ToList().FindIndex(p => p.Port == own.Port && p.Protocol == own.Protocol);
                if (index >= 0)
                {
                    binder.Error(
                        $"{path}.publishedPorts[{i}].port",
                        location,
                        $"{own.Port}/{own.Protocol.ToString().ToLowerInvariant()} is also declared at {StackLoader.Key("firewall")}.publishedPorts[{index}].port; declare it in one place and merge the 'from' lists");
                }
            }
        }
    }

    private void CheckReferences(BoundStack stack, string? network, string? region, string path, SourceLocation? location)
    {
        if (network is not null && !stack.NetworkNames.Contains(network))
        {
            binder.Error($"{path}.network", location, $"'{network}' is not a declared network (declared: {List(stack.NetworkNames)})");
        }

        if (region is not null && stack.HostsComplete && !_hostsByRegion.ContainsKey(region))
        {
            binder.Error($"{path}.region", location, $"'{region}' has no hosts (regions with hosts: {List(_hostsByRegion.Keys)})");
        }
    }

    private void CheckPin(BoundStack stack, NodePoolDefinition pool, string path, SourceLocation? location, string? region)
    {
        var hostPath = $"{path}.host";
        if (!stack.HostNames.Contains(pool.Host!))
        {
            binder.Error(hostPath, location, $"'{pool.Host}' is not a declared host (declared: {List(stack.HostNames)})");
            return;
        }

        var host = stack.Hosts.Select(h => h.Value).FirstOrDefault(h => h.Name == pool.Host);
        if (host is null)
        {
            return;
        }

        if (region is not null && host.Region != region)
        {
            binder.Error(hostPath, location, $"'{host.Name}' is in region '{host.Region}', but the node must stay in region '{region}'");
        }

        if (pool.DiskBus == DiskBus.Nvme && host.Pool.Media != StorageMedia.Nvme)
        {
            binder.Error(hostPath, location, $"'{host.Name}' has a {Media(host.Pool.Media)} pool, but the node has an nvme disk");
        }

        if (pool.Role == NodeRole.ControlPlane && (pool.Count ?? 1) > 1 && stack.Placement?.ControlPlaneAntiAffinity == true)
        {
            binder.Error(hostPath, location, $"pins {pool.Count} control-plane nodes to '{host.Name}', but control-plane anti-affinity needs each on its own host");
        }
    }

    private void CheckPlacementRegion(BoundStack stack)
    {
        if (stack.Placement is { } placement && stack.HostsComplete && stack.Hosts.Count > 0 && !_hostsByRegion.ContainsKey(placement.Region))
        {
            binder.Error(StackLoader.Key("placement") + ".region", null, $"'{placement.Region}' has no hosts (regions with hosts: {List(_hostsByRegion.Keys)})");
        }
    }

    /// <summary>Per region: anti-affinity room and NVMe availability.</summary>
    private void CheckRegions(BoundStack stack)
    {
        if (!stack.HostsComplete || stack.Placement is null)
        {
            return;
        }

        var controlPlanes = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (pool, path, location) in stack.Pools)
        {
            var region = pool.Region ?? stack.Placement.Region;
            if (!_hostsByRegion.TryGetValue(region, out var hosts))
            {
                continue;
            }

            var count = pool.Count ?? 1;
            if (pool.Role == NodeRole.ControlPlane)
            {
                controlPlanes[region] = controlPlanes.GetValueOrDefault(region) + count;
            }

            if (count > 0 && pool.DiskBus == DiskBus.Nvme && !hosts.Any(h => h.Pool.Media == StorageMedia.Nvme))
            {
                binder.Error($"{path}.diskBus", location, $"'nvme' needs a host with an nvme pool, and region '{region}' has none ({string.Join(", ", hosts.Select(h => $"{h.Name}: {Media(h.Pool.Media)}"))})");
            }
        }

        if (!stack.Placement.ControlPlaneAntiAffinity)
        {
            return;
        }

        foreach (var (region, count) in controlPlanes.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var hosts = _hostsByRegion[region].Count;
            if (count > hosts)
            {
                binder.Error(
                    StackLoader.Key("placement") + ".controlPlaneAntiAffinity",
                    null,
                    $"{count} control-plane nodes in region '{region}' need {count} distinct hosts, but the region has {hosts}; add hosts or set controlPlaneAntiAffinity: false");
            }
        }
    }

    /// <summary>Declared host limits against what the nodes request (only where limits are declared).</summary>
    private void CheckCapacity(BoundStack stack)
    {
        if (!stack.HostsComplete || !stack.PoolsComplete || stack.Placement is null)
        {
            return;
        }

        var requests = new Dictionary<string, (long Memory, long Cpus)>(StringComparer.Ordinal);
        var pinned = new Dictionary<string, (long Memory, long Cpus)>(StringComparer.Ordinal);
        foreach (var (pool, path, location) in stack.Pools)
        {
            var region = pool.Region ?? stack.Placement.Region;
            if (!_hostsByRegion.TryGetValue(region, out var hosts))
            {
                continue;
            }

            var count = pool.Count ?? 1;
            var current = requests.GetValueOrDefault(region);
            requests[region] = (current.Memory + (pool.MemoryMiB * count), current.Cpus + ((long)pool.Cpus * count));
            if (pool.Host is not null)
            {
                var p = pinned.GetValueOrDefault(pool.Host);
                pinned[pool.Host] = (p.Memory + (pool.MemoryMiB * count), p.Cpus + ((long)pool.Cpus * count));
            }

            var candidates = pool.Host is null ? hosts : hosts.Where(h => h.Name == pool.Host).ToList();
            if (candidates.Count > 0 && candidates.All(h => h.Limits?.MemoryMiB is { } m && m < pool.MemoryMiB))
            {
                binder.Error($"{path}.memoryMiB", location, $"{pool.MemoryMiB} MiB is more than any host in region '{region}' allows (largest limit {candidates.Max(h => h.Limits!.MemoryMiB)} MiB)");
            }

            if (candidates.Count > 0 && candidates.All(h => h.Limits?.Cpus is { } c && c < pool.Cpus))
            {
                binder.Error($"{path}.cpus", location, $"{pool.Cpus} CPUs is more than any host in region '{region}' allows (largest limit {candidates.Max(h => h.Limits!.Cpus)})");
            }
        }

        foreach (var (region, (memory, cpus)) in requests.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var hosts = _hostsByRegion[region];
            if (hosts.All(h => h.Limits?.MemoryMiB is not null) && memory > hosts.Sum(h => h.Limits!.MemoryMiB!.Value))
            {
                binder.Error(StackLoader.Key("nodes"), null, $"nodes in region '{region}' request {memory} MiB of memory, but its hosts' limits allow {hosts.Sum(h => h.Limits!.MemoryMiB!.Value)} MiB");
            }

            if (hosts.All(h => h.Limits?.Cpus is not null) && cpus > hosts.Sum(h => (long)h.Limits!.Cpus!.Value))
            {
                binder.Error(StackLoader.Key("nodes"), null, $"nodes in region '{region}' request {cpus} CPUs, but its hosts' limits allow {hosts.Sum(h => (long)h.Limits!.Cpus!.Value)}");
            }
        }

        foreach (var (host, path, location) in stack.Hosts)
        {
            if (!pinned.TryGetValue(host.Name, out var request))
            {
                continue;
            }

            if (host.Limits?.MemoryMiB is { } memoryLimit && request.Memory > memoryLimit)
            {
                binder.Error($"{path}.limits.memoryMiB", location, $"{memoryLimit} MiB is less than the {request.Memory} MiB of the nodes pinned to '{host.Name}'");
            }

            if (host.Limits?.Cpus is { } cpuLimit && request.Cpus > cpuLimit)
            {
                binder.Error($"{path}.limits.cpus", location, $"{cpuLimit} CPUs is less than the {request.Cpus} CPUs of the nodes pinned to '{host.Name}'");
            }
        }
    }

    /// <summary>Every node gets a reserved address in its network's static range.</summary>
    private void CheckNetworkRoom(BoundStack stack, List<Declared<NodeDefinition>> nodes)
    {
        var perNetwork = nodes.GroupBy(n => n.Value.Network, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        foreach (var (network, path, location) in stack.Networks)
        {
            if (!perNetwork.TryGetValue(network.Name, out var count))
            {
                continue;
            }

            var room = NodeAddressing.ReservableAddresses(network, stack.Kubernetes);
            if ((ulong)count > room)
            {
                binder.Error($"{path}.cidr", location, $"'{network.Cidr}' has room for {room} node addresses ({network.StaticRange}), but {count} nodes use it");
            }
        }
    }

    private void CheckKubernetes(BoundStack stack, List<Declared<NodeDefinition>> nodes)
    {
        if (stack.KubernetesDeclared is not { } declared)
        {
            return;
        }

        var controlPlanes = nodes.Where(n => n.Value.Role == NodeRole.ControlPlane).ToList();
        if (stack.PoolsComplete && controlPlanes.Count == 0)
        {
            binder.Error(declared.Path, declared.Location, "declares a cluster, but no node has role 'control-plane'");
        }

        var (pod, service, endpoint) = stack.KubernetesParts;
        foreach (var (network, path, _) in stack.Networks)
        {
            foreach (var (field, cidr) in new[] { ("podCidr", pod), ("serviceCidr", service) })
            {
                if (cidr is not null && cidr.Value.Overlaps(network.Cidr))
                {
                    binder.Error($"{declared.Path}.{field}", declared.Location, $"'{cidr}' overlaps network '{network.Name}' ({network.Cidr}, {path})");
                }
            }
        }

        if (endpoint is { } vip && stack.NetworksComplete && stack.PoolsComplete)
        {
            var networks = controlPlanes.Select(n => n.Value.Network).Distinct(StringComparer.Ordinal)
                .Select(name => stack.Networks.FirstOrDefault(n => n.Value.Name == name).Value)
                .Where(n => n is not null)
                .ToList();
            var home = networks.FirstOrDefault(n => n!.Cidr.Contains(vip));
            if (home is null)
            {
                binder.Error($"{declared.Path}.controlPlaneEndpoint", declared.Location, $"'{vip}' is not in a network of the control-plane nodes ({string.Join(", ", networks.Select(n => $"{n!.Name} {n.Cidr}"))})");
            }
            else if (vip == home.Gateway || !home.StaticRange.Contains(vip))
            {
                binder.Error($"{declared.Path}.controlPlaneEndpoint", declared.Location, $"'{vip}' must lie in the static range {home.StaticRange} of '{home.Name}' and not be its gateway, so DHCP never hands it out");
            }
        }
    }

    private static string Media(StorageMedia media) => media.ToString().ToLowerInvariant();

    private static string List(IEnumerable<string> names)
    {
        var sorted = names.Order(StringComparer.Ordinal).ToList();
        return sorted.Count == 0 ? "none" : string.Join(", ", sorted.Take(10)) + (sorted.Count > 10 ? ", …" : string.Empty);
    }
}
