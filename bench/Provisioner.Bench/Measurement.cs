using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Provisioner.Bench;

/// <summary>How many repetitions to time, how many to run first untimed, where JSON goes.</summary>
internal sealed record BenchOptions(int Reps, int Warmup, string ResultsDirectory);

/// <summary>One timed variant: every repetition's wall-clock time in milliseconds.</summary>
internal sealed record Series(string Name, string Description, IReadOnlyList<double> Milliseconds)
{
    public double Median
    {
        get
        {
            var sorted = Milliseconds.Order().ToArray();
            if (sorted.Length == 0)
            {
                return double.NaN;
            }

            var mid = sorted.Length / 2;
            return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
        }
    }

    public double Min => Milliseconds.Count == 0 ? double.NaN : Milliseconds.Min();

    public double Max => Milliseconds.Count == 0 ? double.NaN : Milliseconds.Max();
}

/// <summary>A ratio of two series' medians, with the goal it is held against (if any).</summary>
internal sealed record Ratio(string Name, string Numerator, string Denominator, double Value, double? Goal)
{
    public bool? Met => Goal is { } goal ? Value <= goal : null;
}

/// <summary>What a benchmark reports: series, ratios, free-form facts about the setup.</summary>
internal sealed record BenchResult(string Name, IReadOnlyList<Series> Series, IReadOnlyList<Ratio> Ratios, IReadOnlyDictionary<string, string> Facts)
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public string ToMarkdown()
    {
        var text = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        text.AppendLine("| variant | median ms | min ms | max ms | reps | what |");
        text.AppendLine("|---|---:|---:|---:|---:|---|");
        foreach (var s in Series)
        {
            text.AppendLine(c, $"| {s.Name} | {s.Median:F1} | {s.Min:F1} | {s.Max:F1} | {s.Milliseconds.Count} | {s.Description} |");
        }

        if (Ratios.Count > 0)
        {
            text.AppendLine();
            text.AppendLine("| ratio | value | goal | met |");
            text.AppendLine("|---|---:|---:|---|");
            foreach (var r in Ratios)
            {
                var goal = r.Goal is { } g ? string.Create(c, $"<= {g:F2}") : "-";
                var met = r.Met switch { true => "yes", false => "NO", null => "-" };
                text.AppendLine(c, $"| {r.Name} ({r.Numerator} / {r.Denominator}) | {r.Value:F3} | {goal} | {met} |");
            }
        }

        if (Facts.Count > 0)
        {
            text.AppendLine();
            foreach (var (key, value) in Facts)
            {
                text.AppendLine(c, $"- {key}: {value}");
            }
        }

        return text.ToString();
    }

    public async Task<string> WriteJsonAsync(string directory, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, Name + ".json");
        var document = new
        {
            name = Name,
            machine = new { Environment.ProcessorCount, os = Environment.OSVersion.ToString(), runtime = Environment.Version.ToString() },
            series = Series.Select(s => new { name = s.Name, description = s.Description, milliseconds = s.Milliseconds, median = s.Median, min = s.Min, max = s.Max }),
            ratios = Ratios.Select(r => new { name = r.Name, numerator = r.Numerator, denominator = r.Denominator, value = r.Value, goal = r.Goal, met = r.Met }),
            facts = Facts,
        };
        var stream = File.Create(path);
        await using (stream)
        {
            await JsonSerializer.SerializeAsync(stream, document, Json, cancellationToken);
        }

        return path;
    }

    public static Ratio RatioOf(string name, Series numerator, Series denominator, double? goal) =>
        new(name, numerator.Name, denominator.Name, numerator.Median / denominator.Median, goal);
}

/// <summary>Times async work with a <see cref="Stopwatch"/>.</summary>
internal static class Timing
{
    public static async Task<double> TimeAsync(Func<Task> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        var watch = Stopwatch.StartNew();
        await work();
        return watch.Elapsed.TotalMilliseconds;
    }

    public static double Time(Action work)
    {
        ArgumentNullException.ThrowIfNull(work);
        var watch = Stopwatch.StartNew();
        work();
        return watch.Elapsed.TotalMilliseconds;
    }
}
