using System.Collections.Concurrent;
using LibvirtSharp;
using Provisioner.Engine.Execution;
using Provisioner.Engine.Forensics;
using Provisioner.Engine.Hosts;
using Provisioner.Engine.Tests.TestDriver;

namespace Provisioner.Engine.Tests.Forensics;

/// <summary>
/// Forensics on libvirt's test driver: the lab's hosts, an evidence root in a temp folder, and doubles for the two
/// things the test driver cannot do, each named for it: device update (link state) and volume streams.
/// </summary>
public sealed class ForensicsLab : IDisposable
{
    public ForensicsLab(TestDriverLab lab)
    {
        Lab = lab;
        EvidenceRoot = Directory.CreateTempSubdirectory("reprov-evidence-").FullName;
    }

    public TestDriverLab Lab { get; }

    public string EvidenceRoot { get; }

    public RecordingIsolation Isolation { get; } = new();

    public FakeDiskContent Disks { get; } = new();

    public long FreeBytes { get; set; } = long.MaxValue / 4;

    public ForensicsOptions Options(INetworkIsolation? isolation = null) => new()
    {
        Connector = Lab.Connector,
        VolumeContent = Disks,
        Isolation = isolation ?? Isolation,
        Time = Lab.Time,
        EvidenceRoot = EvidenceRoot,
        FreeSpace = _ => FreeBytes,
        // The test driver has no memory-only dump.
        MemoryDumpFlags = CoreDumpFlags.None,
    };

    public void Dispose()
    {
        if (Directory.Exists(EvidenceRoot))
        {
            Directory.Delete(EvidenceRoot, recursive: true);
        }
    }
}

/// <summary>Link state on the test driver, which has no device update: cuts are recorded per domain and MAC.</summary>
public sealed class RecordingIsolation : INetworkIsolation
{
    private readonly ConcurrentDictionary<(string Domain, string Mac), bool> _cut = new();

    public int Cuts => _cuts;

    private int _cuts;

    public void Cut(Domain domain, string macAddress)
    {
        _cut[(domain.Name, macAddress.ToLowerInvariant())] = true;
        Interlocked.Increment(ref _cuts);
    }

    public bool IsCut(Domain domain, string macAddress) => _cut.ContainsKey((domain.Name, macAddress.ToLowerInvariant()));
}

/// <summary>Disk content on the test driver, which has no streams: each volume reads as bytes derived from its name.</summary>
public sealed class FakeDiskContent : IVolumeContent
{
    public Exception? FailWith { get; set; }

    public ConcurrentBag<string> Downloaded { get; } = [];

    public static byte[] ContentOf(string volume) => System.Text.Encoding.UTF8.GetBytes($"QFI\xfb disk image of {volume}\n" + new string('x', 4096));

    public Task UploadAsync(HostSession host, StorageVolume volume, Stream source, ulong length, IProgress<long>? progress, CancellationToken cancellationToken) =>
        Task.CompletedTask;

    public async Task DownloadAsync(HostSession host, StorageVolume volume, Stream destination, ulong length, CancellationToken cancellationToken)
    {
        if (FailWith is not null)
        {
            throw FailWith;
        }

        Downloaded.Add(volume.Name);
        await destination.WriteAsync(ContentOf(volume.Name), cancellationToken);
    }
}
