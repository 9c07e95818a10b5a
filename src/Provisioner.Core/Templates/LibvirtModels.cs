using System.Globalization;
using System.Net;
using Scriban.Runtime;

namespace Provisioner.Core.Templates;

/// <summary>
/// Turns render models into the variables the libvirt templates see. Values are validated here and
/// formatted invariantly; decisions (which disk element, which boot order) are made here too, so the
/// templates stay declarative.
/// </summary>
internal static class LibvirtModels
{
    public static ScriptObject Domain(DomainSpec spec, XmlFragment metadata)
    {
        ArgumentNullException.ThrowIfNull(spec);
        const string p = "domain";
        Check.ObjectName($"{p}.name", spec.Name);
        Check.NotEmpty($"{p}.uuid", spec.Uuid);
        Check.Defined($"{p}.type", spec.Type);
        Check.MachineType($"{p}.machineType", spec.MachineType);
        Check.Range($"{p}.vCpus", spec.VCpus, 1, 256);
        Check.Range($"{p}.memoryMiB", spec.MemoryMiB, 64, 4 * 1024 * 1024);
        if (spec.EmulatorPath is not null)
        {
            Check.AbsolutePath($"{p}.emulatorPath", spec.EmulatorPath);
        }
        Check.AbsolutePath($"{p}.serialLogPath", spec.SerialLogPath);
        Check.NotNull($"{p}.rootDisk", spec.RootDisk);
        Check.NotNull($"{p}.interfaces", spec.Interfaces);
        Check.NotNull($"{p}.metadata", spec.Metadata);
        if (spec.Type == DomainType.Qemu)
        {
            Check.Range($"{p}.tcgTranslationCacheMiB", spec.TcgTranslationCacheMiB, 1, 4096);
        }

        var root = spec.RootDisk;
        Check.Defined($"{p}.rootDisk.bus", root.Bus);
        Check.Defined($"{p}.rootDisk.format", root.Format);
        var rootSource = DiskSourceModel($"{p}.rootDisk.source", root.Source);
        if (root.Serial is not null || root.Bus != DiskBus.Virtio)
        {
            Check.NvmeSerial($"{p}.rootDisk.serial", root.Serial);
        }

        ScriptObject? passthrough = null;
        if (root.Bus == DiskBus.QemuPassthroughNvme)
        {
            if (root.Source is not FileDiskSource file)
            {
                throw new RenderModelException($"{p}.rootDisk.source", "QEMU passthrough NVMe needs a file path: libvirt does not resolve pool volumes it does not manage");
            }
            if (!spec.MachineType.Contains("q35", StringComparison.Ordinal))
            {
                throw new RenderModelException($"{p}.machineType", $"'{spec.MachineType}' has no pcie.0 bus; QEMU passthrough NVMe needs a q35 machine");
            }
            Check.Range($"{p}.rootDisk.passthroughPciSlot", root.PassthroughPciSlot, 0x02, 0x1e);
            passthrough = new ScriptObject
            {
                // QEMU splits options at ',' and reads ',,' as a literal comma: escape for that language
                // first; the template then escapes the whole argument for XML.
                ["drive"] = string.Create(CultureInfo.InvariantCulture,
                    $"file={QemuOptionValue(file.Path)},format={FormatName(root.Format)},if=none,id=nvme0drive,cache=none,aio=native,discard=unmap"),
                ["device"] = string.Create(CultureInfo.InvariantCulture,
                    $"nvme,serial={root.Serial},drive=nvme0drive,bus=pcie.0,addr=0x{root.PassthroughPciSlot:x},bootindex=1"),
            };
        }

        var interfaces = new ScriptArray();
        for (var i = 0; i < spec.Interfaces.Count; i++)
        {
            var nic = spec.Interfaces[i];
            Check.NotNull($"{p}.interfaces[{i}]", nic);
            Check.ObjectName($"{p}.interfaces[{i}].network", nic.Network);
            interfaces.Add(new ScriptObject
            {
                ["mac"] = Check.MacAddress($"{p}.interfaces[{i}].macAddress", nic.MacAddress),
                ["network"] = nic.Network,
            });
        }

        ScriptObject? kernel = null;
        if (spec.KernelBoot is { } boot)
        {
            Check.AbsolutePath($"{p}.kernelBoot.kernelPath", boot.KernelPath);
            if (boot.InitrdPath is not null)
            {
                Check.AbsolutePath($"{p}.kernelBoot.initrdPath", boot.InitrdPath);
            }
            Check.Text($"{p}.kernelBoot.commandLine", boot.CommandLine);
            kernel = new ScriptObject { ["path"] = boot.KernelPath, ["initrd"] = boot.InitrdPath, ["cmdline"] = boot.CommandLine };
        }

        ScriptObject? seed = null;
        if (spec.CloudInitSeed is not null)
        {
            seed = DiskSourceModel($"{p}.cloudInitSeed", spec.CloudInitSeed);
            // Next free virtio name: vda is taken only by a virtio root disk.
            seed["target"] = root.Bus == DiskBus.Virtio ? "vdb" : "vda";
            // With a passthrough root disk libvirt sees no boot device of ours and would add its default
            // boot entry to the first disk it knows, the seed, as bootindex 1, which collides with the
            // NVMe device's bootindex=1. An explicit per-device order on the seed stops that.
            seed["boot_order"] = root.Bus == DiskBus.QemuPassthroughNvme && spec.KernelBoot is null ? 2 : null;
        }

        var rootModel = rootSource;
        rootModel["kind"] = root.Bus switch
        {
            DiskBus.Virtio => "virtio",
            DiskBus.NativeNvme => "nvme",
            _ => "passthrough",
        };
        rootModel["format"] = FormatName(root.Format);
        rootModel["serial"] = root.Serial;

        return new ScriptObject
        {
            ["domain_type"] = spec.Type == DomainType.Kvm ? "kvm" : "qemu",
            ["qemu_namespace"] = ProvisionerXml.QemuNamespace,
            ["name"] = spec.Name,
            ["uuid"] = spec.Uuid.ToString("D"),
            ["metadata"] = metadata,
            ["memory_mib"] = spec.MemoryMiB,
            ["vcpus"] = spec.VCpus,
            ["machine"] = spec.MachineType,
            ["kernel"] = kernel,
            ["tcg_tb_cache_mib"] = spec.Type == DomainType.Qemu ? spec.TcgTranslationCacheMiB : null,
            // TCG cannot pass the host CPU through; it emulates its default model.
            ["host_passthrough_cpu"] = spec.Type == DomainType.Kvm,
            ["emulator"] = spec.EmulatorPath,
            ["root_disk"] = rootModel,
            ["boot_from_disk"] = spec.KernelBoot is null,
            ["seed"] = seed,
            ["interfaces"] = interfaces,
            ["serial_log"] = spec.SerialLogPath,
            ["nvme_passthrough"] = passthrough,
        };
    }

