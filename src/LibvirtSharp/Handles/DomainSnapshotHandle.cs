using LibvirtSharp.Interop;

namespace LibvirtSharp.Handles;

/// <summary>Owns one reference on a <c>virDomainSnapshotPtr</c>; released with virDomainSnapshotFree.</summary>
internal sealed class DomainSnapshotHandle : LibvirtHandle
{
    /// <summary>Used by the interop marshaller for returned handles.</summary>
    public DomainSnapshotHandle()
    {
    }

    /// <inheritdoc/>
    protected override bool Free(nint raw) => SnapshotNative.virDomainSnapshotFree(raw) == 0;
}
