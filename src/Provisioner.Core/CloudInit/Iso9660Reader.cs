using System.Buffers.Binary;
using System.Text;

namespace Provisioner.Core.CloudInit;

/// <summary>
/// Reads the root directory of an ISO 9660 image: the primary volume and, when present, the Joliet
/// one. Written independently of <see cref="Iso9660Writer"/> from ECMA-119 field positions, so a
/// round trip checks the writer rather than echoing it.
/// </summary>
internal static class Iso9660Reader
{
    private const int SectorSize = 2048;

    public static SeedImageContents Read(ReadOnlySpan<byte> image)
    {
        string? primaryId = null, jolietId = null;
        IReadOnlyDictionary<string, byte[]>? primaryFiles = null, jolietFiles = null;
        for (var sector = 16; ; sector++)
        {
            var d = Sector(image, sector);
            if (!d.Slice(1, 5).SequenceEqual("CD001"u8))
            {
                throw new FormatException($"sector {sector} is not a volume descriptor");
            }
            var type = d[0];
            if (type == 255)
            {
                break;
            }
            if (type == 1)
            {
                primaryId = Encoding.ASCII.GetString(d.Slice(40, 32)).TrimEnd(' ');
                primaryFiles = ReadRoot(image, d, joliet: false);
            }
            else if (type == 2 && d[88] == '%' && d[89] == '/' && d[90] is (byte)'@' or (byte)'C' or (byte)'E')
            {
                jolietId = Encoding.BigEndianUnicode.GetString(d.Slice(40, 32)).TrimEnd(' ');
                jolietFiles = ReadRoot(image, d, joliet: true);
            }
            if (sector > 64)
            {
                throw new FormatException("no volume descriptor set terminator");
            }
        }
        if (primaryId is null || primaryFiles is null)
        {
            throw new FormatException("no primary volume descriptor");
        }
        return new SeedImageContents
        {
            PrimaryVolumeId = primaryId,
            JolietVolumeId = jolietId,
            PrimaryFiles = primaryFiles,
            Files = jolietFiles ?? primaryFiles,
        };
    }

    private static Dictionary<string, byte[]> ReadRoot(ReadOnlySpan<byte> image, ReadOnlySpan<byte> descriptor, bool joliet)
    {
        var blockSize = BinaryPrimitives.ReadUInt16LittleEndian(descriptor[128..]);
        if (blockSize != SectorSize)
        {
            throw new FormatException($"logical block size {blockSize} is not {SectorSize}");
        }
        var root = descriptor.Slice(156, 34);
        var extent = ReadBoth32(root[2..]);
        var length = ReadBoth32(root[10..]);
        var directory = Slice(image, extent, length);
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var offset = 0;
        while (offset < directory.Length)
        {
            var recordLength = directory[offset];
            if (recordLength == 0)
            {
                // Records do not straddle sectors: the rest of this sector is padding.
                offset = ((offset / SectorSize) + 1) * SectorSize;
                continue;
            }
            var record = directory.Slice(offset, recordLength);
            var idLength = record[32];
            var id = record.Slice(33, idLength);
            var flags = record[25];
            offset += recordLength;
            if (idLength == 1 && id[0] is 0 or 1)
            {
                continue; // "." and ".."
            }
            if ((flags & 0x02) != 0)
            {
                throw new FormatException("subdirectories are not expected in a seed image");
            }
            var name = joliet ? Encoding.BigEndianUnicode.GetString(id) : Encoding.ASCII.GetString(id);
            if (!joliet && name.EndsWith(";1", StringComparison.Ordinal))
            {
                name = name[..^2];
            }
            files.Add(name, Slice(image, ReadBoth32(record[2..]), ReadBoth32(record[10..])).ToArray());
        }
        return files;
    }

    private static int ReadBoth32(ReadOnlySpan<byte> field)
    {
        var little = BinaryPrimitives.ReadUInt32LittleEndian(field);
        var big = BinaryPrimitives.ReadUInt32BigEndian(field[4..]);
        if (little != big || little > int.MaxValue)
        {
            throw new FormatException($"both-endian field disagrees ({little} vs {big})");
        }
        return (int)little;
    }

    private static ReadOnlySpan<byte> Sector(ReadOnlySpan<byte> image, int sector) => Slice(image, sector, SectorSize);

    private static ReadOnlySpan<byte> Slice(ReadOnlySpan<byte> image, int sector, int length)
    {
        var start = (long)sector * SectorSize;
        if (length == 0)
        {
            return [];
        }
        if (start + length > image.Length)
        {
            throw new FormatException($"extent at sector {sector} of {length} bytes runs past the end of the image");
        }
        return image.Slice((int)start, length);
    }
}

/// <summary>What a seed image holds, as read back by <see cref="NoCloudSeed.Read"/>.</summary>
public sealed record SeedImageContents
{
    /// <summary>Volume identifier of the primary volume descriptor (e.g. <c>CIDATA</c>).</summary>
    public required string PrimaryVolumeId { get; init; }

    /// <summary>Volume identifier of the Joliet volume (e.g. <c>cidata</c>), null without Joliet.</summary>
    public required string? JolietVolumeId { get; init; }

    /// <summary>Files by their Joliet names (the names Linux shows), or primary names without Joliet.</summary>
    public required IReadOnlyDictionary<string, byte[]> Files { get; init; }

    /// <summary>Files by their level-1 names in the primary hierarchy, version suffix removed (e.g. <c>META_DAT.</c>).</summary>
    public required IReadOnlyDictionary<string, byte[]> PrimaryFiles { get; init; }
}
