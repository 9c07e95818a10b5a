using System.Globalization;
using Provisioner.Core.Stacks;

namespace Provisioner.Core.Placement;

/// <summary>
/// Decides which host each node of a stack runs on. Pure and deterministic: the same definition,
/// host facts and existing nodes always give the same plan, whatever order the inputs come in.
/// </summary>
/// <remarks>
/// <para>Rules, in the order a host is checked: region (hard; data residency), pin, NVMe media,
/// facts present, control-plane anti-affinity, free memory, free vCPUs, the stack's declared host
/// limits. Existing nodes keep their host even where that now breaks a rule (reported as a
/// <see cref="PlacementWarning"/>); they count towards anti-affinity and declared limits, while
/// their memory and vCPUs are already part of the host facts.</para>
/// <para>New nodes are placed pinned first, then control-plane, then NVMe, then by memory and vCPUs
/// descending (big items first pack better), then by name. Among the hosts that can take a node,
/// control-plane nodes prefer the zone with the fewest control-plane nodes; then the host with the
/// most free memory wins, ties going to the ordinally smallest host name. Cost is
/// O(nodes × hosts + nodes log nodes).</para>
/// </remarks>
public static class PlacementPlanner
{
    private const ulong MiB = 1024 * 1024;

    /// <summary>Plans placement of every node of <paramref name="stack"/>.</summary>
    /// <param name="stack">The validated stack.</param>
    /// <param name="facts">Current facts of the stack's hosts; a host without facts takes no new nodes.</param>
    /// <param name="existing">Nodes that already run and where; entries for nodes no longer in the stack are ignored.</param>
    /// <param name="options">Tuning; <see cref="PlacementOptions.Default"/> when null.</param>
    public static PlacementPlan Plan(
        StackDefinition stack,
        IReadOnlyList<HostFacts> facts,
        IReadOnlyList<ExistingNode> existing,
        PlacementOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentNullException.ThrowIfNull(facts);
        ArgumentNullException.ThrowIfNull(existing);
        options ??= PlacementOptions.Default;

        var factsByHost = new Dictionary<string, HostFacts>(StringComparer.Ordinal);
        foreach (var fact in facts)
        {
            if (!factsByHost.TryAdd(fact.Host, fact))
            {
                throw new ArgumentException($"facts for host '{fact.Host}' are given twice", nameof(facts));
            }
        }

        var hosts = stack.Hosts
            .OrderBy(h => h.Name, StringComparer.Ordinal)
            .Select(h => new HostState(h, factsByHost.GetValueOrDefault(h.Name), options.ReservedMemoryBytesPerHost))
            .ToList();
        var hostByName = hosts.ToDictionary(h => h.Definition.Name, StringComparer.Ordinal);
        var controlPlanesPerZone = new Dictionary<string, int>(StringComparer.Ordinal);
        var nodesByName = stack.Nodes.ToDictionary(n => n.Name, StringComparer.Ordinal);

        var assignments = new List<PlacementAssignment>();
        var warnings = new List<PlacementWarning>();
        var placed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in existing.OrderBy(e => e.Node, StringComparer.Ordinal).ThenBy(e => e.Host, StringComparer.Ordinal))
        {
            if (!nodesByName.TryGetValue(entry.Node, out var node))
            {
                continue;
            }

            if (!placed.Add(entry.Node))
            {
                warnings.Add(new PlacementWarning(entry.Node, entry.Host, "is reported on more than one host; kept on the first by name"));
                continue;
            }

            assignments.Add(new PlacementAssignment(node.Name, entry.Host, Existing: true));
            if (!hostByName.TryGetValue(entry.Host, out var host))
            {
                warnings.Add(new PlacementWarning(node.Name, entry.Host, $"runs on host '{entry.Host}', which the stack no longer declares"));
                continue;
            }

            foreach (var problem in ExistingProblems(stack, node, host))
            {
                warnings.Add(new PlacementWarning(node.Name, entry.Host, problem));
            }

            host.Account(node, existing: true, controlPlanesPerZone);
        }

