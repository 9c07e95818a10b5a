using LibvirtSharp.Interop;

namespace LibvirtSharp.Handles;

/// <summary>Owns one reference on a <c>virNetworkPtr</c>; released with virNetworkFree.</summary>
internal sealed class NetworkHandle : LibvirtHandle
{
    /// <summary>Used by the interop marshaller for returned handles.</summary>
    public NetworkHandle()
    {
    }

    /// <inheritdoc/>
    protected override bool Free(nint raw) => NetworkNative.virNetworkFree(raw) == 0;
}
