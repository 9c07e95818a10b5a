using System.Runtime.InteropServices;

namespace LibvirtSharp.Interop;

/// <summary>Shared constants and memory helpers for the libvirt imports.</summary>
internal static unsafe class Native
{
    /// <summary>The soname of the client library; libvirt keeps ABI compatibility within .so.0.</summary>
    public const string Library = "libvirt.so.0";

    /// <summary>Bytes in a raw UUID (VIR_UUID_BUFLEN).</summary>
    public const int UuidLength = 16;

    /// <summary>Reads a UTF-8 string that libvirt allocated for the caller and frees it with free().</summary>
    public static string? TakeString(nint ptr)
    {
        if (ptr == 0)
        {
            return null;
        }

        try
        {
            return Marshal.PtrToStringUTF8(ptr);
        }
        finally
        {
            // libvirt documents that returned strings are released with free(); NativeMemory.Free is free() on Unix.
            NativeMemory.Free((void*)ptr);
        }
    }

    /// <summary>Reads a string that libvirt keeps ownership of (a <c>const char *</c>).</summary>
    public static string? BorrowString(nint ptr) => ptr == 0 ? null : Marshal.PtrToStringUTF8(ptr);

    /// <summary>Frees an array that libvirt allocated for the caller.</summary>
    public static void Free(void* ptr) => NativeMemory.Free(ptr);

    /// <summary>Converts libvirt's raw UUID bytes (RFC 4122 network order) to a <see cref="Guid"/>.</summary>
    public static Guid ToGuid(ReadOnlySpan<byte> raw) => new(raw, bigEndian: true);

    /// <summary>Writes a <see cref="Guid"/> as the raw 16 bytes libvirt expects.</summary>
    public static void WriteUuid(Guid value, Span<byte> destination)
    {
        if (!value.TryWriteBytes(destination, bigEndian: true, out _))
        {
            throw new ArgumentException("UUID buffer too small.", nameof(destination));
        }
    }

    /// <summary>Splits libvirt's packed version number (major * 1,000,000 + minor * 1,000 + release).</summary>
    public static Version ToVersion(ulong packed) =>
        new((int)(packed / 1_000_000), (int)(packed / 1_000 % 1_000), (int)(packed % 1_000));
}
