namespace Provisioner.Core.Placement;

/// <summary>
/// What the engine read from a host's libvirt right before planning. Placement subtracts what the
/// plan itself adds; memory already used by running VMs is assumed to be reflected in
/// <see cref="FreeMemoryBytes"/>.
/// </summary>
/// <param name="Host">Host name as declared in the stack.</param>
/// <param name="FreeMemoryBytes">Free memory of the host now.</param>
/// <param name="Cpus">vCPUs the host offers (its logical CPUs, or more if the operator allows overcommit).</param>
public sealed record HostFacts(string Host, ulong FreeMemoryBytes, int Cpus)
{
    /// <summary>vCPUs already allocated to domains on the host (subtracted from <see cref="Cpus"/>).</summary>
    public int AllocatedCpus { get; init; }
}

/// <summary>A node that already runs, and the host it runs on (from libvirt metadata). It never moves.</summary>
/// <param name="Node">Node name.</param>
/// <param name="Host">Host name.</param>
public sealed record ExistingNode(string Node, string Host);

/// <summary>Tuning of the placement.</summary>
public sealed record PlacementOptions
{
    /// <summary>Defaults: no memory held back.</summary>
    public static readonly PlacementOptions Default = new();

    /// <summary>Memory kept free on every host for the host itself and qemu overhead.</summary>
    public ulong ReservedMemoryBytesPerHost { get; init; }
}

/// <summary>Where a node runs.</summary>
/// <param name="Node">Node name.</param>
/// <param name="Host">Host name.</param>
/// <param name="Existing">True when the node already runs there (kept, never moved).</param>
public sealed record PlacementAssignment(string Node, string Host, bool Existing);

/// <summary>Why a host cannot take a node.</summary>
public enum RejectionReason
{
    /// <summary>The host is in another region than the node must stay in (data residency).</summary>
    WrongRegion,

    /// <summary>The node is pinned to another host.</summary>
    NotPinnedHost,

    /// <summary>The node has an NVMe disk and the host's pool is not on NVMe.</summary>
    NotNvme,

    /// <summary>No facts were supplied for the host (unreachable?).</summary>
    NoFacts,

    /// <summary>The host already runs a control-plane node of the stack.</summary>
    AntiAffinity,

    /// <summary>Not enough free memory.</summary>
    NotEnoughMemory,

    /// <summary>Not enough free vCPUs.</summary>
    NotEnoughCpus,

    /// <summary>The stack's declared limit for the host would be exceeded.</summary>
    LimitExceeded,
}

/// <summary>One host that was considered for a node and rejected.</summary>
/// <param name="Host">Host name.</param>
/// <param name="Reason">Kind of rejection.</param>
/// <param name="Detail">Human-readable reason, e.g. <c>not enough free memory (needs 2048 MiB, has 1024 MiB)</c>.</param>
public sealed record HostRejection(string Host, RejectionReason Reason, string Detail)
{
    /// <summary><c>host: detail</c>.</summary>
    public override string ToString() => $"{Host}: {Detail}";
}

/// <summary>A node that could not be placed, and why each host was rejected.</summary>
/// <param name="Node">Node name.</param>
/// <param name="Reason">One line naming the node's needs and every rejected host with its reason.</param>
public sealed record PlacementFailure(string Node, string Reason)
{
    /// <summary>The rejected hosts, by name.</summary>
    public required IReadOnlyList<HostRejection> Rejections { get; init; }
}

/// <summary>An existing node that breaks a current rule; it is kept where it is (never moved) and reported.</summary>
/// <param name="Node">Node name.</param>
/// <param name="Host">Host it runs on.</param>
/// <param name="Reason">What rule it breaks, e.g. the host left the node's region.</param>
public sealed record PlacementWarning(string Node, string Host, string Reason);

/// <summary>The result of placement: where every node runs, and which nodes could not be placed.</summary>
public sealed record PlacementPlan
{
    /// <summary>Assignments in ordinal node-name order.</summary>
    public required IReadOnlyList<PlacementAssignment> Assignments { get; init; }

    /// <summary>Nodes that could not be placed, in ordinal node-name order.</summary>
    public required IReadOnlyList<PlacementFailure> Failures { get; init; }

    /// <summary>Existing nodes that break a current rule, in ordinal node-name order.</summary>
    public required IReadOnlyList<PlacementWarning> Warnings { get; init; }

    /// <summary>Whether every node has a host.</summary>
    public bool IsComplete => Failures.Count == 0;

    /// <summary>The host of <paramref name="node"/>, or <see langword="null"/> when it is not placed.</summary>
    public string? HostOf(string node) =>
        Assignments.FirstOrDefault(a => string.Equals(a.Node, node, StringComparison.Ordinal))?.Host;
}
