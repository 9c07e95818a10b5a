using Microsoft.Extensions.Time.Testing;
using Provisioner.Engine.Replacement;

namespace Provisioner.Engine.Tests.Replacement;

public sealed class TimelineTests
{
    [Fact]
    public async Task RunAsync_StepsOnFakeClock_RecordsDurationsOutcomesAndFailures()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));
        var timeline = new Timeline(time);
        var recorded = new List<string>();
        timeline.StepRecorded += (_, s) => recorded.Add(s.Name);

        await timeline.RunAsync("drain", () =>
        {
            time.Advance(TimeSpan.FromSeconds(42));
            return Task.FromResult("evicted 3 pod(s)");
        });
        timeline.Skip("etcd", "not a control-plane node");
        await Assert.ThrowsAsync<InvalidOperationException>(() => timeline.RunAsync("recreate", () =>
        {
            time.Advance(TimeSpan.FromSeconds(5));
            return Task.FromException<string>(new InvalidOperationException("boot failed"));
        }));

        Assert.Equal(["drain", "etcd", "recreate"], recorded);
        var steps = timeline.Steps;
        Assert.Equal((StepOutcome.Done, TimeSpan.FromSeconds(42), "evicted 3 pod(s)"), (steps[0].Outcome, steps[0].Duration, steps[0].Detail));
        Assert.Equal((StepOutcome.Skipped, TimeSpan.Zero), (steps[1].Outcome, steps[1].Duration));
        Assert.Equal((StepOutcome.Failed, TimeSpan.FromSeconds(5), "boot failed"), (steps[2].Outcome, steps[2].Duration, steps[2].Detail));
    }
}
