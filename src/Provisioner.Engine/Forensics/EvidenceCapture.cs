using System.Globalization;
using System.Xml.Linq;
using LibvirtSharp;
using Provisioner.Core.Stacks;
using Provisioner.Core.Templates;
using Provisioner.Engine.Readiness;

namespace Provisioner.Engine.Forensics;

/// <summary>What the operator asks for when capturing evidence.</summary>
public sealed record CaptureRequest
{
    /// <summary>Who captures (recorded in the manifest).</summary>
    public required string Operator { get; init; }
}

/// <summary>A captured evidence set.</summary>
/// <param name="Directory">The evidence directory.</param>
/// <param name="Manifest">Its manifest.</param>
public sealed record EvidenceCaptureResult(string Directory, EvidenceManifest Manifest);

/// <summary>The evidence file system has too little room; nothing was written.</summary>
public sealed class InsufficientEvidenceSpaceException : Exception
{
    /// <summary>Creates the exception.</summary>
    public InsufficientEvidenceSpaceException() { }

    /// <summary>Creates the exception.</summary>
    public InsufficientEvidenceSpaceException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public InsufficientEvidenceSpaceException(string message, Exception inner) : base(message, inner) { }

    /// <summary>Bytes the capture needs (evidence plus the reserve).</summary>
    public long RequiredBytes { get; init; }

    /// <summary>Bytes free.</summary>
    public long FreeBytes { get; init; }
}

/// <summary>A capture failed part-way; the directory keeps what was written, marked incomplete, and is never removed.</summary>
public sealed class EvidenceCaptureException : Exception
{
    /// <summary>Creates the exception.</summary>
    public EvidenceCaptureException() { }

    /// <summary>Creates the exception.</summary>
    public EvidenceCaptureException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public EvidenceCaptureException(string message, Exception inner) : base(message, inner) { }

    /// <summary>The (incomplete) evidence directory.</summary>
    public string? Directory { get; init; }
}

/// <summary>
/// Preserves a node's state on its host: a memory-only ELF dump, a copy of every disk taken while the guest is paused,
/// the live and persistent domain XML, both metadata blocks and the console log, with a manifest holding the
/// SHA-256 of every file. Evidence goes to a root-only directory outside every storage pool; nothing here ever
/// deletes evidence, a failed capture stays on disk marked incomplete.
/// </summary>
public sealed class EvidenceCapture
{
    private const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode PrivateFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private readonly ForensicsOptions _options;

    /// <summary>Creates the service.</summary>
    public EvidenceCapture(ForensicsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
    }

    /// <summary>The directory holding every evidence set of a node.</summary>
    public string NodeDirectory(string stack, string node) => Path.Combine(_options.EvidenceRoot, stack, node);

