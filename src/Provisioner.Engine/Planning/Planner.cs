using System.Globalization;
using Provisioner.Core.Naming;
using Provisioner.Core.Placement;
using Provisioner.Core.Stacks;
using Provisioner.Engine.Inventory;

namespace Provisioner.Engine.Planning;

/// <summary>
/// Compares what a stack declares with what exists and says, per resource and per property,
/// what <c>up</c> must do. Pure: reads nothing, changes nothing.
/// </summary>
public static class Planner
{
    /// <summary>Places the stack's nodes and derives every node's desired state.</summary>
    public static (IReadOnlyList<DesiredNode> Nodes, IReadOnlyList<UnplacedNode> Unplaced) Desire(
        StackDefinition stack, IReadOnlyList<HostFacts> facts, IReadOnlyCollection<ObservedHost> observed)
    {
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentNullException.ThrowIfNull(facts);
        ArgumentNullException.ThrowIfNull(observed);

        var existingNodes = observed.SelectMany(h => h.Nodes.Values).ToList();
        var placement = PlacementPlanner.Plan(
            stack,
            facts,
            [.. existingNodes.Select(n => new ExistingNode(n.Name, n.Host))]);

        // Keep each existing node's address: the network reservation is what the guest was given.
        var existingAddresses = new Dictionary<string, NodeAddresses>(StringComparer.Ordinal);
        foreach (var node in existingNodes)
        {
            var reservation = node.MacAddress is null ? null : observed
                .Where(h => h.Host == node.Host)
                .SelectMany(h => h.Networks.Values)
                .Where(n => n.Name == node.NetworkName)
                .Select(n => n.Reservations.GetValueOrDefault(node.MacAddress))
                .FirstOrDefault(r => r is not null);
            if (reservation is not null && node.NetworkName is not null && Ipv4Address.TryParse(reservation.Address.ToString(), out var ip))
            {
                existingAddresses[node.Name] = new NodeAddresses
                {
                    Node = node.Name,
                    Network = node.NetworkName,
                    MacAddress = node.MacAddress!,
                    Ipv4Address = ip,
                };
            }
        }

        var addresses = NodeAddressing.Assign(stack, existingAddresses);
        var desired = new List<DesiredNode>();
        foreach (var node in stack.Nodes)
        {
            var host = placement.HostOf(node.Name);
            if (host is null)
            {
                continue;
            }

            desired.Add(new DesiredNode
            {
                Definition = node,
                Host = host,
                Addresses = addresses[node.Name],
                DefinitionHash = NodeDefinitionHash.Compute(stack, node),
                DomainName = LibvirtNames.Domain(stack.Name, node.Name),
                RootVolume = LibvirtNames.RootVolume(stack.Name, node.Name),
                SeedVolume = LibvirtNames.SeedVolume(stack.Name, node.Name),
                LibvirtNetwork = LibvirtNames.Network(stack.Name, node.Network),
            });
        }

        var unplaced = placement.Failures
            .Select(f => new UnplacedNode(f.Node, f.Rejections.Count == 0 ? f.Reason : $"{f.Reason} ({string.Join("; ", f.Rejections)})"))
            .ToList();
        return (desired, unplaced);
    }

