namespace Provisioner.Engine.Graph;

/// <summary>
/// A set of named steps with dependencies between them, run with as much parallelism as the
/// dependencies allow. The first failure cancels everything still pending or running, and the
/// exception names the step that failed, so an operator knows where a run stopped.
/// </summary>
/// <remarks>Not thread-safe while steps are being added; <see cref="RunAsync"/> may be called once.</remarks>
public sealed class StepGraph
{
    private readonly Dictionary<string, Step> _steps = new(StringComparer.Ordinal);

    /// <summary>The ids of every step added, in insertion order.</summary>
    public IReadOnlyCollection<string> StepIds => _steps.Keys;

    /// <summary>Raised when a step starts, completes or fails. Handlers must be quick and must not throw.</summary>
    public event EventHandler<StepEvent>? StepChanged;

    /// <summary>Adds a step that runs <paramref name="action"/> after every step in <paramref name="dependsOn"/> has succeeded.</summary>
    /// <exception cref="ArgumentException">A step with the same id exists already.</exception>
    public void Add(string id, string description, IEnumerable<string> dependsOn, Func<CancellationToken, Task> action) =>
        Add(id, description, dependsOn, action, lane: null);

    /// <summary>
    /// Adds a step in <paramref name="lane"/>: when more steps are ready than may run, the next one is taken from each
    /// lane in turn (in insertion order within a lane), so one lane's backlog does not hold up the others. The engine
    /// uses a lane per host: calls to one libvirt host are serialized by that host, so spreading the running steps
    /// over hosts keeps them from queueing behind each other.
    /// </summary>
    /// <exception cref="ArgumentException">A step with the same id exists already.</exception>
    public void Add(string id, string description, IEnumerable<string> dependsOn, Func<CancellationToken, Task> action, string? lane)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        ArgumentNullException.ThrowIfNull(dependsOn);
        ArgumentNullException.ThrowIfNull(action);
        if (_steps.ContainsKey(id))
        {
            throw new ArgumentException($"step '{id}' is defined twice", nameof(id));
        }

