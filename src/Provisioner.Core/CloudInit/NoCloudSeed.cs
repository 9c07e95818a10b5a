using System.Text;

namespace Provisioner.Core.CloudInit;

/// <summary>
/// Builds the NoCloud seed image in process: an ISO 9660 filesystem with Joliet names, labelled
/// <c>cidata</c>, holding <c>meta-data</c>, <c>user-data</c> and <c>network-config</c>.
/// ISO 9660 rather than FAT: cloud-init accepts both, and an ISO needs no allocation tables or long-name
/// checksums, only fixed-position descriptors, so the writer stays small and checkable by
/// <c>isoinfo</c>/<c>isovfy</c>. The image is attached as a read-only virtio disk.
/// The image holds the user-data, which carries private host keys: treat it as a secret and remove it
/// once the guest has booted.
/// </summary>
public static class NoCloudSeed
{
    /// <summary>The filesystem label cloud-init looks for (Joliet volume id; tools report this one).</summary>
    public const string VolumeLabel = "cidata";

    /// <summary>The primary volume id: the same label in ISO 9660 d-characters, which are upper case only.</summary>
    public const string PrimaryVolumeId = "CIDATA";

    /// <summary>Builds the image. The same documents and timestamp always give the same bytes.</summary>
    /// <param name="documents">The rendered documents.</param>
    /// <param name="timestamp">Recorded as the creation time of the volume and its files (no clock is read).</param>
    public static byte[] Build(CloudInitDocuments documents, DateTimeOffset timestamp)
    {
        ArgumentNullException.ThrowIfNull(documents);
        IsoFile[] files =
        [
            new("meta-data", Encoding.UTF8.GetBytes(documents.MetaData)),
            new("user-data", Encoding.UTF8.GetBytes(documents.UserData.Reveal())),
            new("network-config", Encoding.UTF8.GetBytes(documents.NetworkConfig)),
        ];
        return Iso9660Writer.Write(PrimaryVolumeId, VolumeLabel, files, timestamp);
    }

    /// <summary>Builds the image and writes it to <paramref name="destination"/>.</summary>
    public static async Task WriteAsync(CloudInitDocuments documents, DateTimeOffset timestamp, Stream destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var image = Build(documents, timestamp);
        await destination.WriteAsync(image, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads a seed image (or any flat ISO 9660 image) back: volume ids and files by name.</summary>
    /// <exception cref="FormatException">The bytes are not such an image.</exception>
    public static SeedImageContents Read(ReadOnlySpan<byte> image) => Iso9660Reader.Read(image);
}
