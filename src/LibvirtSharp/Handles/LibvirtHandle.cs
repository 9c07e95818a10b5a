using System.Runtime.InteropServices;

namespace LibvirtSharp.Handles;

/// <summary>
/// Base of the per-type handles: owns one libvirt reference and gives it back exactly once, either on
/// <see cref="SafeHandle.Dispose()"/> or, if the caller forgot, from the finalizer.
/// </summary>
internal abstract class LibvirtHandle : SafeHandle
{
    private static long s_acquired;
    private static long s_released;
    private int _tracked;

    protected LibvirtHandle()
        : base(0, ownsHandle: true)
    {
    }

    /// <summary>Number of libvirt references taken over by handles and not yet released (leak diagnostics).</summary>
    internal static long LiveCount => Interlocked.Read(ref s_acquired) - Interlocked.Read(ref s_released);

    /// <summary>Number of references released so far (diagnostics for the "freed once" tests).</summary>
    internal static long ReleasedCount => Interlocked.Read(ref s_released);

    /// <inheritdoc/>
    public override bool IsInvalid => handle == 0;

    /// <summary>Marks a freshly returned, valid handle as owned, for <see cref="LiveCount"/>.</summary>
    internal void Track()
    {
        if (Interlocked.Exchange(ref _tracked, 1) == 0)
        {
            Interlocked.Increment(ref s_acquired);
        }
    }

    /// <summary>Adopts a raw reference that libvirt handed over (for example from a list call).</summary>
    internal void Adopt(nint raw)
    {
        SetHandle(raw);
        Track();
    }

    /// <summary>The raw pointer, for libvirt calls that take a borrowed reference inside a callback.</summary>
    internal nint Raw => handle;

    /// <inheritdoc/>
    protected sealed override bool ReleaseHandle()
    {
        if (Volatile.Read(ref _tracked) == 1)
        {
            Interlocked.Increment(ref s_released);
        }

        return Free(handle);
    }

    /// <summary>Drops the libvirt reference (virXxxFree).</summary>
    protected abstract bool Free(nint raw);
}