    /// <summary>Computes the plan from the desired nodes and what exists on each host.</summary>
    public static StackPlan Plan(
        StackDefinition stack,
        IReadOnlyList<DesiredNode> desired,
        IReadOnlyList<UnplacedNode> unplaced,
        IReadOnlyDictionary<string, ObservedHost> observed,
        ImageReference image)
    {
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentNullException.ThrowIfNull(desired);
        ArgumentNullException.ThrowIfNull(observed);
        ArgumentNullException.ThrowIfNull(image);

        var resources = new List<ResourceChange>();
        var desiredByHost = desired.ToLookup(d => d.Host, StringComparer.Ordinal);

        foreach (var host in stack.Hosts)
        {
            var seen = observed.GetValueOrDefault(host.Name);
            var nodesHere = desiredByHost[host.Name].ToList();
            var needed = nodesHere.Count > 0;

            // Pool and image only where nodes run; networks only where their nodes run.
            if (needed)
            {
                resources.Add(new ResourceChange
                {
                    Kind = ResourceKind.Pool,
                    Name = host.Pool.Name,
                    Host = host.Name,
                    Change = seen is { PoolExists: true, PoolActive: true } ? ChangeKind.None : ChangeKind.Create,
                    Reason = seen is { PoolExists: true, PoolActive: false } ? "pool exists but is not running" : null,
                });

                var imagePresent = image.VolumeName is not null && seen is not null
                    && seen.Volumes.Contains(image.VolumeName) && seen.Volumes.Contains(image.VerifiedMarkerName!);
                resources.Add(new ResourceChange
                {
                    Kind = ResourceKind.Image,
                    Name = image.Name,
                    Host = host.Name,
                    Change = imagePresent ? ChangeKind.None : ChangeKind.Create,
                    Reason = imagePresent ? null
                        : image.Sha256 is null ? "golden image not built yet; it will be built, uploaded and verified"
                        : $"upload {image.VolumeName} and verify its SHA-256 on the host",
                });
            }

            var networksHere = nodesHere.Select(n => n.Definition.Network).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
            foreach (var networkName in networksHere)
            {
                resources.Add(PlanNetwork(stack, host.Name, networkName, nodesHere, seen));
            }

            foreach (var node in nodesHere.OrderBy(n => n.Name, StringComparer.Ordinal))
            {
                resources.Add(PlanNode(node, seen?.Nodes.GetValueOrDefault(node.Name), image));
            }

            if (seen is null)
            {
                continue;
            }

            // What exists but is no longer wanted here.
            var wantedNodes = nodesHere.Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
            foreach (var stale in seen.Nodes.Values.Where(n => !wantedNodes.Contains(n.Name)).OrderBy(n => n.Name, StringComparer.Ordinal))
            {
                resources.Add(new ResourceChange
                {
                    Kind = ResourceKind.Node,
                    Name = stale.Name,
                    Host = host.Name,
                    Change = ChangeKind.Delete,
                    Reason = stack.FindNode(stale.Name) is null ? "no longer declared in the stack" : "placed elsewhere",
                });
            }

            var wantedNetworks = networksHere.ToHashSet(StringComparer.Ordinal);
            foreach (var stale in seen.Networks.Values.Where(n => !wantedNetworks.Contains(n.Name)).OrderBy(n => n.Name, StringComparer.Ordinal))
            {
                resources.Add(new ResourceChange
                {
                    Kind = ResourceKind.Network,
                    Name = stale.Name,
                    Host = host.Name,
                    Change = ChangeKind.Delete,
                    Reason = "no node of the stack uses it on this host",
                });
            }

            foreach (var orphan in OrphanVolumes(stack.Name, seen, nodesHere, image).Order(StringComparer.Ordinal))
            {
                resources.Add(new ResourceChange
                {
                    Kind = ResourceKind.Volume,
                    Name = orphan,
                    Host = host.Name,
                    Change = ChangeKind.Delete,
                    Reason = "left over: no node of the stack uses it",
                });
            }
        }

        return new StackPlan { Stack = stack.Name, Resources = resources, Unplaced = unplaced };
    }

    private static ResourceChange PlanNetwork(StackDefinition stack, string host, string networkName, List<DesiredNode> nodesHere, ObservedHost? seen)
    {
        var definition = stack.FindNetwork(networkName)!;
        var existing = seen?.Networks.GetValueOrDefault(networkName);
        if (existing is null)
        {
            return new ResourceChange { Kind = ResourceKind.Network, Name = networkName, Host = host, Change = ChangeKind.Create };
        }

        var properties = new List<PropertyChange>();
        var hash = NetworkHash.Compute(stack.Name, definition);
        if (!string.Equals(existing.Metadata.DefinitionHash, hash, StringComparison.Ordinal))
        {
            properties.Add(new PropertyChange("definition", existing.Metadata.DefinitionHash[..12], hash[..12], ForcesReplacement: true));
        }

        var wanted = nodesHere.Where(n => n.Definition.Network == networkName)
            .Select(n => n.Addresses)
            .ToDictionary(a => a.MacAddress.ToLowerInvariant(), a => a.Ipv4Address.ToString(), StringComparer.Ordinal);
        foreach (var (mac, ip) in wanted.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var have = existing.Reservations.GetValueOrDefault(mac)?.Address.ToString();
            if (!string.Equals(have, ip, StringComparison.Ordinal))
            {
                properties.Add(new PropertyChange($"reservations[{mac}]", have, ip, ForcesReplacement: false));
            }
        }

        foreach (var mac in existing.Reservations.Keys.Where(m => !wanted.ContainsKey(m)).Order(StringComparer.Ordinal))
        {
            properties.Add(new PropertyChange($"reservations[{mac}]", existing.Reservations[mac].Address.ToString(), null, ForcesReplacement: false));
        }

        var change = properties.Any(p => p.ForcesReplacement) ? ChangeKind.Replace
            : properties.Count > 0 || !existing.Active ? ChangeKind.Update
            : ChangeKind.None;
        return new ResourceChange
        {
            Kind = ResourceKind.Network,
            Name = networkName,
            Host = host,
            Change = change,
            Properties = properties,
            Reason = !existing.Active ? "network exists but is not running" : null,
        };
    }

