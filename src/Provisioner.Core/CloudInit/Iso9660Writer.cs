using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Provisioner.Core.CloudInit;

/// <summary>A file in the root directory of an ISO 9660 image.</summary>
internal sealed record IsoFile(string Name, byte[] Content);

/// <summary>
/// Writes a minimal ISO 9660 (ECMA-119) image: one root directory of plain files, with a Joliet
/// supplementary volume descriptor carrying the real names. The primary hierarchy only has level-1
/// names (8.3 upper-case d-characters, so <c>meta-data</c> becomes <c>META_DAT.;1</c>); Linux mounts
/// prefer Joliet, where names may hold '-' and lower case, which is how cloud-init sees
/// <c>meta-data</c>, <c>user-data</c> and <c>network-config</c>.
/// Layout: system area (sectors 0-15), PVD (16), Joliet SVD (17), terminator (18), path tables L/M for
/// each hierarchy (19-22), root directories, then file data, each file on its own sectors. The image
/// depends only on its inputs, so equal inputs give equal bytes.
/// </summary>
internal static class Iso9660Writer
{
    public const int SectorSize = 2048;
    private const int MaxJolietNameLength = 64;

    public static byte[] Write(string primaryVolumeId, string jolietVolumeId, IReadOnlyList<IsoFile> files, DateTimeOffset timestamp)
    {
        ValidatePrimaryVolumeId(primaryVolumeId);
        if (jolietVolumeId.Length is 0 or > 16)
        {
            throw new ArgumentException($"Joliet volume id '{jolietVolumeId}' must be 1-16 characters", nameof(jolietVolumeId));
        }
        var time = timestamp.ToUniversalTime();
        if (time.Year is < 1970 or > 2155)
        {
            throw new ArgumentOutOfRangeException(nameof(timestamp), timestamp, "ISO 9660 directory dates cover 1900-2155; use a time after 1970");
        }

        var entries = files.Select(f => new Entry(f, JolietName(f.Name))).OrderBy(e => e.File.Name, StringComparer.Ordinal).ToList();
        if (entries.Select(e => e.File.Name).Distinct(StringComparer.Ordinal).Count() != entries.Count)
        {
            throw new ArgumentException("file names must be unique", nameof(files));
        }
        AssignPrimaryNames(entries);

        // Sector plan.
        const int pathTableLPrimary = 19, pathTableMPrimary = 20, pathTableLJoliet = 21, pathTableMJoliet = 22;
        var primaryDirSize = DirectorySize(entries.Select(e => e.PrimaryId.Length));
        var jolietDirSize = DirectorySize(entries.Select(e => e.JolietId.Length));
        var primaryDirSector = 23;
        var jolietDirSector = primaryDirSector + (primaryDirSize / SectorSize);
        var next = jolietDirSector + (jolietDirSize / SectorSize);
        foreach (var entry in entries)
        {
            // An empty file occupies no sectors; its extent points at where data would begin.
            entry.Sector = next;
            next += (entry.File.Content.Length + SectorSize - 1) / SectorSize;
        }
        var totalSectors = next;

        var image = new byte[(long)totalSectors * SectorSize];
        var span = image.AsSpan();

        WriteVolumeDescriptor(Sector(span, 16), primary: true, primaryVolumeId, totalSectors, pathTableLPrimary, pathTableMPrimary, primaryDirSector, primaryDirSize, time);
        WriteVolumeDescriptor(Sector(span, 17), primary: false, jolietVolumeId, totalSectors, pathTableLJoliet, pathTableMJoliet, jolietDirSector, jolietDirSize, time);
        WriteTerminator(Sector(span, 18));
        WritePathTable(Sector(span, pathTableLPrimary), primaryDirSector, littleEndian: true);
        WritePathTable(Sector(span, pathTableMPrimary), primaryDirSector, littleEndian: false);
        WritePathTable(Sector(span, pathTableLJoliet), jolietDirSector, littleEndian: true);
        WritePathTable(Sector(span, pathTableMJoliet), jolietDirSector, littleEndian: false);
        WriteDirectory(span.Slice(primaryDirSector * SectorSize, primaryDirSize), primaryDirSector, primaryDirSize,
            entries.OrderBy(e => e.PrimaryId, ByteComparer.Instance).Select(e => (e.PrimaryId, e)), time);
        WriteDirectory(span.Slice(jolietDirSector * SectorSize, jolietDirSize), jolietDirSector, jolietDirSize,
            entries.OrderBy(e => e.JolietId, ByteComparer.Instance).Select(e => (e.JolietId, e)), time);
        foreach (var entry in entries)
        {
            entry.File.Content.CopyTo(span[(entry.Sector * SectorSize)..]);
        }
        return image;
    }

    private static Span<byte> Sector(Span<byte> image, int sector) => image.Slice(sector * SectorSize, SectorSize);

