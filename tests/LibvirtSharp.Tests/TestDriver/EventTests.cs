namespace LibvirtSharp.Tests.TestDriver;

public sealed class EventTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task WatchDomainLifecycleAsync_TestDriver_StreamsEventsInOrder()
    {
        using var conn = TestDriverConnection.Open();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(s_timeout);
        var events = conn.WatchDomainLifecycleAsync(cts.Token);

        using (var domain = conn.DefineDomain(TestXml.TestDomain("lvtest-events")))
        {
            domain.Start();
            domain.Suspend();
            domain.Resume();
            domain.Destroy();
            domain.Undefine();
        }

        var seen = new List<string>();
        try
        {
            await foreach (var e in events)
            {
                seen.Add($"{e.DomainName}:{e.EventType}");
                if (e.DomainName == "lvtest-events" && e.EventType == DomainEventType.Undefined)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException)
        {
            Assert.Fail("timed out; saw " + string.Join(", ", seen));
        }

        Assert.Equal(
            ["lvtest-events:Defined", "lvtest-events:Started", "lvtest-events:Suspended", "lvtest-events:Resumed",
             "lvtest-events:Stopped", "lvtest-events:Undefined"],
            seen);
    }

    [Fact]
    public async Task DomainLifecycleChanged_TestDriver_RaisesDotNetEvent()
    {
        using var conn = TestDriverConnection.Open();
        var stopped = new TaskCompletionSource<DomainLifecycleEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        conn.DomainLifecycleChanged += (sender, e) =>
        {
            Assert.Same(conn, sender);
            if (e.EventType == DomainEventType.Stopped)
            {
                stopped.TrySetResult(e);
            }
        };

        using var domain = conn.LookupDomain("test");
        domain.Destroy();

        var args = await stopped.Task.WaitAsync(s_timeout, TestContext.Current.CancellationToken);
        Assert.Equal("test", args.DomainName);
        Assert.Equal(domain.Uuid, args.DomainUuid);
        Assert.Equal(1, args.Detail); // VIR_DOMAIN_EVENT_STOPPED_DESTROYED
    }

    [Fact]
    public async Task WatchDomainLifecycleAsync_ConnectionDisposed_SequenceEnds()
    {
        var conn = TestDriverConnection.Open();
        var events = conn.WatchDomainLifecycleAsync(TestContext.Current.CancellationToken);

        conn.Dispose();

        var count = 0;
        await foreach (var _ in events.WithCancellation(TestContext.Current.CancellationToken))
        {
            count++;
        }

        Assert.Equal(0, count);
    }

    [Fact]
    public async Task WatchDomainLifecycleAsync_Cancelled_ThrowsOperationCanceled()
    {
        using var conn = TestDriverConnection.Open();
        using var cts = new CancellationTokenSource();
        var events = conn.WatchDomainLifecycleAsync(cts.Token);

        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in events)
            {
            }
        });
    }

    [Fact]
    public void DomainLifecycleChanged_SubscribeAfterDispose_ThrowsObjectDisposed()
    {
        var conn = TestDriverConnection.Open();
        conn.Dispose();

        Assert.Throws<ObjectDisposedException>(() => conn.DomainLifecycleChanged += (_, _) => { });
    }
}
