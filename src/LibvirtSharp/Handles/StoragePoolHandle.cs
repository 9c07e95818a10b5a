using LibvirtSharp.Interop;

namespace LibvirtSharp.Handles;

/// <summary>Owns one reference on a <c>virStoragePoolPtr</c>; released with virStoragePoolFree.</summary>
internal sealed class StoragePoolHandle : LibvirtHandle
{
    /// <summary>Used by the interop marshaller for returned handles.</summary>
    public StoragePoolHandle()
    {
    }

    /// <inheritdoc/>
    protected override bool Free(nint raw) => StorageNative.virStoragePoolFree(raw) == 0;
}