        var pending = stack.Nodes
            .Where(n => !placed.Contains(n.Name))
            .OrderBy(n => n.Host is null ? 1 : 0)
            .ThenBy(n => n.Role == NodeRole.ControlPlane ? 0 : 1)
            .ThenBy(n => n.DiskBus == DiskBus.Nvme ? 0 : 1)
            .ThenByDescending(n => n.MemoryMiB)
            .ThenByDescending(n => n.Cpus)
            .ThenBy(n => n.Name, StringComparer.Ordinal);

        var failures = new List<PlacementFailure>();
        var antiAffinity = stack.Placement.ControlPlaneAntiAffinity;
        foreach (var node in pending)
        {
            var region = stack.RegionOf(node);
            HostState? best = null;
            var rejections = new List<HostRejection>();
            foreach (var host in hosts)
            {
                var rejection = Check(node, region, host, antiAffinity);
                if (rejection is not null)
                {
                    rejections.Add(rejection);
                    continue;
                }

                if (best is null || Better(node, host, best, controlPlanesPerZone))
                {
                    best = host;
                }
            }

            if (best is null)
            {
                failures.Add(new PlacementFailure(node.Name, Describe(node, region, rejections)) { Rejections = rejections.AsReadOnly() });
                continue;
            }

            best.Account(node, existing: false, controlPlanesPerZone);
            assignments.Add(new PlacementAssignment(node.Name, best.Definition.Name, Existing: false));
        }

