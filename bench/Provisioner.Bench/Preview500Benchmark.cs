namespace Provisioner.Bench;
internal static class Preview500Benchmark
{
    public static Task<BenchResult?> RunAsync(BenchOptions options, CancellationToken cancellationToken) => Task.FromResult<BenchResult?>(null);
}
