using System.Runtime.InteropServices;
using LibvirtSharp.Handles;

namespace LibvirtSharp.Interop;

/// <summary>Layout of libvirt's <c>virDomainInfo</c> (libvirt-domain.h).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct VirDomainInfo
{
    public byte State;
    public CULong MaxMem;
    public CULong Memory;
    public ushort NrVirtCpu;
    public ulong CpuTime;
}

/// <summary>Layout of libvirt's <c>virDomainIPAddress</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct VirDomainIPAddress
{
    public int Type;
    public nint Addr;
    public uint Prefix;
}

/// <summary>Layout of libvirt's <c>virDomainInterface</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct VirDomainInterface
{
    public nint Name;
    public nint Hwaddr;
    public uint Naddrs;
    public VirDomainIPAddress* Addrs;
}

/// <summary>Domains (libvirt-domain.h).</summary>
internal static unsafe partial class DomainNative
{
    [LibraryImport(Native.Library)]
    public static partial int virDomainFree(nint domain);

    [LibraryImport(Native.Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial DomainHandle virDomainDefineXMLFlags(ConnectionHandle conn, string xml, uint flags);

    [LibraryImport(Native.Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial DomainHandle virDomainCreateXML(ConnectionHandle conn, string xmlDesc, uint flags);

    [LibraryImport(Native.Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial DomainHandle virDomainLookupByName(ConnectionHandle conn, string name);

    [LibraryImport(Native.Library)]
    public static partial DomainHandle virDomainLookupByUUID(ConnectionHandle conn, byte* uuid);

    [LibraryImport(Native.Library)]
    public static partial DomainHandle virDomainLookupByID(ConnectionHandle conn, int id);

    [LibraryImport(Native.Library)]
    public static partial nint virDomainGetName(DomainHandle domain);

    [LibraryImport(Native.Library, EntryPoint = "virDomainGetName")]
    public static partial nint virDomainGetNameRaw(nint domain);

    [LibraryImport(Native.Library)]
    public static partial int virDomainGetUUID(DomainHandle domain, byte* uuid);

    [LibraryImport(Native.Library, EntryPoint = "virDomainGetUUID")]
    public static partial int virDomainGetUUIDRaw(nint domain, byte* uuid);

    [LibraryImport(Native.Library)]
    public static partial uint virDomainGetID(DomainHandle domain);

    [LibraryImport(Native.Library)]
    public static partial int virDomainIsActive(DomainHandle domain);

    [LibraryImport(Native.Library)]
    public static partial int virDomainIsPersistent(DomainHandle domain);

    [LibraryImport(Native.Library)]
    public static partial int virDomainGetAutostart(DomainHandle domain, out int autostart);

    [LibraryImport(Native.Library)]
    public static partial int virDomainSetAutostart(DomainHandle domain, int autostart);

    [LibraryImport(Native.Library)]
    public static partial int virDomainGetState(DomainHandle domain, out int state, out int reason, uint flags);

    [LibraryImport(Native.Library)]
    public static partial int virDomainGetInfo(DomainHandle domain, VirDomainInfo* info);

    [LibraryImport(Native.Library)]
    public static partial nint virDomainGetXMLDesc(DomainHandle domain, uint flags);

    [LibraryImport(Native.Library)]
    public static partial int virDomainCreateWithFlags(DomainHandle domain, uint flags);

    [LibraryImport(Native.Library)]
    public static partial int virDomainShutdownFlags(DomainHandle domain, uint flags);

    [LibraryImport(Native.Library)]
    public static partial int virDomainDestroyFlags(DomainHandle domain, uint flags);

    [LibraryImport(Native.Library)]
    public static partial int virDomainReboot(DomainHandle domain, uint flags);

    [LibraryImport(Native.Library)]
    public static partial int virDomainSuspend(DomainHandle domain);

    [LibraryImport(Native.Library)]
    public static partial int virDomainResume(DomainHandle domain);

    [LibraryImport(Native.Library)]
    public static partial int virDomainUndefineFlags(DomainHandle domain, uint flags);

    [LibraryImport(Native.Library)]
    public static partial int virDomainManagedSave(DomainHandle domain, uint flags);

    [LibraryImport(Native.Library)]
    public static partial int virDomainHasManagedSaveImage(DomainHandle domain, uint flags);

    [LibraryImport(Native.Library)]
    public static partial int virDomainManagedSaveRemove(DomainHandle domain, uint flags);

    [LibraryImport(Native.Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint virDomainGetMetadata(DomainHandle domain, int type, string? uri, uint flags);

    [LibraryImport(Native.Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int virDomainSetMetadata(
        DomainHandle domain, int type, string? metadata, string? key, string? uri, uint flags);

    [LibraryImport(Native.Library)]
    public static partial int virDomainInterfaceAddresses(
        DomainHandle domain, VirDomainInterface*** ifaces, uint source, uint flags);

    [LibraryImport(Native.Library)]
    public static partial void virDomainInterfaceFree(VirDomainInterface* iface);

    [LibraryImport(Native.Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int virDomainCoreDumpWithFormat(DomainHandle domain, string to, uint dumpformat, uint flags);

    [LibraryImport(Native.Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int virDomainAttachDeviceFlags(DomainHandle domain, string xml, uint flags);

    [LibraryImport(Native.Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int virDomainDetachDeviceFlags(DomainHandle domain, string xml, uint flags);

    [LibraryImport(Native.Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int virDomainUpdateDeviceFlags(DomainHandle domain, string xml, uint flags);
}
