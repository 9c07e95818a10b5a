using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using LibvirtSharp;
using Provisioner.Core.CloudInit;
using Provisioner.Core.Naming;
using Provisioner.Core.Placement;
using Provisioner.Core.Stacks;
using Provisioner.Core.Templates;
using Provisioner.Engine.Execution;
using Provisioner.Engine.Graph;
using Provisioner.Engine.Hosts;
using Provisioner.Engine.Planning;
using Provisioner.Engine.Readiness;
using Provisioner.Remote.Keys;
using TemplateNetworkMode = Provisioner.Core.Templates.NetworkMode;

namespace Provisioner.Bench;

/// <summary>
/// <c>up</c> of 500 nodes over 10 mock hosts, against a raw loop of the libvirt calls that produce the
/// same objects. Two baselines: <c>raw-libvirt</c> (every XML document, key and seed computed before the
/// clock starts: libvirt calls and seed uploads only) and <c>raw-full</c> (the per-node work any
/// provisioner must also do in the loop: host key, cloud-init seed, XML rendering). The difference
/// between the engine and <c>raw-full</c> is what planning, the graph, inventory and readiness cost.
/// </summary>
internal static class Up500Benchmark
{
    public const int Hosts = 10;
    public const int Groups = 5;
    public const int PerGroup = 100;
    public const int MaxParallelism = 8;
    private const ulong GiB = 1024UL * 1024 * 1024;

    public static async Task<BenchResult?> RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        using var image = BenchImage.Create();
        var templates = TemplateRenderer.CreateDefault();
        var prepared = await RawUp.PrepareAsync(templates, image.Path, cancellationToken);

        var engine = new List<double>();
        var graph = new List<double>();
        var rawLibvirt = new List<double>();
        var rawFull = new List<double>();
        for (var i = 0; i < options.Warmup + options.Reps; i++)
        {
            var timed = i >= options.Warmup;
            // Interleaved, so drift (caches, other load) hits all three alike.
            var r1 = await RunRawAsync(prepared, precomputed: true, cancellationToken);
            var r2 = await RunRawAsync(prepared, precomputed: false, cancellationToken);
            var (e, g) = await RunEngineAsync(templates, image.Path, cancellationToken);
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  up500 {(timed ? "rep" : "warmup")} {i + 1 - (timed ? options.Warmup : 0)}: engine {e:F0} ms (steps {g:F0} ms), raw-full {r2:F0} ms, raw-libvirt {r1:F0} ms"));
            if (timed)
            {
                engine.Add(e);
                graph.Add(g);
                rawLibvirt.Add(r1);
                rawFull.Add(r2);
            }
        }

