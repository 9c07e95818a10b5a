using System.Runtime.InteropServices;
using LibvirtSharp.Handles;

namespace LibvirtSharp.Interop;

/// <summary>Data streams (libvirt-stream.h).</summary>
internal static unsafe partial class StreamNative
{
    [LibraryImport(Native.Library)]
    public static partial StreamHandle virStreamNew(nint conn, uint flags);

    [LibraryImport(Native.Library)]
    public static partial int virStreamFree(nint stream);

    [LibraryImport(Native.Library)]
    public static partial int virStreamSend(StreamHandle stream, byte* data, nuint nbytes);

    [LibraryImport(Native.Library)]
    public static partial int virStreamRecv(StreamHandle stream, byte* data, nuint nbytes);

    [LibraryImport(Native.Library)]
    public static partial int virStreamFinish(StreamHandle stream);

    [LibraryImport(Native.Library)]
    public static partial int virStreamAbort(StreamHandle stream);
}
