namespace Provisioner.Engine.LocalHost;

/// <summary>The local libvirt daemon could not be started.</summary>
public class LibvirtDaemonException : Exception
{
    /// <summary>Creates the exception.</summary>
    public LibvirtDaemonException()
    {
    }

    /// <summary>Creates the exception with a message saying what failed.</summary>
    public LibvirtDaemonException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the underlying cause.</summary>
    public LibvirtDaemonException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A started daemon's socket did not answer in time.</summary>
public sealed class LibvirtDaemonTimeoutException : TimeoutException
{
    /// <summary>Creates the exception.</summary>
    public LibvirtDaemonTimeoutException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public LibvirtDaemonTimeoutException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the underlying cause.</summary>
    public LibvirtDaemonTimeoutException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception naming the socket and how long was waited.</summary>
    public LibvirtDaemonTimeoutException(string message, string socketPath, TimeSpan waited)
        : base(message)
    {
        SocketPath = socketPath;
        Waited = waited;
    }

    /// <summary>The socket that did not answer.</summary>
    public string? SocketPath { get; }

    /// <summary>How long was waited.</summary>
    public TimeSpan Waited { get; }
}
