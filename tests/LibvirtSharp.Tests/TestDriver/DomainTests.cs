using System.Xml.Linq;
using Microsoft.Extensions.Time.Testing;

namespace LibvirtSharp.Tests.TestDriver;

public sealed class DomainTests : IDisposable
{
    private readonly Connection _conn = TestDriverConnection.Open();

    public void Dispose() => _conn.Dispose();

    private Domain Define(string? name = null, Guid? uuid = null, string? mac = null) =>
        _conn.DefineDomain(TestXml.TestDomain(name ?? TestXml.UniqueName(), uuid, mac: mac));

    [Fact]
    public void DefineDomain_ValidXml_IsPersistentAndInactive()
    {
        var uuid = Guid.NewGuid();
        using var domain = Define("lvtest-define", uuid);

        Assert.Equal("lvtest-define", domain.Name);
        Assert.Equal(uuid, domain.Uuid);
        Assert.True(domain.IsPersistent);
        Assert.False(domain.IsActive);
        Assert.Null(domain.Id);
        Assert.Equal(DomainState.Shutoff, domain.GetState());
    }

    [Fact]
    public void LookupDomain_ByNameAndUuid_FindsSameDomain()
    {
        using var domain = Define();

        using var byName = _conn.LookupDomain(domain.Name);
        using var byUuid = _conn.LookupDomain(domain.Uuid);

        Assert.Equal(domain.Uuid, byName.Uuid);
        Assert.Equal(domain.Name, byUuid.Name);
    }

    [Fact]
    public void LookupDomain_Missing_ThrowsNoDomainWithLibvirtMessage()
    {
        var ex = Assert.Throws<LibvirtException>(() => _conn.LookupDomain("lvtest-missing"));

        Assert.Equal(ErrorCode.NoDomain, ex.Code);
        Assert.Equal(ErrorDomain.Test, ex.Domain);
        Assert.True(ex.IsNotFound);
        Assert.Equal("Domain not found", ex.LibvirtMessage);
    }

    [Fact]
    public void TryLookupDomain_Missing_ReturnsNull()
    {
        Assert.Null(_conn.TryLookupDomain("lvtest-missing"));
        Assert.Null(_conn.TryLookupDomain(Guid.NewGuid()));
    }

    [Fact]
    public void DefineDomain_MalformedXml_ThrowsXmlDetail()
    {
        var ex = Assert.Throws<LibvirtException>(() => _conn.DefineDomain("<domain type='test'><name>broken"));

        Assert.Equal(ErrorCode.XmlDetail, ex.Code);
        Assert.False(string.IsNullOrWhiteSpace(ex.LibvirtMessage));
    }

