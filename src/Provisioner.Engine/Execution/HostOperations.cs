using System.Security.Cryptography;
using System.Xml.Linq;
using LibvirtSharp;
using Provisioner.Core.Naming;
using Provisioner.Core.Stacks;
using Provisioner.Core.Templates;
using Provisioner.Engine.Hosts;
using Provisioner.Engine.Planning;
using NetworkMode = Provisioner.Core.Stacks.NetworkMode;
using TemplateNetworkMode = Provisioner.Core.Templates.NetworkMode;

namespace Provisioner.Engine.Execution;

/// <summary>
/// Per-host resources of a stack: the storage pool, the golden image volume and the networks.
/// Every method converges: it can be called again after an interruption and finishes the job.
/// </summary>
public sealed class HostOperations
{
    private readonly TemplateRenderer _templates;
    private readonly TimeProvider _time;
    private readonly IVolumeContent _content;

    /// <summary>Creates the operations.</summary>
    public HostOperations(TemplateRenderer templates, TimeProvider time, IVolumeContent content)
    {
        _templates = templates;
        _time = time;
        _content = content;
    }

    /// <summary>Defines, builds and starts the stack's directory pool on the host, as far as needed.</summary>
    public void EnsurePool(HostSession host)
    {
        ArgumentNullException.ThrowIfNull(host);
        var definition = host.Definition.Pool;
        var pool = host.Connection.TryLookupStoragePool(definition.Name);
        if (pool is null)
        {
            pool = host.Connection.DefineStoragePool(_templates.RenderPool(new StoragePoolSpec { Name = definition.Name, Path = definition.Path }));
            // Build creates the directory (an existing directory is kept as it is).
            pool.Build(StoragePoolBuildFlags.New);
        }

        using (pool)
        {
            if (!pool.IsActive)
            {
                pool.Start();
            }

            pool.Autostart = true;
        }
    }

    /// <summary>
    /// Uploads the golden image through a libvirt stream, reads it back through a stream and checks
    /// its SHA-256 on the host, then records the check with a marker volume. The tool never assumes
    /// the host can read the tool's disk, nor that a half-finished upload is usable.
    /// </summary>
    public async Task EnsureImageAsync(HostSession host, GoldenImageFile image, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(image);
        var reference = image.Reference;
        using var pool = host.Connection.LookupStoragePool(host.Definition.Pool.Name);
        pool.Refresh();

        using (var marker = pool.TryLookupVolume(reference.VerifiedMarkerName!))
        {
            if (marker is not null && pool.TryLookupVolume(reference.VolumeName!) is { } verified)
            {
                verified.Dispose();
                return;
            }
        }

        // Whatever is there is unverified (an interrupted upload): start again from nothing.
        DeleteVolumeIfExists(pool, reference.VolumeName!);
        var length = (ulong)new FileInfo(image.Path).Length;
        using var volume = pool.CreateVolume(_templates.RenderVolume(new StorageVolumeSpec
        {
            Name = reference.VolumeName!,
            CapacityBytes = (long)length,
            // Uploaded as raw bytes of exactly the file's length; libvirt probes the qcow2 header itself.
            Format = DiskFormat.Raw,
            Permissions = ReadableByQemu(host, "0644"),
        }));

        var source = File.OpenRead(image.Path);
        await using (source.ConfigureAwait(false))
        {
            await _content.UploadAsync(host, volume, source, length, progress, cancellationToken).ConfigureAwait(false);
        }

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var sink = new HashingStream(hash);
        await using (sink.ConfigureAwait(false))
        {
            await _content.DownloadAsync(host, volume, sink, length, cancellationToken).ConfigureAwait(false);
        }

        var onHost = Convert.ToHexStringLower(hash.GetHashAndReset());
        if (!string.Equals(onHost, reference.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            volume.Delete();
            throw new ImageVerificationException(host.Name, reference.VolumeName!, reference.Sha256!, onHost);
        }

        using var created = pool.CreateVolume(_templates.RenderVolume(new StorageVolumeSpec
        {
            Name = reference.VerifiedMarkerName!,
            CapacityBytes = 1,
            Format = DiskFormat.Raw,
        }));
    }

    /// <summary>Creates or converges one of the stack's networks on the host, with a DHCP reservation per node.</summary>
    public void EnsureNetwork(HostSession host, StackDefinition stack, NetworkDefinition network, IEnumerable<DesiredNode> nodes, bool replace)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentNullException.ThrowIfNull(network);
        var name = LibvirtNames.Network(stack.Name, network.Name);
        var reservations = nodes
            .Where(n => n.Definition.Network == network.Name)
            .OrderBy(n => n.Name, StringComparer.Ordinal)
            .Select(n => new DhcpHost
            {
                MacAddress = n.Addresses.MacAddress.ToLowerInvariant(),
                Address = System.Net.IPAddress.Parse(n.Addresses.Ipv4Address.ToString()),
                HostName = n.Name,
            })
            .ToList();

        var existing = host.Connection.TryLookupNetwork(name);
        if (existing is not null && replace)
        {
            using (existing)
            {
                if (existing.IsActive)
                {
                    existing.Destroy();
                }

                existing.Undefine();
            }

            existing = null;
        }

        if (existing is null)
        {
            existing = host.Connection.DefineNetwork(_templates.RenderNetwork(new NetworkSpec
            {
                Name = name,
                Mode = network.Mode == NetworkMode.Nat ? TemplateNetworkMode.Nat : TemplateNetworkMode.Bridge,
                BridgeName = network.Mode == NetworkMode.Bridge && network.Bridge is not null ? network.Bridge : LibvirtNames.Bridge(stack.Name, network.Name),
                Ipv4 = network.Mode == NetworkMode.Nat
                    ? new NetworkIpv4Spec
                    {
                        Gateway = System.Net.IPAddress.Parse(network.Gateway.ToString()),
                        PrefixLength = network.Cidr.PrefixLength,
                        DhcpStart = System.Net.IPAddress.Parse(network.DhcpRange.First.ToString()),
                        DhcpEnd = System.Net.IPAddress.Parse(network.DhcpRange.Last.ToString()),
                        Hosts = reservations,
                    }
                    : null,
                Metadata = new NetworkMetadata
                {
                    Stack = stack.Name,
                    Network = network.Name,
                    DefinitionHash = NetworkHash.Compute(stack.Name, network),
                    Created = _time.GetUtcNow(),
                },
            }));
        }
        else if (network.Mode == NetworkMode.Nat)
        {
            ConvergeReservations(existing, reservations);
        }

        using (existing)
        {
            if (!existing.IsActive)
            {
                existing.Start();
            }

            existing.Autostart = true;
        }
    }