    private static ResourceChange PlanNode(DesiredNode node, ObservedNode? seen, ImageReference image)
    {
        if (seen is null)
        {
            return new ResourceChange { Kind = ResourceKind.Node, Name = node.Name, Host = node.Host, Change = ChangeKind.Create };
        }

        var d = node.Definition;
        var properties = new List<PropertyChange>();
        void Compare(string property, string? old, string? wanted, bool replaces)
        {
            if (!string.Equals(old, wanted, StringComparison.Ordinal))
            {
                properties.Add(new PropertyChange(property, old, wanted, replaces));
            }
        }

        Compare("role", seen.Metadata.Role, node.RoleName, replaces: true);
        Compare("cpus", Invariant(seen.Cpus), Invariant(d.Cpus), replaces: false);
        Compare("memoryMiB", Invariant(seen.MemoryMiB), Invariant(d.MemoryMiB), replaces: false);
        Compare("diskBus", BusName(seen.DiskBus), BusName(d.DiskBus), replaces: true);
        Compare("network", seen.NetworkName, d.Network, replaces: true);
        Compare("macAddress", seen.MacAddress, node.Addresses.MacAddress.ToLowerInvariant(), replaces: true);
        if (image.VolumeName is not null)
        {
            Compare("image", seen.BackingVolumeName, image.VolumeName, replaces: true);
        }

        var seenDiskGiB = seen.RootDiskCapacityBytes is { } bytes ? (long?)(bytes / (1024UL * 1024 * 1024)) : null;
        if (seenDiskGiB != d.DiskGiB)
        {
            // Growing is done in place (the guest grows its partition at boot); shrinking would lose data.
            var shrink = seenDiskGiB is null || seenDiskGiB > d.DiskGiB;
            properties.Add(new PropertyChange("diskGiB", seenDiskGiB is null ? null : Invariant(seenDiskGiB.Value), Invariant(d.DiskGiB), shrink));
        }

        string? reason = null;
        if (properties.Count == 0 && !seen.IsReady)
        {
            reason = seen.SeedAttached ? "first boot did not finish (interrupted run): wait for it and finish" : $"domain is {seen.State}: start it";
        }

        var change = properties.Any(p => p.ForcesReplacement) ? ChangeKind.Replace
            : properties.Count > 0 || reason is not null ? ChangeKind.Update
            : ChangeKind.None;
        return new ResourceChange { Kind = ResourceKind.Node, Name = node.Name, Host = node.Host, Change = change, Properties = properties, Reason = reason };
    }

    private static IEnumerable<string> OrphanVolumes(string stack, ObservedHost seen, List<DesiredNode> nodesHere, ImageReference image)
    {
        var owned = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in nodesHere)
        {
            owned.Add(node.RootVolume);
            owned.Add(node.SeedVolume);
        }

        foreach (var node in seen.Nodes.Values)
        {
            // Volumes of nodes being deleted go with their node's delete step.
            owned.Add(LibvirtNames.RootVolume(stack, node.Name));
            owned.Add(LibvirtNames.SeedVolume(stack, node.Name));
            if (node.BackingVolumeName is not null)
            {
                owned.Add(node.BackingVolumeName);
                owned.Add(ImageReference.MarkerFor(node.BackingVolumeName));
            }
        }

        if (image.VolumeName is not null && nodesHere.Count > 0)
        {
            owned.Add(image.VolumeName);
            owned.Add(image.VerifiedMarkerName!);
        }

        var prefix = stack + "-";
        var ourLeftovers = seen.Volumes
            .Where(v => !owned.Contains(v) && v.StartsWith(prefix, StringComparison.Ordinal) && (v.EndsWith("-root", StringComparison.Ordinal) || v.EndsWith("-seed", StringComparison.Ordinal)))
            .ToHashSet(StringComparer.Ordinal);
        // An image no node of ours uses may still back another stack's disks in a shared pool: it goes only once
        // nothing there is cloned from it.
        return ourLeftovers.Concat(UnusedGoldenImages.In(seen, owned, ourLeftovers.Contains));
    }

    private static string BusName(DiskBus? bus) => bus switch
    {
        DiskBus.Nvme => "nvme",
        DiskBus.Virtio => "virtio",
        _ => "unknown",
    };

    private static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);
}
