using System.Runtime.InteropServices;
using LibvirtSharp.Handles;

namespace LibvirtSharp.Interop;

/// <summary>Layout of libvirt's <c>virNetworkDHCPLease</c> (libvirt-network.h).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct VirNetworkDhcpLease
{
    public nint Iface;
    public long ExpiryTime;
    public int Type;
    public nint Mac;
    public nint Iaid;
    public nint IpAddr;
    public uint Prefix;
    public nint Hostname;
    public nint ClientId;
}

/// <summary>Virtual networks (libvirt-network.h).</summary>
internal static unsafe partial class NetworkNative
{
    [LibraryImport(Native.Library)]
    public static partial int virNetworkFree(nint network);

    [LibraryImport(Native.Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial NetworkHandle virNetworkDefineXML(ConnectionHandle conn, string xml);

    [LibraryImport(Native.Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial NetworkHandle virNetworkCreateXML(ConnectionHandle conn, string xml);

    [LibraryImport(Native.Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial NetworkHandle virNetworkLookupByName(ConnectionHandle conn, string name);

    [LibraryImport(Native.Library)]
    public static partial NetworkHandle virNetworkLookupByUUID(ConnectionHandle conn, byte* uuid);

    [LibraryImport(Native.Library)]
    public static partial nint virNetworkGetName(NetworkHandle network);

    [LibraryImport(Native.Library)]
    public static partial int virNetworkGetUUID(NetworkHandle network, byte* uuid);

    [LibraryImport(Native.Library)]
    public static partial int virNetworkIsActive(NetworkHandle network);

    [LibraryImport(Native.Library)]
    public static partial int virNetworkIsPersistent(NetworkHandle network);

    [LibraryImport(Native.Library)]
    public static partial int virNetworkGetAutostart(NetworkHandle network, out int autostart);

    [LibraryImport(Native.Library)]
    public static partial int virNetworkSetAutostart(NetworkHandle network, int autostart);

    [LibraryImport(Native.Library)]
    public static partial int virNetworkCreate(NetworkHandle network);

    [LibraryImport(Native.Library)]
    public static partial int virNetworkDestroy(NetworkHandle network);

    [LibraryImport(Native.Library)]
    public static partial int virNetworkUndefine(NetworkHandle network);

    [LibraryImport(Native.Library)]
    public static partial nint virNetworkGetXMLDesc(NetworkHandle network, uint flags);

    [LibraryImport(Native.Library)]
    public static partial nint virNetworkGetBridgeName(NetworkHandle network);

    [LibraryImport(Native.Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int virNetworkUpdate(
        NetworkHandle network, uint command, uint section, int parentIndex, string xml, uint flags);

    [LibraryImport(Native.Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int virNetworkGetDHCPLeases(
        NetworkHandle network, string? mac, VirNetworkDhcpLease*** leases, uint flags);

    [LibraryImport(Native.Library)]
    public static partial void virNetworkDHCPLeaseFree(VirNetworkDhcpLease* lease);
}
