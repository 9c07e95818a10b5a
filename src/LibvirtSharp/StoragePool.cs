using LibvirtSharp.Handles;
using LibvirtSharp.Interop;

namespace LibvirtSharp;

/// <summary>A storage pool (<c>virStoragePoolPtr</c>), for example a directory of disk images. Thread-safe; dispose when done.</summary>
/// <remarks>Holds its own reference on the libvirt connection, so it outlives its <see cref="Connection"/> object.</remarks>
public sealed class StoragePool : IDisposable
{
    private readonly StoragePoolHandle _handle;
    private string? _name;

    internal StoragePool(StoragePoolHandle handle) => _handle = handle;

    /// <summary>The pool's name.</summary>
    public string Name => _name ??= LibvirtError.BorrowString(StorageNative.virStoragePoolGetName(_handle), "StoragePool.Name");

    /// <summary>The pool's UUID.</summary>
    public unsafe Guid Uuid
    {
        get
        {
            byte* raw = stackalloc byte[Native.UuidLength];
            LibvirtError.Check(StorageNative.virStoragePoolGetUUID(_handle, raw), "StoragePool.Uuid");
            return Native.ToGuid(new ReadOnlySpan<byte>(raw, Native.UuidLength));
        }
    }

    /// <summary>True while the pool is started.</summary>
    public bool IsActive => LibvirtError.Check(StorageNative.virStoragePoolIsActive(_handle), "StoragePool.IsActive") == 1;

    /// <summary>True when the pool has a persistent configuration.</summary>
    public bool IsPersistent => LibvirtError.Check(StorageNative.virStoragePoolIsPersistent(_handle), "StoragePool.IsPersistent") == 1;

    /// <summary>Whether the pool starts with the host.</summary>
    public bool Autostart
    {
        get
        {
            LibvirtError.Check(StorageNative.virStoragePoolGetAutostart(_handle, out var value), "StoragePool.Autostart");
            return value != 0;
        }

        set => LibvirtError.Check(StorageNative.virStoragePoolSetAutostart(_handle, value ? 1 : 0), "StoragePool.Autostart");
    }

    /// <summary>Builds the pool's backing storage (for a directory pool: creates the directory).</summary>
    public void Build(StoragePoolBuildFlags flags = StoragePoolBuildFlags.New) =>
        LibvirtError.Check(StorageNative.virStoragePoolBuild(_handle, (uint)flags), "StoragePool.Build");

    /// <summary>Starts the pool.</summary>
    public void Start() => LibvirtError.Check(StorageNative.virStoragePoolCreate(_handle, 0), "StoragePool.Start");

    /// <summary>Stops the pool (volumes and data stay).</summary>
    public void Destroy() => LibvirtError.Check(StorageNative.virStoragePoolDestroy(_handle), "StoragePool.Destroy");

    /// <summary>Deletes the pool's backing storage (for a directory pool: removes the empty directory). The pool must be stopped.</summary>
    public void Delete() => LibvirtError.Check(StorageNative.virStoragePoolDelete(_handle, 0), "StoragePool.Delete");

    /// <summary>Removes the persistent configuration.</summary>
    public void Undefine() => LibvirtError.Check(StorageNative.virStoragePoolUndefine(_handle), "StoragePool.Undefine");

    /// <summary>Rescans the pool for volumes created or removed outside libvirt.</summary>
    public void Refresh() => LibvirtError.Check(StorageNative.virStoragePoolRefresh(_handle, 0), "StoragePool.Refresh");

    /// <summary>State, capacity, allocation and free space.</summary>
    public unsafe StoragePoolInfo GetInfo()
    {
        VirStoragePoolInfo info;
        LibvirtError.Check(StorageNative.virStoragePoolGetInfo(_handle, &info), "StoragePool.GetInfo");
        return new StoragePoolInfo((StoragePoolState)info.State, info.Capacity, info.Allocation, info.Available);
    }

    /// <summary>The pool XML, as libvirt returns it.</summary>
    /// <param name="inactive">The persistent configuration rather than the live state.</param>
    public string GetXml(bool inactive = false) =>
        LibvirtError.TakeString(StorageNative.virStoragePoolGetXMLDesc(_handle, inactive ? 1u : 0u), "StoragePool.GetXml");

    /// <summary>Lists the pool's volumes; each returned object must be disposed.</summary>
    public unsafe IReadOnlyList<StorageVolume> ListVolumes()
    {
        nint* items;
        var count = LibvirtError.Check(StorageNative.virStoragePoolListAllVolumes(_handle, &items, 0), "StoragePool.ListVolumes");
        return LibvirtError.AdoptArray<StorageVolumeHandle>(items, count).ConvertAll(h => new StorageVolume(h));
    }

    /// <summary>Finds a volume of this pool by name.</summary>
    /// <exception cref="LibvirtException">With <see cref="ErrorCode.NoStorageVolume"/> if there is none.</exception>
    public StorageVolume LookupVolume(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return new StorageVolume(LibvirtError.Check(StorageNative.virStorageVolLookupByName(_handle, name), $"StoragePool.LookupVolume({name})"));
    }

    /// <summary>Finds a volume of this pool by name, or returns null if there is none.</summary>
    public StorageVolume? TryLookupVolume(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var handle = LibvirtError.CheckOrNull(StorageNative.virStorageVolLookupByName(_handle, name), $"StoragePool.TryLookupVolume({name})");
        return handle is null ? null : new StorageVolume(handle);
    }

    /// <summary>Creates a volume from volume XML (for example a qcow2 file with a <c>&lt;backingStore&gt;</c>).</summary>
    public StorageVolume CreateVolume(string xml, VolumeCreateFlags flags = VolumeCreateFlags.None)
    {
        ArgumentNullException.ThrowIfNull(xml);
        return new StorageVolume(LibvirtError.Check(StorageNative.virStorageVolCreateXML(_handle, xml, (uint)flags), "StoragePool.CreateVolume"));
    }

    /// <summary>Creates a volume as a full copy of <paramref name="source"/> (which may live in another pool), shaped by <paramref name="xml"/>.</summary>
    public StorageVolume CreateVolumeFrom(string xml, StorageVolume source, VolumeCreateFlags flags = VolumeCreateFlags.None)
    {
        ArgumentNullException.ThrowIfNull(xml);
        ArgumentNullException.ThrowIfNull(source);
        return new StorageVolume(LibvirtError.Check(
            StorageNative.virStorageVolCreateXMLFrom(_handle, xml, source.Handle, (uint)flags), "StoragePool.CreateVolumeFrom"));
    }

    /// <summary>Drops this object's libvirt reference, once.</summary>
    public void Dispose() => _handle.Dispose();

    /// <inheritdoc/>
    public override string ToString() => _handle.IsClosed ? "StoragePool (disposed)" : $"StoragePool {Name}";
}
