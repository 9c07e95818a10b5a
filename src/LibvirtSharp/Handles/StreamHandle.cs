using LibvirtSharp.Interop;

namespace LibvirtSharp.Handles;

/// <summary>Owns one reference on a <c>virStreamPtr</c>; released with virStreamFree.</summary>
internal sealed class StreamHandle : LibvirtHandle
{
    /// <summary>Used by the interop marshaller for returned handles.</summary>
    public StreamHandle()
    {
    }

    /// <inheritdoc/>
    protected override bool Free(nint raw) => StreamNative.virStreamFree(raw) == 0;
}
