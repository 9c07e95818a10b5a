using System.Xml.Linq;
using LibvirtSharp;
using Provisioner.Core.Templates;
using Provisioner.Engine.Graph;
using Provisioner.Engine.Planning;

namespace Provisioner.Engine.Tests.TestDriver;

/// <summary>The engine against libvirt's test driver: several mock Oslo hosts, real libvirt calls.</summary>
public sealed class StackEngineTests : IDisposable
{
    private const string ThreeControlPlanesThreeWorkers = """
        - name: cp
          role: control-plane
          count: 3
          cpus: 2
          memoryMiB: 4096
          diskGiB: 8
          diskBus: nvme
          network: cluster
        - name: worker
          role: worker
          count: 3
          cpus: 4
          memoryMiB: 8192
          diskGiB: 12
          diskBus: nvme
          network: cluster
        """;

    private readonly TestDriverLab _lab = new();

    public void Dispose() => _lab.Dispose();

    [Fact]
    public async Task PreviewAsync_EmptyHosts_PlansEverythingAsCreate()
    {
        var stack = _lab.Stack(ThreeControlPlanesThreeWorkers);

        var plan = await _lab.Engine().PreviewAsync(stack, TestContext.Current.CancellationToken);

        Assert.Empty(plan.Unplaced);
        Assert.All(plan.Resources, r => Assert.Equal(ChangeKind.Create, r.Change));
        var nodes = plan.Resources.Where(r => r.Kind == ResourceKind.Node).ToList();
        Assert.Equal(6, nodes.Count);
        // Control-plane anti-affinity: the three control planes are on three different hosts.
        Assert.Equal(3, nodes.Where(n => n.Name.StartsWith("cp-", StringComparison.Ordinal)).Select(n => n.Host).Distinct().Count());
        Assert.Equal(3, plan.Resources.Count(r => r.Kind == ResourceKind.Pool));
        Assert.Equal(3, plan.Resources.Count(r => r.Kind == ResourceKind.Network));
    }

    [Fact]
    public async Task UpAsync_ThenAgain_CreatesOnceThenDoesNothing()
    {
        var stack = _lab.Stack(ThreeControlPlanesThreeWorkers);
        var engine = _lab.Engine();

        var first = await engine.UpAsync(stack, TestContext.Current.CancellationToken);
        var second = await engine.UpAsync(stack, TestContext.Current.CancellationToken);

        Assert.True(first.Changed);
        Assert.Equal(6, first.Nodes.Count);
        Assert.All(first.Nodes, n => Assert.True(n.Ready, $"{n.Name} not ready"));
        Assert.False(second.Changed, string.Join("; ", second.Plan.Changes.Select(c => $"{c.Name} {c.Change} {c.Reason} " + string.Join(",", c.Properties))));
        Assert.False(second.Plan.HasChanges);
        // One image upload per host (plus one seed per node), none on the second run.
        Assert.Equal(3 + 6, _lab.Content.Uploads);
    }

