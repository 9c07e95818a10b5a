// Each live class spends most of its time waiting for emulated guests: four at once keep both cores busy
// (wall time is then about the guests' total CPU time halved) instead of two cores' worth of waiting.
[assembly: CollectionBehavior(MaxParallelThreads = 4)]

namespace Provisioner.Live.Tests;

/// <summary>
/// How long a live guest may take to be ready. Emulated (TCG) guests share two cores with every other live
/// test's guests; a hardened first boot has been seen to take over 20 minutes when seven ran at once.
/// </summary>
public static class LiveBudget
{
    public static readonly TimeSpan Readiness = TimeSpan.FromMinutes(40);
}
