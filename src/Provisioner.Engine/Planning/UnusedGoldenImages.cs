using Provisioner.Core.Naming;
using Provisioner.Engine.Inventory;

namespace Provisioner.Engine.Planning;

/// <summary>
/// Which golden image volumes of a pool nothing needs any more. Images are shared by every stack whose disks live in
/// the pool (the disks are linked clones of them), so an image may go only when no volume in the pool is a clone of
/// it, apart from volumes removed by the same run; its verification marker goes with it. Without this, every image
/// rebuild left the previous image in a shared pool for good.
/// Known race, accepted: another stack's run that has just uploaded an image this run does not use, and has not
/// cloned a disk from it yet, loses it; that run's node step fails and its re-run uploads the image again.
/// </summary>
internal static class UnusedGoldenImages
{
    /// <summary>
    /// The golden image volumes and markers in <paramref name="seen"/>'s pool that may be deleted.
    /// </summary>
    /// <param name="seen">The pool as read, with each image's clones.</param>
    /// <param name="keep">Volumes this run needs (its image and marker, the images its remaining nodes are cloned from).</param>
    /// <param name="removedWithThisRun">Whether a clone is deleted by this same run (and so does not hold its image).</param>
    public static IEnumerable<string> In(ObservedHost seen, IReadOnlySet<string> keep, Func<string, bool> removedWithThisRun)
    {
        ArgumentNullException.ThrowIfNull(seen);
        ArgumentNullException.ThrowIfNull(keep);
        ArgumentNullException.ThrowIfNull(removedWithThisRun);
        var unused = seen.GoldenClones
            .Where(image => !keep.Contains(image.Key) && image.Value.All(removedWithThisRun))
            .Select(image => image.Key)
            .ToHashSet(StringComparer.Ordinal);
        foreach (var volume in seen.Volumes.Where(LibvirtNames.IsGoldenVolume))
        {
            if (unused.Contains(volume))
            {
                yield return volume;
            }
            else if (LibvirtNames.IsGoldenMarker(volume) && !keep.Contains(volume))
            {
                // A marker goes with its image, or alone when its image is already gone (an interrupted delete).
                var image = volume[..^LibvirtNames.GoldenMarkerSuffix.Length];
                if (unused.Contains(image) || !seen.Volumes.Contains(image))
                {
                    yield return volume;
                }
            }
        }
    }
}
