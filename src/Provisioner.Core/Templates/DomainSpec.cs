namespace Provisioner.Core.Templates;

/// <summary>
/// How a guest is executed. There is deliberately no default: production runs on KVM, and software
/// emulation is used only where a stack allows it explicitly, so the caller must always say which.
/// </summary>
public enum DomainType
{
    /// <summary>Hardware virtualisation (libvirt <c>type='kvm'</c>).</summary>
    Kvm = 1,

    /// <summary>QEMU's software emulation, TCG (libvirt <c>type='qemu'</c>).</summary>
    Qemu = 2,
}

/// <summary>How the root disk is presented to the guest.</summary>
public enum DiskBus
{
    /// <summary>virtio-blk (<c>/dev/vda</c>).</summary>
    Virtio = 1,

    /// <summary>libvirt's own emulated NVMe disk (<c>bus='nvme'</c> plus an NVMe controller); needs libvirt 11.5 or later.</summary>
    NativeNvme = 2,

    /// <summary>
    /// QEMU's NVMe device given to QEMU directly through <c>&lt;qemu:commandline&gt;</c>, for libvirt
    /// older than 11.5 (Debian 12 ships 9.0). libvirt does not manage this disk at all: the file must be
    /// a local path the QEMU process can already read and write.
    /// </summary>
    QemuPassthroughNvme = 3,
}

/// <summary>Disk image format.</summary>
public enum DiskFormat
{
    /// <summary>qcow2 (sparse, supports backing files).</summary>
    Qcow2 = 1,

    /// <summary>Raw image.</summary>
    Raw = 2,
}

/// <summary>Where a disk's data lives: a file path or a volume in a libvirt storage pool.</summary>
public abstract record DiskSource
{
    private protected DiskSource()
    {
    }

    /// <summary>A disk backed by the file at <paramref name="path"/> on the host.</summary>
    public static FileDiskSource FromFile(string path) => new() { Path = path };

    /// <summary>A disk backed by volume <paramref name="volume"/> of pool <paramref name="pool"/>.</summary>
    public static VolumeDiskSource FromVolume(string pool, string volume) => new() { Pool = pool, Volume = volume };
}

/// <summary>A disk backed by a file on the host.</summary>
public sealed record FileDiskSource : DiskSource
{
    /// <summary>Absolute path of the image file on the host.</summary>
    public required string Path { get; init; }
}

/// <summary>A disk backed by a volume in a libvirt storage pool.</summary>
public sealed record VolumeDiskSource : DiskSource
{
    /// <summary>Name of the storage pool.</summary>
    public required string Pool { get; init; }

    /// <summary>Name of the volume in that pool.</summary>
    public required string Volume { get; init; }
}

/// <summary>The guest's root disk.</summary>
public sealed record RootDiskSpec
{
    /// <summary>Where the image is. <see cref="DiskBus.QemuPassthroughNvme"/> needs a <see cref="FileDiskSource"/>.</summary>
    public required DiskSource Source { get; init; }

    /// <summary>How the guest sees the disk.</summary>
    public required DiskBus Bus { get; init; }

    /// <summary>Image format; qcow2 unless the image is raw.</summary>
    public DiskFormat Format { get; init; } = DiskFormat.Qcow2;

    /// <summary>
    /// Disk serial number (at most 20 of letters, digits, '_', '.', '-'). Required for the NVMe buses,
    /// where QEMU refuses a controller without one; optional for virtio.
    /// </summary>
    public string? Serial { get; init; }

    /// <summary>
    /// PCI slot on q35's root bus <c>pcie.0</c> for <see cref="DiskBus.QemuPassthroughNvme"/>. libvirt does
    /// not know the device, so the slot must be one libvirt never assigns itself: it fills root ports from
    /// slot 1 upwards and uses 0x1f for the chipset, so 0x10 is free for any guest of ordinary size.
    /// </summary>
    public int PassthroughPciSlot { get; init; } = 0x10;
}

/// <summary>A network interface of the guest.</summary>
public sealed record NetworkInterfaceSpec
{
    /// <summary>Name of the libvirt network to attach to.</summary>
    public required string Network { get; init; }

    /// <summary>MAC address, six hex pairs separated by ':'.</summary>
    public required string MacAddress { get; init; }
}

/// <summary>Boot a kernel from the host instead of the disk's boot loader.</summary>
public sealed record DirectKernelBoot
{
    /// <summary>Absolute path of the kernel image on the host.</summary>
    public required string KernelPath { get; init; }

    /// <summary>Absolute path of the initrd on the host, if any.</summary>
    public string? InitrdPath { get; init; }

    /// <summary>Kernel command line.</summary>
    public required string CommandLine { get; init; }
}

/// <summary>Everything that goes into one node's libvirt domain XML.</summary>
public sealed record DomainSpec
{
    /// <summary>Domain name.</summary>
    public required string Name { get; init; }

    /// <summary>Domain UUID; re-defining a same-named domain needs the same UUID.</summary>
    public required Guid Uuid { get; init; }

    /// <summary>KVM or TCG emulation; no default, see <see cref="DomainType"/>.</summary>
    public required DomainType Type { get; init; }

    /// <summary>QEMU machine type, e.g. <c>q35</c> or <c>pc-q35-7.2</c>.</summary>
    public string MachineType { get; init; } = "q35";

    /// <summary>Number of virtual CPUs.</summary>
    public required int VCpus { get; init; }

    /// <summary>Memory in MiB.</summary>
    public required int MemoryMiB { get; init; }

    /// <summary>Path of the QEMU binary, when the host's default is not wanted.</summary>
    public string? EmulatorPath { get; init; }

    /// <summary>The root disk.</summary>
    public required RootDiskSpec RootDisk { get; init; }

    /// <summary>The NoCloud seed image (raw ISO 9660 labelled <c>cidata</c>), attached read-only on virtio; null once removed.</summary>
    public DiskSource? CloudInitSeed { get; init; }

    /// <summary>Network interfaces, in guest order.</summary>
    public required IReadOnlyList<NetworkInterfaceSpec> Interfaces { get; init; }

    /// <summary>Host file that receives the serial console output (rewritten on every start).</summary>
    public required string SerialLogPath { get; init; }

    /// <summary>Our metadata block.</summary>
    public required NodeMetadata Metadata { get; init; }

    /// <summary>Boot a host kernel directly instead of the disk's boot loader, when set.</summary>
    public DirectKernelBoot? KernelBoot { get; init; }

    /// <summary>TCG translation-block cache size in MiB, used only when <see cref="Type"/> is <see cref="DomainType.Qemu"/>.</summary>
    public int TcgTranslationCacheMiB { get; init; } = 128;
}
