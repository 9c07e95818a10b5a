using System.Runtime.CompilerServices;
using LibvirtSharp.Handles;

namespace LibvirtSharp.Tests.TestDriver;

[CollectionDefinition(nameof(HandleAccounting), DisableParallelization = true)]
public sealed class HandleAccounting;

/// <summary>
/// Native reference accounting. Runs alone (no parallel tests) because it compares process-wide counters:
/// the handles' acquire/release counts and the process's open file descriptors.
/// </summary>
[Collection(nameof(HandleAccounting))]
public sealed class HandleLifetimeTests
{
    private static int OpenFileDescriptors() => Directory.GetFiles("/proc/self/fd").Length;

    private static void CollectGarbage()
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }

    [Fact]
    public void CreateAndDispose_ThousandsOfHandles_ReturnsToBaseline()
    {
        // Warm up lazily created libvirt state (event loop, driver tables) before taking the baseline.
        using (var warm = TestDriverConnection.Open())
        using (warm.LookupDomain("test"))
        {
        }

        CollectGarbage();
        var liveBefore = LibvirtHandle.LiveCount;
        var fdsBefore = OpenFileDescriptors();

        for (var round = 0; round < 200; round++)
        {
            using var conn = TestDriverConnection.Open();
            using var domain = conn.DefineDomain(TestXml.TestDomain($"lvtest-leak-{round}"));
            for (var i = 0; i < 10; i++)
            {
                using var byName = conn.LookupDomain(domain.Name);
                using var byUuid = conn.LookupDomain(domain.Uuid);
                using var network = conn.LookupNetwork("default");
                using var pool = conn.LookupStoragePool("default-pool");
                foreach (var listed in conn.ListDomains())
                {
                    listed.Dispose();
                }

                Assert.Null(conn.TryLookupDomain("lvtest-missing"));
            }

            domain.Undefine();
        }

        CollectGarbage();
        Assert.Equal(liveBefore, LibvirtHandle.LiveCount);
        Assert.Equal(fdsBefore, OpenFileDescriptors());
    }

    [Fact]
    public void OpenAndDispose_RemoteConnections_ReleasesSockets()
    {
        // Remote connections own a socket each, so descriptor leaks would show here first.
        Connection probe;
        try
        {
            probe = Connection.Open("qemu:///system");
        }
        catch (LibvirtException ex)
        {
            Assert.Skip($"qemu:///system is not reachable: {ex.LibvirtMessage}");
            return;
        }

        probe.Dispose();
        CollectGarbage();
        var liveBefore = LibvirtHandle.LiveCount;
        var fdsBefore = OpenFileDescriptors();

        for (var i = 0; i < 30; i++)
        {
            using var conn = Connection.Open("qemu:///system");
            Assert.True(conn.IsAlive);
            foreach (var network in conn.ListNetworks())
            {
                network.Dispose();
            }

            OpenAndForget("qemu:///system");
        }

        CollectGarbage();
        Assert.Equal(liveBefore, LibvirtHandle.LiveCount);
        Assert.Equal(fdsBefore, OpenFileDescriptors());
    }

    [Fact]
    public void ForgottenDispose_FinalizerReleasesEachHandleExactlyOnce()
    {
        using var conn = TestDriverConnection.Open();
        CollectGarbage();
        var liveBefore = LibvirtHandle.LiveCount;
        var releasedBefore = LibvirtHandle.ReleasedCount;

        const int forgotten = 1000;
        Abandon(conn, forgotten);
        Assert.Equal(liveBefore + forgotten, LibvirtHandle.LiveCount);

        CollectGarbage();

        Assert.Equal(liveBefore, LibvirtHandle.LiveCount);
        Assert.Equal(releasedBefore + forgotten, LibvirtHandle.ReleasedCount);
    }

    // Forgotten on purpose: the finalizer must close it. A separate frame so no stack slot keeps it reachable.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void OpenAndForget(string uri) => _ = Connection.Open(uri);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Abandon(Connection conn, int count)
    {
        for (var i = 0; i < count; i++)
        {
            _ = conn.LookupDomain("test");
        }
    }

    [Fact]
    public void DisposeTwice_ReleasesOnce()
    {
        using var conn = TestDriverConnection.Open();
        var domain = conn.LookupDomain("test");
        var releasedBefore = LibvirtHandle.ReleasedCount;

        domain.Dispose();
        domain.Dispose();

        Assert.Equal(releasedBefore + 1, LibvirtHandle.ReleasedCount);
        Assert.Throws<ObjectDisposedException>(() => domain.GetState());
    }

    [Fact]
    public void Domain_OutlivesDisposedConnection_StaysUsable()
    {
        Domain domain;
        using (var conn = TestDriverConnection.Open())
        {
            domain = conn.DefineDomain(TestXml.TestDomain("lvtest-outlive"));
        }

        using (domain)
        {
            // The domain holds its own reference on the native connection.
            domain.Start();
            Assert.Equal(DomainState.Running, domain.GetState());
            Assert.Equal("lvtest-outlive", domain.Name);
            domain.Destroy();
        }
    }
}
