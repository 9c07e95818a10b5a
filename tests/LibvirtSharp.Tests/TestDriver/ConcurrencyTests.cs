namespace LibvirtSharp.Tests.TestDriver;

public sealed class ConcurrencyTests
{
    [Fact]
    public async Task DefineDomains_ConcurrentlyFromManyThreadsOverOneConnection_AllSucceed()
    {
        using var conn = TestDriverConnection.Open();
        const int threads = 8;
        const int perThread = 40;
        using var start = new Barrier(threads);

        var workers = Enumerable.Range(0, threads).Select(t => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            var uuids = new List<Guid>();
            for (var i = 0; i < perThread; i++)
            {
                using var domain = conn.DefineDomain(TestXml.TestDomain($"lvtest-conc-{t}-{i}"));
                domain.Start();
                domain.SetMetadata(TestXml.MetadataNamespace, "lvt", TestXml.Metadata($"t{t}"));
                Assert.Equal(DomainState.Running, domain.GetState());
                Assert.Throws<LibvirtException>(() => conn.LookupDomain($"lvtest-conc-missing-{t}-{i}"));
                uuids.Add(domain.Uuid);
            }

            return uuids;
        }, TestContext.Current.CancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();

        var all = (await Task.WhenAll(workers)).SelectMany(u => u).ToList();

        Assert.Equal(threads * perThread, all.Distinct().Count());
        var listed = conn.ListDomains(DomainListFilter.Active | DomainListFilter.Persistent);
        try
        {
            Assert.Superset(all.ToHashSet(), listed.Select(d => d.Uuid).ToHashSet());
        }
        finally
        {
            foreach (var d in listed)
            {
                d.Dispose();
            }
        }

        // Tear down concurrently as well.
        await Parallel.ForEachAsync(all, new ParallelOptions { MaxDegreeOfParallelism = threads }, (uuid, _) =>
        {
            using var domain = conn.LookupDomain(uuid);
            domain.Destroy();
            domain.Undefine();
            return ValueTask.CompletedTask;
        });
        Assert.All(all, uuid => Assert.Null(conn.TryLookupDomain(uuid)));
    }
}
