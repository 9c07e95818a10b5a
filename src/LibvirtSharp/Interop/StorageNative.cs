using System.Runtime.InteropServices;
using LibvirtSharp.Handles;

namespace LibvirtSharp.Interop;

/// <summary>Layout of libvirt's <c>virStoragePoolInfo</c> (libvirt-storage.h).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct VirStoragePoolInfo
{
    public int State;
    public ulong Capacity;
    public ulong Allocation;
    public ulong Available;
}

/// <summary>Layout of libvirt's <c>virStorageVolInfo</c> (libvirt-storage.h).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct VirStorageVolInfo
{
    public int Type;
    public ulong Capacity;
    public ulong Allocation;
}

/// <summary>Storage pools and volumes (libvirt-storage.h).</summary>
internal static unsafe partial class StorageNative
{
    [LibraryImport(Native.Library)]
    public static partial int virStoragePoolFree(nint pool);

    [LibraryImport(Native.Library)]
    public static partial int virStorageVolFree(nint vol);

    [LibraryImport(Native.Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial StoragePoolHandle virStoragePoolDefineXML(ConnectionHandle conn, string xml, uint flags);

    [LibraryImport(Native.Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial StoragePoolHandle virStoragePoolCreateXML(ConnectionHandle conn, string xml, uint flags);

    [LibraryImport(Native.Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial StoragePoolHandle virStoragePoolLookupByName(ConnectionHandle conn, string name);

    [LibraryImport(Native.Library)]
    public static partial StoragePoolHandle virStoragePoolLookupByUUID(ConnectionHandle conn, byte* uuid);

    [LibraryImport(Native.Library)]
    public static partial StoragePoolHandle virStoragePoolLookupByVolume(StorageVolumeHandle vol);

    [LibraryImport(Native.Library)]
    public static partial nint virStoragePoolGetName(StoragePoolHandle pool);

    [LibraryImport(Native.Library)]
    public static partial int virStoragePoolGetUUID(StoragePoolHandle pool, byte* uuid);

    [LibraryImport(Native.Library)]
    public static partial int virStoragePoolIsActive(StoragePoolHandle pool);

    [LibraryImport(Native.Library)]
    public static partial int virStoragePoolIsPersistent(StoragePoolHandle pool);

    [LibraryImport(Native.Library)]
    public static partial int virStoragePoolGetAutostart(StoragePoolHandle pool, out int autostart);

    [LibraryImport(Native.Library)]
    public static partial int virStoragePoolSetAutostart(StoragePoolHandle pool, int autostart);

    [LibraryImport(Native.Library)]
    public static partial int virStoragePoolBuild(StoragePoolHandle pool, uint flags);

    [LibraryImport(Native.Library)]
    public static partial int virStoragePoolCreate(StoragePoolHandle pool, uint flags);

    [LibraryImport(Native.Library)]
    public static partial int virStoragePoolDestroy(StoragePoolHandle pool);

    [LibraryImport(Native.Library)]
    public static partial int virStoragePoolDelete(StoragePoolHandle pool, uint flags);

    [LibraryImport(Native.Library)]
    public static partial int virStoragePoolUndefine(StoragePoolHandle pool);

    [LibraryImport(Native.Library)]
    public static partial int virStoragePoolRefresh(StoragePoolHandle pool, uint flags);

    [LibraryImport(Native.Library)]
    public static partial int virStoragePoolGetInfo(StoragePoolHandle pool, VirStoragePoolInfo* info);

    [LibraryImport(Native.Library)]
    public static partial nint virStoragePoolGetXMLDesc(StoragePoolHandle pool, uint flags);

    [LibraryImport(Native.Library)]
    public static partial int virStoragePoolListAllVolumes(StoragePoolHandle pool, nint** vols, uint flags);

    [LibraryImport(Native.Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial StorageVolumeHandle virStorageVolLookupByName(StoragePoolHandle pool, string name);

    [LibraryImport(Native.Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial StorageVolumeHandle virStorageVolLookupByPath(ConnectionHandle conn, string path);

    [LibraryImport(Native.Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial StorageVolumeHandle virStorageVolLookupByKey(ConnectionHandle conn, string key);

    [LibraryImport(Native.Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial StorageVolumeHandle virStorageVolCreateXML(StoragePoolHandle pool, string xml, uint flags);

    [LibraryImport(Native.Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial StorageVolumeHandle virStorageVolCreateXMLFrom(
        StoragePoolHandle pool, string xml, StorageVolumeHandle clonevol, uint flags);

    [LibraryImport(Native.Library)]
    public static partial nint virStorageVolGetName(StorageVolumeHandle vol);

    [LibraryImport(Native.Library)]
    public static partial nint virStorageVolGetKey(StorageVolumeHandle vol);

    [LibraryImport(Native.Library)]
    public static partial nint virStorageVolGetPath(StorageVolumeHandle vol);

    [LibraryImport(Native.Library)]
    public static partial nint virStorageVolGetConnect(StorageVolumeHandle vol);

    [LibraryImport(Native.Library)]
    public static partial int virStorageVolGetInfo(StorageVolumeHandle vol, VirStorageVolInfo* info);

    [LibraryImport(Native.Library)]
    public static partial nint virStorageVolGetXMLDesc(StorageVolumeHandle vol, uint flags);

    [LibraryImport(Native.Library)]
    public static partial int virStorageVolDelete(StorageVolumeHandle vol, uint flags);

    [LibraryImport(Native.Library)]
    public static partial int virStorageVolWipe(StorageVolumeHandle vol, uint flags);

    [LibraryImport(Native.Library)]
    public static partial int virStorageVolResize(StorageVolumeHandle vol, ulong capacity, uint flags);

    [LibraryImport(Native.Library)]
    public static partial int virStorageVolUpload(
        StorageVolumeHandle vol, StreamHandle stream, ulong offset, ulong length, uint flags);

    [LibraryImport(Native.Library)]
    public static partial int virStorageVolDownload(
        StorageVolumeHandle vol, StreamHandle stream, ulong offset, ulong length, uint flags);
}