    /// <summary>Captures the evidence of <paramref name="node"/>.</summary>
    /// <exception cref="NodeLookupException">Unknown node, or a node of another stack; nothing was written.</exception>
    /// <exception cref="InsufficientEvidenceSpaceException">Not enough room; nothing was written.</exception>
    /// <exception cref="EvidenceCaptureException">A step failed; the incomplete directory is kept.</exception>
    public async Task<EvidenceCaptureResult> CaptureAsync(StackDefinition stack, string node, CaptureRequest request, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentNullException.ThrowIfNull(request);
        using var hosts = StackHosts.Open(stack, _options.Connector);
        var (observed, host) = hosts.Find(node);
        using var domain = host.Connection.LookupDomain(observed.DomainName);
        var quarantine = NodeQuarantine.Read(domain);
        var started = _options.Time.GetUtcNow();

        var active = domain.IsActive;
        var memoryBytes = active ? (long)domain.GetInfo().MemoryBytes : 0;
        var disks = DiskPaths(domain, observed.Metadata);
        var diskSizes = disks.ToDictionary(d => d, d => DiskBytes(host.Connection, d), StringComparer.Ordinal);
        var backing = BackingImage(host, observed.BackingVolumeName);
        var required = memoryBytes + diskSizes.Values.Sum() + (backing?.Bytes ?? 0) + _options.SpaceReserveBytes;
        var free = _options.FreeSpace(_options.EvidenceRoot);
        if (free < required)
        {
            throw new InsufficientEvidenceSpaceException(
                $"not enough space for the evidence of node '{node}' under {_options.EvidenceRoot}: need {Gib(required)} " +
                $"(memory {Gib(memoryBytes)}, disks {Gib(diskSizes.Values.Sum())}, golden image {Gib(backing?.Bytes ?? 0)}, reserve {Gib(_options.SpaceReserveBytes)}), {Gib(free)} free; nothing was written")
            {
                RequiredBytes = required,
                FreeBytes = free,
            };
        }

        var directory = CreateEvidenceDirectory(stack.Name, node, started);
        await File.WriteAllTextAsync(Path.Combine(directory, EvidenceManifest.IncompleteMarker),
            $"capture of {stack.Name}/{node} started {started:O} by {request.Operator}\n", cancellationToken).ConfigureAwait(false);
        var files = new List<EvidenceFile>();
        var notes = new List<string>();
        var pausedHere = false;
        var step = "prepare";
        try
        {
            if (active && domain.GetState() == DomainState.Running)
            {
                // Paused, memory and disks describe the same instant and the guest cannot change them meanwhile.
                step = "pause";
                domain.Suspend();
                pausedHere = true;
            }

            if (active)
            {
                step = "memory";
                progress?.Report($"dumping memory ({Gib(memoryBytes)})");
                var memory = Path.Combine(directory, "memory.elf");
                await Task.Run(() => domain.CoreDump(memory, CoreDumpFormat.Raw, _options.MemoryDumpFlags), cancellationToken).ConfigureAwait(false);
                files.Add(await DescribeAsync(memory, "memory", null, cancellationToken).ConfigureAwait(false));
            }
            else
            {
                notes.Add("the domain was not running: there is no memory to dump");
            }

            var index = 0;
            foreach (var disk in disks)
            {
                step = $"disk {disk}";
                progress?.Report($"copying disk {disk} ({Gib(diskSizes[disk])})");
                var target = Path.Combine(directory, $"disk{index++}-{SafeName(Path.GetFileName(disk))}");
                using var volume = host.Connection.LookupStorageVolumeByPath(disk);
                var stream = new FileStream(target, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = PrivateFile });
                await using (stream.ConfigureAwait(false))
                {
                    await _options.VolumeContent.DownloadAsync(host, volume, stream, 0, cancellationToken).ConfigureAwait(false);
                }

                files.Add(await DescribeAsync(target, "disk", disk, cancellationToken).ConfigureAwait(false));
            }

            step = "domain XML";
            files.Add(await WriteAsync(directory, "domain-live.xml", "domain-xml", active ? domain.GetXml(DomainXmlFlags.Secure) : domain.GetXml(DomainXmlFlags.Inactive | DomainXmlFlags.Secure), cancellationToken).ConfigureAwait(false));
            files.Add(await WriteAsync(directory, "domain-definition.xml", "domain-xml", domain.GetXml(DomainXmlFlags.Inactive | DomainXmlFlags.Secure), cancellationToken).ConfigureAwait(false));

            step = "metadata";
            files.Add(await WriteAsync(directory, "metadata-node.xml", "metadata", domain.GetMetadata(ProvisionerXml.NodeNamespace) ?? string.Empty, cancellationToken).ConfigureAwait(false));
            if (quarantine is not null)
            {
                files.Add(await WriteAsync(directory, "metadata-quarantine.xml", "metadata", quarantine.ToXml(), cancellationToken).ConfigureAwait(false));
            }

            step = "console log";
            var console = ConsoleLog.PathFor(observed.DomainName);
            if (host.Capabilities.IsTestDriver || !File.Exists(console))
            {
                notes.Add($"no console log at {console}");
            }
            else
            {
                var target = Path.Combine(directory, "console.log");
                await CopyAsync(console, target, cancellationToken).ConfigureAwait(false);
                files.Add(await DescribeAsync(target, "console-log", console, cancellationToken).ConfigureAwait(false));
            }

            if (backing is not null)
            {
                // The root disk is a qcow2 overlay of the golden image: without that image the copy cannot be read. The image
                // is immutable and shared, but it goes when the last stack in its pool does, so the set keeps its own copy;
                // its SHA-256 in the manifest equals the checksum in its volume name's suffix.
                step = $"golden image {backing.Value.Name}";
                progress?.Report($"copying the golden image the disks are cloned from ({Gib(backing.Value.Bytes)})");
                var target = Path.Combine(directory, "backing-" + SafeName(backing.Value.Name) + ".qcow2");
                using (var pool = host.Connection.LookupStoragePool(host.Definition.Pool.Name))
                using (var volume = pool.LookupVolume(backing.Value.Name))
                {
                    var stream = new FileStream(target, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = PrivateFile });
                    await using (stream.ConfigureAwait(false))
                    {
                        await _options.VolumeContent.DownloadAsync(host, volume, stream, 0, cancellationToken).ConfigureAwait(false);
                    }

                    files.Add(await DescribeAsync(target, "backing-image", volume.Path, cancellationToken).ConfigureAwait(false));
                }

                notes.Add($"the disk copies are qcow2 overlays of {Path.GetFileName(target)}; to read one elsewhere: qemu-img rebase -u -F qcow2 -b {Path.GetFileName(target)} <disk copy>");
            }
        }
        catch (Exception e) when (e is LibvirtException or IOException or UnauthorizedAccessException or OperationCanceledException)
        {
            ResumeIfPausedHere(domain, pausedHere);
            throw new EvidenceCaptureException($"capture of node '{node}' failed at {step}: {e.Message}; the incomplete evidence is kept in {directory}", e)
            {
                Directory = directory,
            };
        }

        ResumeIfPausedHere(domain, pausedHere);
        if (pausedHere)
        {
            notes.Add("the guest was paused for the capture and resumed after it");
        }

        var manifest = new EvidenceManifest
        {
            Stack = stack.Name,
            Node = node,
            Domain = observed.DomainName,
            DomainUuid = observed.Uuid,
            Host = host.Name,
            HostUri = host.Definition.Uri.ToString(),
            Operator = request.Operator,
            Reason = quarantine?.Reason,
            Quarantined = quarantine is not null,
            BackingVolume = observed.BackingVolumeName,
            HostKeyFingerprint = observed.Metadata.HostKeyFingerprint,
            Started = started,
            Completed = _options.Time.GetUtcNow(),
            Files = files,
            Notes = notes,
        };
        await WriteFileAsync(Path.Combine(directory, EvidenceManifest.FileName), manifest.ToJson(), cancellationToken).ConfigureAwait(false);
        File.Delete(Path.Combine(directory, EvidenceManifest.IncompleteMarker));

        if (quarantine is not null)
        {
            NodeQuarantine.Write(domain, quarantine with { EvidencePath = directory, Step = ReprovisionStep.Captured });
        }

        return new EvidenceCaptureResult(directory, manifest);
    }

    /// <summary>The disk files of a domain: every file-backed disk, plus the root disk recorded in metadata (NVMe passthrough).</summary>
    internal static IReadOnlyList<string> DiskPaths(Domain domain, NodeMetadata metadata)
    {
        var xml = XDocument.Parse(domain.GetXml(DomainXmlFlags.Inactive));
        var paths = xml.Root?.Element("devices")?.Elements("disk")
            .Where(d => (string?)d.Attribute("device") is null or "disk")
            .Select(d => (string?)d.Element("source")?.Attribute("file"))
            .OfType<string>()
            .ToList() ?? [];
        if (metadata.RootDiskPath is { } root && !paths.Contains(root, StringComparer.Ordinal))
        {
            paths.Insert(0, root);
        }

        return paths;
    }

    /// <summary>The golden image volume the node's root disk is a linked clone of, when it is still in the pool.</summary>
    private static (string Name, long Bytes)? BackingImage(Hosts.HostSession host, string? volumeName)
    {
        if (volumeName is null)
        {
            return null;
        }

        using var pool = host.Connection.TryLookupStoragePool(host.Definition.Pool.Name);
        using var volume = pool?.TryLookupVolume(volumeName);
        return volume is null ? null : (volumeName, (long)volume.GetInfo().AllocationBytes);
    }

    private static long DiskBytes(Connection connection, string path)
    {
        using var volume = connection.LookupStorageVolumeByPath(path);
        var info = volume.GetInfo();
        // A copy through libvirt reads the file as it is, so what it occupies (a qcow2 overlay's allocation) is what it needs.
        return (long)info.AllocationBytes;
    }

    private string CreateEvidenceDirectory(string stack, string node, DateTimeOffset started)
    {
        var path = _options.EvidenceRoot;
        foreach (var part in new[] { stack, node })
        {
            path = Path.Combine(path, part);
        }

        EnsureDirectory(_options.EvidenceRoot);
        EnsureDirectory(Path.Combine(_options.EvidenceRoot, stack));
        EnsureDirectory(path);
        var stamp = started.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var directory = Path.Combine(path, stamp);
        for (var i = 2; Directory.Exists(directory); i++)
        {
            // Never write into an earlier evidence set.
            directory = Path.Combine(path, $"{stamp}-{i}");
        }

        Directory.CreateDirectory(directory, DirectoryMode);
        return directory;
    }

    private static void EnsureDirectory(string path)
    {
        if (!Directory.Exists(path))
        {
            Directory.CreateDirectory(path, DirectoryMode);
        }
    }

    private async Task<EvidenceFile> WriteAsync(string directory, string name, string kind, string content, CancellationToken cancellationToken)
    {
        var path = Path.Combine(directory, name);
        await WriteFileAsync(path, content, cancellationToken).ConfigureAwait(false);
        return await DescribeAsync(path, kind, null, cancellationToken).ConfigureAwait(false);
    }

    private static async Task WriteFileAsync(string path, string content, CancellationToken cancellationToken)
    {
        var stream = new FileStream(path, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = PrivateFile });
        await using (stream.ConfigureAwait(false))
        {
            await stream.WriteAsync(System.Text.Encoding.UTF8.GetBytes(content), cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task CopyAsync(string source, string target, CancellationToken cancellationToken)
    {
        var input = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        await using (input.ConfigureAwait(false))
        {
            var output = new FileStream(target, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = PrivateFile });
            await using (output.ConfigureAwait(false))
            {
                await input.CopyToAsync(output, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task<EvidenceFile> DescribeAsync(string path, string kind, string? source, CancellationToken cancellationToken)
    {
        // The dump is written by libvirt (possibly as another user): make it root-only like everything else.
        File.SetUnixFileMode(path, PrivateFile);
        var (bytes, sha) = await EvidenceVerifier.HashAsync(path, cancellationToken).ConfigureAwait(false);
        return new EvidenceFile(Path.GetFileName(path), kind, bytes, sha, source, _options.Time.GetUtcNow());
    }

    private static void ResumeIfPausedHere(Domain domain, bool pausedHere)
    {
        if (pausedHere && domain.IsActive && domain.GetState() == DomainState.Paused)
        {
            domain.Resume();
        }
    }

    private static string SafeName(string name) =>
        string.Concat(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_'));

    private static string Gib(long bytes) => (bytes / 1024.0 / 1024 / 1024).ToString("0.00", CultureInfo.InvariantCulture) + " GiB";
}
