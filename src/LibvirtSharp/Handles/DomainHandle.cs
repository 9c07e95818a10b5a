using LibvirtSharp.Interop;

namespace LibvirtSharp.Handles;

/// <summary>Owns one reference on a <c>virDomainPtr</c>; released with virDomainFree.</summary>
internal sealed class DomainHandle : LibvirtHandle
{
    /// <summary>Used by the interop marshaller for returned handles.</summary>
    public DomainHandle()
    {
    }

    /// <inheritdoc/>
    protected override bool Free(nint raw) => DomainNative.virDomainFree(raw) == 0;
}
