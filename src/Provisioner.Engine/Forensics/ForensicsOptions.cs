using Provisioner.Engine.Execution;
using Provisioner.Engine.Hosts;

namespace Provisioner.Engine.Forensics;

/// <summary>What quarantine, evidence capture and replacement need from outside, with production defaults.</summary>
public sealed record ForensicsOptions
{
    /// <summary>The default evidence root: root-only, outside every storage pool, so no guest disk is ever allocated there.</summary>
    public const string DefaultEvidenceRoot = "/var/lib/provisioner/evidence";

    /// <summary>How connections to hosts are opened (the same connector the engine uses).</summary>
    public IHostConnector Connector { get; init; } = LibvirtHostConnector.Instance;

    /// <summary>How disk contents are read off the host (libvirt streams).</summary>
    public IVolumeContent VolumeContent { get; init; } = LibvirtVolumeContent.Instance;

    /// <summary>How a node is cut off its network.</summary>
    public INetworkIsolation Isolation { get; init; } = LinkStateIsolation.Instance;

    /// <summary>The clock.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>
    /// Where evidence is kept: <c>&lt;root&gt;/&lt;stack&gt;/&lt;node&gt;/&lt;timestamp&gt;/</c>. It must be on the host that
    /// runs the node (libvirt writes the memory dump there itself); directories are created mode 0700.
    /// </summary>
    public string EvidenceRoot { get; init; } = DefaultEvidenceRoot;

    /// <summary>Free bytes at a directory (the nearest existing ancestor of the evidence root); replaceable in tests.</summary>
    public Func<string, long> FreeSpace { get; init; } = DiskSpace.FreeBytes;

    /// <summary>
    /// How the memory is dumped: memory-only by default (an ELF file crash, gdb and volatility read, without the
    /// device state). libvirt's test driver knows only the full dump, so its tests pass <see cref="LibvirtSharp.CoreDumpFlags.None"/>.
    /// </summary>
    public LibvirtSharp.CoreDumpFlags MemoryDumpFlags { get; init; } = LibvirtSharp.CoreDumpFlags.MemoryOnly;

    /// <summary>Kept free on the evidence file system beyond the evidence itself.</summary>
    public long SpaceReserveBytes { get; init; } = 256L * 1024 * 1024;
}

/// <summary>Free space on the file system holding a path.</summary>
public static class DiskSpace
{
    /// <summary>Free bytes available to the process on the file system of <paramref name="path"/> or its nearest existing ancestor.</summary>
    public static long FreeBytes(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var dir = new DirectoryInfo(Path.GetFullPath(path));
        while (dir is not null && !dir.Exists)
        {
            dir = dir.Parent;
        }

        return new DriveInfo((dir ?? new DirectoryInfo("/")).FullName).AvailableFreeSpace;
    }
}
