using System.Diagnostics;
using System.Net.Sockets;
using System.Xml.Linq;

namespace LibvirtSharp.Tests.Live;

[CollectionDefinition(nameof(LiveLibvirt))]
public sealed class LiveLibvirt : ICollectionFixture<LiveLibvirtFixture>;

/// <summary>
/// The live tier: the real system libvirtd (qemu:///system), a directory pool in a temp folder and a NAT network
/// in 10.231.x.0/24, all created here and removed at the end. Starts virtlogd/libvirtd only when their sockets do
/// not answer, and stops only daemons it started itself. Tiny guests boot only firmware (SeaBIOS + iPXE), which
/// is enough for a DHCP lease, link state, suspend/resume, core dumps and events.
/// </summary>
public sealed class LiveLibvirtFixture : IAsyncLifetime
{
    public const string SystemUri = "qemu:///system";
    private const string LibvirtSocket = "/run/libvirt/libvirt-sock";
    private const string VirtlogdSocket = "/run/libvirt/virtlogd-sock";

    private readonly List<int> _startedDaemons = [];
    private readonly List<Guid> _guests = [];
    private readonly Lock _gate = new();
    private Domain? _sharedGuest;
    private Task<string>? _sharedLease;

    public string? SkipReason { get; private set; }

    public Connection Connection { get; private set; } = null!;

    public StoragePool Pool { get; private set; } = null!;

    public Network Network { get; private set; } = null!;

    public string PoolDirectory { get; private set; } = null!;

    public string WorkDirectory { get; private set; } = null!;

    /// <summary>Third octet of the fixture network, 10.231.&lt;octet&gt;.0/24.</summary>
    public int Octet { get; private set; }

    public string RunId { get; } = Guid.NewGuid().ToString("N")[..8];

    public void SkipIfUnavailable() => Assert.SkipWhen(SkipReason is not null, SkipReason ?? string.Empty);

    public async ValueTask InitializeAsync()
    {
        if (!File.Exists("/usr/bin/qemu-system-x86_64"))
        {
            SkipReason = "qemu-system-x86_64 is not installed";
            return;
        }

        try
        {
            await EnsureDaemonAsync(VirtlogdSocket, "virtlogd");
            await EnsureDaemonAsync(LibvirtSocket, "libvirtd");
            Connection = Connection.Open(SystemUri);
        }
        catch (Exception ex) when (ex is LibvirtException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            SkipReason = $"libvirtd at {SystemUri} cannot be reached or started: {ex.Message}";
            return;
        }

        WorkDirectory = Directory.CreateTempSubdirectory($"lvtest-live-{RunId}-").FullName;
        PoolDirectory = Path.Combine(WorkDirectory, "pool");
        Pool = Connection.DefineStoragePool(TestXml.DirPool($"lvtest-pool-{RunId}", PoolDirectory));
        Pool.Build();
        Pool.Start();

        Octet = 100 + Random.Shared.Next(0, 150);
        Network = Connection.DefineNetwork(TestXml.NatNetwork($"lvtest-net-{RunId}", Octet, bridge: $"lvt{RunId}"));
        Network.Start();
    }

    /// <summary>A unique MAC address in the locally administered 52:54:00 range.</summary>
    public static string NewMac()
    {
        Span<byte> b = stackalloc byte[3];
        Random.Shared.NextBytes(b);
        return $"52:54:00:{b[0]:x2}:{b[1]:x2}:{b[2]:x2}";
    }

    /// <summary>XML for a firmware-only guest under TCG on the fixture network.</summary>
    public string GuestXml(string name, string mac, string? qcow2Disk = null) =>
        new XElement("domain", new XAttribute("type", "qemu"),
            new XElement("name", name),
            new XElement("memory", new XAttribute("unit", "MiB"), 96),
            new XElement("vcpu", 1),
            new XElement("os",
                new XElement("type", new XAttribute("arch", "x86_64"), new XAttribute("machine", "pc"), "hvm"),
                new XElement("boot", new XAttribute("dev", "network"))),
            new XElement("features",
                new XElement("acpi"),
                new XElement("tcg", new XElement("tb-cache", new XAttribute("unit", "MiB"), 32))),
            new XElement("devices",
                qcow2Disk is null ? null : new XElement("disk", new XAttribute("type", "file"), new XAttribute("device", "disk"),
                    new XElement("driver", new XAttribute("name", "qemu"), new XAttribute("type", "qcow2")),
                    new XElement("source", new XAttribute("file", qcow2Disk)),
                    new XElement("target", new XAttribute("dev", "vda"), new XAttribute("bus", "virtio"))),
                new XElement("interface", new XAttribute("type", "network"),
                    new XElement("mac", new XAttribute("address", mac)),
                    new XElement("source", new XAttribute("network", Network.Name)),
                    new XElement("model", new XAttribute("type", "virtio"))),
                new XElement("memballoon", new XAttribute("model", "none")))).ToString();

