using System.Net;
using LibvirtSharp.Handles;
using LibvirtSharp.Interop;

namespace LibvirtSharp;

/// <summary>A libvirt virtual network (<c>virNetworkPtr</c>). Thread-safe; dispose when done.</summary>
/// <remarks>Holds its own reference on the libvirt connection, so it outlives its <see cref="Connection"/> object.</remarks>
public sealed class Network : IDisposable
{
    private readonly NetworkHandle _handle;
    private string? _name;

    internal Network(NetworkHandle handle) => _handle = handle;

    /// <summary>The network's name.</summary>
    public string Name => _name ??= LibvirtError.BorrowString(NetworkNative.virNetworkGetName(_handle), "Network.Name");

    /// <summary>The network's UUID.</summary>
    public unsafe Guid Uuid
    {
        get
        {
            byte* raw = stackalloc byte[Native.UuidLength];
            LibvirtError.Check(NetworkNative.virNetworkGetUUID(_handle, raw), "Network.Uuid");
            return Native.ToGuid(new ReadOnlySpan<byte>(raw, Native.UuidLength));
        }
    }

    /// <summary>True while the network runs.</summary>
    public bool IsActive => LibvirtError.Check(NetworkNative.virNetworkIsActive(_handle), "Network.IsActive") == 1;

    /// <summary>True when the network has a persistent configuration.</summary>
    public bool IsPersistent => LibvirtError.Check(NetworkNative.virNetworkIsPersistent(_handle), "Network.IsPersistent") == 1;

    /// <summary>Whether the network starts with the host.</summary>
    public bool Autostart
    {
        get
        {
            LibvirtError.Check(NetworkNative.virNetworkGetAutostart(_handle, out var value), "Network.Autostart");
            return value != 0;
        }

        set => LibvirtError.Check(NetworkNative.virNetworkSetAutostart(_handle, value ? 1 : 0), "Network.Autostart");
    }

    /// <summary>The host bridge device of the network, for example <c>virbr1</c>.</summary>
    public string BridgeName => LibvirtError.TakeString(NetworkNative.virNetworkGetBridgeName(_handle), "Network.BridgeName");

    /// <summary>Starts a defined network.</summary>
    public void Start() => LibvirtError.Check(NetworkNative.virNetworkCreate(_handle), "Network.Start");

    /// <summary>Stops the network; a transient network disappears.</summary>
    public void Destroy() => LibvirtError.Check(NetworkNative.virNetworkDestroy(_handle), "Network.Destroy");

    /// <summary>Removes the persistent configuration.</summary>
    public void Undefine() => LibvirtError.Check(NetworkNative.virNetworkUndefine(_handle), "Network.Undefine");

    /// <summary>The network XML, as libvirt returns it.</summary>
    /// <param name="inactive">The persistent configuration rather than the live state.</param>
    public string GetXml(bool inactive = false) =>
        LibvirtError.TakeString(NetworkNative.virNetworkGetXMLDesc(_handle, inactive ? 1u : 0u), "Network.GetXml");

    /// <summary>The DHCP leases the network's dnsmasq has handed out; optionally only those of one MAC address.</summary>
    public unsafe IReadOnlyList<DhcpLease> GetDhcpLeases(string? macAddress = null)
    {
        VirNetworkDhcpLease** leases = null;
        var count = LibvirtError.Check(
            NetworkNative.virNetworkGetDHCPLeases(_handle, macAddress, &leases, 0), "Network.GetDhcpLeases");
        var result = new List<DhcpLease>(count);
        try
        {
            for (var i = 0; i < count; i++)
            {
                var lease = leases[i];
                if (!IPAddress.TryParse(Native.BorrowString(lease->IpAddr), out var address))
                {
                    continue;
                }

                result.Add(new DhcpLease(
                    Native.BorrowString(lease->Iface) ?? string.Empty,
                    DateTimeOffset.FromUnixTimeSeconds(lease->ExpiryTime),
                    address,
                    (int)lease->Prefix,
                    Native.BorrowString(lease->Mac),
                    Native.BorrowString(lease->Hostname),
                    Native.BorrowString(lease->ClientId)));
            }
        }
        finally
        {
            if (leases is not null)
            {
                for (var i = 0; i < count; i++)
                {
                    NetworkNative.virNetworkDHCPLeaseFree(leases[i]);
                }

                Native.Free(leases);
            }
        }

        return result;
    }

    /// <summary>Changes one section of the network definition, live and/or in the configuration.</summary>
    /// <param name="command">Add, modify or delete.</param>
    /// <param name="section">Which part of the definition.</param>
    /// <param name="xml">The element to add, modify or delete (for example a DHCP <c>&lt;host&gt;</c>).</param>
    /// <param name="parentIndex">Which parent element (for example which <c>&lt;ip&gt;</c>); -1 for the first matching one.</param>
    /// <param name="flags">Live network, configuration, or both.</param>
    public void Update(
        NetworkUpdateCommand command,
        NetworkUpdateSection section,
        string xml,
        int parentIndex = -1,
        NetworkUpdateFlags flags = NetworkUpdateFlags.Live | NetworkUpdateFlags.Config)
    {
        ArgumentNullException.ThrowIfNull(xml);
        LibvirtError.Check(
            NetworkNative.virNetworkUpdate(_handle, (uint)command, (uint)section, parentIndex, xml, (uint)flags), "Network.Update");
    }

    /// <summary>Drops this object's libvirt reference, once.</summary>
    public void Dispose() => _handle.Dispose();

    /// <inheritdoc/>
    public override string ToString() => _handle.IsClosed ? "Network (disposed)" : $"Network {Name}";
}