    /// <summary>Stops and removes one of the stack's networks, if it exists.</summary>
    public static void DeleteNetwork(HostSession host, string libvirtName)
    {
        ArgumentNullException.ThrowIfNull(host);
        using var network = host.Connection.TryLookupNetwork(libvirtName);
        if (network is null)
        {
            return;
        }

        if (network.IsActive)
        {
            network.Destroy();
        }

        network.Undefine();
    }

    /// <summary>Deletes a volume of the stack's pool, if it exists.</summary>
    public static void DeleteVolume(HostSession host, string volumeName)
    {
        ArgumentNullException.ThrowIfNull(host);
        using var pool = host.Connection.TryLookupStoragePool(host.Definition.Pool.Name);
        if (pool is { IsActive: true })
        {
            DeleteVolumeIfExists(pool, volumeName);
        }
    }

    /// <summary>Removes the pool when nothing is left in it (the directory goes too).</summary>
    public static bool DeletePoolIfEmpty(HostSession host)
    {
        ArgumentNullException.ThrowIfNull(host);
        using var pool = host.Connection.TryLookupStoragePool(host.Definition.Pool.Name);
        if (pool is null)
        {
            return true;
        }

        if (pool.IsActive)
        {
            pool.Refresh();
            var volumes = pool.ListVolumes();
            foreach (var v in volumes)
            {
                v.Dispose();
            }

            if (volumes.Count > 0)
            {
                return false;
            }

            pool.Destroy();
            try
            {
                pool.Delete();
            }
            catch (LibvirtException ex) when (ex.Code is ErrorCode.NoSupport or ErrorCode.OperationUnsupported)
            {
                // Not every driver deletes a pool's directory; undefining is what matters.
            }
        }

        pool.Undefine();
        return true;
    }

    internal static void DeleteVolumeIfExists(StoragePool pool, string name)
    {
        using var volume = pool.TryLookupVolume(name);
        volume?.Delete();
    }

    internal static VolumePermissionsSpec? ReadableByQemu(HostSession host, string mode) =>
        host.Capabilities.QemuDacOwner is { } owner
            ? new VolumePermissionsSpec { Owner = owner.Uid, Group = owner.Gid, Mode = mode }
            : null;

    private static void ConvergeReservations(Network network, List<DhcpHost> wanted)
    {
        var xml = XElement.Parse(network.GetXml());
        var present = xml.Elements("ip").Elements("dhcp").Elements("host")
            .ToDictionary(h => ((string?)h.Attribute("mac") ?? string.Empty).ToLowerInvariant(), h => h, StringComparer.Ordinal);
        var flags = network.IsActive ? NetworkUpdateFlags.Live | NetworkUpdateFlags.Config : NetworkUpdateFlags.Config;

        foreach (var (mac, element) in present)
        {
            var keep = wanted.FirstOrDefault(w => w.MacAddress == mac);
            if (keep is null || (string?)element.Attribute("ip") != keep.Address.ToString() || (string?)element.Attribute("name") != keep.HostName)
            {
                network.Update(NetworkUpdateCommand.Delete, NetworkUpdateSection.IPDhcpHost, element.ToString(SaveOptions.DisableFormatting), -1, flags);
            }
        }

        foreach (var host in wanted)
        {
            if (present.TryGetValue(host.MacAddress, out var element)
                && (string?)element.Attribute("ip") == host.Address.ToString()
                && (string?)element.Attribute("name") == host.HostName)
            {
                continue;
            }

            // Built as an element, never as a string: the host name is escaped by the XML writer.
            var entry = new XElement("host",
                new XAttribute("mac", host.MacAddress),
                new XAttribute("name", host.HostName),
                new XAttribute("ip", host.Address.ToString()));
            network.Update(NetworkUpdateCommand.AddLast, NetworkUpdateSection.IPDhcpHost, entry.ToString(SaveOptions.DisableFormatting), -1, flags);
        }
    }
}

/// <summary>A golden image file on the machine the tool runs on.</summary>
/// <param name="Reference">Its name and checksum.</param>
/// <param name="Path">Where the file is.</param>
public sealed record GoldenImageFile(ImageReference Reference, string Path);

/// <summary>The image read back from a host does not have the checksum it was uploaded with.</summary>
public sealed class ImageVerificationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ImageVerificationException(string host, string volume, string expected, string found)
        : base($"host '{host}': golden image volume '{volume}' has SHA-256 {found} after upload, expected {expected}; the volume was removed")
    {
    }

    /// <summary>Creates the exception.</summary>
    public ImageVerificationException() { }

    /// <summary>Creates the exception.</summary>
    public ImageVerificationException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public ImageVerificationException(string message, Exception inner) : base(message, inner) { }
}
