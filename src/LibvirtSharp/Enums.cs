namespace LibvirtSharp;

/// <summary>The run state of a domain (<c>virDomainState</c>).</summary>
public enum DomainState
{
    /// <summary>No state reported.</summary>
    NoState = 0,

    /// <summary>Running.</summary>
    Running = 1,

    /// <summary>Blocked on a resource.</summary>
    Blocked = 2,

    /// <summary>Paused by the user or by libvirt.</summary>
    Paused = 3,

    /// <summary>Being shut down.</summary>
    ShuttingDown = 4,

    /// <summary>Shut off (defined but not running).</summary>
    Shutoff = 5,

    /// <summary>Crashed.</summary>
    Crashed = 6,

    /// <summary>Suspended by guest power management.</summary>
    PMSuspended = 7,
}

/// <summary>Options for starting a domain (<c>virDomainCreateFlags</c>).</summary>
[Flags]
public enum DomainCreateFlags
{
    /// <summary>Default behaviour.</summary>
    None = 0,

    /// <summary>Start with the virtual CPUs paused.</summary>
    StartPaused = 1 << 0,

    /// <summary>Destroy the domain automatically when the connection that started it closes.</summary>
    AutoDestroy = 1 << 1,

    /// <summary>Bypass the host page cache when restoring a managed save image.</summary>
    BypassCache = 1 << 2,

    /// <summary>Boot afresh, discarding any managed save image.</summary>
    ForceBoot = 1 << 3,

    /// <summary>Validate the XML against the schema.</summary>
    Validate = 1 << 4,

    /// <summary>Re-initialize the NVRAM from its template.</summary>
    ResetNvram = 1 << 5,
}

/// <summary>Options for a domain's XML description (<c>virDomainXMLFlags</c>).</summary>
[Flags]
public enum DomainXmlFlags
{
    /// <summary>The live description of a running domain, or the persistent one of an inactive domain.</summary>
    None = 0,

    /// <summary>Include security-sensitive information such as passwords.</summary>
    Secure = 1 << 0,

    /// <summary>The persistent configuration, even when the domain runs.</summary>
    Inactive = 1 << 1,

    /// <summary>Update the guest CPU description from the host CPU.</summary>
    UpdateCpu = 1 << 2,

    /// <summary>The description suitable for migration.</summary>
    Migratable = 1 << 3,
}

/// <summary>What else to remove when undefining a domain (<c>virDomainUndefineFlagsValues</c>).</summary>
[Flags]
public enum DomainUndefineFlags
{
    /// <summary>Fail if the domain has a managed save image, snapshots, checkpoints or NVRAM.</summary>
    None = 0,

    /// <summary>Also remove any managed save image.</summary>
    ManagedSave = 1 << 0,

    /// <summary>Also remove snapshot metadata.</summary>
    SnapshotsMetadata = 1 << 1,

    /// <summary>Also remove the NVRAM file.</summary>
    Nvram = 1 << 2,

    /// <summary>Keep the NVRAM file.</summary>
    KeepNvram = 1 << 3,

    /// <summary>Also remove checkpoint metadata.</summary>
    CheckpointsMetadata = 1 << 4,

    /// <summary>Also remove the TPM state.</summary>
    Tpm = 1 << 5,

    /// <summary>Keep the TPM state.</summary>
    KeepTpm = 1 << 6,
}

/// <summary>Whether a change applies to the running domain, its persistent configuration, or both (<c>virDomainModificationImpact</c>).</summary>
[Flags]
public enum DomainModificationImpact
{
    /// <summary>The current state: live if the domain runs, otherwise the configuration.</summary>
    Current = 0,

    /// <summary>The running domain.</summary>
    Live = 1 << 0,

    /// <summary>The persistent configuration.</summary>
    Config = 1 << 1,
}

/// <summary>Filters for <see cref="Connection.ListDomains"/> (<c>virConnectListAllDomainsFlags</c>); combine freely.</summary>
[Flags]
public enum DomainListFilter
{
    /// <summary>Every domain.</summary>
    All = 0,

    /// <summary>Running or paused domains.</summary>
    Active = 1 << 0,

