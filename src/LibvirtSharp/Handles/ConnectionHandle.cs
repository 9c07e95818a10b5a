using LibvirtSharp.Interop;

namespace LibvirtSharp.Handles;

/// <summary>Owns one reference on a <c>virConnectPtr</c>; released with virConnectClose.</summary>
internal sealed class ConnectionHandle : LibvirtHandle
{
    /// <summary>Used by the interop marshaller for returned handles.</summary>
    public ConnectionHandle()
    {
    }

    /// <inheritdoc/>
    protected override bool Free(nint raw) => ConnectNative.virConnectClose(raw) >= 0;
}
