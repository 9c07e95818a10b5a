using System.Globalization;
using Provisioner.Bench;

// Usage: dotnet run -c Release --project bench/Provisioner.Bench -- <up500|preview500|clone|pluginstart|sandbox-split|all> [--reps N] [--warmup N] [--results DIR]
if (args is [PluginStartupBenchmark.HelloArgument])
{
    // The baseline process of pluginstart: a .NET program that prints one line.
    Console.WriteLine("hello");
    return 0;
}

var which = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? "all";
var reps = IntOption(args, "--reps", 5);
var warmup = IntOption(args, "--warmup", 1);
var resultsDir = StringOption(args, "--results") ?? Path.Combine(FindBenchDirectory(), "results");

var options = new BenchOptions(reps, warmup, resultsDir);
var all = new Dictionary<string, Func<BenchOptions, CancellationToken, Task<BenchResult?>>>(StringComparer.Ordinal)
{
    ["up500"] = Up500Benchmark.RunAsync,
    ["preview500"] = Preview500Benchmark.RunAsync,
    ["clone"] = CloneBenchmark.RunAsync,
    ["pluginstart"] = PluginStartupBenchmark.RunAsync,
    // Boots a real TCG guest (minutes): only when asked for by name, never as part of "all".
    ["sandbox-split"] = SandboxSplitBenchmark.RunAsync,
};
string[] notInAll = ["sandbox-split"];

if (which != "all" && !all.ContainsKey(which))
{
    await Console.Error.WriteLineAsync($"unknown benchmark '{which}'; choose one of: {string.Join(", ", all.Keys)}, all");
    return 2;
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

var exit = 0;
foreach (var (name, run) in all.Where(b => which == "all" ? !notInAll.Contains(b.Key) : b.Key == which))
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"## {name} (reps {reps}, warmup {warmup})"));
    Console.WriteLine();
    try
    {
        var result = await run(options, cancel.Token);
        if (result is null)
        {
            continue; // Skipped; the benchmark said why.
        }

        Console.WriteLine(result.ToMarkdown());
        var path = await result.WriteJsonAsync(resultsDir, cancel.Token);
        Console.WriteLine($"raw timings: {path}");
        Console.WriteLine();
    }
    catch (Exception ex) when (ex is not OperationCanceledException)
    {
        await Console.Error.WriteLineAsync($"{name} failed: {ex}");
        exit = 1;
    }
}

return exit;

static int IntOption(string[] args, string name, int fallback)
{
    var text = StringOption(args, name);
    return text is null ? fallback
        : int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= 0 ? value
        : throw new ArgumentException($"{name}: '{text}' is not a non-negative whole number");
}

static string? StringOption(string[] args, string name)
{
    var i = Array.IndexOf(args, name);
    return i < 0 ? null : i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{name} needs a value");
}

// bench/results next to this project when run from the repository; the current directory otherwise.
static string FindBenchDirectory()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "Provisioner.Bench", "Provisioner.Bench.csproj")))
        {
            return dir.FullName;
        }
    }

    return Directory.GetCurrentDirectory();
}
