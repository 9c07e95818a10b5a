using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Provisioner.Engine.Images;

/// <summary>
/// A golden image recipe: a directory <c>images/&lt;name&gt;/</c> with a <c>build.sh</c> that
/// builds the image into a given output directory. Its <em>recipe hash</em> keys the image cache:
/// the SHA-256 of the <c>sha256sum</c> listing of every regular file in the directory, sorted by
/// relative path in byte order (<c>"&lt;hex&gt;  &lt;relative/path&gt;\n"</c> per file). Symbolic
/// links and file modes are not part of it. <c>images/recipe-hash.sh</c> computes the same value
/// for the build script and CI.
/// </summary>
public sealed partial class ImageRecipe
{
    /// <summary>The script every recipe provides.</summary>
    public const string BuildScriptName = "build.sh";

    private ImageRecipe(string name, string directoryPath)
    {
        Name = name;
        DirectoryPath = directoryPath;
    }

    /// <summary>The recipe name, e.g. <c>debian-12</c>; also the image file's base name.</summary>
    public string Name { get; }

    /// <summary>Absolute path of the recipe directory.</summary>
    public string DirectoryPath { get; }

    /// <summary>Absolute path of the recipe's build script.</summary>
    public string BuildScriptPath => Path.Combine(DirectoryPath, BuildScriptName);

    /// <summary>Opens recipe <paramref name="name"/> in the images directory found by <see cref="ImagesDirectory.Locate()"/>.</summary>
    /// <exception cref="ImageRecipeException">No images directory, or no such recipe.</exception>
    public static ImageRecipe Locate(string name) => Open(ImagesDirectory.Locate(), name);

    /// <summary>Opens recipe <paramref name="name"/> in <paramref name="imagesDirectory"/>.</summary>
    /// <exception cref="ImageRecipeException">The name is invalid or the recipe does not exist.</exception>
    public static ImageRecipe Open(string imagesDirectory, string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(imagesDirectory);
        ArgumentNullException.ThrowIfNull(name);
        if (!RecipeName().IsMatch(name))
        {
            throw new ImageRecipeException(
                $"image: '{name}' is not a recipe name (lower-case letters, digits, '.', '-'; at most 63 characters)");
        }

        var directory = Path.Combine(Path.GetFullPath(imagesDirectory), name);
        if (!File.Exists(Path.Combine(directory, BuildScriptName)))
        {
            throw new ImageRecipeException($"image: no recipe '{name}' ({Path.Combine(directory, BuildScriptName)} does not exist)");
        }

        return new ImageRecipe(name, directory);
    }

    /// <summary>Computes this recipe's hash (lower-case hex).</summary>
    public Task<string> ComputeHashAsync(CancellationToken cancellationToken = default) =>
        ComputeHashAsync(DirectoryPath, cancellationToken);

    /// <summary>Computes the recipe hash of any directory (lower-case hex), as described on <see cref="ImageRecipe"/>.</summary>
    /// <exception cref="ImageRecipeException">A file name contains a backslash or a line break.</exception>
    public static async Task<string> ComputeHashAsync(string directory, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var root = new DirectoryInfo(Path.GetFullPath(directory));
        if (!root.Exists)
        {
            throw new ImageRecipeException($"recipe directory '{directory}' does not exist");
        }

        var files = new List<(byte[] Key, string Relative, string FullPath)>();
        Collect(root, string.Empty, files);
        // `LC_ALL=C sort` orders by bytes: compare the UTF-8 encodings, not UTF-16 code units.
        files.Sort((a, b) => a.Key.AsSpan().SequenceCompareTo(b.Key));

        var listing = new StringBuilder();
        foreach (var (_, relative, fullPath) in files)
        {
            var stream = new FileStream(fullPath, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.Asynchronous | FileOptions.SequentialScan);
            await using (stream.ConfigureAwait(false))
            {
                var hash = await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false);
                listing.Append(Convert.ToHexStringLower(hash)).Append("  ").Append(relative).Append('\n');
            }
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(listing.ToString())));
    }

    private static void Collect(DirectoryInfo directory, string prefix, List<(byte[] Key, string Relative, string FullPath)> files)
    {
        var options = new EnumerationOptions { AttributesToSkip = 0, RecurseSubdirectories = false, IgnoreInaccessible = false };
        foreach (var entry in directory.EnumerateFileSystemInfos("*", options))
        {
            if (entry.LinkTarget is not null)
            {
                continue; // like `find -type f`: links are neither hashed nor followed
            }

            if (entry.Name.Contains('\\', StringComparison.Ordinal) || entry.Name.Contains('\n', StringComparison.Ordinal))
            {
                throw new ImageRecipeException($"recipe file name '{entry.FullName}' contains a backslash or line break");
            }

            var relative = prefix + entry.Name;
            switch (entry)
            {
                case DirectoryInfo sub:
                    Collect(sub, relative + "/", files);
                    break;
                case FileInfo:
                    files.Add((Encoding.UTF8.GetBytes(relative), relative, entry.FullName));
                    break;
            }
        }
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9.-]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex RecipeName();
}
