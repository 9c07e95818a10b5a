namespace Provisioner.Engine.Planning;

/// <summary>What will happen to one resource.</summary>
public enum ChangeKind
{
    /// <summary>It exists and matches.</summary>
    None,

    /// <summary>It does not exist yet.</summary>
    Create,

    /// <summary>It exists and is changed in place.</summary>
    Update,

    /// <summary>It is destroyed and created again (a property that cannot change in place changed).</summary>
    Replace,

    /// <summary>It exists but the stack no longer declares it, or it is left over from an interrupted run.</summary>
    Delete,
}

/// <summary>The kinds of resource a stack is made of.</summary>
public enum ResourceKind
{
    /// <summary>A libvirt storage pool on a host.</summary>
    Pool,

    /// <summary>A golden image volume on a host.</summary>
    Image,

    /// <summary>A libvirt network on a host.</summary>
    Network,

    /// <summary>A node: its domain, root disk and seed.</summary>
    Node,

    /// <summary>A volume nothing owns any more (left by an interrupted run).</summary>
    Volume,
}

/// <summary>One property that differs, and whether its change forces a replacement.</summary>
public sealed record PropertyChange(string Property, string? Old, string? New, bool ForcesReplacement);

/// <summary>One resource's planned change, with the reason per property.</summary>
public sealed record ResourceChange
{
    /// <summary>Kind of resource.</summary>
    public required ResourceKind Kind { get; init; }

    /// <summary>The resource's name in the stack (node name, network name, image name, volume name).</summary>
    public required string Name { get; init; }

    /// <summary>The host it lives on.</summary>
    public required string Host { get; init; }

    /// <summary>What will happen.</summary>
    public required ChangeKind Change { get; init; }

    /// <summary>Properties that differ (empty for create and delete).</summary>
    public IReadOnlyList<PropertyChange> Properties { get; init; } = [];

    /// <summary>Why, in words, when the properties alone do not say it.</summary>
    public string? Reason { get; init; }
}

/// <summary>A node that cannot be placed, and why.</summary>
public sealed record UnplacedNode(string Node, string Reason);

/// <summary>Everything <c>up</c> would do for a stack, computed without changing anything.</summary>
public sealed record StackPlan
{
    /// <summary>The stack's name.</summary>
    public required string Stack { get; init; }

    /// <summary>Every resource with its change, <see cref="ChangeKind.None"/> included.</summary>
    public required IReadOnlyList<ResourceChange> Resources { get; init; }

    /// <summary>Nodes placement could not put anywhere; <c>up</c> refuses to start while there are any.</summary>
    public required IReadOnlyList<UnplacedNode> Unplaced { get; init; }

    /// <summary>Non-fatal remarks (e.g. which NVMe strategy each host uses and what it implies).</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>Whether anything would change.</summary>
    public bool HasChanges => Resources.Any(r => r.Change != ChangeKind.None);

    /// <summary>The resources that change.</summary>
    public IEnumerable<ResourceChange> Changes => Resources.Where(r => r.Change != ChangeKind.None);
}