    public static ScriptObject NodeMetadata(NodeMetadata metadata, bool qualified, string path = "metadata")
    {
        Check.NotNull(path, metadata);
        metadata.Validate(path);
        return new ScriptObject
        {
            ["prefix"] = qualified ? ProvisionerXml.Prefix + ":" : string.Empty,
            ["xmlns"] = qualified,
            ["namespace"] = ProvisionerXml.NodeNamespace,
            ["stack"] = metadata.Stack,
            ["node"] = metadata.Node,
            ["role"] = metadata.Role,
            ["definition_hash"] = metadata.DefinitionHash,
            ["created"] = MetadataXml.FormatTime(metadata.Created),
            ["host_key_fingerprint"] = metadata.HostKeyFingerprint,
            ["expires"] = metadata.Expires is { } expires ? MetadataXml.FormatTime(expires) : null,
            ["host_key"] = metadata.HostPublicKey,
            ["root_disk"] = metadata.RootDiskPath,
            ["root_disk_bus"] = metadata.RootDiskBus,
            ["published_ports"] = (metadata.PublishedPorts ?? []).Select(p => new ScriptObject
            {
                ["port"] = p.Port,
                ["protocol"] = p.Protocol == Stacks.TransportProtocol.Udp ? "udp" : "tcp",
                ["from"] = p.From.Select(c => c.ToString()).ToList(),
            }).ToList(),
        };
    }

