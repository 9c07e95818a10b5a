using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using LibvirtSharp;
using Provisioner.Core.Templates;

namespace Provisioner.Bench;

/// <summary>
/// On the real libvirt (<c>qemu:///system</c>): a node's root disk as a qcow2 linked clone of the
/// golden image (what the engine does: a volume with a <c>&lt;backingStore&gt;</c>) against a full copy
/// (<c>virStorageVolCreateXMLFrom</c>), for a 2 GiB and a 10 GiB image with real data in them.
/// Everything lives in a pool of its own under /var/lib/provisioner/bench-&lt;random&gt;, removed at the
/// end, also on failure.
/// </summary>
internal static class CloneBenchmark
{
    private const string Socket = "/run/libvirt/libvirt-sock";
    private const string Uri = "qemu:///system";
    private const long MiB = 1024L * 1024;
    private const long GiB = 1024 * MiB;

    /// <summary>Image sizes and how much data is written into each (from offset 0).</summary>
    private static readonly (string Label, long Size, long Data)[] Images =
    [
        ("2g", 2 * GiB, 512 * MiB),
        ("10g", 10 * GiB, 1 * GiB),
    ];

    public static async Task<BenchResult?> RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        if (!await DaemonAnswersAsync(cancellationToken))
        {
            Console.WriteLine($"clone: SKIPPED: libvirtd does not answer on {Socket} (start it with `virtlogd -d; libvirtd -d`, as .ci/run does)");
            Console.WriteLine();
            return null;
        }

        var templates = TemplateRenderer.CreateDefault();
        var suffix = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4));
        var poolName = "bench-" + suffix;
        var poolPath = "/var/lib/provisioner/bench-" + suffix;
        using var connection = Connection.Open(Uri);
        var pool = connection.DefineStoragePool(templates.RenderPool(new StoragePoolSpec { Name = poolName, Path = poolPath }));
        var series = new List<Series>();
        var ratios = new List<Ratio>();
        var facts = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["libvirt"] = $"{Uri}, libvirt {connection.LibvirtVersion}, directory pool {poolPath}",
            ["linked"] = "pool.CreateVolume(TemplateRenderer.RenderVolume(qcow2 with BackingStoreSpec on the image))",
            ["full"] = "pool.CreateVolumeFrom(qcow2 volume XML, image): libvirt runs qemu-img convert; not followed by sync, so writes may still sit in the page cache",
        };
        try
        {
            pool.Build(StoragePoolBuildFlags.New);
            pool.Start();
            foreach (var (label, size, data) in Images)
            {
                var imageName = $"golden-{label}.qcow2";
                var imagePath = Path.Combine(poolPath, imageName);
                var made = Stopwatch.StartNew();
                await RunToolAsync("qemu-img", ["create", "-q", "-f", "qcow2", imagePath, size.ToString(CultureInfo.InvariantCulture)], cancellationToken);
                await RunToolAsync("qemu-io", ["-c", $"write -P 0xab 0 {data.ToString(CultureInfo.InvariantCulture)}", imagePath], cancellationToken);
                facts[$"image {label}"] = string.Create(CultureInfo.InvariantCulture, $"{size / GiB} GiB virtual, {data / MiB} MiB written (pattern 0xab), made in {made.Elapsed.TotalSeconds:F1} s");
                pool.Refresh();
                using var image = pool.LookupVolume(imageName);

                var linked = new List<double>();
                var full = new List<double>();
                for (var i = 0; i < options.Warmup + options.Reps; i++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var timed = i >= options.Warmup;
                    var linkedXml = templates.RenderVolume(new StorageVolumeSpec
                    {
                        Name = $"linked-{label}-{i}.qcow2",
                        CapacityBytes = size,
                        Format = DiskFormat.Qcow2,
                        BackingStore = new BackingStoreSpec { Path = image.Path, Format = DiskFormat.Qcow2 },
                    });
                    var fullXml = templates.RenderVolume(new StorageVolumeSpec { Name = $"full-{label}-{i}.qcow2", CapacityBytes = size, Format = DiskFormat.Qcow2 });

                    StorageVolume? created = null;
                    var l = Timing.Time(() => created = pool.CreateVolume(linkedXml));
                    Delete(created);
                    var f = Timing.Time(() => created = pool.CreateVolumeFrom(fullXml, image));
                    Delete(created);
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  clone {label} {(timed ? "rep" : "warmup")} {i + 1 - (timed ? options.Warmup : 0)}: linked {l:F1} ms, full {f:F0} ms"));
                    if (timed)
                    {
                        linked.Add(l);
                        full.Add(f);
                    }
                }

                var linkedSeries = new Series($"linked-{label}", $"qcow2 linked clone of the {label} image", linked);
                var fullSeries = new Series($"full-{label}", $"full copy of the {label} image", full);
                series.Add(linkedSeries);
                series.Add(fullSeries);
                ratios.Add(BenchResult.RatioOf($"linked vs full, {label}", linkedSeries, fullSeries, null));
                ratios.Add(BenchResult.RatioOf($"full vs linked, {label}", fullSeries, linkedSeries, null));
            }
        }
        finally
        {
            CleanUp(pool, poolPath);
        }

        return new BenchResult("clone", series, ratios, facts);
    }

    private static void Delete(StorageVolume? volume)
    {
        if (volume is not null)
        {
            using (volume)
            {
                volume.Delete();
            }
        }
    }

    private static void CleanUp(StoragePool pool, string poolPath)
    {
        using (pool)
        {
            try
            {
                if (pool.IsActive)
                {
                    pool.Refresh();
                    foreach (var volume in pool.ListVolumes())
                    {
                        using (volume)
                        {
                            volume.Delete();
                        }
                    }

                    pool.Destroy();
                    pool.Delete();
                }
            }
            finally
            {
                pool.Undefine();
                if (Directory.Exists(poolPath))
                {
                    Directory.Delete(poolPath, recursive: true);
                }
            }
        }
    }

    /// <summary>True when something accepts connections on libvirtd's socket.</summary>
    private static async Task<bool> DaemonAnswersAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(Socket))
        {
            return false;
        }

        using var socket = new System.Net.Sockets.Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(Socket), timeout.Token);
            return true;
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private static async Task RunToolAsync(string tool, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {tool}");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{tool} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await stderr}{await stdout}");
        }

        await Task.WhenAll(stdout, stderr);
    }
}
