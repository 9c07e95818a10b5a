using System.Collections.Concurrent;
using System.Globalization;
using LibvirtSharp;
using Microsoft.Extensions.Time.Testing;
using Provisioner.Core.Stacks;
using Provisioner.Core.Templates;
using Provisioner.Engine.Execution;
using Provisioner.Engine.Hosts;
using Provisioner.Engine.Images;
using Provisioner.Engine.Keys;
using Provisioner.Engine.Planning;
using Provisioner.Engine.Readiness;
using Provisioner.Remote.Keys;

namespace Provisioner.Engine.Tests.TestDriver;

/// <summary>
/// A set of mock KVM hosts on libvirt's built-in test driver: one <c>test:///</c> node file per host,
/// written here, each host kept alive by a caching connector (the test driver keeps state per
/// connection). Everything the engine does to libvirt is real; only two things the test driver
/// cannot do are replaced, each by a double named for it: moving bytes through streams
/// (<see cref="InMemoryVolumeContent"/>) and booting a guest OS (<see cref="DomainRunningReadiness"/>).
/// The live suite covers both for real.
/// </summary>
public sealed class TestDriverLab : IDisposable
{
    private readonly string _dir;

    public TestDriverLab(int hosts = 3, string region = "oslo", int cpus = 32, long memoryGiB = 256, string media = "nvme")
    {
        _dir = Directory.CreateTempSubdirectory("provtest-").FullName;
        HostNames = [.. Enumerable.Range(1, hosts).Select(i => $"osl-kvm-{i}")];
        foreach (var name in HostNames)
        {
            File.WriteAllText(NodeFile(name), $"""
                <node>
                  <cpu>
                    <mhz>3000</mhz>
                    <model>x86_64</model>
                    <active>{cpus}</active>
                    <nodes>1</nodes>
                    <sockets>1</sockets>
                    <cores>{cpus}</cores>
                    <threads>1</threads>
                  </cpu>
                  <memory>{(memoryGiB * 1024 * 1024).ToString(CultureInfo.InvariantCulture)}</memory>
                </node>
                """);
        }

        Region = region;
        Media = media;
        ImagePath = Path.Combine(_dir, "golden.qcow2");
        var bytes = new byte[256 * 1024];
        new Random(42).NextBytes(bytes);
        File.WriteAllBytes(ImagePath, bytes);
        Keys = new StackKeyStore(Path.Combine(_dir, "keys"));
    }

    public IReadOnlyList<string> HostNames { get; }

    public string Region { get; }

    public string Media { get; }

    public string ImagePath { get; }

    public StackKeyStore Keys { get; }

    public CachingHostConnector Connector { get; } = new();

    public InMemoryVolumeContent Content { get; } = new();

    public DomainRunningReadiness Readiness { get; } = new();

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));

    public string NodeFile(string host) => Path.Combine(_dir, host + ".xml");

    public string Uri(string host) => "test://" + NodeFile(host);

    public StackEngine Engine(Func<StackEngineOptions, StackEngineOptions>? configure = null) => new((configure ?? (o => o))(new StackEngineOptions
    {
        Templates = TemplateRenderer.CreateDefault(),
        Images = new FileImageSource(ImagePath),
        Readiness = Readiness,
        Keys = Keys,
        VolumeContent = Content,
        Connector = Connector,
        Time = Time,
        MaxParallelism = 4,
    }));

    /// <summary>A stack over the lab's hosts; <paramref name="nodes"/> is the YAML list under provisioner:nodes.</summary>
    public StackDefinition Stack(string nodes, string name = "lab", string? extraHosts = null, string? pool = null, string cidr = "10.240.0.0/24")
    {
        pool ??= name;
        var hosts = string.Join("\n", HostNames.Select((h, i) => $$"""
                - name: {{h}}
                  uri: {{Uri(h)}}
                  region: {{Region}}
                  zone: z{{i + 1}}
                  pool: { name: {{pool}}-pool, path: /var/lib/provisioner/{{pool}}, media: {{Media}} }
            """));
        var yaml = $"""
            config:
              provisioner:hosts:
            {hosts}
            {extraHosts ?? string.Empty}
              provisioner:networks:
                - name: cluster
                  cidr: {cidr}
                  mode: nat
              provisioner:image:
                name: debian-12
              provisioner:nodes:
            {Indent(nodes, 4)}
              provisioner:placement:
                region: {Region}
              provisioner:access:
                user: ops
                sshPublicKeys: []
                adminCidrs: [{cidr}]
            """;
        return StackLoader.Parse(yaml, name, "lab.yaml");
    }

    /// <summary>The lab's own connection to a host (shared with the engine: do not dispose it).</summary>
    public Connection Connection(string host) => Connector.Connect(new HostDefinition
    {
        Name = host,
        Uri = ParseUri(Uri(host)),
        Region = Region,
        Pool = new StoragePoolDefinition { Name = "unused", Path = "/unused", Media = StorageMedia.Nvme },
    }).Connection;

    public void Dispose()
    {
        Connector.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private static LibvirtUri ParseUri(string text) =>
        LibvirtUri.TryParse(text, out var uri, out var error) ? uri! : throw new ArgumentException(error);

    private static string Indent(string text, int spaces)
    {
        var pad = new string(' ', spaces);
        return string.Join("\n", text.Trim('\n').Split('\n').Select(l => pad + l));
    }
}

/// <summary>
/// Volume content for libvirt's test driver, which has no streams (virStorageVolUpload is not
/// supported there): bytes are kept per host and volume so uploads and read-backs still happen.
/// </summary>
public sealed class InMemoryVolumeContent : IVolumeContent
{
    private readonly ConcurrentDictionary<(string Host, string Volume), byte[]> _volumes = new();

    public int Uploads => _uploads;

    private int _uploads;

    public byte[]? Get(string host, string volume) => _volumes.GetValueOrDefault((host, volume));

    public async Task UploadAsync(HostSession host, StorageVolume volume, Stream source, ulong length, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        using var copy = new MemoryStream();
        await source.CopyToAsync(copy, cancellationToken);
        _volumes[(host.Name, volume.Name)] = copy.ToArray()[..(int)length];
        Interlocked.Increment(ref _uploads);
    }

    public Task DownloadAsync(HostSession host, StorageVolume volume, Stream destination, ulong length, CancellationToken cancellationToken)
    {
        var bytes = _volumes[(host.Name, volume.Name)];
        return destination.WriteAsync(bytes.AsMemory(0, (int)Math.Min(length, (ulong)bytes.Length)), cancellationToken).AsTask();
    }
}

/// <summary>
/// Readiness on the test driver, where no guest OS boots: the domain must be running in libvirt.
/// Can be told to fail for chosen nodes, to simulate a boot that never finishes.
/// </summary>
public sealed class DomainRunningReadiness : INodeReadiness
{
    public ConcurrentDictionary<string, bool> FailFor { get; } = new(StringComparer.Ordinal);

    public ConcurrentBag<string> Waited { get; } = [];

    public Task WaitReadyAsync(HostSession host, DesiredNode node, PinnedHostKey hostKey, StackRunContext context, CancellationToken cancellationToken)
    {
        Waited.Add(node.Name);
        if (FailFor.ContainsKey(node.Name))
        {
            throw new NodeNotReadyException(node.Name, "simulated boot failure");
        }

        using var domain = host.Connection.LookupDomain(node.DomainName);
        if (domain.GetState() != DomainState.Running)
        {
            throw new NodeNotReadyException(node.Name, $"domain is {domain.GetState()}");
        }

        return Task.CompletedTask;
    }
}
