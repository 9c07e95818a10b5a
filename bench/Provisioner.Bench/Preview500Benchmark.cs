using System.Globalization;
using LibvirtSharp;
using Provisioner.Core.Templates;

namespace Provisioner.Bench;

/// <summary>
/// A converged no-op <c>preview</c> of the 500-node stack after one <c>up</c>: absolute time (goal under
/// a second) and the ratio against the least any stateless planner must do, which is to list each
/// host's domains and read every domain's metadata and inactive XML once (hosts in parallel, as the
/// engine reads them).
/// </summary>
internal static class Preview500Benchmark
{
    private const double GoalMilliseconds = 1000;

    public static async Task<BenchResult?> RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        using var image = BenchImage.Create();
        var templates = TemplateRenderer.CreateDefault();
        using var lab = new TestDriverLab(Up500Benchmark.Hosts, image.Path);
        var stack = lab.Stack(Up500Benchmark.Groups, Up500Benchmark.PerGroup);
        var engine = lab.Engine(templates, Up500Benchmark.MaxParallelism);
        await engine.UpAsync(stack, cancellationToken);
        Up500Benchmark.Verify(lab);

        var preview = new List<double>();
        var raw = new List<double>();
        for (var i = 0; i < options.Warmup + options.Reps; i++)
        {
            var timed = i >= options.Warmup;
            var r = Timing.Time(() => ReadEverything(lab));
            var plan = default(Engine.Planning.StackPlan);
            var e = await Timing.TimeAsync(async () => plan = await engine.PreviewAsync(stack, cancellationToken));
            if (plan!.HasChanges)
            {
                throw new InvalidOperationException("preview after up is not a no-op: " + string.Join("; ", plan.Changes.Select(c => $"{c.Kind} {c.Name} {c.Change} {c.Reason}")));
            }

            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  preview500 {(timed ? "rep" : "warmup")} {i + 1 - (timed ? options.Warmup : 0)}: preview {e:F0} ms, raw read {r:F0} ms"));
            if (timed)
            {
                preview.Add(e);
                raw.Add(r);
            }
        }

        var previewSeries = new Series("preview", "StackEngine.PreviewAsync on the converged stack (no changes)", preview);
        var rawSeries = new Series("raw-read", "list domains + GetMetadata + GetXml(inactive) of each, hosts in parallel", raw);
        return new BenchResult(
            "preview500",
            [previewSeries, rawSeries],
            [BenchResult.RatioOf("preview vs minimal read", previewSeries, rawSeries, null)],
            new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["stack"] = $"{Up500Benchmark.Groups * Up500Benchmark.PerGroup} nodes over {Up500Benchmark.Hosts} test-driver hosts, after one up",
                ["goal"] = string.Create(CultureInfo.InvariantCulture, $"preview median under {GoalMilliseconds:F0} ms: {(previewSeries.Median < GoalMilliseconds ? "met" : "NOT met")}"),
                ["connections"] = "kept open by the CachingHostConnector for both variants (the test driver's state lives in them)",
            });
    }

    private static void ReadEverything(TestDriverLab lab)
    {
        var read = 0;
        Parallel.ForEach(lab.HostNames, host =>
        {
            foreach (var domain in lab.Connection(host).ListDomains())
            {
                using (domain)
                {
                    var metadata = domain.GetMetadata(ProvisionerXml.NodeNamespace, DomainModificationImpact.Config);
                    var xml = domain.GetXml(DomainXmlFlags.Inactive);
                    if (metadata is not null && xml.Length > 0)
                    {
                        Interlocked.Increment(ref read);
                    }
                }
            }
        });

        if (read != Up500Benchmark.Groups * Up500Benchmark.PerGroup)
        {
            throw new InvalidOperationException($"raw read found {read} domains with metadata");
        }
    }
}
