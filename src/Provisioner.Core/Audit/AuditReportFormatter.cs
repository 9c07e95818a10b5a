using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Provisioner.Core.Audit;

/// <summary>Renders audit reports for people (a table and a summary) and for machines (JSON).</summary>
public static class AuditReportFormatter
{
    private static readonly string[] Header = ["NODE", "CHECK", "CIS", "STATUS", "EXPECTED", "FOUND"];

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter<AuditStatus>(JsonNamingPolicy.KebabCaseLower) },
    };

    /// <summary>
    /// JSON for <c>provisioner audit --json</c>: <c>{"benchmark", "passed", "nodes": [{"node", "passed", "results": [...]}]}</c>,
    /// statuses as <c>pass</c>, <c>fail</c>, <c>waived</c>, <c>not-applicable</c>, <c>error</c>.
    /// </summary>
    public static string ToJson(IReadOnlyList<AuditReport> reports)
    {
        ArgumentNullException.ThrowIfNull(reports);
        var document = new
        {
            benchmark = AuditChecks.CisBenchmark,
            passed = reports.All(r => r.Passed),
            nodes = reports.Select(r => new { node = r.Node, passed = r.Passed, results = r.Results }),
        };
        return JsonSerializer.Serialize(document, JsonOptions) + "\n";
    }

    /// <summary>A plain-text table: node, id, CIS id, status, expected, found (and notes under the row).</summary>
    public static string ToTable(IReadOnlyList<AuditReport> reports)
    {
        ArgumentNullException.ThrowIfNull(reports);
        var rows = new List<string[]> { Header };
        var notes = new Dictionary<int, string>();
        foreach (var report in reports)
        {
            foreach (var result in report.Results)
            {
                rows.Add([report.Node, result.Id, result.CisId ?? "-", StatusText(result.Status), result.Expected, result.Found]);
                if (result.Note is not null && result.Status != AuditStatus.Pass)
                {
                    notes[rows.Count - 1] = result.Note;
                }
            }
        }

        // The last two columns can be long; they are left unpadded at the end of the line.
        var widths = Enumerable.Range(0, 4).Select(c => rows.Max(r => r[c].Length)).ToArray();
        var builder = new StringBuilder();
        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            for (var c = 0; c < 4; c++)
            {
                builder.Append(row[c].PadRight(widths[c])).Append("  ");
            }
            builder.Append(row[4]).Append("  |  ").Append(row[5]).Append('\n');
            if (notes.TryGetValue(i, out var note))
            {
                builder.Append(' ', widths[0] + 2).Append("note: ").Append(note).Append('\n');
            }
        }
        builder.Append('\n').Append(Summary(reports));
        return builder.ToString();
    }

    /// <summary>One line per node and a verdict, e.g. <c>cp-1: 41 pass, 1 waived, 0 fail, 0 error</c>; what <c>up</c> shows at its end.</summary>
    public static string Summary(IReadOnlyList<AuditReport> reports)
    {
        ArgumentNullException.ThrowIfNull(reports);
        var builder = new StringBuilder();
        foreach (var report in reports)
        {
            builder.Append(CultureInfo.InvariantCulture,
                $"{report.Node}: {report.Count(AuditStatus.Pass)} pass, {report.Count(AuditStatus.Waived)} waived, {report.Count(AuditStatus.NotApplicable)} not applicable, {report.Count(AuditStatus.Fail)} fail, {report.Count(AuditStatus.Error)} error\n");
        }
        var failed = reports.Where(r => !r.Passed).Select(r => r.Node).ToList();
        builder.Append(failed.Count == 0
            ? $"audit passed ({AuditChecks.CisBenchmark} ids where one exists)\n"
            : $"audit FAILED on {string.Join(", ", failed)}\n");
        return builder.ToString();
    }

    private static string StatusText(AuditStatus status) => status switch
    {
        AuditStatus.Pass => "pass",
        AuditStatus.Fail => "FAIL",
        AuditStatus.Waived => "waived",
        AuditStatus.NotApplicable => "n/a",
        AuditStatus.Error => "ERROR",
        _ => status.ToString(),
    };
}
