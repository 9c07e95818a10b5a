using System.Text.Json;
using System.Text.Json.Serialization;
using Provisioner.Engine.Planning;

namespace Provisioner.Cli.Output;

/// <summary>A node as printed (table or JSON): the engine's status plus how to log in.</summary>
public sealed record NodeOutput
{
    /// <summary>Node name.</summary>
    public required string Name { get; init; }

    /// <summary>Host it runs on.</summary>
    public required string Host { get; init; }

    /// <summary>Role.</summary>
    public required string Role { get; init; }

    /// <summary>IPv4 address.</summary>
    public string? Address { get; init; }

    /// <summary>Run state.</summary>
    public required string State { get; init; }

    /// <summary>Whether first boot finished.</summary>
    public required bool Ready { get; init; }

    /// <summary>Pinned host key fingerprint.</summary>
    public required string HostKeyFingerprint { get; init; }

    /// <summary>Creation time.</summary>
    public required DateTimeOffset Created { get; init; }

    /// <summary>Expiry (sandboxes).</summary>
    public DateTimeOffset? Expires { get; init; }

    /// <summary>The ssh command line that logs in with the pinned host key, when the node has an address.</summary>
    public string? SshCommand { get; init; }
}

/// <summary><c>preview --json</c>.</summary>
public sealed record PreviewOutput(string Stack, bool HasChanges, StackPlan Plan);

/// <summary><c>up --json</c>.</summary>
public sealed record UpOutput(string Stack, bool Changed, StackPlan Plan, IReadOnlyList<NodeOutput> Nodes, IReadOnlyList<PhaseOutput> Phases);

/// <summary>What one phase after <c>up</c> did (the audit, the Kubernetes bootstrap).</summary>
public sealed record PhaseOutput(string Phase, bool Changed, bool Failed, string Summary, IReadOnlyList<string> Details)
{
    /// <summary>The output of <paramref name="result"/> (secrets are never included).</summary>
    public static PhaseOutput From(Provisioner.Engine.Phases.StackPhaseResult result)
    {
        System.ArgumentNullException.ThrowIfNull(result);
        return new(result.Phase, result.Changed, result.Failed, result.Summary, result.Details);
    }
}

/// <summary><c>destroy --json</c>.</summary>
public sealed record DestroyOutput(string Stack, IReadOnlyList<ResourceChange> Removed);

/// <summary><c>status --json</c>.</summary>
public sealed record StatusOutput(string Stack, bool MatchesDefinition, StackPlan Plan, IReadOnlyList<NodeOutput> Nodes);

/// <summary>One validation problem in a JSON error document.</summary>
public sealed record ValidationErrorOutput(string Path, string Message, string? Location);

/// <summary>The JSON document printed on stdout when a command fails under <c>--json</c>.</summary>
public sealed record ErrorOutput(string Error, int ExitCode, IReadOnlyList<ValidationErrorOutput>? ValidationErrors = null, IReadOnlyList<UnplacedNode>? Unplaced = null);

/// <summary>A sandbox as listed.</summary>
public sealed record SandboxOutput
{
    /// <summary>Sandbox (node) name.</summary>
    public required string Name { get; init; }

    /// <summary>IPv4 address.</summary>
    public string? Address { get; init; }

    /// <summary>Run state.</summary>
    public required string State { get; init; }

    /// <summary>Creation time.</summary>
    public required DateTimeOffset Created { get; init; }

    /// <summary>Expiry.</summary>
    public DateTimeOffset? Expires { get; init; }

    /// <summary>Whether it has expired (reap removes it).</summary>
    public required bool Expired { get; init; }

    /// <summary>Login command.</summary>
    public string? SshCommand { get; init; }

    /// <summary>Published ports the sandbox's firewall opens, and to which sources.</summary>
    public IReadOnlyList<SandboxPortOutput> PublishedPorts { get; init; } = [];
}

/// <summary>One published port of a sandbox: <c>8080</c>, <c>tcp</c>, the source networks allowed.</summary>
public sealed record SandboxPortOutput(int Port, string Protocol, IReadOnlyList<string> From);

/// <summary><c>sandbox up --json</c>.</summary>
public sealed record SandboxUpOutput(SandboxOutput Sandbox, IReadOnlyList<PhaseOutput> Phases);

/// <summary><c>sandbox list --json</c>.</summary>
public sealed record SandboxListOutput(IReadOnlyList<SandboxOutput> Sandboxes);

/// <summary><c>sandbox destroy/reap --json</c>.</summary>
public sealed record SandboxRemovedOutput(IReadOnlyList<string> Removed);

/// <summary><c>sandbox run --json</c>.</summary>
public sealed record SandboxRunOutput(string Sandbox, IReadOnlyList<string> Argv, IReadOnlyList<string> Relaxations, int ExitCode, string Output);

/// <summary>Source-generated serialization for everything <c>--json</c> prints.</summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    WriteIndented = true,
    UseStringEnumConverter = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(PreviewOutput))]
[JsonSerializable(typeof(UpOutput))]
[JsonSerializable(typeof(DestroyOutput))]
[JsonSerializable(typeof(StatusOutput))]
[JsonSerializable(typeof(ErrorOutput))]
[JsonSerializable(typeof(SandboxUpOutput))]
[JsonSerializable(typeof(SandboxListOutput))]
[JsonSerializable(typeof(SandboxOutput))]
[JsonSerializable(typeof(SandboxRemovedOutput))]
[JsonSerializable(typeof(SandboxRunOutput))]
public sealed partial class CliJsonContext : JsonSerializerContext;
