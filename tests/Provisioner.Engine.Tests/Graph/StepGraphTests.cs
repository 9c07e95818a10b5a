using System.Collections.Concurrent;
using Provisioner.Engine.Graph;

namespace Provisioner.Engine.Tests.Graph;

public sealed class StepGraphTests
{
    [Fact]
    public async Task RunAsync_Dependencies_RunAfterTheirPrerequisites()
    {
        var graph = new StepGraph();
        var order = new ConcurrentQueue<string>();
        graph.Add("pool", "pool", [], _ => Record(order, "pool"));
        graph.Add("image", "image", ["pool"], _ => Record(order, "image"));
        graph.Add("net", "net", [], _ => Record(order, "net"));
        graph.Add("vm", "vm", ["image", "net"], _ => Record(order, "vm"));

        await graph.RunAsync(4, TestContext.Current.CancellationToken);

        var seen = order.ToList();
        Assert.Equal(4, seen.Count);
        Assert.True(seen.IndexOf("pool") < seen.IndexOf("image"));
        Assert.True(seen.IndexOf("image") < seen.IndexOf("vm"));
        Assert.True(seen.IndexOf("net") < seen.IndexOf("vm"));
    }

    [Fact]
    public async Task RunAsync_Lanes_ReadyStepsTakeLanesInTurn()
    {
        var graph = new StepGraph();
        var order = new ConcurrentQueue<string>();
        graph.Add("a-prep", "a", [], _ => Record(order, "a-prep"));
        graph.Add("b-prep", "b", [], _ => Record(order, "b-prep"));
        // Host a's nodes are added (and become ready) first; the lanes still interleave them with host b's.
        foreach (var lane in new[] { "a", "b" })
        {
            for (var i = 1; i <= 3; i++)
            {
                var id = $"{lane}{i}";
                graph.Add(id, id, [lane + "-prep"], _ => Record(order, id), lane);
            }
        }

        await graph.RunAsync(1, TestContext.Current.CancellationToken);

        Assert.Equal(["a-prep", "b-prep", "a1", "b1", "a2", "b2", "a3", "b3"], order.ToList());
    }

    [Fact]
    public async Task RunAsync_NoLanes_InsertionOrder()
    {
        var graph = new StepGraph();
        var order = new ConcurrentQueue<string>();
        foreach (var id in new[] { "x", "y", "z" })
        {
            graph.Add(id, id, [], _ => Record(order, id));
        }

        await graph.RunAsync(1, TestContext.Current.CancellationToken);

        Assert.Equal(["x", "y", "z"], order.ToList());
    }

    [Fact]
    public async Task RunAsync_IndependentSteps_RunConcurrently()
    {
        var graph = new StepGraph();
        var bothStarted = new TaskCompletionSource();
        var started = 0;
        for (var i = 0; i < 2; i++)
        {
            graph.Add($"s{i}", "step", [], async ct =>
            {
                if (Interlocked.Increment(ref started) == 2)
                {
                    bothStarted.SetResult();
                }

                // Each step waits for the other to have started: only possible when they overlap.
                await bothStarted.Task.WaitAsync(ct);
            });
        }

        await graph.RunAsync(2, TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        Assert.Equal(2, started);
    }

    [Fact]
    public async Task RunAsync_MaxParallelismOne_NeverOverlaps()
    {
        var graph = new StepGraph();
        var current = 0;
        var peak = 0;
        for (var i = 0; i < 5; i++)
        {
            graph.Add($"s{i}", "step", [], async _ =>
            {
                var now = Interlocked.Increment(ref current);
                InterlockedMax(ref peak, now);
                await Task.Yield();
                Interlocked.Decrement(ref current);
            });
        }

        await graph.RunAsync(1, TestContext.Current.CancellationToken);
        Assert.Equal(1, peak);
    }

    [Fact]
    public async Task RunAsync_StepFails_ErrorNamesStepAndCancelsOthers()
    {
        var graph = new StepGraph();
        var slowWasCancelled = false;
        var dependentRan = false;
        var slowStarted = new TaskCompletionSource();
        graph.Add("slow", "waits forever", [], async ct =>
        {
            try
            {
                slowStarted.SetResult();
                await Task.Delay(Timeout.Infinite, ct);
            }
            catch (OperationCanceledException)
            {
                slowWasCancelled = true;
                throw;
            }
        });
        graph.Add("broken", "define domain node-a", [], async _ =>
        {
            await slowStarted.Task;
            throw new InvalidOperationException("libvirt said no");
        });
        graph.Add("after", "after broken", ["broken"], _ =>
        {
            dependentRan = true;
            return Task.CompletedTask;
        });

        var ex = await Assert.ThrowsAsync<StepFailedException>(() => graph.RunAsync(4, TestContext.Current.CancellationToken));

        Assert.Equal("broken", ex.StepId);
        Assert.Contains("define domain node-a", ex.Message);
        Assert.Contains("libvirt said no", ex.Message);
        Assert.IsType<InvalidOperationException>(ex.InnerException);
        Assert.True(slowWasCancelled);
        Assert.False(dependentRan);
    }

    [Fact]
    public void Validate_Cycle_NamesTheStepsInOrder()
    {
        var graph = new StepGraph();
        graph.Add("a", "a", ["c"], _ => Task.CompletedTask);
        graph.Add("b", "b", ["a"], _ => Task.CompletedTask);
        graph.Add("c", "c", ["b"], _ => Task.CompletedTask);
        graph.Add("free", "free", [], _ => Task.CompletedTask);

        var ex = Assert.Throws<StepGraphException>(graph.Validate);

        Assert.Contains("a -> c -> b -> a", ex.Message);
    }

    [Fact]
    public void Validate_MissingDependency_NamesBoth()
    {
        var graph = new StepGraph();
        graph.Add("vm", "vm", ["network"], _ => Task.CompletedTask);

        var ex = Assert.Throws<StepGraphException>(graph.Validate);

        Assert.Contains("'vm' depends on 'network'", ex.Message);
    }

    [Fact]
    public void Add_DuplicateId_Throws()
    {
        var graph = new StepGraph();
        graph.Add("a", "a", [], _ => Task.CompletedTask);

        Assert.Throws<ArgumentException>(() => graph.Add("a", "again", [], _ => Task.CompletedTask));
    }

    [Fact]
    public async Task RunAsync_CallerCancels_ThrowsOperationCanceled()
    {
        var graph = new StepGraph();
        using var cts = new CancellationTokenSource();
        graph.Add("wait", "wait", [], async ct =>
        {
            await cts.CancelAsync();
            await Task.Delay(Timeout.Infinite, ct);
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => graph.RunAsync(1, cts.Token));
    }

    [Fact]
    public async Task StepChanged_ReportsStartAndSuccess()
    {
        var graph = new StepGraph();
        var events = new ConcurrentQueue<StepEvent>();
        graph.StepChanged += (_, e) => events.Enqueue(e);
        graph.Add("a", "first", [], _ => Task.CompletedTask);

        await graph.RunAsync(1, TestContext.Current.CancellationToken);

        Assert.Equal([StepState.Started, StepState.Succeeded], events.Select(e => e.State));
    }

    private static Task Record(ConcurrentQueue<string> order, string id)
    {
        order.Enqueue(id);
        return Task.CompletedTask;
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }
}