    public static ScriptObject NetworkMetadata(NetworkMetadata metadata, bool qualified, string path = "metadata")
    {
        Check.NotNull(path, metadata);
        metadata.Validate(path);
        return new ScriptObject
        {
            ["prefix"] = qualified ? ProvisionerXml.Prefix + ":" : string.Empty,
            ["xmlns"] = qualified,
            ["namespace"] = ProvisionerXml.NetworkNamespace,
            ["stack"] = metadata.Stack,
            ["network"] = metadata.Network,
            ["definition_hash"] = metadata.DefinitionHash,
            ["created"] = MetadataXml.FormatTime(metadata.Created),
        };
    }

    public static ScriptObject Network(NetworkSpec spec, XmlFragment metadata)
    {
        ArgumentNullException.ThrowIfNull(spec);
        const string p = "network";
        Check.ObjectName($"{p}.name", spec.Name);
        if (spec.Uuid is { } uuid)
        {
            Check.NotEmpty($"{p}.uuid", uuid);
        }
        Check.Defined($"{p}.mode", spec.Mode);
        Check.BridgeName($"{p}.bridgeName", spec.BridgeName);
        Check.NotNull($"{p}.metadata", spec.Metadata);
        var model = new ScriptObject
        {
            ["name"] = spec.Name,
            ["uuid"] = spec.Uuid?.ToString("D"),
            ["metadata"] = metadata,
            ["mode"] = spec.Mode == NetworkMode.Nat ? "nat" : "bridge",
            ["bridge"] = spec.BridgeName,
            ["domain"] = null,
            ["gateway"] = null,
            ["prefix"] = null,
            ["dhcp_start"] = null,
            ["dhcp_end"] = null,
            ["hosts"] = new ScriptArray(),
        };
        if (spec.Mode == NetworkMode.Bridge)
        {
            if (spec.Ipv4 is not null)
            {
                throw new RenderModelException($"{p}.ipv4", "must be null in bridge mode: the bridged LAN provides addressing");
            }
            if (spec.DomainName is not null)
            {
                throw new RenderModelException($"{p}.domainName", "must be null in bridge mode: libvirt runs no DNS there");
            }
            return model;
        }

        var ip = spec.Ipv4 ?? throw new RenderModelException($"{p}.ipv4", "is required in NAT mode");
        Check.Ipv4($"{p}.ipv4.gateway", ip.Gateway);
        Check.Range($"{p}.ipv4.prefixLength", ip.PrefixLength, 8, 30);
        Check.Ipv4($"{p}.ipv4.dhcpStart", ip.DhcpStart);
        Check.Ipv4($"{p}.ipv4.dhcpEnd", ip.DhcpEnd);
        var subnet = new IPNetwork(Mask(ip.Gateway, ip.PrefixLength), ip.PrefixLength);
        InSubnet($"{p}.ipv4.dhcpStart", ip.DhcpStart, subnet);
        InSubnet($"{p}.ipv4.dhcpEnd", ip.DhcpEnd, subnet);
        if (ToUInt(ip.DhcpStart) > ToUInt(ip.DhcpEnd))
        {
            throw new RenderModelException($"{p}.ipv4.dhcpEnd", $"'{ip.DhcpEnd}' is before dhcpStart '{ip.DhcpStart}'");
        }
        if (ToUInt(ip.Gateway) >= ToUInt(ip.DhcpStart) && ToUInt(ip.Gateway) <= ToUInt(ip.DhcpEnd))
        {
            throw new RenderModelException($"{p}.ipv4.gateway", $"'{ip.Gateway}' lies inside the DHCP range");
        }
        if (spec.DomainName is not null)
        {
            Check.DomainName($"{p}.domainName", spec.DomainName);
        }
        Check.NotNull($"{p}.ipv4.hosts", ip.Hosts);
        var hosts = new ScriptArray();
        for (var i = 0; i < ip.Hosts.Count; i++)
        {
            var host = ip.Hosts[i];
            var hp = $"{p}.ipv4.hosts[{i}]";
            Check.NotNull(hp, host);
            Check.Ipv4($"{hp}.address", host.Address);
            InSubnet($"{hp}.address", host.Address, subnet);
            Check.HostName($"{hp}.hostName", host.HostName);
            hosts.Add(new ScriptObject
            {
                ["mac"] = Check.MacAddress($"{hp}.macAddress", host.MacAddress),
                ["ip"] = host.Address.ToString(),
                ["name"] = host.HostName,
            });
        }
        model["domain"] = spec.DomainName;
        model["gateway"] = ip.Gateway.ToString();
        model["prefix"] = ip.PrefixLength;
        model["dhcp_start"] = ip.DhcpStart.ToString();
        model["dhcp_end"] = ip.DhcpEnd.ToString();
        model["hosts"] = hosts;
        return model;
    }