    private static void ValidatePrimaryVolumeId(string id)
    {
        if (id.Length is 0 or > 32 || id.Any(c => !IsDCharacter(c)))
        {
            throw new ArgumentException($"primary volume id '{id}' must be 1-32 d-characters (A-Z, 0-9, _)", nameof(id));
        }
    }

    private static bool IsDCharacter(char c) => c is (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_';

    private static byte[] JolietName(string name)
    {
        if (name.Length is 0 or > MaxJolietNameLength || name is "." or "..")
        {
            throw new ArgumentException($"file name '{name}' must be 1-{MaxJolietNameLength} characters");
        }
        foreach (var c in name)
        {
            // Joliet forbids C0 controls and * / : ; ? \ in identifiers, and UCS-2 has no surrogates.
            if (c < 0x20 || c is '*' or '/' or ':' or ';' or '?' or '\\' || char.IsSurrogate(c))
            {
                throw new ArgumentException($"file name '{name}' contains U+{(int)c:X4}, which a Joliet name cannot hold");
            }
        }
        return Encoding.BigEndianUnicode.GetBytes(name);
    }

    /// <summary>Level-1 names for the primary hierarchy: upper case, d-characters only, 8.3, ";1".</summary>
    private static void AssignPrimaryNames(List<Entry> entries)
    {
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            var name = entry.File.Name;
            var dot = name.LastIndexOf('.');
            var stem = Sanitize(dot > 0 ? name[..dot] : name, 8);
            var extension = Sanitize(dot > 0 ? name[(dot + 1)..] : string.Empty, 3);
            if (stem.Length == 0)
            {
                stem = "_";
            }
            var candidate = stem;
            for (var n = 1; !used.Add($"{candidate}.{extension}"); n++)
            {
                // Same 8.3 name twice: end the stem with _N instead (still d-characters).
                var suffix = "_" + n.ToString(CultureInfo.InvariantCulture);
                candidate = string.Concat(stem.AsSpan(0, Math.Min(stem.Length, 8 - suffix.Length)), suffix);
            }
            entry.PrimaryId = Encoding.ASCII.GetBytes($"{candidate}.{extension};1");
        }
    }

    private static string Sanitize(string part, int max)
    {
        var builder = new StringBuilder(max);
        foreach (var c in part.ToUpperInvariant())
        {
            if (builder.Length == max)
            {
                break;
            }
            builder.Append(IsDCharacter(c) ? c : '_');
        }
        return builder.ToString();
    }

    private static int RecordLength(int identifierLength) => 33 + identifierLength + ((identifierLength % 2 == 0) ? 1 : 0);

    /// <summary>Size of a directory in bytes, whole sectors; records never straddle a sector boundary.</summary>
    private static int DirectorySize(IEnumerable<int> identifierLengths)
    {
        var sectors = 1;
        var used = 2 * RecordLength(1);
        foreach (var length in identifierLengths)
        {
            var record = RecordLength(length);
            if (used + record > SectorSize)
            {
                sectors++;
                used = 0;
            }
            used += record;
        }
        return sectors * SectorSize;
    }

    private static void WriteDirectory(Span<byte> directory, int selfSector, int selfSize, IEnumerable<(byte[] Id, Entry Entry)> records, DateTimeOffset time)
    {
        var offset = 0;
        offset += WriteRecord(directory[offset..], [0x00], selfSector, selfSize, isDirectory: true, time);
        // The root's parent is itself.
        offset += WriteRecord(directory[offset..], [0x01], selfSector, selfSize, isDirectory: true, time);
        foreach (var (id, entry) in records)
        {
            var length = RecordLength(id.Length);
            if ((offset % SectorSize) + length > SectorSize)
            {
                offset += SectorSize - (offset % SectorSize);
            }
            offset += WriteRecord(directory[offset..], id, entry.Sector, entry.File.Content.Length, isDirectory: false, time);
        }
    }

    private static int WriteRecord(Span<byte> record, byte[] identifier, int extent, int dataLength, bool isDirectory, DateTimeOffset time)
    {
        var length = RecordLength(identifier.Length);
        record[0] = (byte)length;
        record[1] = 0; // no extended attribute record
        BothEndian32(record[2..], (uint)extent);
        BothEndian32(record[10..], (uint)dataLength);
        record[18] = (byte)(time.Year - 1900);
        record[19] = (byte)time.Month;
        record[20] = (byte)time.Day;
        record[21] = (byte)time.Hour;
        record[22] = (byte)time.Minute;
        record[23] = (byte)time.Second;
        record[24] = 0; // GMT offset in 15-minute units: the time is UTC
        record[25] = isDirectory ? (byte)0x02 : (byte)0x00;
        record[26] = 0; // file unit size (not interleaved)
        record[27] = 0; // interleave gap
        BothEndian16(record[28..], 1); // volume sequence number
        record[32] = (byte)identifier.Length;
        identifier.CopyTo(record[33..]);
        return length;
    }

