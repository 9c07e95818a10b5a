using LibvirtSharp.Interop;

namespace LibvirtSharp.Handles;

/// <summary>Owns one reference on a <c>virNodeDevicePtr</c>; released with virNodeDeviceFree.</summary>
internal sealed class NodeDeviceHandle : LibvirtHandle
{
    /// <summary>Used by the interop marshaller for returned handles.</summary>
    public NodeDeviceHandle()
    {
    }

    /// <inheritdoc/>
    protected override bool Free(nint raw) => NodeDeviceNative.virNodeDeviceFree(raw) == 0;
}
