using System.Xml.Linq;

namespace LibvirtSharp.Tests.Live;

[Collection(nameof(LiveLibvirt))]
public sealed class LiveSnapshotTests(LiveLibvirtFixture fixture)
{
    [Fact]
    public void Snapshots_ShutOffGuestWithQcow2Disk_CreateListRevertDelete()
    {
        // Internal qcow2 snapshots of a shut-off guest: qemu-img does the work, no guest has to boot.
        fixture.SkipIfUnavailable();
        using var disk = fixture.Pool.CreateVolume(TestXml.Volume($"snap-{Guid.NewGuid():N}"[..13] + ".qcow2", 64 * 1024 * 1024, "qcow2"));
        using var guest = fixture.DefineGuest(out _, qcow2Disk: disk.Path);

        using (var first = guest.CreateSnapshot(TestXml.Snapshot("before")))
        {
            Assert.Equal("before", first.Name);
            Assert.Equal("shutoff", (string?)XDocument.Parse(first.GetXml()).Root!.Element("state"));
        }

        using (guest.CreateSnapshot(TestXml.Snapshot("after")))
        {
        }

        var listed = guest.ListSnapshots();
        try
        {
            Assert.Equal(["after", "before"], listed.Select(s => s.Name).Order());
        }
        finally
        {
            foreach (var s in listed)
            {
                s.Dispose();
            }
        }

        using (var before = guest.LookupSnapshot("before"))
        {
            before.Revert();
            Assert.True(before.IsCurrent);
            var ex = Assert.Throws<LibvirtException>(() => guest.Undefine());
            Assert.Contains("snapshot", ex.LibvirtMessage);
            before.Delete();
        }

        Assert.Null(guest.TryLookupSnapshot("before"));
        var missing = Assert.Throws<LibvirtException>(() => guest.LookupSnapshot("before"));
        Assert.Equal(ErrorCode.NoDomainSnapshot, missing.Code);

        guest.Undefine(DomainUndefineFlags.SnapshotsMetadata);
        disk.Delete();
    }
}
