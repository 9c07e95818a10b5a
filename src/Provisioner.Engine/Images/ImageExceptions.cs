namespace Provisioner.Engine.Images;

/// <summary>An image recipe, or the directory holding recipes, could not be found or is invalid.</summary>
public sealed class ImageRecipeException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ImageRecipeException()
    {
    }

    /// <summary>Creates the exception with a message saying what is wrong and where.</summary>
    public ImageRecipeException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the underlying cause.</summary>
    public ImageRecipeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// A cached image does not match its recorded checksum or manifest (truncated, modified, or an
/// interrupted copy). The cache entry must not be used.
/// </summary>
public sealed class CorruptImageException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CorruptImageException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public CorruptImageException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the underlying cause.</summary>
    public CorruptImageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception naming the cache entry.</summary>
    public CorruptImageException(string message, string imageDirectory)
        : base(message)
    {
        ImageDirectory = imageDirectory;
    }

    /// <summary>The cache directory of the corrupt image.</summary>
    public string? ImageDirectory { get; }
}

/// <summary>Building a golden image failed; carries the end of the build log.</summary>
public sealed class ImageBuildException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ImageBuildException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public ImageBuildException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the underlying cause.</summary>
    public ImageBuildException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a failed build of <paramref name="recipeName"/>.</summary>
    public ImageBuildException(string recipeName, int? exitCode, IReadOnlyList<string> logTail, string reason)
        : base(FormatMessage(recipeName, reason, logTail))
    {
        RecipeName = recipeName;
        ExitCode = exitCode;
        LogTail = logTail;
    }

    /// <summary>The recipe that failed to build.</summary>
    public string? RecipeName { get; }

    /// <summary>The build script's exit code, when it ran to an end.</summary>
    public int? ExitCode { get; }

    /// <summary>The last lines the build printed.</summary>
    public IReadOnlyList<string> LogTail { get; } = [];

    private static string FormatMessage(string recipeName, string reason, IReadOnlyList<string> logTail) =>
        $"building image '{recipeName}' failed: {reason}"
        + (logTail.Count == 0 ? string.Empty : Environment.NewLine + "last build output:" + Environment.NewLine + string.Join(Environment.NewLine, logTail));
}