    /// <summary>Domains that do not run.</summary>
    Inactive = 1 << 1,

    /// <summary>Domains with a persistent configuration.</summary>
    Persistent = 1 << 2,

    /// <summary>Domains that exist only while they run.</summary>
    Transient = 1 << 3,

    /// <summary>Running domains.</summary>
    Running = 1 << 4,

    /// <summary>Paused domains.</summary>
    Paused = 1 << 5,

    /// <summary>Shut-off domains.</summary>
    Shutoff = 1 << 6,

    /// <summary>Domains in any other state.</summary>
    Other = 1 << 7,

    /// <summary>Domains with a managed save image.</summary>
    ManagedSave = 1 << 8,

    /// <summary>Domains without a managed save image.</summary>
    NoManagedSave = 1 << 9,

    /// <summary>Domains that start with the host.</summary>
    Autostart = 1 << 10,

    /// <summary>Domains that do not start with the host.</summary>
    NoAutostart = 1 << 11,

    /// <summary>Domains with at least one snapshot.</summary>
    HasSnapshot = 1 << 12,

    /// <summary>Domains without snapshots.</summary>
    NoSnapshot = 1 << 13,
}

/// <summary>Where libvirt learns a guest's interface addresses (<c>virDomainInterfaceAddressesSource</c>).</summary>
public enum InterfaceAddressSource
{
    /// <summary>DHCP leases of libvirt's own networks.</summary>
    Lease = 0,

    /// <summary>The QEMU guest agent inside the guest.</summary>
    Agent = 1,

    /// <summary>The host's ARP table.</summary>
    Arp = 2,
}

/// <summary>Options for <see cref="Domain.CoreDump(string, CoreDumpFlags)"/> (<c>virDomainCoreDumpFlags</c>).</summary>
[Flags]
public enum CoreDumpFlags
{
    /// <summary>Pause the domain while dumping, then resume it.</summary>
    None = 0,

    /// <summary>Leave the domain crashed (stopped) after the dump.</summary>
    Crash = 1 << 0,

    /// <summary>Dump while the domain keeps running.</summary>
    Live = 1 << 1,

    /// <summary>Bypass the host page cache.</summary>
    BypassCache = 1 << 2,

    /// <summary>Reset the domain after the dump.</summary>
    Reset = 1 << 3,

    /// <summary>Dump only guest memory, as an ELF (or kdump) file that crash/gdb can read.</summary>
    MemoryOnly = 1 << 4,
}

/// <summary>File format of a memory-only core dump (<c>virDomainCoreDumpFormat</c>).</summary>
public enum CoreDumpFormat
{
    /// <summary>ELF.</summary>
    Raw = 0,

    /// <summary>kdump, zlib-compressed.</summary>
    KdumpZlib = 1,

    /// <summary>kdump, LZO-compressed.</summary>
    KdumpLzo = 2,

    /// <summary>kdump, snappy-compressed.</summary>
    KdumpSnappy = 3,

    /// <summary>Windows full crash dump.</summary>
    WindowsDump = 4,
}

/// <summary>Options for creating a snapshot (<c>virDomainSnapshotCreateFlags</c>).</summary>
[Flags]
public enum SnapshotCreateFlags
{
    /// <summary>Default behaviour.</summary>
    None = 0,

    /// <summary>Restore the metadata of an existing snapshot.</summary>
    Redefine = 1 << 0,

    /// <summary>With <see cref="Redefine"/>, make it the current snapshot.</summary>
    Current = 1 << 1,

    /// <summary>Do not keep libvirt metadata for the snapshot.</summary>
    NoMetadata = 1 << 2,

    /// <summary>Stop the domain after the snapshot.</summary>
    Halt = 1 << 3,

    /// <summary>Disks only, no memory state.</summary>
    DiskOnly = 1 << 4,

    /// <summary>Reuse existing external files.</summary>
    ReuseExternal = 1 << 5,

    /// <summary>Quiesce guest file systems through the guest agent.</summary>
    Quiesce = 1 << 6,

    /// <summary>All disks or none.</summary>
    Atomic = 1 << 7,

