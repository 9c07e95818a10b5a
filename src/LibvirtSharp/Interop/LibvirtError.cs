using LibvirtSharp.Handles;

namespace LibvirtSharp.Interop;

/// <summary>
/// Turns libvirt's thread-local last error into a <see cref="LibvirtException"/>. Must run on the thread that
/// made the failing call, before any other libvirt call on that thread.
/// </summary>
/// <remarks>
/// One gap remains by design: if a caller disposes an object on another thread while a call on it is in flight,
/// the interop stub's final SafeHandle release runs virXxxFree on this thread, which clears the error before it
/// is read; the exception then says libvirt reported no error. That is a use-after-dispose by the caller.
/// </remarks>
internal static unsafe class LibvirtError
{
    /// <summary>Reads and clears the calling thread's libvirt error.</summary>
    public static LibvirtException Capture(string operation)
    {
        VirError* error = ErrorNative.virGetLastError();
        if (error is null)
        {
            return new LibvirtException(
                ErrorDomain.None, ErrorCode.InternalError, "libvirt reported failure without an error", operation);
        }

        var exception = new LibvirtException(
            (ErrorDomain)error->Domain,
            (ErrorCode)error->Code,
            Native.BorrowString(error->Message) ?? "(no message)",
            operation);
        ErrorNative.virResetLastError();
        return exception;
    }

    /// <summary>Throws the captured error when <paramref name="result"/> is negative (libvirt's failure convention).</summary>
    public static int Check(int result, string operation) => result < 0 ? throw Capture(operation) : result;

    /// <summary>Throws when a returned string pointer is null; otherwise takes ownership and frees it.</summary>
    public static string TakeString(nint result, string operation) =>
        result == 0 ? throw Capture(operation) : Native.TakeString(result)!;

    /// <summary>Throws when a returned <c>const char *</c> is null; otherwise copies it.</summary>
    public static string BorrowString(nint result, string operation) =>
        result == 0 ? throw Capture(operation) : Native.BorrowString(result)!;

    /// <summary>Throws when a returned handle is null; otherwise records it as owned.</summary>
    public static T Check<T>(T handle, string operation)
        where T : LibvirtHandle
    {
        if (handle.IsInvalid)
        {
            var exception = Capture(operation);
            handle.Dispose();
            throw exception;
        }

        handle.Track();
        return handle;
    }

    /// <summary>Like <see cref="Check{T}"/> but returns null for a not-found error.</summary>
    public static T? CheckOrNull<T>(T handle, string operation)
        where T : LibvirtHandle
    {
        if (handle.IsInvalid)
        {
            var exception = Capture(operation);
            handle.Dispose();
            return exception.IsNotFound ? null : throw exception;
        }

        handle.Track();
        return handle;
    }

    /// <summary>
    /// Wraps a libvirt-allocated array of object pointers: each element becomes an owned handle, then the array
    /// itself is freed.
    /// </summary>
    public static List<T> AdoptArray<T>(nint* items, int count)
        where T : LibvirtHandle, new()
    {
        var result = new List<T>(count);
        try
        {
            for (var i = 0; i < count; i++)
            {
                var handle = new T();
                handle.Adopt(items[i]);
                result.Add(handle);
            }
        }
        finally
        {
            Native.Free(items);
        }

        return result;
    }
}