        var engineSeries = new Series("engine", "StackEngine.UpAsync, MaxParallelism 8, fresh hosts", engine);
        var graphSeries = new Series("engine-steps", "part of engine: first step start to last step end (the graph run)", graph);
        var outsideSeries = new Series("engine-outside-steps", "part of engine: everything else (host facts, planning, inventory reads before/after, known_hosts, status)", [.. engine.Zip(graph, (a, b) => a - b)]);
        var libvirtSeries = new Series("raw-libvirt", "same libvirt calls, 8 in parallel, XML/keys/seeds precomputed", rawLibvirt);
        var fullSeries = new Series("raw-full", "same libvirt calls, 8 in parallel, host key + seed + XML made per node in the loop", rawFull);
        return new BenchResult(
            "up500",
            [engineSeries, graphSeries, outsideSeries, fullSeries, libvirtSeries],
            [
                BenchResult.RatioOf("engine vs raw loop", engineSeries, fullSeries, 1.2),
                BenchResult.RatioOf("engine vs libvirt calls only", engineSeries, libvirtSeries, null),
            ],
            new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["stack"] = $"{Groups} groups x {PerGroup} workers (1 vCPU, 512 MiB, 1 GiB disk) over {Hosts} test-driver hosts, one NAT network",
                ["hosts"] = "fresh test:/// node files and a new CachingHostConnector per repetition and per variant",
                ["doubles"] = "InMemoryVolumeContent (no streams on the test driver), DomainRunningReadiness (no guest boots)",
                ["check"] = "after every run each host is checked to have its 50 domains running and no seed volumes",
            });
    }

    /// <summary>The engine's wall time, and the part of it spent between the first step's start and the last step's end.</summary>
    private static async Task<(double Total, double Steps)> RunEngineAsync(TemplateRenderer templates, string imagePath, CancellationToken cancellationToken)
    {
        using var lab = new TestDriverLab(Hosts, imagePath);
        var stack = lab.Stack(Groups, PerGroup);
        var engine = lab.Engine(templates, MaxParallelism);
        long first = long.MaxValue, last = 0;
        var gate = new Lock();
        engine.StepChanged += (_, e) =>
        {
            var now = Stopwatch.GetTimestamp();
            lock (gate)
            {
                if (e.State == StepState.Started)
                {
                    first = Math.Min(first, now);
                }
                else
                {
                    last = Math.Max(last, now);
                }
            }
        };
        var ms = await Timing.TimeAsync(() => engine.UpAsync(stack, cancellationToken));
        Verify(lab);
        return (ms, last > first ? Stopwatch.GetElapsedTime(first, last).TotalMilliseconds : 0);
    }

    private static async Task<double> RunRawAsync(RawUp prepared, bool precomputed, CancellationToken cancellationToken)
    {
        using var lab = new TestDriverLab(Hosts, prepared.ImagePath);
        // Opening the connections is not timed for the engine either's sake: both pay it, the engine inside UpAsync.
        var ms = await Timing.TimeAsync(() => prepared.RunAsync(lab, precomputed, cancellationToken));
        Verify(lab);
        return ms;
    }

    /// <summary>Both variants must leave the same thing behind, or the comparison means nothing.</summary>
    internal static void Verify(TestDriverLab lab)
    {
        var running = 0;
        foreach (var host in lab.HostNames)
        {
            var connection = lab.Connection(host);
            foreach (var domain in connection.ListDomains(DomainListFilter.Active))
            {
                using (domain)
                {
                    running++;
                }
            }

            using var pool = connection.LookupStoragePool(TestDriverLab.StackName + "-pool");
            foreach (var volume in pool.ListVolumes())
            {
                using (volume)
                {
                    if (volume.Name.EndsWith("-seed", StringComparison.Ordinal))
                    {
                        throw new InvalidOperationException($"{host}: seed volume {volume.Name} left behind");
                    }
                }
            }
        }

        // The test driver's node file starts with no domains: all running ones are ours.
        if (running != Groups * PerGroup)
        {
            throw new InvalidOperationException($"expected {Groups * PerGroup} running domains, found {running}");
        }
    }

    /// <summary>The raw loop and what it precomputes.</summary>
    internal sealed class RawUp
    {
        private readonly TemplateRenderer _templates;
        private readonly StackDefinition _stack;
        private readonly IReadOnlyList<DesiredNode> _nodes;
        private readonly Dictionary<string, PreparedNode> _prepared;
        private readonly string _goldenVolume;
        private readonly DomainType _domainType;
        private readonly long _imageLength;

        private RawUp(TemplateRenderer templates, string imagePath, StackDefinition stack, IReadOnlyList<DesiredNode> nodes, Dictionary<string, PreparedNode> prepared, string goldenVolume, DomainType domainType)
        {
            _templates = templates;
            ImagePath = imagePath;
            _stack = stack;
            _nodes = nodes;
            _prepared = prepared;
            _goldenVolume = goldenVolume;
            _domainType = domainType;
            _imageLength = new FileInfo(imagePath).Length;
        }

        public string ImagePath { get; }

        private string GoldenPath => $"{TestDriverLab.PoolPath}/{_goldenVolume}";

        public static async Task<RawUp> PrepareAsync(TemplateRenderer templates, string imagePath, CancellationToken cancellationToken)
        {
            using var scratch = new TestDriverLab(Hosts, imagePath);
            var stack = scratch.Stack(Groups, PerGroup);
            var facts = scratch.HostNames.Select(h => new HostFacts(h, 512 * GiB, 64)).ToList();
            var (nodes, unplaced) = Planner.Desire(stack, facts, []);
            if (unplaced.Count > 0)
            {
                throw new InvalidOperationException("raw baseline: nodes cannot be placed: " + string.Join("; ", unplaced.Select(u => u.Node)));
            }

            DomainType domainType;
            using (var session = HostSession.Open(scratch.Definition(scratch.HostNames[0]), scratch.Connector))
            {
                domainType = VirtualizationChoice.Choose(session.Name, session.Capabilities, stack.Virtualization);
            }

            byte[] sha;
            var file = File.OpenRead(imagePath);
            await using (file)
            {
                sha = await SHA256.HashDataAsync(file, cancellationToken);
            }

            var golden = LibvirtNames.GoldenVolume(stack.Image.Name, Convert.ToHexStringLower(sha));
            var raw = new RawUp(templates, imagePath, stack, nodes, [], golden, domainType);
            var admin = SshKeyPair.GenerateEd25519("admin@bench");
            foreach (var node in nodes)
            {
                raw._prepared[node.Name] = raw.PrepareNode(node, admin.PublicKeyOpenSsh);
            }

            return raw;
        }

        public async Task RunAsync(TestDriverLab lab, bool precomputed, CancellationToken cancellationToken)
        {
            var connections = lab.HostNames.ToDictionary(h => h, lab.Connection, StringComparer.Ordinal);
            var parallel = new ParallelOptions { MaxDegreeOfParallelism = MaxParallelism, CancellationToken = cancellationToken };
            var admin = precomputed ? null : SshKeyPair.GenerateEd25519("admin@bench");

            await Parallel.ForEachAsync(lab.HostNames, parallel, async (host, ct) =>
            {
                var connection = connections[host];
                using var pool = connection.DefineStoragePool(_templates.RenderPool(new StoragePoolSpec { Name = TestDriverLab.StackName + "-pool", Path = TestDriverLab.PoolPath }));
                pool.Build(StoragePoolBuildFlags.New);
                pool.Start();
                pool.Autostart = true;

                using (var golden = pool.CreateVolume(_templates.RenderVolume(new StorageVolumeSpec { Name = _goldenVolume, CapacityBytes = _imageLength, Format = DiskFormat.Raw })))
                {
                    var source = File.OpenRead(ImagePath);
                    await using (source)
                    {
                        await lab.Content.Upload(host, golden.Name, source, (ulong)_imageLength, ct);
                    }
                }

                using (var marker = pool.CreateVolume(_templates.RenderVolume(new StorageVolumeSpec { Name = _goldenVolume + "-ok", CapacityBytes = 1, Format = DiskFormat.Raw })))
                {
                }

                using var network = connection.DefineNetwork(NetworkXml(host));
                network.Start();
                network.Autostart = true;
            });

            await Parallel.ForEachAsync(_nodes, parallel, async (node, ct) =>
            {
                var connection = connections[node.Host];
                var p = precomputed ? _prepared[node.Name] : PrepareNode(node, admin!.PublicKeyOpenSsh);
                using var pool = connection.LookupStoragePool(TestDriverLab.StackName + "-pool");
                using (var root = pool.CreateVolume(p.RootVolumeXml))
                {
                }

                using (var seed = pool.CreateVolume(p.SeedVolumeXml))
                {
                    using var stream = new MemoryStream(p.Seed, writable: false);
                    await lab.Content.Upload(node.Host, seed.Name, stream, (ulong)p.Seed.Length, ct);
                }

                using (var domain = connection.DefineDomain(p.DomainXml))
                {
                    domain.Autostart = true;
                    domain.Start();
                }

                // The engine drops the seed (it holds the host's private key) once the node is up.
                using (var redefined = connection.DefineDomain(p.DomainXmlWithoutSeed))
                {
                }

                using var seedVolume = pool.LookupVolume(node.SeedVolume);
                seedVolume.Delete();
            });
        }

        private PreparedNode PrepareNode(DesiredNode node, string adminPublicKey)
        {
            var created = DateTimeOffset.UnixEpoch;
            var rootPath = $"{TestDriverLab.PoolPath}/{node.RootVolume}";
            var seedPath = $"{TestDriverLab.PoolPath}/{node.SeedVolume}";
            var rootXml = _templates.RenderVolume(new StorageVolumeSpec
            {
                Name = node.RootVolume,
                CapacityBytes = checked((long)((ulong)node.Definition.DiskGiB * GiB)),
                Format = DiskFormat.Qcow2,
                BackingStore = new BackingStoreSpec { Path = GoldenPath, Format = DiskFormat.Qcow2 },
            });

            var hostKey = SshKeyPair.GenerateEd25519($"{node.Name}@{_stack.Name}");
            var documents = CloudInitRenderer.Render(new CloudInitSpec
            {
                HostName = node.Name,
                AdminUser = new CloudInitUser { Name = _stack.Access.User, SshAuthorizedKeys = [adminPublicKey] },
                HostKeys = [new SshHostKey { Type = SshHostKeyType.Ed25519, PrivateKey = hostKey.PrivateKeyOpenSsh, PublicKey = hostKey.PublicKeyOpenSsh }],
                Network = new CloudInitNetwork { MacAddress = node.Addresses.MacAddress.ToLowerInvariant() },
            });
            var seed = NoCloudSeed.Build(documents, created);
            var seedXml = _templates.RenderVolume(new StorageVolumeSpec { Name = node.SeedVolume, CapacityBytes = seed.Length, Format = DiskFormat.Raw });

            var spec = new DomainSpec
            {
                Name = node.DomainName,
                Uuid = NodeOperations.StableUuid(_stack.Name, node.Name),
                Type = _domainType,
                VCpus = node.Definition.Cpus,
                MemoryMiB = checked((int)node.Definition.MemoryMiB),
                RootDisk = new RootDiskSpec { Source = DiskSource.FromFile(rootPath), Bus = Core.Templates.DiskBus.Virtio },
                CloudInitSeed = DiskSource.FromFile(seedPath),
                Interfaces = [new NetworkInterfaceSpec { Network = node.LibvirtNetwork, MacAddress = node.Addresses.MacAddress.ToLowerInvariant() }],
                SerialLogPath = ConsoleLog.PathFor(node.DomainName),
                Metadata = new NodeMetadata
                {
                    Stack = _stack.Name,
                    Node = node.Name,
                    Role = node.RoleName,
                    DefinitionHash = node.DefinitionHash,
                    Created = created,
                    HostKeyFingerprint = hostKey.Fingerprint,
                    HostPublicKey = hostKey.PublicKey.ToPublicKeyLine(),
                    RootDiskPath = rootPath,
                    RootDiskBus = "virtio",
                },
            };

            return new PreparedNode(rootXml, seedXml, seed, _templates.RenderDomain(spec), _templates.RenderDomain(spec with { CloudInitSeed = null }));
        }

        private string NetworkXml(string host)
        {
            var network = _stack.Networks[0];
            var reservations = _nodes
                .Where(n => n.Host == host && n.Definition.Network == network.Name)
                .OrderBy(n => n.Name, StringComparer.Ordinal)
                .Select(n => new DhcpHost
                {
                    MacAddress = n.Addresses.MacAddress.ToLowerInvariant(),
                    Address = System.Net.IPAddress.Parse(n.Addresses.Ipv4Address.ToString()),
                    HostName = n.Name,
                })
                .ToList();
            return _templates.RenderNetwork(new NetworkSpec
            {
                Name = LibvirtNames.Network(_stack.Name, network.Name),
                Mode = TemplateNetworkMode.Nat,
                BridgeName = LibvirtNames.Bridge(_stack.Name, network.Name),
                Ipv4 = new NetworkIpv4Spec
                {
                    Gateway = System.Net.IPAddress.Parse(network.Gateway.ToString()),
                    PrefixLength = network.Cidr.PrefixLength,
                    DhcpStart = System.Net.IPAddress.Parse(network.DhcpRange.First.ToString()),
                    DhcpEnd = System.Net.IPAddress.Parse(network.DhcpRange.Last.ToString()),
                    Hosts = reservations,
                },
                Metadata = new NetworkMetadata
                {
                    Stack = _stack.Name,
                    Network = network.Name,
                    DefinitionHash = NetworkHash.Compute(_stack.Name, network),
                    Created = DateTimeOffset.UnixEpoch,
                },
            });
        }

        private sealed record PreparedNode(string RootVolumeXml, string SeedVolumeXml, byte[] Seed, string DomainXml, string DomainXmlWithoutSeed);
    }
}

/// <summary>A small stand-in golden image file (the test driver never reads it), deleted on dispose.</summary>
internal sealed class BenchImage : IDisposable
{
    private BenchImage(string path) => Path = path;

    public string Path { get; }

    public static BenchImage Create()
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"provbench-golden-{Guid.NewGuid():N}.qcow2");
        File.WriteAllBytes(path, RandomNumberGenerator.GetBytes(256 * 1024));
        return new BenchImage(path);
    }

    public void Dispose() => File.Delete(Path);
}
