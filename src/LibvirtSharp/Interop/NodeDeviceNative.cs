using System.Runtime.InteropServices;
using LibvirtSharp.Handles;

namespace LibvirtSharp.Interop;

/// <summary>Host devices (libvirt-nodedev.h).</summary>
internal static unsafe partial class NodeDeviceNative
{
    [LibraryImport(Native.Library)]
    public static partial int virNodeDeviceFree(nint device);

    [LibraryImport(Native.Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial NodeDeviceHandle virNodeDeviceLookupByName(ConnectionHandle conn, string name);

    [LibraryImport(Native.Library)]
    public static partial nint virNodeDeviceGetName(NodeDeviceHandle device);

    [LibraryImport(Native.Library)]
    public static partial nint virNodeDeviceGetParent(NodeDeviceHandle device);

    [LibraryImport(Native.Library)]
    public static partial nint virNodeDeviceGetXMLDesc(NodeDeviceHandle device, uint flags);
}
