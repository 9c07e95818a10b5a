namespace Provisioner.Cli;

/// <summary>An error the CLI reports as one clear message with a chosen exit code (no stack trace).</summary>
public sealed class CliException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CliException(string message, int exitCode)
        : base(message)
    {
        ExitCode = exitCode;
    }

    /// <summary>Creates the exception (exit code <see cref="ExitCodes.Failed"/>).</summary>
    public CliException() : this("failed", ExitCodes.Failed) { }

    /// <summary>Creates the exception (exit code <see cref="ExitCodes.BadInput"/>).</summary>
    public CliException(string message) : this(message, ExitCodes.BadInput) { }

    /// <summary>Creates the exception (exit code <see cref="ExitCodes.Failed"/>).</summary>
    public CliException(string message, Exception innerException) : base(message, innerException) => ExitCode = ExitCodes.Failed;

    /// <summary>The exit code to end the process with.</summary>
    public int ExitCode { get; }
}
