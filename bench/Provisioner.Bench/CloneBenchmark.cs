namespace Provisioner.Bench;
internal static class CloneBenchmark
{
    public static Task<BenchResult?> RunAsync(BenchOptions options, CancellationToken cancellationToken) => Task.FromResult<BenchResult?>(null);
}
