using System.Text.Json.Serialization;

namespace Provisioner.Core.Audit;

/// <summary>The outcome of one audit check on one node.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AuditStatus>))]
public enum AuditStatus
{
    /// <summary>Found what was expected.</summary>
    Pass,

    /// <summary>Found something else: the node is not hardened as declared.</summary>
    Fail,

    /// <summary>
    /// Differs from the hardened baseline because the stack overrides it, with a reason (shown in the
    /// note); not a failure.
    /// </summary>
    Waived,

    /// <summary>Does not apply to this node (e.g. the DOCKER-USER chain under Docker's nftables backend).</summary>
    NotApplicable,

    /// <summary>The check could not run or its output could not be read; counts as a failure.</summary>
    Error,
}

/// <summary>A read-only command an audit check runs on the node (as root), as an argument vector.</summary>
/// <param name="Argv">Program and arguments; never built from user input.</param>
public sealed record AuditProbe(IReadOnlyList<string> Argv)
{
    /// <summary>A probe running <paramref name="program"/> with <paramref name="arguments"/>.</summary>
    public static AuditProbe Of(string program, params string[] arguments) => new([program, .. arguments]);

    /// <summary>A key for running identical probes once per node.</summary>
    public string Key => string.Join('\0', Argv);

    /// <inheritdoc />
    public bool Equals(AuditProbe? other) => other is not null && Argv.SequenceEqual(other.Argv, StringComparer.Ordinal);

    /// <inheritdoc />
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Key);

    /// <inheritdoc />
    public override string ToString() => string.Join(' ', Argv);
}

/// <summary>What a probe printed and how it exited.</summary>
/// <param name="ExitCode">Exit status.</param>
/// <param name="StdOut">Standard output.</param>
/// <param name="StdErr">Standard error.</param>
public sealed record ProbeOutput(int ExitCode, string StdOut, string StdErr)
{
    /// <summary>Whether the probe exited 0.</summary>
    public bool Succeeded => ExitCode == 0;

    /// <summary>The first line of standard error, or the exit code, for an error message.</summary>
    public string ErrorSummary
    {
        get
        {
            var line = StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
            return line is null ? $"exit code {ExitCode}" : $"exit code {ExitCode}: {line}";
        }
    }
}

/// <summary>An evaluator's verdict on probe output.</summary>
/// <param name="Status">Pass, fail, waived, not applicable or error.</param>
/// <param name="Found">What was found, in a form comparable with the check's expected text.</param>
/// <param name="Note">Context: an override's reason, a known false positive that was recognised, why it does not apply.</param>
public sealed record AuditFinding(AuditStatus Status, string Found, string? Note = null)
{
    /// <summary>A pass.</summary>
    public static AuditFinding Pass(string found, string? note = null) => new(AuditStatus.Pass, found, note);

    /// <summary>A failure.</summary>
    public static AuditFinding Fail(string found, string? note = null) => new(AuditStatus.Fail, found, note);

    /// <summary>An error reading the node.</summary>
    public static AuditFinding Error(string found, string? note = null) => new(AuditStatus.Error, found, note);

    /// <summary>Not applicable.</summary>
    public static AuditFinding NotApplicable(string found, string note) => new(AuditStatus.NotApplicable, found, note);
}

/// <summary>
/// One audit check: what it verifies, the commands it reads the node with, what is expected, and a pure
/// evaluator turning the commands' output into a finding (unit-testable with recorded output).
/// </summary>
public sealed record AuditCheck
{
    /// <summary>Stable id, e.g. <c>docker.icc</c> or <c>firewall.input-policy</c>.</summary>
    public required string Id { get; init; }

    /// <summary>The item id in <see cref="AuditChecks.CisBenchmark"/> (e.g. <c>2.2</c>), or <see langword="null"/> where the benchmark has none.</summary>
    public string? CisId { get; init; }

    /// <summary>What is checked.</summary>
    public required string Title { get; init; }

    /// <summary>What a hardened node shows.</summary>
    public required string Expected { get; init; }

    /// <summary>The commands whose output the evaluator reads, in order.</summary>
    public required IReadOnlyList<AuditProbe> Probes { get; init; }

    /// <summary>Turns the probes' outputs (same order as <see cref="Probes"/>) into a finding. Pure.</summary>
    public required Func<IReadOnlyList<ProbeOutput>, AuditFinding> Evaluate { get; init; }

    /// <summary>
    /// A finding generic scanners report here that is not a problem on our nodes, and why; the evaluator
    /// already accounts for it.
    /// </summary>
    public string? KnownFalsePositive { get; init; }

    /// <summary>Evaluates, turning an evaluator crash on unexpected output into an <see cref="AuditStatus.Error"/>.</summary>
    public AuditResult Run(IReadOnlyList<ProbeOutput> outputs)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        AuditFinding finding;
        try
        {
            finding = outputs.Count != Probes.Count
                ? AuditFinding.Error($"{outputs.Count} outputs for {Probes.Count} probes")
                : Evaluate(outputs);
        }
        catch (Exception e) when (e is FormatException or System.Text.Json.JsonException or InvalidOperationException or KeyNotFoundException or IndexOutOfRangeException or ArgumentException)
        {
            finding = AuditFinding.Error("unreadable output", e.Message);
        }
        return new AuditResult
        {
            Id = Id,
            CisId = CisId,
            Title = Title,
            Expected = Expected,
            Found = finding.Found,
            Status = finding.Status,
            Note = finding.Note,
        };
    }
}

/// <summary>The result of one check on one node.</summary>
public sealed record AuditResult
{
    /// <summary>Check id.</summary>
    public required string Id { get; init; }

    /// <summary>CIS Docker Benchmark item, if any.</summary>
    public string? CisId { get; init; }

    /// <summary>What was checked.</summary>
    public required string Title { get; init; }

    /// <summary>What was expected.</summary>
    public required string Expected { get; init; }

    /// <summary>What was found.</summary>
    public required string Found { get; init; }

    /// <summary>Outcome.</summary>
    public required AuditStatus Status { get; init; }

    /// <summary>Context, or <see langword="null"/>.</summary>
    public string? Note { get; init; }

    /// <summary>Whether the result counts as a failure (fail or error).</summary>
    [JsonIgnore]
    public bool IsFailure => Status is AuditStatus.Fail or AuditStatus.Error;
}

/// <summary>The audit of one node.</summary>
public sealed record AuditReport
{
    /// <summary>Node name.</summary>
    public required string Node { get; init; }

    /// <summary>One result per check, in check order.</summary>
    public required IReadOnlyList<AuditResult> Results { get; init; }

    /// <summary>Whether no check failed or errored.</summary>
    public bool Passed => !Results.Any(r => r.IsFailure);

    /// <summary>Number of results with <paramref name="status"/>.</summary>
    public int Count(AuditStatus status) => Results.Count(r => r.Status == status);
}