    /// <summary>Defines a new tiny guest (not started); removed at the end of the run.</summary>
    public Domain DefineGuest(out string mac, string? suffix = null, string? qcow2Disk = null)
    {
        mac = NewMac();
        var domain = Connection.DefineDomain(GuestXml($"lvtest-{RunId}-{suffix ?? Guid.NewGuid().ToString("N")[..6]}", mac, qcow2Disk));
        lock (_gate)
        {
            _guests.Add(domain.Uuid);
        }

        return domain;
    }

    /// <summary>
    /// One running guest shared by the tests that only observe it (lease, addresses, metadata, link state, dumps),
    /// so that the run boots as few guests as possible. Tests must leave it running and their changes undone.
    /// </summary>
    public (Domain Guest, string Mac) SharedGuest()
    {
        lock (_gate)
        {
            if (_sharedGuest is null)
            {
                var guest = DefineGuest(out var mac, "shared");
                guest.Start();
                _sharedGuest = guest;
                SharedMac = mac;
            }

            return (_sharedGuest, SharedMac!);
        }
    }

    public string? SharedMac { get; private set; }

    /// <summary>
    /// Waits until the shared guest's firmware (iPXE) has a DHCP lease; returns the leased IPv4 address. Emulated
    /// firmware asks within seconds on a quiet machine, but minutes when the test run boots several guests at once.
    /// </summary>
    public Task<string> SharedGuestLeaseAsync()
    {
        lock (_gate)
        {
            var (_, mac) = SharedGuest();
            return _sharedLease ??= Task.Run(async () =>
            {
                for (var i = 0; i < 600; i++)
                {
                    var leases = Network.GetDhcpLeases(mac);
                    if (leases.Count > 0)
                    {
                        return leases[0].Address.ToString();
                    }

                    await Task.Delay(500);
                }

                throw new TimeoutException($"guest with MAC {mac} got no DHCP lease on {Network.Name} within 300 s");
            });
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Connection is null)
        {
            StopStartedDaemons();
            return;
        }

        _sharedGuest?.Dispose();
        foreach (var uuid in _guests)
        {
            using var guest = Connection.TryLookupDomain(uuid);
            if (guest is null)
            {
                continue;
            }

            if (guest.IsActive)
            {
                TryIgnore(guest.Destroy);
            }

            TryIgnore(() => guest.Undefine(DomainUndefineFlags.ManagedSave | DomainUndefineFlags.SnapshotsMetadata | DomainUndefineFlags.Nvram));
        }

        if (Network is not null)
        {
            TryIgnore(Network.Destroy);
            TryIgnore(Network.Undefine);
            Network.Dispose();
        }

        if (Pool is not null)
        {
            if (Pool.IsActive)
            {
                foreach (var volume in Pool.ListVolumes())
                {
                    using (volume)
                    {
                        TryIgnore(() => volume.Delete());
                    }
                }

                TryIgnore(Pool.Destroy);
            }

            TryIgnore(Pool.Delete);
            TryIgnore(Pool.Undefine);
            Pool.Dispose();
        }

        Connection.Dispose();
        if (WorkDirectory is not null && Directory.Exists(WorkDirectory))
        {
            Directory.Delete(WorkDirectory, recursive: true);
        }

        StopStartedDaemons();
        await Task.CompletedTask;
    }

    private static void TryIgnore(Action action)
    {
        try
        {
            action();
        }
        catch (LibvirtException)
        {
            // Cleanup is best effort; what is already gone is fine.
        }
    }

    private static bool SocketAnswers(string path)
    {
        if (!File.Exists(path))
        {
            return false;
        }

        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            socket.Connect(new UnixDomainSocketEndPoint(path));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private async Task EnsureDaemonAsync(string socketPath, string daemon)
    {
        if (SocketAnswers(socketPath))
        {
            return;
        }

        var pidFile = $"/run/{daemon}.pid";
        using (var process = Process.Start(new ProcessStartInfo(daemon, "-d") { UseShellExecute = false })
            ?? throw new InvalidOperationException($"could not start {daemon}"))
        {
            await process.WaitForExitAsync();
        }

        for (var i = 0; i < 100 && !SocketAnswers(socketPath); i++)
        {
            await Task.Delay(200);
        }

        if (!SocketAnswers(socketPath))
        {
            throw new InvalidOperationException($"{daemon} -d started but {socketPath} does not answer");
        }

        if (File.Exists(pidFile) && int.TryParse((await File.ReadAllTextAsync(pidFile)).Trim(), out var pid))
        {
            _startedDaemons.Add(pid);
        }
    }

    private void StopStartedDaemons()
    {
        // Reverse order: libvirtd before virtlogd. Only daemons this fixture started, by pid.
        for (var i = _startedDaemons.Count - 1; i >= 0; i--)
        {
            try
            {
                using var process = Process.GetProcessById(_startedDaemons[i]);
                process.Kill();
                process.WaitForExit(10_000);
            }
            catch (ArgumentException)
            {
                // Already gone.
            }
        }
    }
}