    private static void WriteVolumeDescriptor(Span<byte> d, bool primary, string volumeId, int totalSectors, int pathTableL, int pathTableM, int rootSector, int rootSize, DateTimeOffset time)
    {
        d[0] = primary ? (byte)1 : (byte)2;
        "CD001"u8.CopyTo(d[1..]);
        d[6] = 1; // version
        d[7] = 0; // flags (SVD: escape sequences conform to ISO 2375)
        Text(d.Slice(8, 32), string.Empty, primary); // system identifier
        Text(d.Slice(40, 32), volumeId, primary);
        BothEndian32(d[80..], (uint)totalSectors);
        if (!primary)
        {
            "%/E"u8.CopyTo(d[88..]); // Joliet, UCS-2 level 3
        }
        BothEndian16(d[120..], 1); // volume set size
        BothEndian16(d[124..], 1); // volume sequence number
        BothEndian16(d[128..], SectorSize);
        BothEndian32(d[132..], PathTableSize);
        BinaryPrimitives.WriteUInt32LittleEndian(d[140..], (uint)pathTableL);
        BinaryPrimitives.WriteUInt32BigEndian(d[148..], (uint)pathTableM);
        WriteRecord(d.Slice(156, 34), [0x00], rootSector, rootSize, isDirectory: true, time);
        Text(d.Slice(190, 128), string.Empty, primary); // volume set
        Text(d.Slice(318, 128), string.Empty, primary); // publisher
        Text(d.Slice(446, 128), string.Empty, primary); // data preparer
        Text(d.Slice(574, 128), string.Empty, primary); // application
        Text(d.Slice(702, 37), string.Empty, primary); // copyright file
        Text(d.Slice(739, 37), string.Empty, primary); // abstract file
        Text(d.Slice(776, 37), string.Empty, primary); // bibliographic file
        LongDate(d.Slice(813, 17), time); // creation
        LongDate(d.Slice(830, 17), time); // modification
        LongDate(d.Slice(847, 17), null); // expiration: none
        LongDate(d.Slice(864, 17), time); // effective
        d[881] = 1; // file structure version
    }

    private static void WriteTerminator(Span<byte> d)
    {
        d[0] = 255;
        "CD001"u8.CopyTo(d[1..]);
        d[6] = 1;
    }

    private const int PathTableSize = 10;

    /// <summary>A path table with the root directory only: identifier 0x00, parent 1 (itself).</summary>
    private static void WritePathTable(Span<byte> table, int rootSector, bool littleEndian)
    {
        table[0] = 1; // length of directory identifier
        table[1] = 0; // extended attribute record length
        if (littleEndian)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(table[2..], (uint)rootSector);
            BinaryPrimitives.WriteUInt16LittleEndian(table[6..], 1);
        }
        else
        {
            BinaryPrimitives.WriteUInt32BigEndian(table[2..], (uint)rootSector);
            BinaryPrimitives.WriteUInt16BigEndian(table[6..], 1);
        }
        table[8] = 0x00; // root identifier; table[9] pads to even length
    }

    /// <summary>A fixed-length text field: space padded ASCII in the PVD, space padded UCS-2 BE in Joliet.</summary>
    private static void Text(Span<byte> field, string value, bool ascii)
    {
        if (ascii)
        {
            field.Fill((byte)' ');
            Encoding.ASCII.GetBytes(value, field);
            return;
        }
        for (var i = 0; i + 1 < field.Length; i += 2)
        {
            var c = i / 2 < value.Length ? value[i / 2] : ' ';
            BinaryPrimitives.WriteUInt16BigEndian(field[i..], c);
        }
        if (field.Length % 2 == 1)
        {
            field[^1] = 0;
        }
    }

    /// <summary>The 17-byte volume descriptor date: 16 ASCII digits YYYYMMDDHHMMSScc and a GMT offset byte.</summary>
    private static void LongDate(Span<byte> field, DateTimeOffset? time)
    {
        var text = time is { } t ? t.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture) + "00" : "0000000000000000";
        Encoding.ASCII.GetBytes(text, field);
        field[16] = 0;
    }

    private static void BothEndian32(Span<byte> field, uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(field, value);
        BinaryPrimitives.WriteUInt32BigEndian(field[4..], value);
    }

    private static void BothEndian16(Span<byte> field, ushort value)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(field, value);
        BinaryPrimitives.WriteUInt16BigEndian(field[2..], value);
    }

    private sealed class Entry(IsoFile file, byte[] jolietId)
    {
        public IsoFile File { get; } = file;
        public byte[] JolietId { get; } = jolietId;
        public byte[] PrimaryId { get; set; } = [];
        public int Sector { get; set; }
    }

    /// <summary>ECMA-119 9.3 orders directory records by identifier bytes.</summary>
    private sealed class ByteComparer : IComparer<byte[]>
    {
        public static readonly ByteComparer Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }
}
