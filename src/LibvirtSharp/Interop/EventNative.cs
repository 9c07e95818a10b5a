using System.Runtime.InteropServices;
using LibvirtSharp.Handles;

namespace LibvirtSharp.Interop;

/// <summary>The default event loop and domain event registration (libvirt-event.h, libvirt-domain.h).</summary>
internal static unsafe partial class EventNative
{
    [LibraryImport(Native.Library)]
    public static partial int virEventRegisterDefaultImpl();

    [LibraryImport(Native.Library)]
    public static partial int virEventRunDefaultImpl();

    [LibraryImport(Native.Library)]
    public static partial int virConnectDomainEventRegisterAny(
        ConnectionHandle conn,
        nint dom,
        int eventId,
        delegate* unmanaged<nint, nint, int, int, nint, int> cb,
        nint opaque,
        delegate* unmanaged<nint, void> freecb);

    [LibraryImport(Native.Library)]
    public static partial int virConnectDomainEventDeregisterAny(ConnectionHandle conn, int callbackId);
}
