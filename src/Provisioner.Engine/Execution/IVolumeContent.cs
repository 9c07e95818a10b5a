using LibvirtSharp;
using Provisioner.Engine.Hosts;

namespace Provisioner.Engine.Execution;

/// <summary>
/// Moves bytes into and out of volumes on a host. The engine uses libvirt streams
/// (<see cref="LibvirtVolumeContent"/>); the seam exists because libvirt's test driver has no
/// streams, so tests of planning and orchestration on that driver supply their own.
/// </summary>
public interface IVolumeContent
{
    /// <summary>Writes <paramref name="length"/> bytes from <paramref name="source"/> into the volume.</summary>
    Task UploadAsync(HostSession host, StorageVolume volume, Stream source, ulong length, IProgress<long>? progress, CancellationToken cancellationToken);

    /// <summary>Reads the first <paramref name="length"/> bytes of the volume back from the host into <paramref name="destination"/>.</summary>
    Task DownloadAsync(HostSession host, StorageVolume volume, Stream destination, ulong length, CancellationToken cancellationToken);
}

/// <summary>Volume content through libvirt streams: works for local and remote hosts alike.</summary>
public sealed class LibvirtVolumeContent : IVolumeContent
{
    /// <summary>The shared instance.</summary>
    public static readonly LibvirtVolumeContent Instance = new();

    /// <inheritdoc />
    public Task UploadAsync(HostSession host, StorageVolume volume, Stream source, ulong length, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(volume);
        return volume.UploadAsync(source, 0, length, progress, cancellationToken);
    }

    /// <inheritdoc />
    public Task DownloadAsync(HostSession host, StorageVolume volume, Stream destination, ulong length, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(volume);
        return volume.DownloadAsync(destination, 0, length, null, cancellationToken);
    }
}