    /// <summary>Keep the domain running while the snapshot is taken.</summary>
    Live = 1 << 8,

    /// <summary>Validate the XML against the schema.</summary>
    Validate = 1 << 9,
}

/// <summary>Options for deleting a snapshot (<c>virDomainSnapshotDeleteFlags</c>).</summary>
[Flags]
public enum SnapshotDeleteFlags
{
    /// <summary>Only this snapshot.</summary>
    None = 0,

    /// <summary>This snapshot and its descendants.</summary>
    Children = 1 << 0,

    /// <summary>Only libvirt's metadata, not the data.</summary>
    MetadataOnly = 1 << 1,

    /// <summary>Only the descendants.</summary>
    ChildrenOnly = 1 << 2,
}

/// <summary>Options for reverting to a snapshot (<c>virDomainSnapshotRevertFlags</c>).</summary>
[Flags]
public enum SnapshotRevertFlags
{
    /// <summary>The state recorded in the snapshot.</summary>
    None = 0,

    /// <summary>Run after reverting.</summary>
    Running = 1 << 0,

    /// <summary>Pause after reverting.</summary>
    Paused = 1 << 1,

    /// <summary>Allow risky reverts.</summary>
    Force = 1 << 2,

    /// <summary>Re-initialize the NVRAM from its template.</summary>
    ResetNvram = 1 << 3,
}

/// <summary>How the domain ended up stopped after <see cref="Domain.ShutdownAsync"/>.</summary>
public enum ShutdownOutcome
{
    /// <summary>It was not running.</summary>
    AlreadyStopped = 0,

    /// <summary>The guest shut down by itself within the grace period.</summary>
    ShutDown = 1,

    /// <summary>The grace period ran out and the domain was destroyed (powered off).</summary>
    Destroyed = 2,
}

/// <summary>Kind of change in a network update (<c>virNetworkUpdateCommand</c>).</summary>
public enum NetworkUpdateCommand
{
    /// <summary>Replace an existing element.</summary>
    Modify = 1,

    /// <summary>Delete an existing element.</summary>
    Delete = 2,

    /// <summary>Add after existing elements.</summary>
    AddLast = 3,

    /// <summary>Add before existing elements.</summary>
    AddFirst = 4,
}

/// <summary>Part of the network definition a network update changes (<c>virNetworkUpdateSection</c>).</summary>
public enum NetworkUpdateSection
{
    /// <summary><c>&lt;bridge&gt;</c>.</summary>
    Bridge = 1,

    /// <summary><c>&lt;domain&gt;</c>.</summary>
    Domain = 2,

    /// <summary><c>&lt;ip&gt;</c>.</summary>
    IP = 3,

    /// <summary><c>&lt;ip&gt;&lt;dhcp&gt;&lt;host&gt;</c>.</summary>
    IPDhcpHost = 4,

    /// <summary><c>&lt;ip&gt;&lt;dhcp&gt;&lt;range&gt;</c>.</summary>
    IPDhcpRange = 5,

    /// <summary><c>&lt;forward&gt;</c>.</summary>
    Forward = 6,

    /// <summary><c>&lt;forward&gt;&lt;interface&gt;</c>.</summary>
    ForwardInterface = 7,

    /// <summary><c>&lt;forward&gt;&lt;pf&gt;</c>.</summary>
    ForwardPF = 8,

    /// <summary><c>&lt;portgroup&gt;</c>.</summary>
    PortGroup = 9,

    /// <summary><c>&lt;dns&gt;&lt;host&gt;</c>.</summary>
    DnsHost = 10,

    /// <summary><c>&lt;dns&gt;&lt;txt&gt;</c>.</summary>
    DnsTxt = 11,

    /// <summary><c>&lt;dns&gt;&lt;srv&gt;</c>.</summary>
    DnsSrv = 12,
}

/// <summary>Whether a network update applies to the running network, its configuration, or both (<c>virNetworkUpdateFlags</c>).</summary>
[Flags]
public enum NetworkUpdateFlags
{
    /// <summary>The running network if active, otherwise the configuration.</summary>
    Current = 0,

