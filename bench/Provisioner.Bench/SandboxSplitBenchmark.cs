using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;
using LibvirtSharp;
using Microsoft.Extensions.Logging.Abstractions;
using Provisioner.Core.Stacks;
using Provisioner.Core.Templates;
using Provisioner.Engine;
using Provisioner.Engine.Access;
using Provisioner.Engine.Audit;
using Provisioner.Engine.Graph;
using Provisioner.Engine.Hardening;
using Provisioner.Engine.Images;
using Provisioner.Engine.Keys;
using Provisioner.Engine.Readiness;
using Provisioner.Engine.Sandboxes;
using Provisioner.Remote.Sessions;
using Provisioner.Remote.Shell;

namespace Provisioner.Bench;

/// <summary>
/// One real sandbox on the local libvirt (type qemu, 2 vCPU, 2 GiB), built like <c>sandbox up</c> builds it
/// (<see cref="SandboxStackBuilder"/>, the hardening at first boot, the audit phase after), timed from the start of
/// <c>up</c> to SSH-ready and split into image, define, boot, cloud-init, hardening, readiness lag and audit, so the
/// slowest step shows. Host-side times come from the engine's <c>StepChanged</c> events and a libvirt poller; the
/// guest-side split from <c>cloud-init analyze dump</c> read over SSH afterwards, mapped onto the host clock with the
/// offset measured at that moment. The stack is named <c>jump&lt;random&gt;</c> (network <c>10.84.0.0/24</c>, pool of
/// its own) rather than <c>sandbox</c>, so it never touches real sandboxes; it is destroyed at the end, also on failure.
/// </summary>
internal static class SandboxSplitBenchmark
{
    private const string Socket = "/run/libvirt/libvirt-sock";

    public static async Task<BenchResult?> RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        if (!await DaemonAnswersAsync(cancellationToken))
        {
            Console.WriteLine($"sandbox-split: SKIPPED: libvirtd does not answer on {Socket}");
            Console.WriteLine();
            return null;
        }