        _steps[id] = new Step(id, description, [.. dependsOn.Distinct(StringComparer.Ordinal)], action, lane ?? id);
    }

    /// <summary>Whether a step with this id exists.</summary>
    public bool Contains(string id) => _steps.ContainsKey(id);

    /// <summary>
    /// Checks that every dependency exists and that there is no cycle.
    /// </summary>
    /// <exception cref="StepGraphException">A dependency is missing, or steps depend on each other in a cycle (named in order).</exception>
    public void Validate()
    {
        foreach (var step in _steps.Values)
        {
            foreach (var dependency in step.DependsOn)
            {
                if (!_steps.ContainsKey(dependency))
                {
                    throw new StepGraphException($"step '{step.Id}' depends on '{dependency}', which does not exist");
                }
            }
        }

        var cycle = FindCycle();
        if (cycle is not null)
        {
            throw new StepGraphException($"steps depend on each other in a cycle: {string.Join(" -> ", cycle)}");
        }
    }

    /// <summary>
    /// Runs every step, each as soon as its dependencies have succeeded, with at most
    /// <paramref name="maxParallelism"/> running at once.
    /// </summary>
    /// <exception cref="StepFailedException">A step failed; the others were cancelled and awaited.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task RunAsync(int maxParallelism, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxParallelism, 1);
        Validate();

        var dependents = _steps.Values
            .SelectMany(s => s.DependsOn.Select(d => (Dependency: d, Dependent: s.Id)))
            .ToLookup(p => p.Dependency, p => p.Dependent, StringComparer.Ordinal);
        var waitingOn = _steps.Values.ToDictionary(s => s.Id, s => s.DependsOn.Count, StringComparer.Ordinal);
        // Ready steps start in insertion order (taking lanes in turn), which keeps runs reproducible for the same graph.
        var ready = new LaneQueue();
        foreach (var s in _steps.Values.Where(s => s.DependsOn.Count == 0))
        {
            ready.Enqueue(s);
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var running = new Dictionary<Task, string>();
        StepFailedException? failure = null;

        while (ready.Count > 0 || running.Count > 0)
        {
            while (failure is null && ready.Count > 0 && running.Count < maxParallelism)
            {
                var id = ready.Dequeue();
                // Task.Run: steps make blocking libvirt calls, and each needs its own task identity
                // (an async method that completes synchronously returns a shared cached task).
                var step = _steps[id];
                var token = linked.Token;
                running.Add(Task.Run(() => RunStepAsync(step, token), CancellationToken.None), id);
            }

            if (running.Count == 0)
            {
                break;
            }

            var finished = await Task.WhenAny(running.Keys).ConfigureAwait(false);
            var finishedId = running[finished];
            running.Remove(finished);

            if (finished.IsCompletedSuccessfully)
            {
                foreach (var dependent in dependents[finishedId])
                {
                    if (--waitingOn[dependent] == 0)
                    {
                        ready.Enqueue(_steps[dependent]);
                    }
                }

                continue;
            }

            // Keep the first real failure; cancellations caused by it are its consequence, not news.
            if (failure is null && !(finished.IsCanceled && linked.IsCancellationRequested))
            {
                var inner = finished.Exception?.GetBaseException() ?? new OperationCanceledException();
                failure = new StepFailedException(finishedId, _steps[finishedId].Description, inner);
                await linked.CancelAsync().ConfigureAwait(false);
            }
        }

        if (failure is not null)
        {
            throw failure;
        }

        cancellationToken.ThrowIfCancellationRequested();
    }

    private async Task RunStepAsync(Step step, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Raise(step, StepState.Started, null);
        try
        {
            await step.Action(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Raise(step, ex is OperationCanceledException && cancellationToken.IsCancellationRequested ? StepState.Cancelled : StepState.Failed, ex);
            throw;
        }

        Raise(step, StepState.Succeeded, null);
    }

    private void Raise(Step step, StepState state, Exception? error) =>
        StepChanged?.Invoke(this, new StepEvent(step.Id, step.Description, state, error));

    private List<string>? FindCycle()
    {
        // Iterative-enough DFS with colours; graphs here have at most a few thousand steps.
        var colour = new Dictionary<string, int>(StringComparer.Ordinal);
        var path = new List<string>();

        List<string>? Visit(string id)
        {
            colour[id] = 1;
            path.Add(id);
            foreach (var dependency in _steps[id].DependsOn)
            {
                var c = colour.GetValueOrDefault(dependency);
                if (c == 1)
                {
                    var start = path.IndexOf(dependency);
                    return [.. path.Skip(start), dependency];
                }

                if (c == 0 && Visit(dependency) is { } found)
                {
                    return found;
                }
            }

            path.RemoveAt(path.Count - 1);
            colour[id] = 2;
            return null;
        }

        foreach (var id in _steps.Keys)
        {
            if (colour.GetValueOrDefault(id) == 0 && Visit(id) is { } cycle)
            {
                return cycle;
            }
        }

        return null;
    }

    private sealed record Step(string Id, string Description, IReadOnlyList<string> DependsOn, Func<CancellationToken, Task> Action, string Lane);

    // Ready steps by lane; lanes take turns in the order they first had a ready step.
    private sealed class LaneQueue
    {
        private readonly Dictionary<string, Queue<string>> _lanes = new(StringComparer.Ordinal);
        private readonly Queue<string> _turns = new();

        public int Count { get; private set; }

        public void Enqueue(Step step)
        {
            if (!_lanes.TryGetValue(step.Lane, out var queue))
            {
                queue = new Queue<string>();
                _lanes[step.Lane] = queue;
            }

            if (queue.Count == 0)
            {
                _turns.Enqueue(step.Lane);
            }

            queue.Enqueue(step.Id);
            Count++;
        }

        public string Dequeue()
        {
            var lane = _turns.Dequeue();
            var queue = _lanes[lane];
            var id = queue.Dequeue();
            if (queue.Count > 0)
            {
                _turns.Enqueue(lane);
            }

            Count--;
            return id;
        }
    }
}

/// <summary>Where a step is in its life.</summary>
public enum StepState
{
    /// <summary>The step began.</summary>
    Started,
    /// <summary>The step finished without error.</summary>
    Succeeded,
    /// <summary>The step threw.</summary>
    Failed,
    /// <summary>The step stopped because the run was cancelled.</summary>
    Cancelled,
}

/// <summary>A change in one step's state.</summary>
public sealed record StepEvent(string StepId, string Description, StepState State, Exception? Error);

/// <summary>The graph itself is wrong: a missing dependency or a cycle.</summary>
public sealed class StepGraphException : Exception
{
    /// <summary>Creates the exception.</summary>
    public StepGraphException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public StepGraphException() { }

    /// <summary>Creates the exception.</summary>
    public StepGraphException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>A step failed; <see cref="StepId"/> names it and the inner exception says why.</summary>
public sealed class StepFailedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public StepFailedException(string stepId, string description, Exception inner)
        : base($"step '{stepId}' ({description}) failed: {inner.Message}", inner)
    {
        StepId = stepId;
    }

    /// <summary>Creates the exception.</summary>
    public StepFailedException() => StepId = string.Empty;

    /// <summary>Creates the exception.</summary>
    public StepFailedException(string message) : base(message) => StepId = string.Empty;

    /// <summary>Creates the exception.</summary>
    public StepFailedException(string message, Exception inner) : base(message, inner) => StepId = string.Empty;

    /// <summary>The id of the step that failed.</summary>
    public string StepId { get; }
}
