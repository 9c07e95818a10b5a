namespace Provisioner.Engine.Images;

/// <summary>
/// Finds the repository's <c>images/</c> directory (the image recipes) at run time: the
/// <see cref="OverrideVariable"/> environment variable if set, else the first <c>images/</c>
/// holding <see cref="MarkerFile"/> in the application's directory or any directory above it
/// (covers <c>dotnet run</c>/<c>dotnet test</c> in the repository and a published folder that
/// ships <c>images/</c> beside the binary).
/// </summary>
public static class ImagesDirectory
{
    /// <summary>Environment variable naming the images directory explicitly.</summary>
    public const string OverrideVariable = "PROVISIONER_IMAGES_DIR";

    /// <summary>The file that identifies an images directory (shared by all recipes).</summary>
    public const string MarkerFile = "recipe-hash.sh";

    /// <summary>Locates the images directory for this process.</summary>
    /// <exception cref="ImageRecipeException">No images directory was found.</exception>
    public static string Locate() =>
        Locate(Environment.GetEnvironmentVariable(OverrideVariable), AppContext.BaseDirectory);

    /// <summary>
    /// Locates the images directory from an explicit override (may be null or empty) or by
    /// searching upward from <paramref name="startDirectory"/>.
    /// </summary>
    /// <exception cref="ImageRecipeException">The override is not an images directory, or none was found.</exception>
    public static string Locate(string? overrideDirectory, string startDirectory)
    {
        if (!string.IsNullOrEmpty(overrideDirectory))
        {
            var full = Path.GetFullPath(overrideDirectory);
            if (!File.Exists(Path.Combine(full, MarkerFile)))
            {
                throw new ImageRecipeException(
                    $"{OverrideVariable}: '{overrideDirectory}' is not an images directory (no {MarkerFile} in it)");
            }

            return full;
        }

        ArgumentException.ThrowIfNullOrEmpty(startDirectory);
        for (var dir = new DirectoryInfo(Path.GetFullPath(startDirectory)); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "images");
            if (File.Exists(Path.Combine(candidate, MarkerFile)))
            {
                return candidate;
            }
        }

        throw new ImageRecipeException(
            $"no images/ directory (with {MarkerFile}) in '{startDirectory}' or any directory above it; "
            + $"set {OverrideVariable} to the repository's images/ directory");
    }
}