    /// <summary>The running network.</summary>
    Live = 1 << 0,

    /// <summary>The persistent configuration.</summary>
    Config = 1 << 1,
}

/// <summary>State of a storage pool (<c>virStoragePoolState</c>).</summary>
public enum StoragePoolState
{
    /// <summary>Not running.</summary>
    Inactive = 0,

    /// <summary>Being built.</summary>
    Building = 1,

    /// <summary>Running normally.</summary>
    Running = 2,

    /// <summary>Running, degraded.</summary>
    Degraded = 3,

    /// <summary>Running, but not accessible.</summary>
    Inaccessible = 4,
}

/// <summary>Options for building a storage pool (<c>virStoragePoolBuildFlags</c>).</summary>
[Flags]
public enum StoragePoolBuildFlags
{
    /// <summary>Create a new pool.</summary>
    New = 0,

    /// <summary>Repair an existing pool.</summary>
    Repair = 1 << 0,

    /// <summary>Extend an existing pool.</summary>
    Resize = 1 << 1,

    /// <summary>Do not overwrite existing data.</summary>
    NoOverwrite = 1 << 2,

    /// <summary>Overwrite existing data.</summary>
    Overwrite = 1 << 3,
}

/// <summary>Kind of storage volume (<c>virStorageVolType</c>).</summary>
public enum StorageVolumeType
{
    /// <summary>A regular file.</summary>
    File = 0,

    /// <summary>A block device.</summary>
    Block = 1,

    /// <summary>A directory-passthrough volume.</summary>
    Directory = 2,

    /// <summary>A network volume.</summary>
    Network = 3,

    /// <summary>A network-accessible directory.</summary>
    NetworkDirectory = 4,

    /// <summary>A ploop volume.</summary>
    Ploop = 5,
}

/// <summary>Options for creating a storage volume (<c>virStorageVolCreateFlags</c>).</summary>
[Flags]
public enum VolumeCreateFlags
{
    /// <summary>Default behaviour.</summary>
    None = 0,

    /// <summary>Preallocate qcow2 metadata.</summary>
    PreallocateMetadata = 1 << 0,

    /// <summary>Clone with a copy-on-write reflink where the file system supports it.</summary>
    Reflink = 1 << 1,

    /// <summary>Validate the XML against the schema.</summary>
    Validate = 1 << 2,
}

/// <summary>Options for deleting a storage volume (<c>virStorageVolDeleteFlags</c>).</summary>
[Flags]
public enum VolumeDeleteFlags
{
    /// <summary>Just delete.</summary>
    None = 0,

    /// <summary>Zero the data before deleting.</summary>
    Zeroed = 1 << 0,

    /// <summary>Also delete the volume's snapshots.</summary>
    WithSnapshots = 1 << 1,
}

/// <summary>Options for resizing a storage volume (<c>virStorageVolResizeFlags</c>).</summary>
[Flags]
public enum VolumeResizeFlags
{
    /// <summary>Set the capacity; allocation is left sparse.</summary>
    None = 0,

    /// <summary>Allocate the new space too.</summary>
    Allocate = 1 << 0,

    /// <summary>The size is a change relative to the current capacity.</summary>
    Delta = 1 << 1,

    /// <summary>Allow shrinking.</summary>
    Shrink = 1 << 2,
}

/// <summary>Kind of domain lifecycle event (<c>virDomainEventType</c>).</summary>
public enum DomainEventType
{
    /// <summary>Defined or updated.</summary>
    Defined = 0,

    /// <summary>Undefined.</summary>
    Undefined = 1,

    /// <summary>Started.</summary>
    Started = 2,

    /// <summary>Suspended (paused).</summary>
    Suspended = 3,

    /// <summary>Resumed.</summary>
    Resumed = 4,

    /// <summary>Stopped.</summary>
    Stopped = 5,

    /// <summary>Shutdown progress (guest or host initiated).</summary>
    Shutdown = 6,

    /// <summary>Suspended by guest power management.</summary>
    PMSuspended = 7,

    /// <summary>Crashed.</summary>
    Crashed = 8,
}
