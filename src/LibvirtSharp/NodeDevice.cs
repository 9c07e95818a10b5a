using LibvirtSharp.Handles;
using LibvirtSharp.Interop;

namespace LibvirtSharp;

/// <summary>A host device known to libvirt's node-device driver (<c>virNodeDevicePtr</c>). Thread-safe; dispose when done.</summary>
public sealed class NodeDevice : IDisposable
{
    private readonly NodeDeviceHandle _handle;
    private string? _name;

    internal NodeDevice(NodeDeviceHandle handle) => _handle = handle;

    /// <summary>The device name, for example <c>computer</c>.</summary>
    public string Name => _name ??= LibvirtError.BorrowString(NodeDeviceNative.virNodeDeviceGetName(_handle), "NodeDevice.Name");

    /// <summary>The parent device's name; null for the root.</summary>
    public string? ParentName => Native.BorrowString(NodeDeviceNative.virNodeDeviceGetParent(_handle));

    /// <summary>The device XML, as libvirt returns it.</summary>
    public string GetXml() => LibvirtError.TakeString(NodeDeviceNative.virNodeDeviceGetXMLDesc(_handle, 0), "NodeDevice.GetXml");

    /// <summary>Drops this object's libvirt reference, once.</summary>
    public void Dispose() => _handle.Dispose();

    /// <inheritdoc/>
    public override string ToString() => _handle.IsClosed ? "NodeDevice (disposed)" : $"NodeDevice {Name}";
}