    public static ScriptObject Pool(StoragePoolSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Check.ObjectName("pool.name", spec.Name);
        Check.AbsolutePath("pool.path", spec.Path);
        return new ScriptObject { ["name"] = spec.Name, ["path"] = spec.Path };
    }

    public static ScriptObject Volume(StorageVolumeSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Check.ObjectName("volume.name", spec.Name);
        Check.Range("volume.capacityBytes", spec.CapacityBytes, 1, long.MaxValue);
        Check.Defined("volume.format", spec.Format);
        ScriptObject? backing = null;
        if (spec.BackingStore is { } store)
        {
            if (spec.Format != DiskFormat.Qcow2)
            {
                throw new RenderModelException("volume.backingStore", "only a qcow2 volume can have a backing store");
            }
            Check.AbsolutePath("volume.backingStore.path", store.Path);
            Check.Defined("volume.backingStore.format", store.Format);
            backing = new ScriptObject { ["path"] = store.Path, ["format"] = FormatName(store.Format) };
        }
        ScriptObject? permissions = null;
        if (spec.Permissions is { } p)
        {
            Check.Range("volume.permissions.owner", p.Owner, 0, int.MaxValue);
            Check.Range("volume.permissions.group", p.Group, 0, int.MaxValue);
            if (p.Mode.Length is < 3 or > 4 || !p.Mode.All(c => c is >= '0' and <= '7'))
            {
                throw new RenderModelException("volume.permissions.mode", $"'{p.Mode}' is not an octal file mode");
            }
            permissions = new ScriptObject { ["owner"] = p.Owner, ["group"] = p.Group, ["mode"] = p.Mode };
        }
        return new ScriptObject
        {
            ["name"] = spec.Name,
            ["capacity"] = spec.CapacityBytes,
            ["format"] = FormatName(spec.Format),
            ["backing"] = backing,
            ["permissions"] = permissions,
        };
    }

    private static ScriptObject DiskSourceModel(string path, DiskSource? source)
    {
        switch (source)
        {
            case FileDiskSource file:
                Check.AbsolutePath($"{path}.path", file.Path);
                return new ScriptObject { ["source_type"] = "file", ["path"] = file.Path, ["pool"] = null, ["volume"] = null };
            case VolumeDiskSource volume:
                Check.ObjectName($"{path}.pool", volume.Pool);
                Check.ObjectName($"{path}.volume", volume.Volume);
                return new ScriptObject { ["source_type"] = "volume", ["path"] = null, ["pool"] = volume.Pool, ["volume"] = volume.Volume };
            default:
                throw new RenderModelException(path, "is required");
        }
    }

    internal static string FormatName(DiskFormat format) => format == DiskFormat.Raw ? "raw" : "qcow2";

    internal static string QemuOptionValue(string value) => value.Replace(",", ",,", StringComparison.Ordinal);

    private static void InSubnet(string path, IPAddress address, IPNetwork subnet)
    {
        if (!subnet.Contains(address))
        {
            throw new RenderModelException(path, $"'{address}' is outside the network {subnet}");
        }
    }

    private static IPAddress Mask(IPAddress address, int prefix)
    {
        var mask = prefix == 0 ? 0u : uint.MaxValue << (32 - prefix);
        var value = ToUInt(address) & mask;
        return new IPAddress([(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value]);
    }

    private static uint ToUInt(IPAddress address)
    {
        var bytes = address.GetAddressBytes();
        return ((uint)bytes[0] << 24) | ((uint)bytes[1] << 16) | ((uint)bytes[2] << 8) | bytes[3];
    }
}
