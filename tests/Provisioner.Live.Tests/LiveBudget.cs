// Every live class mostly waits for its emulated guests: all of them start at once, so the suite takes
// about the guests' total CPU time over two cores rather than the sum of the classes' durations.
[assembly: CollectionBehavior(MaxParallelThreads = 8)]

namespace Provisioner.Live.Tests;

/// <summary>
/// How long a live guest may take to be ready. Emulated (TCG) guests share two cores with every other live
/// test's guests; a hardened first boot has been seen to take over 20 minutes when seven ran at once.
/// </summary>
public static class LiveBudget
{
    public static readonly TimeSpan Readiness = TimeSpan.FromMinutes(40);
}