        return new PlacementPlan
        {
            Assignments = assignments.OrderBy(a => a.Node, StringComparer.Ordinal).ToList().AsReadOnly(),
            Failures = failures.OrderBy(f => f.Node, StringComparer.Ordinal).ToList().AsReadOnly(),
            Warnings = warnings.OrderBy(w => w.Node, StringComparer.Ordinal).ToList().AsReadOnly(),
        };
    }

    private static HostRejection? Check(NodeDefinition node, string region, HostState host, bool antiAffinity)
    {
        var definition = host.Definition;
        if (definition.Region != region)
        {
            return Reject(host, RejectionReason.WrongRegion, $"wrong region '{definition.Region}' (node must stay in '{region}')");
        }

        if (node.Host is not null && node.Host != definition.Name)
        {
            return Reject(host, RejectionReason.NotPinnedHost, $"node is pinned to '{node.Host}'");
        }

        if (node.DiskBus == DiskBus.Nvme && definition.Pool.Media != StorageMedia.Nvme)
        {
            return Reject(host, RejectionReason.NotNvme, $"not nvme (pool '{definition.Pool.Name}' is {definition.Pool.Media.ToString().ToLowerInvariant()})");
        }

        if (host.Facts is null)
        {
            return Reject(host, RejectionReason.NoFacts, "no host facts (host unreachable?)");
        }

        if (antiAffinity && node.Role == NodeRole.ControlPlane && host.ControlPlaneNode is { } other)
        {
            return Reject(host, RejectionReason.AntiAffinity, $"anti-affinity: already runs control-plane node '{other}'");
        }

        if (node.MemoryBytes > host.FreeMemoryBytes)
        {
            return Reject(host, RejectionReason.NotEnoughMemory, Invariant($"not enough free memory (needs {node.MemoryMiB} MiB, has {host.FreeMemoryBytes / MiB} MiB)"));
        }

        if (node.Cpus > host.FreeCpus)
        {
            return Reject(host, RejectionReason.NotEnoughCpus, Invariant($"not enough CPUs (needs {node.Cpus}, has {Math.Max(0, host.FreeCpus)} free)"));
        }

        if (definition.Limits?.MemoryMiB is { } memoryLimit && host.StackMemoryMiB + node.MemoryMiB > memoryLimit)
        {
            return Reject(host, RejectionReason.LimitExceeded, Invariant($"declared limit of {memoryLimit} MiB reached (stack uses {host.StackMemoryMiB} MiB there, node needs {node.MemoryMiB} MiB)"));
        }

        if (definition.Limits?.Cpus is { } cpuLimit && host.StackCpus + node.Cpus > cpuLimit)
        {
            return Reject(host, RejectionReason.LimitExceeded, Invariant($"declared limit of {cpuLimit} CPUs reached (stack uses {host.StackCpus} there, node needs {node.Cpus})"));
        }

        return null;
    }

    private static IEnumerable<string> ExistingProblems(StackDefinition stack, NodeDefinition node, HostState host)
    {
        var region = stack.RegionOf(node);
        if (host.Definition.Region != region)
        {
            yield return $"runs in region '{host.Definition.Region}', but must stay in '{region}'";
        }

        if (node.Host is not null && node.Host != host.Definition.Name)
        {
            yield return $"is pinned to '{node.Host}'";
        }

        if (node.DiskBus == DiskBus.Nvme && host.Definition.Pool.Media != StorageMedia.Nvme)
        {
            yield return "has an nvme disk on a host whose pool is not nvme";
        }

        if (stack.Placement.ControlPlaneAntiAffinity && node.Role == NodeRole.ControlPlane && host.ControlPlaneNode is { } other)
        {
            yield return $"shares the host with control-plane node '{other}' (anti-affinity)";
        }
    }

    /// <summary>Whether <paramref name="candidate"/> is a better host for <paramref name="node"/> than <paramref name="best"/>.</summary>
    private static bool Better(NodeDefinition node, HostState candidate, HostState best, Dictionary<string, int> controlPlanesPerZone)
    {
        if (node.Role == NodeRole.ControlPlane)
        {
            var zoneLoad = ZoneLoad(candidate, controlPlanesPerZone).CompareTo(ZoneLoad(best, controlPlanesPerZone));
            if (zoneLoad != 0)
            {
                return zoneLoad < 0;
            }
        }

        if (candidate.FreeMemoryBytes != best.FreeMemoryBytes)
        {
            return candidate.FreeMemoryBytes > best.FreeMemoryBytes;
        }

        // Hosts are visited in ordinal name order, so the earlier (smaller) name already holds on a tie.
        return false;
    }

    private static int ZoneLoad(HostState host, Dictionary<string, int> controlPlanesPerZone) =>
        controlPlanesPerZone.GetValueOrDefault(host.Zone);

    private static HostRejection Reject(HostState host, RejectionReason reason, string detail) =>
        new(host.Definition.Name, reason, detail);

    private static string Describe(NodeDefinition node, string region, List<HostRejection> rejections)
    {
        var role = node.Role switch
        {
            NodeRole.ControlPlane => "control-plane",
            NodeRole.Worker => "worker",
            _ => "sandbox",
        };
        var needs = Invariant($"{role}, {node.MemoryMiB} MiB, {node.Cpus} CPUs, {(node.DiskBus == DiskBus.Nvme ? "nvme" : "virtio")} disk, region '{region}'");
        var why = rejections.Count == 0 ? "the stack declares no hosts" : string.Join("; ", rejections);
        return $"node '{node.Name}' ({needs}) cannot be placed: {why}";
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>Mutable bookkeeping of one host during planning.</summary>
    private sealed class HostState
    {
        public HostState(HostDefinition definition, HostFacts? facts, ulong reserve)
        {
            Definition = definition;
            Facts = facts;
            FreeMemoryBytes = facts is null || facts.FreeMemoryBytes < reserve ? 0 : facts.FreeMemoryBytes - reserve;
            FreeCpus = facts is null ? 0 : facts.Cpus - facts.AllocatedCpus;
            Zone = definition.Zone ?? "\0" + definition.Name;
        }

        public HostDefinition Definition { get; }

        public HostFacts? Facts { get; }

        /// <summary>Zone for spreading; a host without a zone is its own zone.</summary>
        public string Zone { get; }

        public ulong FreeMemoryBytes { get; private set; }

        public long FreeCpus { get; private set; }

        public long StackMemoryMiB { get; private set; }

        public long StackCpus { get; private set; }

        /// <summary>The first control-plane node on this host (name), if any.</summary>
        public string? ControlPlaneNode { get; private set; }

        public void Account(NodeDefinition node, bool existing, Dictionary<string, int> controlPlanesPerZone)
        {
            StackMemoryMiB += node.MemoryMiB;
            StackCpus += node.Cpus;
            if (!existing)
            {
                FreeMemoryBytes -= Math.Min(FreeMemoryBytes, node.MemoryBytes);
                FreeCpus -= node.Cpus;
            }

            if (node.Role == NodeRole.ControlPlane)
            {
                ControlPlaneNode ??= node.Name;
                controlPlanesPerZone[Zone] = controlPlanesPerZone.GetValueOrDefault(Zone) + 1;
            }
        }
    }
}
