using LibvirtSharp.Handles;
using LibvirtSharp.Interop;

namespace LibvirtSharp;

/// <summary>A snapshot of a domain (<c>virDomainSnapshotPtr</c>). Thread-safe; dispose when done.</summary>
public sealed class DomainSnapshot : IDisposable
{
    private readonly DomainSnapshotHandle _handle;
    private string? _name;

    internal DomainSnapshot(DomainSnapshotHandle handle) => _handle = handle;

    /// <summary>The snapshot's name.</summary>
    public string Name => _name ??= LibvirtError.BorrowString(SnapshotNative.virDomainSnapshotGetName(_handle), "DomainSnapshot.Name");

    /// <summary>True when this is the domain's current snapshot.</summary>
    public bool IsCurrent => LibvirtError.Check(SnapshotNative.virDomainSnapshotIsCurrent(_handle, 0), "DomainSnapshot.IsCurrent") == 1;

    /// <summary>The snapshot XML, as libvirt returns it.</summary>
    public string GetXml() => LibvirtError.TakeString(SnapshotNative.virDomainSnapshotGetXMLDesc(_handle, 0), "DomainSnapshot.GetXml");

    /// <summary>Deletes the snapshot.</summary>
    public void Delete(SnapshotDeleteFlags flags = SnapshotDeleteFlags.None) =>
        LibvirtError.Check(SnapshotNative.virDomainSnapshotDelete(_handle, (uint)flags), "DomainSnapshot.Delete");

    /// <summary>Reverts the domain to this snapshot.</summary>
    public void Revert(SnapshotRevertFlags flags = SnapshotRevertFlags.None) =>
        LibvirtError.Check(SnapshotNative.virDomainRevertToSnapshot(_handle, (uint)flags), "DomainSnapshot.Revert");

    /// <summary>Drops this object's libvirt reference, once.</summary>
    public void Dispose() => _handle.Dispose();

    /// <inheritdoc/>
    public override string ToString() => _handle.IsClosed ? "DomainSnapshot (disposed)" : $"DomainSnapshot {Name}";
}