    [Fact]
    public void DefineDomain_MissingRequiredElement_ThrowsWithLibvirtMessage()
    {
        var ex = Assert.Throws<LibvirtException>(() => _conn.DefineDomain("<domain type='test'><memory>1024</memory></domain>"));

        Assert.False(ex.IsNotFound);
        Assert.Contains("name", ex.LibvirtMessage, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Start_DefinedDomain_RunsWithId()
    {
        using var domain = Define();

        domain.Start();

        Assert.True(domain.IsActive);
        Assert.NotNull(domain.Id);
        Assert.Equal(DomainState.Running, domain.GetState());
        using var byId = _conn.LookupDomain(domain.Id!.Value);
        Assert.Equal(domain.Uuid, byId.Uuid);
    }

    [Fact]
    public void Start_Paused_TestDriverRejectsFlagWithInvalidArg()
    {
        // The test driver does not implement VIR_DOMAIN_START_PAUSED; the live tier covers a paused start.
        using var domain = Define();

        var ex = Assert.Throws<LibvirtException>(() => domain.Start(paused: true));

        Assert.Equal(ErrorCode.InvalidArg, ex.Code);
        Assert.Contains("unsupported flags", ex.LibvirtMessage);
        Assert.False(domain.IsActive);
    }

    [Fact]
    public void SuspendResume_RunningDomain_TogglesState()
    {
        using var domain = Define();
        domain.Start();

        domain.Suspend();
        Assert.Equal((DomainState.Paused, 1), domain.GetStateAndReason());
        domain.Resume();

        Assert.Equal(DomainState.Running, domain.GetState());
    }

    [Fact]
    public void ShutdownAndReboot_RunningDomain_Work()
    {
        using var domain = Define();
        domain.Start();

        domain.Reboot();
        Assert.True(domain.IsActive);
        domain.Shutdown();

        // The test driver's guest obeys at once.
        Assert.Equal(DomainState.Shutoff, domain.GetState());
    }

    [Fact]
    public void Destroy_ThenDestroyAgain_ThrowsOperationInvalid()
    {
        using var domain = Define();
        domain.Start();
        domain.Destroy();

        var ex = Assert.Throws<LibvirtException>(domain.Destroy);

        Assert.Equal(ErrorCode.OperationInvalid, ex.Code);
        Assert.Contains("not running", ex.LibvirtMessage);
    }

    [Fact]
    public void Suspend_DestroyedDomain_ThrowsNotRunning()
    {
        using var domain = Define();
        domain.Start();
        domain.Destroy();

        var ex = Assert.Throws<LibvirtException>(domain.Suspend);

        // The test driver reports this as an internal error; qemu says OperationInvalid (live tier).
        Assert.Equal(ErrorCode.InternalError, ex.Code);
        Assert.Contains("not running", ex.LibvirtMessage);
    }

    [Fact]
    public void Undefine_DefinedDomain_RemovesIt()
    {
        using var domain = Define();
        var name = domain.Name;

        domain.Undefine();

        Assert.Null(_conn.TryLookupDomain(name));
        var ex = Assert.Throws<LibvirtException>(() => domain.GetState());
        Assert.True(ex.IsNotFound);
    }

    [Fact]
    public void Undefine_WithFlags_RemovesSnapshotMetadataToo()
    {
        using var domain = Define();
        using (domain.CreateSnapshot(TestXml.Snapshot("s1")))
        {
        }

        domain.Undefine(DomainUndefineFlags.SnapshotsMetadata | DomainUndefineFlags.ManagedSave);

        Assert.Null(_conn.TryLookupDomain(domain.Uuid));
    }

    [Fact]
    public void CreateTransientDomain_RunsAndVanishesOnDestroy()
    {
        using var domain = _conn.CreateTransientDomain(TestXml.TestDomain(TestXml.UniqueName()));

        Assert.True(domain.IsActive);
        Assert.False(domain.IsPersistent);
        domain.Destroy();

        Assert.Null(_conn.TryLookupDomain(domain.Uuid));
    }

    [Fact]
    public void CreateTransientDomain_AutoDestroyFlag_TestDriverRejectsWithInvalidArg()
    {
        var ex = Assert.Throws<LibvirtException>(() =>
            _conn.CreateTransientDomain(TestXml.TestDomain(TestXml.UniqueName()), DomainCreateFlags.AutoDestroy));

        Assert.Equal(ErrorCode.InvalidArg, ex.Code);
    }

    [Fact]
    public void GetInfo_RunningDomain_ReportsMemoryAndCpus()
    {
        using var domain = Define();
        domain.Start();

        var info = domain.GetInfo();

        Assert.Equal(DomainState.Running, info.State);
        Assert.Equal(64UL * 1024 * 1024, info.MaxMemoryBytes);
        Assert.Equal(1, info.VirtualCpus);
    }

    [Fact]
    public void GetXml_Inactive_ReturnsLibvirtXml()
    {
        using var domain = Define();

        var xml = XDocument.Parse(domain.GetXml(DomainXmlFlags.Inactive | DomainXmlFlags.Secure));

        Assert.Equal(domain.Name, (string?)xml.Root!.Element("name"));
        Assert.Equal(domain.Uuid, Guid.Parse((string)xml.Root.Element("uuid")!));
    }

    [Fact]
    public void Autostart_SetAndGet_RoundTrips()
    {
        using var domain = Define();

        domain.Autostart = true;
        Assert.True(domain.Autostart);
        domain.Autostart = false;

        Assert.False(domain.Autostart);
    }

    [Fact]
    public void Metadata_SetGetRemove_RoundTripsInOwnNamespace()
    {
        using var domain = Define();
        Assert.Null(domain.GetMetadata(TestXml.MetadataNamespace));

        domain.SetMetadata(TestXml.MetadataNamespace, "lvt", TestXml.Metadata("platform"));
        var stored = XElement.Parse(domain.GetMetadata(TestXml.MetadataNamespace)!);

        // libvirt hands the element back without its namespace; the namespace is the lookup key.
        Assert.Equal("owner", stored.Name.LocalName);
        Assert.Equal("platform", (string?)stored.Attribute("team"));
        var full = XDocument.Parse(domain.GetXml(DomainXmlFlags.Inactive));
        Assert.NotNull(full.Root!.Element("metadata")!.Element(XName.Get("owner", TestXml.MetadataNamespace)));

        domain.RemoveMetadata(TestXml.MetadataNamespace);
        Assert.Null(domain.GetMetadata(TestXml.MetadataNamespace));
        domain.RemoveMetadata(TestXml.MetadataNamespace);
    }

    [Fact]
    public void Metadata_SetTwice_ReplacesValue()
    {
        using var domain = Define();

        domain.SetMetadata(TestXml.MetadataNamespace, "lvt", TestXml.Metadata("a"));
        domain.SetMetadata(TestXml.MetadataNamespace, "lvt", TestXml.Metadata("b"), DomainModificationImpact.Config);

        Assert.Equal("b", (string?)XElement.Parse(domain.GetMetadata(TestXml.MetadataNamespace, DomainModificationImpact.Config)!).Attribute("team"));
    }

    [Fact]
    public void SetMetadata_InvalidXml_ThrowsWithLibvirtMessage()
    {
        using var domain = Define();

        var ex = Assert.Throws<LibvirtException>(() => domain.SetMetadata(TestXml.MetadataNamespace, "lvt", "<unclosed"));

        Assert.False(string.IsNullOrWhiteSpace(ex.LibvirtMessage));
    }

    [Fact]
    public void ListDomains_Filters_SelectByState()
    {
        using var running = Define();
        using var stopped = Define();
        running.Start();

        var all = _conn.ListDomains();
        var active = _conn.ListDomains(DomainListFilter.Active);
        var inactive = _conn.ListDomains(DomainListFilter.Inactive | DomainListFilter.Persistent);
        try
        {
            Assert.Contains(all, d => d.Uuid == running.Uuid);
            Assert.Contains(all, d => d.Uuid == stopped.Uuid);
            Assert.Contains(active, d => d.Uuid == running.Uuid);
            Assert.DoesNotContain(active, d => d.Uuid == stopped.Uuid);
            Assert.Contains(inactive, d => d.Uuid == stopped.Uuid);
            Assert.DoesNotContain(inactive, d => d.Uuid == running.Uuid);
        }
        finally
        {
            foreach (var d in all.Concat(active).Concat(inactive))
            {
                d.Dispose();
            }
        }
    }

    [Fact]
    public void GetInterfaceAddresses_RunningTestDomain_ReturnsDriverAddresses()
    {
        using var domain = Define(mac: "52:54:00:23:10:01");
        domain.Start();

        var interfaces = domain.GetInterfaceAddresses(InterfaceAddressSource.Lease);

        var iface = Assert.Single(interfaces);
        Assert.Equal("52:54:00:23:10:01", iface.MacAddress);
        Assert.NotEmpty(iface.Addresses);
        Assert.All(iface.Addresses, a => Assert.InRange(a.Prefix, 1, 128));
    }

    [Fact]
    public void GetInterfaceAddresses_InactiveDomain_ThrowsOperationInvalid()
    {
        using var domain = Define(mac: "52:54:00:23:10:02");

        var ex = Assert.Throws<LibvirtException>(() => domain.GetInterfaceAddresses(InterfaceAddressSource.Lease));

        Assert.Equal(ErrorCode.OperationInvalid, ex.Code);
    }

    [Fact]
    public async Task ShutdownAsync_GuestObeys_ReturnsShutDown()
    {
        using var domain = Define();
        domain.Start();

        var outcome = await domain.ShutdownAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.Equal(ShutdownOutcome.ShutDown, outcome);
        Assert.False(domain.IsActive);
    }

    [Fact]
    public async Task ShutdownAsync_NotRunning_ReturnsAlreadyStopped()
    {
        using var domain = Define();

        var outcome = await domain.ShutdownAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken, new FakeTimeProvider());

        Assert.Equal(ShutdownOutcome.AlreadyStopped, outcome);
    }
}