    [Fact]
    public async Task UpAsync_CreatesDomainsWithMetadataLinkedClonesAndNoSeed()
    {
        var stack = _lab.Stack(ThreeControlPlanesThreeWorkers);

        var result = await _lab.Engine().UpAsync(stack, TestContext.Current.CancellationToken);

        foreach (var node in result.Nodes)
        {
            var connection = _lab.Connection(node.Host);
            using var domain = connection.LookupDomain($"lab-{node.Name}");
            Assert.True(domain.IsActive);
            var metadata = NodeMetadata.Parse(domain.GetMetadata(ProvisionerXml.NodeNamespace)!);
            Assert.Equal("lab", metadata.Stack);
            Assert.Equal(node.Name, metadata.Node);
            Assert.StartsWith("SHA256:", metadata.HostKeyFingerprint, StringComparison.Ordinal);
            Assert.StartsWith("ssh-ed25519 ", metadata.HostPublicKey, StringComparison.Ordinal);

            var xml = XElement.Parse(domain.GetXml(DomainXmlFlags.Inactive));
            Assert.DoesNotContain(xml.Descendants("source"), s => ((string?)s.Attribute("file") ?? "").EndsWith("-seed", StringComparison.Ordinal));

            using var pool = connection.LookupStoragePool("lab-pool");
            Assert.Null(pool.TryLookupVolume($"lab-{node.Name}-seed"));
            using var root = pool.LookupVolume($"lab-{node.Name}-root");
            var volumeXml = XElement.Parse(root.GetXml());
            Assert.StartsWith("/var/lib/provisioner/lab/golden-debian-12-", volumeXml.Element("backingStore")?.Element("path")?.Value, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task UpAsync_NetworkHoldsOneReservationPerNodeOnItsHost()
    {
        var stack = _lab.Stack(ThreeControlPlanesThreeWorkers);

        var result = await _lab.Engine().UpAsync(stack, TestContext.Current.CancellationToken);

        foreach (var host in _lab.HostNames)
        {
            var connection = _lab.Connection(host);
            using var network = connection.LookupNetwork("lab-cluster");
            Assert.True(network.IsActive);
            var hosts = XElement.Parse(network.GetXml()).Descendants("host").ToList();
            var expected = result.Nodes.Where(n => n.Host == host).ToList();
            Assert.Equal(expected.Count, hosts.Count);
            foreach (var node in expected)
            {
                Assert.Contains(hosts, h => (string?)h.Attribute("name") == node.Name && (string?)h.Attribute("ip") == node.Address);
            }
        }
    }

    [Fact]
    public async Task UpAsync_BootFailsForOneNode_RerunConvergesWithoutDuplicates()
    {
        var stack = _lab.Stack(ThreeControlPlanesThreeWorkers);
        var engine = _lab.Engine();
        _lab.Readiness.FailFor["worker-2"] = true;

        var failure = await Assert.ThrowsAsync<StepFailedException>(() => engine.UpAsync(stack, TestContext.Current.CancellationToken));
        Assert.Contains("worker-2", failure.StepId, StringComparison.Ordinal);

        // The failure cancelled the steps still running; whatever was not finished shows up in the plan.
        var interrupted = await engine.PreviewAsync(stack, TestContext.Current.CancellationToken);
        var pending = Assert.Single(interrupted.Changes, c => c.Name == "worker-2");
        Assert.Equal(ChangeKind.Update, pending.Change);
        Assert.Contains("first boot did not finish", pending.Reason, StringComparison.Ordinal);

        _lab.Readiness.FailFor.Clear();
        var rerun = await engine.UpAsync(stack, TestContext.Current.CancellationToken);

        Assert.Equal(6, rerun.Nodes.Count);
        Assert.All(rerun.Nodes, n => Assert.True(n.Ready));
        Assert.False((await engine.PreviewAsync(stack, TestContext.Current.CancellationToken)).HasChanges);
        foreach (var host in _lab.HostNames)
        {
            var connection = _lab.Connection(host);
            using var pool = connection.LookupStoragePool("lab-pool");
            var volumes = pool.ListVolumes().Select(v => { using (v) { return v.Name; } }).ToList();
            Assert.DoesNotContain(volumes, v => v.EndsWith("-seed", StringComparison.Ordinal));
            Assert.Equal(volumes.Count, volumes.Distinct().Count());
        }
    }

    [Fact]
    public async Task UpAsync_LeftoverVolumesFromKilledRun_AreReplacedNotDuplicated()
    {
        var stack = _lab.Stack("""
            - name: solo
              role: worker
              cpus: 1
              memoryMiB: 1024
              diskGiB: 4
              network: cluster
            """);
        var engine = _lab.Engine();
        var plan = await engine.PreviewAsync(stack, TestContext.Current.CancellationToken);
        var host = plan.Resources.Single(r => r.Kind == ResourceKind.Node).Host;
        // A run killed after it created the pool and the node's disks, before it defined the domain.
        var connection = _lab.Connection(host);
        using (var pool = connection.DefineStoragePool("<pool type='dir'><name>lab-pool</name><target><path>/var/lib/provisioner/lab</path></target></pool>"))
        {
            pool.Build();
            pool.Start();
            pool.CreateVolume("<volume><name>lab-solo-root</name><capacity>1</capacity></volume>").Dispose();
            pool.CreateVolume("<volume><name>lab-solo-seed</name><capacity>1</capacity></volume>").Dispose();
        }

        var result = await engine.UpAsync(stack, TestContext.Current.CancellationToken);

        Assert.True(Assert.Single(result.Nodes).Ready);
        var check = _lab.Connection(host);
        using var checkPool = check.LookupStoragePool("lab-pool");
        using var root = checkPool.LookupVolume("lab-solo-root");
        Assert.Equal(4UL * 1024 * 1024 * 1024, root.GetInfo().CapacityBytes);
        Assert.Null(checkPool.TryLookupVolume("lab-solo-seed"));
    }

    [Fact]
    public async Task UpAsync_ForeignDomainWithNodesName_FailsWithoutTouchingIt()
    {
        var stack = _lab.Stack("""
            - name: solo
              role: worker
              cpus: 1
              memoryMiB: 1024
              diskGiB: 4
              network: cluster
            """);
        var engine = _lab.Engine();
        var plan = await engine.PreviewAsync(stack, TestContext.Current.CancellationToken);
        var host = plan.Resources.Single(r => r.Kind == ResourceKind.Node).Host;
        // Someone else's domain that happens to have the name the node's domain would get (no provisioner metadata).
        using (var foreign = _lab.Connection(host).DefineDomain("<domain type='test'><name>lab-solo</name><memory unit='MiB'>64</memory><os><type>hvm</type></os></domain>"))
        {
        }

        var ex = await Assert.ThrowsAsync<StepFailedException>(() => engine.UpAsync(stack, TestContext.Current.CancellationToken));

        Assert.Contains("does not own", ex.InnerException?.Message);
        using var still = _lab.Connection(host).LookupDomain("lab-solo");
        Assert.Null(still.GetMetadata(Core.Templates.ProvisionerXml.NodeNamespace, LibvirtSharp.DomainModificationImpact.Config));
    }

    [Fact]
    public async Task PreviewAsync_ChangedCpusAndBus_ShowsUpdateAndReplacePerProperty()
    {
        var engine = _lab.Engine();
        await engine.UpAsync(_lab.Stack(ThreeControlPlanesThreeWorkers), TestContext.Current.CancellationToken);
        var changed = _lab.Stack(ThreeControlPlanesThreeWorkers.Replace("cpus: 4", "cpus: 6", StringComparison.Ordinal)
            .Replace("diskGiB: 8\n  diskBus: nvme", "diskGiB: 8\n  diskBus: virtio", StringComparison.Ordinal));

        var plan = await engine.PreviewAsync(changed, TestContext.Current.CancellationToken);

        var worker = plan.Changes.Single(c => c.Name == "worker-1");
        Assert.Equal(ChangeKind.Update, worker.Change);
        var cpus = Assert.Single(worker.Properties);
        Assert.Equal(("cpus", "4", "6", false), (cpus.Property, cpus.Old, cpus.New, cpus.ForcesReplacement));
        var cp = plan.Changes.Single(c => c.Name == "cp-1");
        Assert.Equal(ChangeKind.Replace, cp.Change);
        Assert.Contains(cp.Properties, p => p is { Property: "diskBus", Old: "nvme", New: "virtio", ForcesReplacement: true });
    }

    [Fact]
    public async Task UpAsync_CpusChanged_RedefinesInPlaceKeepingIdentity()
    {
        var engine = _lab.Engine();
        var before = await engine.UpAsync(_lab.Stack(ThreeControlPlanesThreeWorkers), TestContext.Current.CancellationToken);
        var changed = _lab.Stack(ThreeControlPlanesThreeWorkers.Replace("cpus: 4", "cpus: 6", StringComparison.Ordinal));

        await engine.UpAsync(changed, TestContext.Current.CancellationToken);

        var worker = before.Nodes.Single(n => n.Name == "worker-1");
        var connection = _lab.Connection(worker.Host);
        using var domain = connection.LookupDomain("lab-worker-1");
        Assert.Equal("6", XElement.Parse(domain.GetXml(DomainXmlFlags.Inactive)).Element("vcpu")!.Value);
        Assert.True(domain.IsActive);
        var metadata = NodeMetadata.Parse(domain.GetMetadata(ProvisionerXml.NodeNamespace)!);
        Assert.Equal(worker.HostKeyFingerprint, metadata.HostKeyFingerprint);
        Assert.False((await engine.PreviewAsync(changed, TestContext.Current.CancellationToken)).HasChanges);
    }

    [Fact]
    public async Task UpAsync_NodeRemovedFromStack_DeletesOnlyThatNode()
    {
        var engine = _lab.Engine();
        await engine.UpAsync(_lab.Stack(ThreeControlPlanesThreeWorkers), TestContext.Current.CancellationToken);
        var smaller = _lab.Stack(ThreeControlPlanesThreeWorkers.Replace("count: 3\n  cpus: 4", "count: 2\n  cpus: 4", StringComparison.Ordinal));

        var plan = await engine.PreviewAsync(smaller, TestContext.Current.CancellationToken);
        var change = Assert.Single(plan.Changes, c => c.Kind == ResourceKind.Node);
        Assert.Equal(("worker-3", ChangeKind.Delete), (change.Name, change.Change));

        var result = await engine.UpAsync(smaller, TestContext.Current.CancellationToken);
        Assert.Equal(5, result.Nodes.Count);
        Assert.DoesNotContain(result.Nodes, n => n.Name == "worker-3");
    }

    [Fact]
    public async Task UpAsync_AddedNode_KeepsEveryExistingAddressAndHost()
    {
        var engine = _lab.Engine();
        var before = await engine.UpAsync(_lab.Stack(ThreeControlPlanesThreeWorkers), TestContext.Current.CancellationToken);
        var bigger = _lab.Stack(ThreeControlPlanesThreeWorkers.Replace("count: 3\n  cpus: 4", "count: 5\n  cpus: 4", StringComparison.Ordinal));

        var after = await engine.UpAsync(bigger, TestContext.Current.CancellationToken);

        Assert.Equal(8, after.Nodes.Count);
        foreach (var node in before.Nodes)
        {
            var now = after.Nodes.Single(n => n.Name == node.Name);
            Assert.Equal((node.Host, node.Address, node.HostKeyFingerprint), (now.Host, now.Address, now.HostKeyFingerprint));
        }
    }

    [Fact]
    public async Task DestroyAsync_StackSharingItsPool_KeepsTheOtherStacksDisksAndTheImageTheyAreClonedFrom()
    {
        // One host, so both stacks' nodes share its pool.
        using var lab = new TestDriverLab(hosts: 1);
        var engine = lab.Engine();
        var first = lab.Stack("- { name: a, role: worker, cpus: 1, memoryMiB: 1024, diskGiB: 4, network: cluster }", name: "lab", pool: "shared");
        var second = lab.Stack("- { name: b, role: worker, cpus: 1, memoryMiB: 1024, diskGiB: 4, network: cluster }", name: "golden", pool: "shared", cidr: "10.241.0.0/24");
        var up = await engine.UpAsync(first, TestContext.Current.CancellationToken);
        await engine.UpAsync(second, TestContext.Current.CancellationToken);
        var host = up.Nodes.Single().Host;

        await engine.DestroyAsync(first, TestContext.Current.CancellationToken);

        using (var pool = lab.Connection(host).LookupStoragePool("shared-pool"))
        {
            pool.Refresh();
            var left = pool.ListVolumes().Select(v => { using (v) { return v.Name; } }).Order(StringComparer.Ordinal).ToList();
            Assert.DoesNotContain(left, v => v.StartsWith("lab-", StringComparison.Ordinal));
            Assert.Contains("golden-b-root", left);
            Assert.Equal(2, left.Count(Core.Naming.LibvirtNames.IsGoldenVolume));
        }

        var again = await engine.PreviewAsync(second, TestContext.Current.CancellationToken);
        Assert.All(again.Resources, r => Assert.Equal(ChangeKind.None, r.Change));

        await engine.DestroyAsync(second, TestContext.Current.CancellationToken);
        foreach (var name in lab.HostNames)
        {
            Assert.Null(lab.Connection(name).TryLookupStoragePool("shared-pool"));
        }
    }

    [Fact]
    public async Task DestroyAsync_SharedPool_RemovesTheImageOnlyItsDisksWereClonedFrom_KeepsTheOneAnotherStackUses()
    {
        using var lab = new TestDriverLab(hosts: 1);
        var ct = TestContext.Current.CancellationToken;
        var (v1Engine, v2Engine) = (lab.Engine(), lab.Engine(o => o with { Images = new Provisioner.Engine.Images.FileImageSource(OtherImage(lab)) }));
        var first = lab.Stack("- { name: a, role: worker, cpus: 1, memoryMiB: 1024, diskGiB: 4, network: cluster }", name: "lab", pool: "shared");
        var second = lab.Stack("- { name: b, role: worker, cpus: 1, memoryMiB: 1024, diskGiB: 4, network: cluster }", name: "other", pool: "shared", cidr: "10.241.0.0/24");
        var host = (await v1Engine.UpAsync(first, ct)).Nodes.Single().Host;
        await v2Engine.UpAsync(second, ct);
        var images = GoldenImages(lab, host, "shared-pool");
        Assert.Equal(2, images.Count);

        await v2Engine.DestroyAsync(second, ct);

        // The second stack's image went with it; the first stack's disk and the image it is cloned from stay.
        var v1 = Assert.Single(GoldenImages(lab, host, "shared-pool"));
        Assert.Contains(v1, images);
        Assert.Contains("lab-a-root", PoolVolumes(lab, host, "shared-pool"));
        Assert.Contains(v1 + "-ok", PoolVolumes(lab, host, "shared-pool"));
        Assert.All((await v1Engine.PreviewAsync(first, ct)).Resources, r => Assert.Equal(ChangeKind.None, r.Change));
    }

    [Fact]
    public async Task UpAsync_SharedPool_ImageRebuilt_TheOldImageGoesOnceNoDiskIsClonedFromIt()
    {
        using var lab = new TestDriverLab(hosts: 1);
        var ct = TestContext.Current.CancellationToken;
        var (v1Engine, v2Engine) = (lab.Engine(), lab.Engine(o => o with { Images = new Provisioner.Engine.Images.FileImageSource(OtherImage(lab)) }));
        var other = lab.Stack("- { name: b, role: worker, cpus: 1, memoryMiB: 1024, diskGiB: 4, network: cluster }", name: "other", pool: "shared", cidr: "10.241.0.0/24");
        var before = lab.Stack("- { name: a, role: worker, cpus: 1, memoryMiB: 1024, diskGiB: 4, network: cluster }", name: "lab", pool: "shared");
        var after = lab.Stack("- { name: c, role: worker, cpus: 1, memoryMiB: 1024, diskGiB: 4, network: cluster }", name: "lab", pool: "shared");
        await v2Engine.UpAsync(other, ct);
        var host = (await v1Engine.UpAsync(before, ct)).Nodes.Single().Host;
        var v1 = Assert.Single(GoldenImages(lab, host, "shared-pool"), i => i != V2Name(lab));

        // The image is rebuilt (v2) and node a gives way to node c: a still held v1 during that run, so v1 stays.
        await v2Engine.UpAsync(after, ct);
        Assert.Contains(v1, GoldenImages(lab, host, "shared-pool"));

        // The next run finds nothing cloned from v1 in the shared pool: it is left over, and goes with its marker.
        var plan = await v2Engine.PreviewAsync(after, ct);
        var leftovers = plan.Resources.Where(r => r.Kind == ResourceKind.Volume && r.Change == ChangeKind.Delete).Select(r => r.Name).Order(StringComparer.Ordinal);
        Assert.Equal([v1, v1 + "-ok"], leftovers);
        await v2Engine.UpAsync(after, ct);
        Assert.Equal([V2Name(lab)], GoldenImages(lab, host, "shared-pool"));
        Assert.Contains("other-b-root", PoolVolumes(lab, host, "shared-pool"));
        Assert.All((await v2Engine.PreviewAsync(other, ct)).Resources, r => Assert.Equal(ChangeKind.None, r.Change));
    }

    [Fact]
    public async Task DestroyAsync_StackNamedGolden_LeavesTheImageAnotherStacksDiskIsClonedFrom()
    {
        // A stack named "golden" has volumes named golden-…, like images: its destroy must not take them for its own.
        using var lab = new TestDriverLab(hosts: 1);
        var ct = TestContext.Current.CancellationToken;
        var engine = lab.Engine();
        var other = lab.Stack("- { name: a, role: worker, cpus: 1, memoryMiB: 1024, diskGiB: 4, network: cluster }", name: "lab", pool: "shared");
        var golden = lab.Stack("- { name: b, role: worker, cpus: 1, memoryMiB: 1024, diskGiB: 4, network: cluster }", name: "golden", pool: "shared", cidr: "10.241.0.0/24");
        var host = (await engine.UpAsync(other, ct)).Nodes.Single().Host;
        await engine.UpAsync(golden, ct);
        var image = Assert.Single(GoldenImages(lab, host, "shared-pool"));

        await engine.DestroyAsync(golden, ct);

        Assert.Equal([image, image + "-ok", "lab-a-root"], PoolVolumes(lab, host, "shared-pool").Where(v => v != "lab-a-seed").Order(StringComparer.Ordinal));
        Assert.All((await engine.PreviewAsync(other, ct)).Resources, r => Assert.Equal(ChangeKind.None, r.Change));
    }

    // A second golden image file for the lab, different content, so a different golden volume.
    private static string OtherImage(TestDriverLab lab)
    {
        var path = Path.Combine(Path.GetDirectoryName(lab.ImagePath)!, "golden-v2.qcow2");
        if (!File.Exists(path))
        {
            var bytes = new byte[128 * 1024];
            new Random(43).NextBytes(bytes);
            File.WriteAllBytes(path, bytes);
        }

        return path;
    }

    private static string V2Name(TestDriverLab lab) =>
        Core.Naming.LibvirtNames.GoldenVolume("debian-12", Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(OtherImage(lab)))));

    private static List<string> PoolVolumes(TestDriverLab lab, string host, string pool)
    {
        using var p = lab.Connection(host).LookupStoragePool(pool);
        p.Refresh();
        return [.. p.ListVolumes().Select(v => { using (v) { return v.Name; } }).Order(StringComparer.Ordinal)];
    }

    private static List<string> GoldenImages(TestDriverLab lab, string host, string pool) =>
        [.. PoolVolumes(lab, host, pool).Where(v => Core.Naming.LibvirtNames.IsGoldenVolume(v) && !Core.Naming.LibvirtNames.IsGoldenMarker(v))];

    [Fact]
    public async Task DestroyAsync_AfterUp_LeavesNothing()
    {
        var stack = _lab.Stack(ThreeControlPlanesThreeWorkers);
        var engine = _lab.Engine();
        await engine.UpAsync(stack, TestContext.Current.CancellationToken);

        await engine.DestroyAsync(stack, TestContext.Current.CancellationToken);
        await engine.DestroyAsync(stack, TestContext.Current.CancellationToken);

        foreach (var host in _lab.HostNames)
        {
            var connection = _lab.Connection(host);
            Assert.Empty(connection.ListDomains());
            Assert.DoesNotContain(connection.ListNetworks(), n => { using (n) { return n.Name.StartsWith("lab-", StringComparison.Ordinal); } });
            Assert.Null(connection.TryLookupStoragePool("lab-pool"));
        }

        Assert.False(Directory.Exists(_lab.Keys.StackDirectory("lab")));
    }

    [Fact]
    public async Task UpAsync_RegionWithoutCapacity_RefusesBeforeCreatingAnything()
    {
        var stack = _lab.Stack("""
            - name: huge
              role: worker
              cpus: 2
              memoryMiB: 900000
              diskGiB: 10
              network: cluster
            """);
        var engine = _lab.Engine();

        var ex = await Assert.ThrowsAsync<PlanRejectedException>(() => engine.UpAsync(stack, TestContext.Current.CancellationToken));

        Assert.Contains("huge", ex.Message, StringComparison.Ordinal);
        Assert.Contains("memory", ex.Message, StringComparison.OrdinalIgnoreCase);
        foreach (var host in _lab.HostNames)
        {
            var connection = _lab.Connection(host);
            Assert.Null(connection.TryLookupStoragePool("lab-pool"));
        }
    }
}
