using Provisioner.Engine.Access;
using Provisioner.Engine.Audit;
using Provisioner.Engine.Hardening;
using System.Collections.Concurrent;
using System.Globalization;
using LibvirtSharp;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Provisioner.Core.Templates;
using Provisioner.Engine;
using Provisioner.Engine.Execution;
using Provisioner.Engine.Hosts;
using Provisioner.Engine.Images;
using Provisioner.Engine.Keys;
using Provisioner.Engine.Planning;
using Provisioner.Engine.Readiness;
using Provisioner.Remote.Keys;
using Provisioner.Remote.Sessions;

namespace Provisioner.Cli.Tests;

/// <summary>The result of one in-process CLI invocation.</summary>
public sealed record CliRun(int ExitCode, string StdOut, string StdErr);

/// <summary>
/// Runs the CLI in-process against libvirt's test driver: a temp folder with <c>stacks/</c>, one <c>test:///</c>
/// node file as the host, and an engine factory that keeps one libvirt connection per host across invocations
/// (the test driver's state lives in its connection), so state survives from one command to the next.
/// </summary>
public sealed class CliLab : IDisposable
{
    public CliLab(long memoryGiB = 24)
    {
        Root = Directory.CreateTempSubdirectory("clitest-").FullName;
        StacksDir = Path.Combine(Root, "stacks");
        Directory.CreateDirectory(StacksDir);
        WorkDir = Path.Combine(Root, "work", "deeper");
        Directory.CreateDirectory(WorkDir);
        NodeFile = Path.Combine(Root, "host.xml");
        File.WriteAllText(NodeFile, $"""
            <node>
              <cpu><mhz>3000</mhz><model>x86_64</model><active>8</active><nodes>1</nodes><sockets>1</sockets><cores>8</cores><threads>1</threads></cpu>
              <memory>{(memoryGiB * 1024 * 1024).ToString(CultureInfo.InvariantCulture)}</memory>
            </node>
            """);
        ImagePath = Path.Combine(Root, "golden.qcow2");
        File.WriteAllBytes(ImagePath, new byte[64 * 1024]);
        Keys = new StackKeyStore(Path.Combine(Root, "keys"));
    }

    public string Root { get; }

    public string StacksDir { get; }

    /// <summary>A folder below <see cref="Root"/>, so stacks/ is found by searching upward.</summary>
    public string WorkDir { get; }

    public string NodeFile { get; }

    public string HostUri => "test://" + NodeFile;

    public string ImagePath { get; }

    public StackKeyStore Keys { get; }

    public CachingHostConnector Connector { get; } = new();

    public InMemoryVolumeContent Content { get; } = new();

    /// <summary>How many times an engine asked for a host connection (0 proves input was rejected before any I/O).</summary>
    public int OpenCount => _openCount;

    private int _openCount;

    private sealed class CountingConnector(CliLab lab) : IHostConnector
    {
        public HostConnection Connect(Core.Stacks.HostDefinition host)
        {
            Interlocked.Increment(ref lab._openCount);
            return lab.Connector.Connect(host);
        }
    }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));

    public EngineContext CreateEngine(ILoggerFactory loggers)
    {
        var hardening = new NodeHardening(TemplateRenderer.CreateDefault());
        // The test driver's guests run no SSH: no phases after up; audit commands are covered by the live tests.
        return new()
        {
            Engine = new StackEngine(new StackEngineOptions
            {
                Templates = TemplateRenderer.CreateDefault(),
                Images = new FileImageSource(ImagePath),
                Readiness = new DomainRunningReadiness(),
                Keys = Keys,
                VolumeContent = Content,
                Connector = new CountingConnector(this),
                Time = Time,
                LoggerFactory = loggers,
            }),
            Keys = Keys,
            Ssh = new SshConnector(),
            Time = Time,
            Access = new SshNodeAccess(new SshConnector(), Keys),
            Hardening = hardening,
            Audit = new AuditPhase(hardening, new AuditRunner()),
            Repair = new HardeningRepairPhase(hardening, new HardeningApplier()),
        };
    }

    /// <summary>Writes <c>stacks/Pulumi.&lt;name&gt;.yaml</c>.</summary>
    public string WriteStack(string name, string yaml)
    {
        var path = Path.Combine(StacksDir, $"Pulumi.{name}.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    /// <summary>A valid one-host stack on the lab's test:/// host with the given nodes.</summary>
    public string StackYaml(string nodes = DefaultNodes, string network = "10.78.9.0/24") => $"""
        config:
          provisioner:hosts:
            - name: localhost
              uri: {HostUri}
              region: local
              pool: {"{"} name: t-pool, path: /var/lib/provisioner/t, media: nvme {"}"}
          provisioner:networks:
            - name: net
              cidr: {network}
              mode: nat
          provisioner:image:
            name: debian-12
          provisioner:nodes:
        {nodes}
          provisioner:placement:
            region: local
          provisioner:access:
            user: ops
            sshPublicKeys: []
            adminCidrs: [{network}]
        """;

    public const string DefaultNodes = """
            - name: web
              role: worker
              cpus: 1
              memoryMiB: 1024
              diskGiB: 4
              diskBus: virtio
              network: net
        """;

    public async Task<CliRun> RunAsync(params string[] args)
    {
        using var stdout = new StringWriter(CultureInfo.InvariantCulture);
        using var stderr = new StringWriter(CultureInfo.InvariantCulture);
        var environment = new CliEnvironment
        {
            Out = stdout,
            Error = stderr,
            WorkingDirectory = WorkDir,
            EngineFactory = CreateEngine,
            LoggerFactory = _ => NullLoggerFactory.Instance,
            RandomHex = n => new string('a', n),
            StateDirectory = Root,
        };
        var code = await CliApp.RunAsync(args, environment, TestContext.Current.CancellationToken);
        return new CliRun(code, stdout.ToString(), stderr.ToString());
    }

    public void Dispose()
    {
        Connector.Dispose();
        Directory.Delete(Root, recursive: true);
    }
}

/// <summary>The test driver has no streams: volume bytes are kept in memory.</summary>
public sealed class InMemoryVolumeContent : IVolumeContent
{
    private readonly ConcurrentDictionary<(string, string), byte[]> _volumes = new();

    public async Task UploadAsync(HostSession host, StorageVolume volume, Stream source, ulong length, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        using var copy = new MemoryStream();
        await source.CopyToAsync(copy, cancellationToken);
        _volumes[(host.Name, volume.Name)] = copy.ToArray()[..(int)length];
    }

    public Task DownloadAsync(HostSession host, StorageVolume volume, Stream destination, ulong length, CancellationToken cancellationToken)
    {
        var bytes = _volumes[(host.Name, volume.Name)];
        return destination.WriteAsync(bytes.AsMemory(0, (int)Math.Min(length, (ulong)bytes.Length)), cancellationToken).AsTask();
    }
}

/// <summary>No guest OS boots on the test driver: a node is ready when its domain runs.</summary>
public sealed class DomainRunningReadiness : INodeReadiness
{
    public Task WaitReadyAsync(HostSession host, DesiredNode node, PinnedHostKey hostKey, StackRunContext context, CancellationToken cancellationToken)
    {
        using var domain = host.Connection.LookupDomain(node.DomainName);
        return domain.GetState() == DomainState.Running
            ? Task.CompletedTask
            : throw new NodeNotReadyException(node.Name, $"domain is {domain.GetState()}");
    }
}
