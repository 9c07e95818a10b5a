using Provisioner.Core.Security;
using Provisioner.Core.Stacks;
using Provisioner.Engine.Access;

namespace Provisioner.Engine.Phases;

/// <summary>
/// Work that runs once every node of a stack exists and is ready: hardening checks, the audit,
/// the Kubernetes bootstrap. Phases run in the order given, after each <c>up</c> (also a no-op one,
/// so they must be idempotent and say when they changed nothing).
/// </summary>
public interface IStackPhase
{
    /// <summary>Short name shown in progress and results (<c>audit</c>, <c>kubernetes</c>).</summary>
    string Name { get; }

    /// <summary>Runs the phase. Throw only for faults that should fail <c>up</c>; findings go in the result.</summary>
    Task<StackPhaseResult> RunAsync(StackPhaseContext context, CancellationToken cancellationToken);
}

/// <summary>What a phase sees: the stack, its nodes as they are now, and how to reach them.</summary>
public sealed record StackPhaseContext
{
    /// <summary>The stack definition.</summary>
    public required StackDefinition Stack { get; init; }

    /// <summary>Every node of the stack as read back after the run.</summary>
    public required IReadOnlyList<NodeStatus> Nodes { get; init; }

    /// <summary>Nodes created or replaced in this run (a fresh identity: new host key, first boot just done).</summary>
    public required IReadOnlySet<string> CreatedNodes { get; init; }

    /// <summary>Opens SSH sessions to nodes.</summary>
    public required INodeAccess Access { get; init; }

    /// <summary>The clock.</summary>
    public required TimeProvider Time { get; init; }
}

/// <summary>The outcome of a phase. Phases with richer results derive from this record.</summary>
public record StackPhaseResult
{
    /// <summary>The phase's name.</summary>
    public required string Phase { get; init; }

    /// <summary>Whether the phase changed anything on the nodes.</summary>
    public bool Changed { get; init; }

    /// <summary>Whether the phase found a problem the user must see (e.g. a failed audit check).</summary>
    public bool Failed { get; init; }

    /// <summary>One line for people.</summary>
    public required string Summary { get; init; }

    /// <summary>Further lines for people (per node, per step).</summary>
    public IReadOnlyList<string> Details { get; init; } = [];

    /// <summary>Values to hand to the user only as secrets (admin kubeconfig), by name.</summary>
    public IReadOnlyDictionary<string, Secret> Secrets { get; init; } = new Dictionary<string, Secret>();
}
