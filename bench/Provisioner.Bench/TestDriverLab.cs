using System.Collections.Concurrent;
using System.Globalization;
using LibvirtSharp;
using Provisioner.Core.Stacks;
using Provisioner.Core.Templates;
using Provisioner.Engine;
using Provisioner.Engine.Execution;
using Provisioner.Engine.Hosts;
using Provisioner.Engine.Images;
using Provisioner.Engine.Keys;
using Provisioner.Engine.Planning;
using Provisioner.Engine.Readiness;
using Provisioner.Remote.Keys;

namespace Provisioner.Bench;

/// <summary>
/// Mock KVM hosts on libvirt's test driver, as in the engine's test-driver tests (a copy: benchmarks
/// cannot reference the test project): one <c>test:///</c> node file per host in a fresh temp dir, kept
/// alive by a caching connector because the test driver keeps its state per connection. Disposing it
/// closes the connections, which makes the hosts and everything on them disappear.
/// </summary>
internal sealed class TestDriverLab : IDisposable
{
    public const string StackName = "bench";
    public const string PoolPath = "/var/lib/provisioner/bench";

    private readonly string _dir;

    public TestDriverLab(int hosts, string imagePath)
    {
        _dir = Directory.CreateTempSubdirectory("provbench-").FullName;
        HostNames = [.. Enumerable.Range(1, hosts).Select(i => $"osl-kvm-{i}")];
        foreach (var name in HostNames)
        {
            File.WriteAllText(NodeFile(name), """
                <node>
                  <cpu>
                    <mhz>3000</mhz>
                    <model>x86_64</model>
                    <active>64</active>
                    <nodes>1</nodes>
                    <sockets>1</sockets>
                    <cores>64</cores>
                    <threads>1</threads>
                  </cpu>
                  <memory>536870912</memory>
                </node>
                """);
        }

        ImagePath = imagePath;
        Keys = new StackKeyStore(Path.Combine(_dir, "keys"));
    }

    public IReadOnlyList<string> HostNames { get; }

    public string ImagePath { get; }

    public StackKeyStore Keys { get; }

    public CachingHostConnector Connector { get; } = new();

    public InMemoryVolumeContent Content { get; } = new();

    public string NodeFile(string host) => Path.Combine(_dir, host + ".xml");

    public string Uri(string host) => "test://" + NodeFile(host);

    public StackEngine Engine(TemplateRenderer templates, int maxParallelism) => new(new StackEngineOptions
    {
        Templates = templates,
        Images = new FileImageSource(ImagePath),
        Readiness = new DomainRunningReadiness(),
        Keys = Keys,
        VolumeContent = Content,
        Connector = Connector,
        MaxParallelism = maxParallelism,
    });

    /// <summary>
    /// <paramref name="groups"/> groups of <paramref name="perGroup"/> small workers over the lab's hosts in
    /// one region. Disks are 1 GiB: the test driver's pools hold 100 GiB and count a volume's full capacity.
    /// </summary>
    public StackDefinition Stack(int groups, int perGroup)
    {
        var hosts = string.Join("\n", HostNames.Select((h, i) => $$"""
                - name: {{h}}
                  uri: {{Uri(h)}}
                  region: oslo
                  zone: z{{(i % 3) + 1}}
                  pool: { name: {{StackName}}-pool, path: {{PoolPath}}, media: nvme }
            """));
        var nodes = string.Join("\n", Enumerable.Range(1, groups).Select(g => $"""
                - name: w{g}
                  role: worker
                  count: {perGroup.ToString(CultureInfo.InvariantCulture)}
                  cpus: 1
                  memoryMiB: 512
                  diskGiB: 1
                  diskBus: virtio
                  network: cluster
            """));
        var yaml = $"""
            config:
              provisioner:hosts:
            {hosts}
              provisioner:networks:
                - name: cluster
                  cidr: 10.240.0.0/21
                  mode: nat
              provisioner:image:
                name: debian-12
              provisioner:nodes:
            {nodes}
              provisioner:placement:
                region: oslo
              provisioner:access:
                user: ops
                sshPublicKeys: []
                adminCidrs: [10.240.0.0/21]
            """;
        return StackLoader.Parse(yaml, StackName, "bench.yaml");
    }

    /// <summary>The lab's (cached) connection to a host; do not dispose it.</summary>
    public Connection Connection(string host) => Connector.Connect(Definition(host)).Connection;

    public HostDefinition Definition(string host) => new()
    {
        Name = host,
        Uri = LibvirtUri.TryParse(Uri(host), out var uri, out var error) ? uri! : throw new ArgumentException(error),
        Region = "oslo",
        Pool = new StoragePoolDefinition { Name = StackName + "-pool", Path = PoolPath, Media = StorageMedia.Nvme },
    };

    public void Dispose()
    {
        Connector.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}

/// <summary>
/// Volume content on the test driver, which has no streams: bytes are kept per host and volume.
/// </summary>
internal sealed class InMemoryVolumeContent : IVolumeContent
{
    private readonly ConcurrentDictionary<(string Host, string Volume), byte[]> _volumes = new();

    public async Task UploadAsync(HostSession host, StorageVolume volume, Stream source, ulong length, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(volume);
        ArgumentNullException.ThrowIfNull(source);
        await Upload(host.Name, volume.Name, source, length, cancellationToken);
    }

    /// <summary>The same store, for the raw baseline that has no <see cref="HostSession"/>.</summary>
    public async Task Upload(string host, string volume, Stream source, ulong length, CancellationToken cancellationToken)
    {
        using var copy = new MemoryStream();
        await source.CopyToAsync(copy, cancellationToken);
        _volumes[(host, volume)] = copy.ToArray()[..(int)length];
    }

    public Task DownloadAsync(HostSession host, StorageVolume volume, Stream destination, ulong length, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(volume);
        ArgumentNullException.ThrowIfNull(destination);
        var bytes = _volumes[(host.Name, volume.Name)];
        return destination.WriteAsync(bytes.AsMemory(0, (int)Math.Min(length, (ulong)bytes.Length)), cancellationToken).AsTask();
    }
}

/// <summary>Readiness on the test driver, where no guest OS boots: the domain must be running.</summary>
internal sealed class DomainRunningReadiness : INodeReadiness
{
    public Task WaitReadyAsync(HostSession host, DesiredNode node, PinnedHostKey hostKey, StackRunContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(node);
        using var domain = host.Connection.LookupDomain(node.DomainName);
        return domain.GetState() == DomainState.Running
            ? Task.CompletedTask
            : throw new NodeNotReadyException(node.Name, $"domain is {domain.GetState()}");
    }
}
