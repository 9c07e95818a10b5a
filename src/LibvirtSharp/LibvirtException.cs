namespace LibvirtSharp;

/// <summary>
/// A libvirt call failed. Carries libvirt's own error domain, code and message, read on the failing thread
/// immediately after the call.
/// </summary>
public class LibvirtException : Exception
{
    /// <summary>Creates an exception without libvirt details (prefer the detailed constructor).</summary>
    public LibvirtException()
        : this(ErrorDomain.None, ErrorCode.InternalError, "libvirt call failed")
    {
    }

    /// <summary>Creates an exception with a message but without libvirt details.</summary>
    public LibvirtException(string message)
        : this(ErrorDomain.None, ErrorCode.InternalError, message)
    {
    }

    /// <summary>Creates an exception with a message and an inner exception but without libvirt details.</summary>
    public LibvirtException(string message, Exception innerException)
        : base(message, innerException)
    {
        Domain = ErrorDomain.None;
        Code = ErrorCode.InternalError;
        LibvirtMessage = message;
    }

    /// <summary>Creates an exception from libvirt's error report.</summary>
    /// <param name="domain">The part of libvirt that raised the error.</param>
    /// <param name="code">libvirt's error number.</param>
    /// <param name="libvirtMessage">libvirt's human-readable message, unchanged.</param>
    /// <param name="operation">The binding operation that failed, used as message context; may be null.</param>
    public LibvirtException(ErrorDomain domain, ErrorCode code, string libvirtMessage, string? operation = null)
        : base(operation is null ? libvirtMessage : $"{operation}: {libvirtMessage}")
    {
        Domain = domain;
        Code = code;
        LibvirtMessage = libvirtMessage;
        Operation = operation;
    }

    /// <summary>The part of libvirt that raised the error.</summary>
    public ErrorDomain Domain { get; }

    /// <summary>libvirt's error number.</summary>
    public ErrorCode Code { get; }

    /// <summary>libvirt's message, exactly as libvirt reported it.</summary>
    public string LibvirtMessage { get; }

    /// <summary>The binding operation that failed (for example <c>Domain.Start</c>), when known.</summary>
    public string? Operation { get; }

    /// <summary>
    /// True when the error says the object does not exist: no such domain, network, storage pool, storage volume,
    /// snapshot or node device.
    /// </summary>
    public bool IsNotFound => Code is ErrorCode.NoDomain or ErrorCode.NoNetwork or ErrorCode.NoStoragePool
        or ErrorCode.NoStorageVolume or ErrorCode.NoDomainSnapshot or ErrorCode.NoNodeDevice;

    /// <summary>
    /// True for errors a caller may reasonably retry: an operation timeout, an unresponsive guest agent, a busy
    /// resource. Bad input (invalid XML, unknown URI, missing objects) is never transient.
    /// </summary>
    public bool IsTransient => Code is ErrorCode.OperationTimeout or ErrorCode.AgentUnresponsive or ErrorCode.ResourceBusy;
}