        var suffix = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3));
        var name = "jump" + suffix;
        var poolPath = "/var/lib/provisioner/pools/" + name;
        var keysDir = Directory.CreateTempSubdirectory("jump-bench-keys-").FullName;
        var sandboxHost = new SandboxHost { Cidr = "10.84.0.0/24", PoolPath = poolPath, Emulation = SandboxEmulation.Force };
        var stack = SandboxStackBuilder.Build(sandboxHost, [new SandboxSpec { Name = "bench" }]);
        stack = stack with
        {
            Name = name,
            Hosts = [.. stack.Hosts.Select(h => h with { Pool = h.Pool with { Name = name } })],
        };

        var time = TimeProvider.System;
        var ssh = new SshConnector(null, NullLoggerFactory.Instance, time);
        var keys = new StackKeyStore(keysDir);
        var templates = TemplateRenderer.CreateDefault();
        var images = RecipeImageSource.FromEnvironment(time);
        var access = new SshNodeAccess(ssh, keys);
        var hardening = new NodeHardening(templates);
        var audit = new AuditPhase(hardening, new AuditRunner(NullLogger<AuditRunner>.Instance));
        var engine = new StackEngine(new StackEngineOptions
        {
            Templates = templates,
            Images = images,
            Readiness = new SshNodeReadiness(ssh, time, TimeSpan.FromMinutes(20), NullLogger.Instance),
            Keys = keys,
            Time = time,
            Extras = hardening.FirstBoot,
            Phases = [audit],
            Access = access,
        });

        var clock = Stopwatch.StartNew();
        var marks = new ConcurrentDictionary<string, double>(StringComparer.Ordinal);
        engine.StepChanged += (_, e) =>
        {
            marks.TryAdd($"{e.StepId}:{e.State}", clock.Elapsed.TotalMilliseconds);
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {clock.Elapsed.TotalSeconds,7:F1}s {e.State,-9} {e.StepId}"));
        };

        var facts = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["stack"] = $"{name}: one node like `sandbox up` (2 vCPU, 2048 MiB, 10 GiB, virtio, type qemu/TCG), NAT network 10.84.0.0/24, pool {poolPath}",
            ["engine"] = "StackEngine with the CLI's pieces: RecipeImageSource (cache /var/cache/provisioner), SshNodeReadiness, hardening at first boot, audit phase",
        };
        var domainName = Core.Naming.LibvirtNames.Domain(name, "bench");
        using var pollStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task? poller = null;
        try
        {
            var imageMs = await Timing.TimeAsync(() => images.EnsureAsync(stack.Image, null, cancellationToken));
            facts["image-cache"] = string.Create(CultureInfo.InvariantCulture, $"EnsureAsync (golden image from the recipe cache, built if missing): {imageMs:F0} ms");

            poller = Task.Run(() => PollDomain(domainName, clock, marks, pollStop.Token), CancellationToken.None);
            var upStart = clock.Elapsed.TotalMilliseconds;
            var result = await engine.UpAsync(stack, cancellationToken);
            var upEnd = clock.Elapsed.TotalMilliseconds;
            await pollStop.CancelAsync();
            await poller;

            var node = result.Nodes.Single();
            var guest = await ReadGuestTimesAsync(access, stack, node, clock, cancellationToken);
            facts["guest-clock-offset"] = string.Create(CultureInfo.InvariantCulture, $"{guest.OffsetMs:F0} ms (guest clock minus host clock, measured over SSH after up; RTT {guest.RttMs:F0} ms)");
            facts["systemd-analyze"] = guest.SystemdAnalyze;
            facts["cloud-init-stages"] = string.Join("; ", guest.Stages.Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Key} {s.Value:F1} s")));
            facts["audit"] = string.Join("; ", result.Phases.Select(p => p.Summary));

            double Mark(string key) => marks.TryGetValue(key, out var v) ? v : double.NaN;
            var host = stack.Hosts[0].Name;
            var nodeStart = Mark($"{host}/node/bench:Started");
            var nodeEnd = Mark($"{host}/node/bench:Succeeded");
            var running = Mark("domain:running");
            var ciStart = guest.CloudInitStart;
            var ciEnd = guest.CloudInitEnd;
            var hardeningMs = guest.HardeningMs;
            var hostPrep = Math.Max(Mark($"{host}/image:Succeeded"), Mark($"{host}/network/sandbox:Succeeded")) - upStart;

            Series One(string label, string what, double ms) => new(label, what, [ms]);
            var series = new List<Series>
            {
                One("image", "golden image: recipe cache lookup + upload into the pool (image step)", imageMs + (Mark($"{host}/image:Succeeded") - Mark($"{host}/image:Started"))),
                One("host-prep", "up start -> pool, image and network steps done (planning, host facts, pool, upload, network)", hostPrep),
                One("define", "node step start -> domain running (clone, host key, seed, define, start)", running - nodeStart),
                One("boot", "domain running -> cloud-init init-local starts (firmware, kernel, systemd)", ciStart - running),
                One("cloud-init", "cloud-init init-local start -> modules-final end, without the hardening", ciEnd - ciStart - hardeningMs),
                One("hardening", "cloud-init modules that apply the hardening (write_files, runcmd via scripts_user)", hardeningMs),
                One("ssh-ready-lag", "cloud-init done -> node step done (SSH retries, cloud-init status --wait, seed removal)", nodeEnd - ciEnd),
                One("audit", "audit phase over SSH after up", Mark("phase/audit:Succeeded") - Mark("phase/audit:Started")),
                One("to-ssh-ready", "up start -> node step done (SSH-ready, cloud-init finished)", nodeEnd - upStart),
                One("up-total", "whole UpAsync including the audit", upEnd - upStart),
            };
            var slowest = series.Take(8).MaxBy(s => s.Median)!;
            facts["slowest"] = string.Create(CultureInfo.InvariantCulture, $"{slowest.Name} ({slowest.Median / 1000:F1} s)");
            return new BenchResult("sandbox-split", series, [], facts);
        }
        finally
        {
            await pollStop.CancelAsync();
            if (poller is not null)
            {
                await poller;
            }

            try
            {
                await engine.DestroyAsync(stack, CancellationToken.None);
            }
            catch (Exception ex) when (ex is LibvirtException or StepFailedException or IOException)
            {
                await Console.Error.WriteLineAsync($"sandbox-split: cleanup of {name} failed, remove it by hand: {ex.Message}");
            }

            if (Directory.Exists(poolPath))
            {
                Directory.Delete(poolPath, recursive: true);
            }

            Directory.Delete(keysDir, recursive: true);
        }
    }

    // Host-side view of the domain: when it first shows as running.
    private static void PollDomain(string domainName, Stopwatch clock, ConcurrentDictionary<string, double> marks, CancellationToken cancellationToken)
    {
        using var connection = Connection.Open("qemu:///system");
        while (!cancellationToken.IsCancellationRequested)
        {
            using (var domain = connection.TryLookupDomain(domainName))
            {
                if (domain is not null)
                {
                    marks.TryAdd("domain:defined", clock.Elapsed.TotalMilliseconds);
                    if (domain.GetState() == DomainState.Running)
                    {
                        marks.TryAdd("domain:running", clock.Elapsed.TotalMilliseconds);
                        return;
                    }
                }
            }

            Thread.Sleep(100);
        }
    }

    private sealed record GuestTimes(double CloudInitStart, double CloudInitEnd, double HardeningMs, double OffsetMs, double RttMs, string SystemdAnalyze, IReadOnlyDictionary<string, double> Stages);

    private static async Task<GuestTimes> ReadGuestTimesAsync(SshNodeAccess access, StackDefinition stack, NodeStatus node, Stopwatch clock, CancellationToken cancellationToken)
    {
        var session = await access.OpenAsync(stack, node, cancellationToken);
        await using (session)
        {
            // Offset between the guest's clock and ours: the guest's epoch time against the host's at the middle of the round trip.
            var before = clock.Elapsed.TotalMilliseconds;
            var hostEpochBefore = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var now = (await session.RunAsync(ShellCommand.Create("date", "+%s.%N"), cancellationToken)).StdOut.Trim();
            var rtt = clock.Elapsed.TotalMilliseconds - before;
            var guestEpochMs = double.Parse(now, CultureInfo.InvariantCulture) * 1000;
            var hostEpochMid = hostEpochBefore + rtt / 2;
            var offset = guestEpochMs - hostEpochMid;
            // Guest epoch ms -> our stopwatch ms.
            double ToClock(double guestEpochSeconds) => before + rtt / 2 + (guestEpochSeconds * 1000 - offset - hostEpochMid);

            var dump = await session.RunAsync(ShellCommand.Create("cloud-init", "analyze", "dump").WithSudo(), cancellationToken);
            dump.EnsureSuccess();
            var analyze = await session.RunAsync(ShellCommand.Create("systemd-analyze", "time"), cancellationToken);

            using var json = JsonDocument.Parse(dump.StdOut);
            var starts = new Dictionary<string, double>(StringComparer.Ordinal);
            var durations = new Dictionary<string, double>(StringComparer.Ordinal);
            double first = double.MaxValue, last = 0;
            foreach (var e in json.RootElement.EnumerateArray())
            {
                var eventName = e.GetProperty("name").GetString() ?? "";
                var type = e.GetProperty("event_type").GetString();
                var ts = e.GetProperty("timestamp").GetDouble();
                if (type == "start")
                {
                    starts.TryAdd(eventName, ts);
                    if (!eventName.Contains('/', StringComparison.Ordinal))
                    {
                        first = Math.Min(first, ts);
                    }
                }
                else if (type == "finish" && starts.TryGetValue(eventName, out var started))
                {
                    durations[eventName] = ts - started;
                    if (!eventName.Contains('/', StringComparison.Ordinal))
                    {
                        last = Math.Max(last, ts);
                    }
                }
            }

            // The hardening arrives as write_files and runcmd; runcmd's script runs in scripts_user. Module names are
            // spelt with '-' in cloud-init's event names (config-scripts-user), '_' in its configuration.
            string[] hardeningModules = ["/config-write-files", "/config-write_files", "/config-runcmd", "/config-scripts-user", "/config-scripts_user"];
            var hardening = durations.Where(d => hardeningModules.Any(m => d.Key.EndsWith(m, StringComparison.Ordinal))).Sum(d => d.Value) * 1000;
            var stages = durations.Where(d => !d.Key.Contains('/', StringComparison.Ordinal)).ToDictionary(d => d.Key, d => d.Value, StringComparer.Ordinal);
            foreach (var d in durations.Where(d => d.Key.Contains('/', StringComparison.Ordinal)).OrderByDescending(d => d.Value).Take(5))
            {
                stages["top: " + d.Key] = d.Value;
            }

            return new GuestTimes(ToClock(first), ToClock(last), hardening, offset, rtt, analyze.StdOut.Trim().ReplaceLineEndings(" "), stages);
        }
    }

    private static async Task<bool> DaemonAnswersAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var socket = new System.Net.Sockets.Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(Socket), cancellationToken);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
