using System.Diagnostics;
using System.Globalization;

namespace Provisioner.Bench;

/// <summary>
/// Start-up of pulumi-resource-provisioner as the Pulumi engine sees it: from process start to the port line on
/// stdout (the engine starts the plugin for every preview, up and refresh). Timed side by side, interleaved, with
/// a trivial .NET process that prints one line (this benchmark program started with <see cref="HelloArgument"/>),
/// so the ratio says what the plugin adds over the runtime's own start. Goal: under 300 ms absolute. Also timed: start
/// to the first answered GetPluginInfo call, the engine's next step after reading the port.
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
        var answers = plugins.ToDictionary(p => p.Name, _ => new List<double>(), StringComparer.Ordinal);
        var baseline = new List<double>();
        for (var i = 0; i < options.Warmup + options.Reps; i++)
        {
            var timed = i >= options.Warmup;
            var (b, _) = await TimeStartAsync(self, selfArgs, callPluginInfo: false, cancellationToken);
            foreach (var (name, path, _) in plugins)
            {
                var (line, answer) = await TimeStartAsync(path, ["127.0.0.1:1"], callPluginInfo: true, cancellationToken);
                if (timed)
                {
                    times[name].Add(line);
                    answers[name].Add(answer);
                }
            }

            if (timed)
            {
                baseline.Add(b);
            }

            await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"pluginstart {(timed ? "rep" : "warmup")} {i + 1}: hello {b:F0} ms, {string.Join(", ", plugins.Select(p => timed ? $"{p.Name} {times[p.Name][^1]:F0} ms (answers {answers[p.Name][^1]:F0} ms)" : p.Name))}"));
        }

        var baseSeries = new Series("dotnet-hello", "a .NET console process printing one line (this program with --hello), start to line", baseline);
        var series = plugins.Select(p => new Series(p.Name, p.Description, times[p.Name])).ToList();
        series.AddRange(plugins.Select(p => new Series(p.Name + "-answer", "start to the first answered GetPluginInfo call on the printed port (what the engine waits for)", answers[p.Name])));
        var facts = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["goal"] = string.Create(CultureInfo.InvariantCulture, $"plugin start to port line < {GoalMilliseconds} ms"),
        };
        foreach (var s in series.Where(s => !s.Name.EndsWith("-answer", StringComparison.Ordinal)))
        {
            facts[s.Name + " goal met"] = s.Median < GoalMilliseconds ? "yes" : string.Create(CultureInfo.InvariantCulture, $"NO ({s.Median:F0} ms)");
        }

        return new BenchResult("pluginstart", [.. series, baseSeries], [.. series.Select(s => BenchResult.RatioOf("plugin vs hello", s, baseSeries, null))], facts);
    }

    /// <summary>
    /// Starts <paramref name="path"/> and returns the milliseconds until its first stdout line and, with
    /// <paramref name="callPluginInfo"/>, until that line's port answered a gRPC GetPluginInfo call; then stops it.
    /// </summary>
    private static async Task<(double Line, double Answer)> TimeStartAsync(string path, IReadOnlyList<string> args, bool callPluginInfo, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        var watch = Stopwatch.StartNew();
        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start " + path);
        try
        {
            process.ErrorDataReceived += (_, _) => { };
            process.BeginErrorReadLine();
            var line = await process.StandardOutput.ReadLineAsync(cancellationToken)
                ?? throw new InvalidOperationException($"{path} printed nothing on stdout");
            var lineMs = watch.Elapsed.TotalMilliseconds;
            if (!callPluginInfo)
            {
                return (lineMs, double.NaN);
            }

            await CallPluginInfoAsync(int.Parse(line, CultureInfo.InvariantCulture), cancellationToken);
            return (lineMs, watch.Elapsed.TotalMilliseconds);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            await process.WaitForExitAsync(cancellationToken);
        }
    }

    /// <summary>
    /// pulumirpc.ResourceProvider/GetPluginInfo over HTTP/2 without TLS, as the engine's gRPC client sends it: one
    /// length-prefixed empty message (google.protobuf.Empty). A plain HttpClient keeps gRPC stubs out of the benchmark.
    /// </summary>
    private static async Task CallPluginInfoAsync(int port, CancellationToken cancellationToken)
    {
        using var client = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{port}/pulumirpc.ResourceProvider/GetPluginInfo")
        {
            Version = System.Net.HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent([0, 0, 0, 0, 0]),
        };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/grpc");
        request.Headers.TE.ParseAdd("trailers");
        using var response = await client.SendAsync(request, cancellationToken);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        var status = response.TrailingHeaders.TryGetValues("grpc-status", out var values) ? values.First() : response.Headers.TryGetValues("grpc-status", out var early) ? early.First() : null;
        if (!response.IsSuccessStatusCode || status != "0" || body.Length < 5)
        {
            throw new InvalidOperationException($"GetPluginInfo on port {port} failed: HTTP {(int)response.StatusCode}, grpc-status {status ?? "(none)"}, {body.Length} bytes");
        }
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
