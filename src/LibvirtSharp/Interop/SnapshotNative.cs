using System.Runtime.InteropServices;
using LibvirtSharp.Handles;

namespace LibvirtSharp.Interop;

/// <summary>Domain snapshots (libvirt-domain-snapshot.h).</summary>
internal static unsafe partial class SnapshotNative
{
    [LibraryImport(Native.Library)]
    public static partial int virDomainSnapshotFree(nint snapshot);

    [LibraryImport(Native.Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial DomainSnapshotHandle virDomainSnapshotCreateXML(DomainHandle domain, string xmlDesc, uint flags);

    [LibraryImport(Native.Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial DomainSnapshotHandle virDomainSnapshotLookupByName(DomainHandle domain, string name, uint flags);

    [LibraryImport(Native.Library)]
    public static partial DomainSnapshotHandle virDomainSnapshotCurrent(DomainHandle domain, uint flags);

    [LibraryImport(Native.Library)]
    public static partial int virDomainListAllSnapshots(DomainHandle domain, nint** snaps, uint flags);

    [LibraryImport(Native.Library)]
    public static partial nint virDomainSnapshotGetName(DomainSnapshotHandle snapshot);

    [LibraryImport(Native.Library)]
    public static partial nint virDomainSnapshotGetXMLDesc(DomainSnapshotHandle snapshot, uint flags);

    [LibraryImport(Native.Library)]
    public static partial int virDomainSnapshotIsCurrent(DomainSnapshotHandle snapshot, uint flags);

    [LibraryImport(Native.Library)]
    public static partial int virDomainSnapshotDelete(DomainSnapshotHandle snapshot, uint flags);

    [LibraryImport(Native.Library)]
    public static partial int virDomainRevertToSnapshot(DomainSnapshotHandle snapshot, uint flags);
}
