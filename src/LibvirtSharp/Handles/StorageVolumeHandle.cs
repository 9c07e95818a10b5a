using LibvirtSharp.Interop;

namespace LibvirtSharp.Handles;

/// <summary>Owns one reference on a <c>virStorageVolPtr</c>; released with virStorageVolFree.</summary>
internal sealed class StorageVolumeHandle : LibvirtHandle
{
    /// <summary>Used by the interop marshaller for returned handles.</summary>
    public StorageVolumeHandle()
    {
    }

    /// <inheritdoc/>
    protected override bool Free(nint raw) => StorageNative.virStorageVolFree(raw) == 0;
}
