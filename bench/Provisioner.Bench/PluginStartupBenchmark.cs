using System.Diagnostics;
using System.Globalization;

namespace Provisioner.Bench;

/// <summary>
/// Start-up of pulumi-resource-provisioner as the Pulumi engine sees it: from process start to the port line on
/// stdout (the engine starts the plugin for every preview, up and refresh). Timed side by side, interleaved, with
/// a trivial .NET process that prints one line (this benchmark program started with <see cref="HelloArgument"/>),
/// so the ratio says what the plugin adds over the runtime's own start. Goal: under 300 ms absolute.
/// Build the plugin first: <c>dotnet publish src/Provisioner.Pulumi -c Release -o artifacts/pulumi-provider</c>
/// (ReadyToRun), and/or <c>dotnet build -c Release src/Provisioner.Pulumi</c> (JIT only).
/// </summary>
internal static class PluginStartupBenchmark
{
    /// <summary>Makes this program print one line and exit: the baseline process.</summary>
    public const string HelloArgument = "--hello";

    private const double GoalMilliseconds = 300;

    public static async Task<BenchResult?> RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        var root = RepoRoot();
        var candidates = new (string Name, string Path, string Description)[]
        {
            ("plugin-published", System.IO.Path.Combine(root, "artifacts", "pulumi-provider", "pulumi-resource-provisioner"), "dotnet publish -c Release (ReadyToRun), start to port line"),
            ("plugin-build", System.IO.Path.Combine(root, "src", "Provisioner.Pulumi", "bin", "Release", "net10.0", "pulumi-resource-provisioner"), "dotnet build -c Release (JIT), start to port line"),
        };
        var plugins = candidates.Where(c => File.Exists(c.Path)).ToList();
        if (plugins.Count == 0)
        {
            Console.WriteLine($"pluginstart: SKIPPED: no built plugin at {string.Join(" or ", candidates.Select(c => c.Path))}");
            Console.WriteLine();
            return null;
        }

        var self = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        var selfArgs = self.EndsWith("dotnet", StringComparison.Ordinal) ? [typeof(PluginStartupBenchmark).Assembly.Location, HelloArgument] : new[] { HelloArgument };
        var times = plugins.ToDictionary(p => p.Name, _ => new List<double>(), StringComparer.Ordinal);
        var baseline = new List<double>();
        for (var i = 0; i < options.Warmup + options.Reps; i++)
        {
            var timed = i >= options.Warmup;
            var b = await TimeToFirstLineAsync(self, selfArgs, cancellationToken);
            foreach (var (name, path, _) in plugins)
            {
                var t = await TimeToFirstLineAsync(path, ["127.0.0.1:1"], cancellationToken);
                if (timed)
                {
                    times[name].Add(t);
                }
            }

            if (timed)
            {
                baseline.Add(b);
            }

            await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"pluginstart {(timed ? "rep" : "warmup")} {i + 1}: hello {b:F0} ms, {string.Join(", ", plugins.Select(p => $"{p.Name} {(timed ? times[p.Name][^1] : double.NaN):F0} ms"))}"));
        }

        var baseSeries = new Series("dotnet-hello", "a .NET console process printing one line (this program with --hello), start to line", baseline);
        var series = plugins.Select(p => new Series(p.Name, p.Description, times[p.Name])).ToList();
        var facts = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["goal"] = string.Create(CultureInfo.InvariantCulture, $"plugin start to port line < {GoalMilliseconds} ms"),
        };
        foreach (var s in series)
        {
            facts[s.Name + " goal met"] = s.Median < GoalMilliseconds ? "yes" : string.Create(CultureInfo.InvariantCulture, $"NO ({s.Median:F0} ms)");
        }

        return new BenchResult("pluginstart", [.. series, baseSeries], [.. series.Select(s => BenchResult.RatioOf("plugin vs hello", s, baseSeries, null))], facts);
    }

    /// <summary>Starts <paramref name="path"/> and returns the milliseconds until its first stdout line; then stops it.</summary>
    private static async Task<double> TimeToFirstLineAsync(string path, IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        var watch = Stopwatch.StartNew();
        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start " + path);
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        var line = await process.StandardOutput.ReadLineAsync(cancellationToken);
        var elapsed = watch.Elapsed.TotalMilliseconds;
        if (line is null)
        {
            throw new InvalidOperationException($"{path} printed nothing on stdout");
        }

        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }

        await process.WaitForExitAsync(cancellationToken);
        return elapsed;
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Provisioner.sln")))
            {
                return dir.FullName;
            }
        }

        return Directory.GetCurrentDirectory();
    }
}
