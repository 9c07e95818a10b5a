namespace Provisioner.Engine.Replacement;

/// <summary>How a step of a replacement ended.</summary>
public enum StepOutcome
{
    /// <summary>Ran and finished.</summary>
    Done,

    /// <summary>Not run; <see cref="TimelineStep.Detail"/> says why.</summary>
    Skipped,

    /// <summary>Ran and failed.</summary>
    Failed,
}

/// <summary>One step of a replacement as it happened.</summary>
/// <param name="Name">Step name (<c>drain</c>, <c>recreate</c>, <c>audit</c>).</param>
/// <param name="Started">When it started.</param>
/// <param name="Finished">When it ended.</param>
/// <param name="Outcome">How it ended.</param>
/// <param name="Detail">One line for people.</param>
public sealed record TimelineStep(string Name, DateTimeOffset Started, DateTimeOffset Finished, StepOutcome Outcome, string Detail)
{
    /// <summary>How long it took.</summary>
    public TimeSpan Duration => Finished - Started;
}

/// <summary>Records steps with their durations on an injected clock.</summary>
public sealed class Timeline
{
    private readonly TimeProvider _time;
    private readonly List<TimelineStep> _steps = [];
    private readonly Lock _lock = new();

    /// <summary>Creates an empty timeline.</summary>
    public Timeline(TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        _time = time;
    }

    /// <summary>Raised when a step ends.</summary>
    public event EventHandler<TimelineStep>? StepRecorded;

    /// <summary>The steps so far, in order.</summary>
    public IReadOnlyList<TimelineStep> Steps
    {
        get
        {
            lock (_lock)
            {
                return [.. _steps];
            }
        }
    }

    /// <summary>Runs <paramref name="body"/> as step <paramref name="name"/>; its result is the step's detail. A failure is recorded and rethrown.</summary>
    public async Task<T> RunAsync<T>(string name, Func<Task<(T Value, string Detail)>> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var started = _time.GetUtcNow();
        try
        {
            var (value, detail) = await body().ConfigureAwait(false);
            Add(new TimelineStep(name, started, _time.GetUtcNow(), StepOutcome.Done, detail));
            return value;
        }
        catch (Exception e)
        {
            Add(new TimelineStep(name, started, _time.GetUtcNow(), StepOutcome.Failed, e.Message));
            throw;
        }
    }

    /// <summary>Runs <paramref name="body"/> as step <paramref name="name"/>.</summary>
    public Task RunAsync(string name, Func<Task<string>> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        return RunAsync(name, async () => (0, await body().ConfigureAwait(false)));
    }

    /// <summary>Records a step that was not run, and why.</summary>
    public void Skip(string name, string why)
    {
        var now = _time.GetUtcNow();
        Add(new TimelineStep(name, now, now, StepOutcome.Skipped, why));
    }

    private void Add(TimelineStep step)
    {
        lock (_lock)
        {
            _steps.Add(step);
        }

        StepRecorded?.Invoke(this, step);
    }
}
