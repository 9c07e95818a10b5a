using System.Xml.Linq;

namespace LibvirtSharp.Tests.TestDriver;

public sealed class StorageTests : IDisposable
{
    private const ulong MiB = 1024 * 1024;
    private readonly Connection _conn = TestDriverConnection.Open();

    public void Dispose() => _conn.Dispose();

    private StoragePool DefineStartedPool()
    {
        var name = TestXml.UniqueName();
        var pool = _conn.DefineStoragePool(TestXml.DirPool(name, "/lvtest/" + name));
        pool.Build();
        pool.Start();
        return pool;
    }

    [Fact]
    public void DefineStoragePool_BuildStartDestroyUndefine_FollowsLifecycle()
    {
        var name = TestXml.UniqueName();
        using var pool = _conn.DefineStoragePool(TestXml.DirPool(name, "/lvtest/" + name));

        Assert.Equal(name, pool.Name);
        Assert.False(pool.IsActive);
        Assert.True(pool.IsPersistent);
        pool.Build();
        pool.Start();
        Assert.True(pool.IsActive);
        Assert.Equal(StoragePoolState.Running, pool.GetInfo().State);
        pool.Refresh();
        pool.Autostart = true;
        Assert.True(pool.Autostart);
        pool.Destroy();
        Assert.Equal(StoragePoolState.Inactive, pool.GetInfo().State);
        pool.Undefine();

        Assert.Null(_conn.TryLookupStoragePool(name));
    }

    [Fact]
    public void LookupStoragePool_ByNameAndUuid_FindsSamePool()
    {
        using var pool = DefineStartedPool();

        using var byName = _conn.LookupStoragePool(pool.Name);
        using var byUuid = _conn.LookupStoragePool(pool.Uuid);

        Assert.Equal(pool.Uuid, byName.Uuid);
        Assert.Equal(pool.Name, byUuid.Name);
        Assert.Equal(pool.Name, (string?)XDocument.Parse(pool.GetXml()).Root!.Element("name"));
    }

    [Fact]
    public void LookupStoragePool_Missing_ThrowsNoStoragePool()
    {
        var ex = Assert.Throws<LibvirtException>(() => _conn.LookupStoragePool("lvtest-missing"));

        Assert.Equal(ErrorCode.NoStoragePool, ex.Code);
        Assert.True(ex.IsNotFound);
        Assert.Null(_conn.TryLookupStoragePool("lvtest-missing"));
    }

    [Fact]
    public void ListStoragePools_IncludesDefaultPool()
    {
        var pools = _conn.ListStoragePools();
        try
        {
            Assert.Contains(pools, p => p.Name == "default-pool");
        }
        finally
        {
            foreach (var p in pools)
            {
                p.Dispose();
            }
        }
    }

    [Fact]
    public void CreateVolume_Raw_HasInfoPathAndXml()
    {
        using var pool = DefineStartedPool();

        using var volume = pool.CreateVolume(TestXml.Volume("disk.img", 16 * MiB));

        Assert.Equal("disk.img", volume.Name);
        Assert.EndsWith("/disk.img", volume.Path);
        Assert.False(string.IsNullOrEmpty(volume.Key));
        var info = volume.GetInfo();
        Assert.Equal(StorageVolumeType.File, info.Type);
        Assert.Equal(16 * MiB, info.CapacityBytes);
        Assert.Equal("disk.img", (string?)XDocument.Parse(volume.GetXml()).Root!.Element("name"));
        using var samePool = volume.GetPool();
        Assert.Equal(pool.Uuid, samePool.Uuid);
        using var byPath = _conn.LookupStorageVolumeByPath(volume.Path);
        Assert.Equal(volume.Key, byPath.Key);
        using var byKey = _conn.LookupStorageVolumeByKey(volume.Key);
        Assert.Equal(volume.Name, byKey.Name);
        Assert.Equal(ErrorCode.NoStorageVolume, Assert.Throws<LibvirtException>(() => _conn.LookupStorageVolumeByPath("/lvtest/none.img")).Code);
    }

    [Fact]
    public void CreateVolumeFrom_Clone_CopiesCapacity()
    {
        using var pool = DefineStartedPool();
        using var source = pool.CreateVolume(TestXml.Volume("base.img", 8 * MiB));

        using var clone = pool.CreateVolumeFrom(TestXml.Volume("clone.img", 8 * MiB), source);

        Assert.Equal("clone.img", clone.Name);
        Assert.Equal(8 * MiB, clone.GetInfo().CapacityBytes);
    }

    [Fact]
    public void ListVolumes_LookupAndDelete_Work()
    {
        using var pool = DefineStartedPool();
        using (pool.CreateVolume(TestXml.Volume("a.img", MiB)))
        using (pool.CreateVolume(TestXml.Volume("b.img", MiB)))
        {
        }

        var volumes = pool.ListVolumes();
        try
        {
            Assert.Equal(["a.img", "b.img"], volumes.Select(v => v.Name).Order());
        }
        finally
        {
            foreach (var v in volumes)
            {
                v.Dispose();
            }
        }

        using (var a = pool.LookupVolume("a.img"))
        {
            // Wipe is not in the test driver (live tier); the error path is.
            Assert.Equal(ErrorCode.NoSupport, Assert.Throws<LibvirtException>(a.Wipe).Code);
            a.Delete();
        }

        Assert.Null(pool.TryLookupVolume("a.img"));
        var ex = Assert.Throws<LibvirtException>(() => pool.LookupVolume("a.img"));
        Assert.Equal(ErrorCode.NoStorageVolume, ex.Code);
        Assert.True(ex.IsNotFound);
    }

    [Fact]
    public void CreateVolume_DuplicateName_ThrowsStorageVolumeExist()
    {
        using var pool = DefineStartedPool();
        using var first = pool.CreateVolume(TestXml.Volume("dup.img", MiB));

        var ex = Assert.Throws<LibvirtException>(() => pool.CreateVolume(TestXml.Volume("dup.img", MiB)));

        Assert.False(string.IsNullOrWhiteSpace(ex.LibvirtMessage));
    }

    [Fact]
    public void CreateVolume_InvalidXml_ThrowsWithLibvirtMessage()
    {
        using var pool = DefineStartedPool();

        var ex = Assert.Throws<LibvirtException>(() => pool.CreateVolume("<volume><name>x</name></volume"));

        Assert.False(string.IsNullOrWhiteSpace(ex.LibvirtMessage));
    }
}
