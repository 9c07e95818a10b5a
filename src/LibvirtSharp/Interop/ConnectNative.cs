using System.Runtime.InteropServices;
using LibvirtSharp.Handles;

namespace LibvirtSharp.Interop;

/// <summary>Layout of libvirt's <c>virNodeInfo</c> (libvirt-host.h).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct VirNodeInfo
{
    public fixed byte Model[32];
    public CULong Memory;
    public uint Cpus;
    public uint Mhz;
    public uint Nodes;
    public uint Sockets;
    public uint Cores;
    public uint Threads;
}

/// <summary>Connections and host facts (libvirt-host.h).</summary>
internal static unsafe partial class ConnectNative
{
    [LibraryImport(Native.Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial ConnectionHandle virConnectOpen(string? name);

    [LibraryImport(Native.Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial ConnectionHandle virConnectOpenReadOnly(string? name);

    [LibraryImport(Native.Library)]
    public static partial int virConnectClose(nint conn);

    [LibraryImport(Native.Library)]
    public static partial nint virConnectGetURI(ConnectionHandle conn);

    [LibraryImport(Native.Library)]
    public static partial nint virConnectGetHostname(ConnectionHandle conn);

    [LibraryImport(Native.Library)]
    public static partial nint virConnectGetType(ConnectionHandle conn);

    [LibraryImport(Native.Library)]
    public static partial int virConnectGetVersion(ConnectionHandle conn, out CULong hvVer);

    [LibraryImport(Native.Library)]
    public static partial int virConnectGetLibVersion(ConnectionHandle conn, out CULong libVer);

    [LibraryImport(Native.Library)]
    public static partial int virConnectIsAlive(ConnectionHandle conn);

    [LibraryImport(Native.Library)]
    public static partial int virConnectIsEncrypted(ConnectionHandle conn);

    [LibraryImport(Native.Library)]
    public static partial int virConnectIsSecure(ConnectionHandle conn);

    [LibraryImport(Native.Library)]
    public static partial int virConnectSetKeepAlive(ConnectionHandle conn, int interval, uint count);

    [LibraryImport(Native.Library)]
    public static partial nint virConnectGetCapabilities(ConnectionHandle conn);

    [LibraryImport(Native.Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint virConnectGetDomainCapabilities(
        ConnectionHandle conn, string? emulatorbin, string? arch, string? machine, string? virttype, uint flags);

    [LibraryImport(Native.Library)]
    public static partial nint virConnectGetSysinfo(ConnectionHandle conn, uint flags);

    [LibraryImport(Native.Library)]
    public static partial int virNodeGetInfo(ConnectionHandle conn, VirNodeInfo* info);

    [LibraryImport(Native.Library)]
    public static partial ulong virNodeGetFreeMemory(ConnectionHandle conn);

    [LibraryImport(Native.Library)]
    public static partial int virConnectListAllDomains(ConnectionHandle conn, nint** domains, uint flags);

    [LibraryImport(Native.Library)]
    public static partial int virConnectListAllNetworks(ConnectionHandle conn, nint** nets, uint flags);

    [LibraryImport(Native.Library)]
    public static partial int virConnectListAllStoragePools(ConnectionHandle conn, nint** pools, uint flags);

    [LibraryImport(Native.Library)]
    public static partial int virConnectListAllNodeDevices(ConnectionHandle conn, nint** devices, uint flags);
}
