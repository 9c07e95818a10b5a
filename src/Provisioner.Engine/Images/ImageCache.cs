using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;

namespace Provisioner.Engine.Images;

/// <summary>
/// The golden image cache, outside any checkout:
/// <c>&lt;root&gt;/images/&lt;name&gt;/&lt;recipe hash&gt;/</c> holds <c>&lt;name&gt;.qcow2</c>,
/// <c>&lt;name&gt;.qcow2.sha256</c> (a <c>sha256sum</c> line) and <c>manifest.json</c>.
/// An entry is only ever used after the image's SHA-256, streamed from disk, matches both the
/// checksum file and the manifest. Shared with <c>images/ensure-image.sh</c>.
/// </summary>
public sealed class ImageCache
{
    /// <summary>Environment variable naming the cache root.</summary>
    public const string CacheVariable = "PROVISIONER_CACHE";

    /// <summary>The cache root when <see cref="CacheVariable"/> is not set.</summary>
    public const string DefaultRoot = "/var/cache/provisioner";

    /// <summary>Name of the manifest in each entry.</summary>
    public const string ManifestFileName = "manifest.json";

    /// <summary>Name of the lock file in each recipe's cache directory (flock(2), shared with ensure-image.sh).</summary>
    public const string LockFileName = ".lock";

    /// <summary>Prefix of directories holding builds in progress.</summary>
    public const string TemporaryPrefix = ".tmp-";

    /// <summary>Creates a cache rooted at <paramref name="rootDirectory"/>.</summary>
    public ImageCache(string rootDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(rootDirectory);
        RootDirectory = Path.GetFullPath(rootDirectory);
    }

    /// <summary>The cache root.</summary>
    public string RootDirectory { get; }

    /// <summary>The cache at <c>$PROVISIONER_CACHE</c>, or <see cref="DefaultRoot"/>.</summary>
    public static ImageCache FromEnvironment()
    {
        var root = Environment.GetEnvironmentVariable(CacheVariable);
        return new ImageCache(string.IsNullOrEmpty(root) ? DefaultRoot : root);
    }

    /// <summary>The directory holding all cached builds of recipe <paramref name="name"/>, its lock and its package cache.</summary>
    public string GetRecipeDirectory(string name) => Path.Combine(RootDirectory, "images", name);

    /// <summary>The directory of the build of <paramref name="name"/> from recipe hash <paramref name="recipeHash"/>.</summary>
    public string GetImageDirectory(string name, string recipeHash) => Path.Combine(GetRecipeDirectory(name), recipeHash);

    /// <summary>The cached, verified image built from <paramref name="recipe"/>'s current content, or null.</summary>
    /// <exception cref="CorruptImageException">The entry exists but fails verification.</exception>
    public async Task<GoldenImage?> TryGetAsync(ImageRecipe recipe, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(recipe);
        var hash = await recipe.ComputeHashAsync(cancellationToken).ConfigureAwait(false);
        return await TryGetAsync(recipe.Name, hash, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The cached, verified image of <paramref name="name"/> built from recipe hash <paramref name="recipeHash"/>, or null.</summary>
    /// <exception cref="CorruptImageException">The entry exists but fails verification.</exception>
    public async Task<GoldenImage?> TryGetAsync(string name, string recipeHash, CancellationToken cancellationToken = default)
    {
        var directory = GetImageDirectory(name, recipeHash);
        if (!Directory.Exists(directory))
        {
            return null;
        }

        return await VerifyAsync(directory, name, recipeHash, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Verifies an image directory (a cache entry, or a fresh build before it enters the cache):
    /// all three files present, the image's streamed SHA-256 equal to the checksum file's and the
    /// manifest's, and the manifest naming <paramref name="name"/> and <paramref name="recipeHash"/>.
    /// </summary>
    /// <exception cref="CorruptImageException">Any of that does not hold.</exception>
    public static async Task<GoldenImage> VerifyAsync(
        string imageDirectory, string name, string recipeHash, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(imageDirectory);
        var imagePath = Path.Combine(Path.GetFullPath(imageDirectory), name + ".qcow2");
        var checksumPath = imagePath + ".sha256";
        var manifestPath = Path.Combine(imageDirectory, ManifestFileName);
        foreach (var required in new[] { imagePath, checksumPath, manifestPath })
        {
            if (!File.Exists(required))
            {
                throw new CorruptImageException($"image cache entry {imageDirectory} is incomplete: {Path.GetFileName(required)} is missing", imageDirectory);
            }
        }

        var recorded = await ReadChecksumFileAsync(checksumPath, name, imageDirectory, cancellationToken).ConfigureAwait(false);
        var manifest = await ReadManifestAsync(manifestPath, imageDirectory, cancellationToken).ConfigureAwait(false);

        if (!string.Equals(manifest.Name, name, StringComparison.Ordinal)
            || !string.Equals(manifest.RecipeHash, recipeHash, StringComparison.OrdinalIgnoreCase))
        {
            throw new CorruptImageException(
                $"image cache entry {imageDirectory}: manifest is for '{manifest.Name}' recipe {manifest.RecipeHash}, expected '{name}' recipe {recipeHash}",
                imageDirectory);
        }

        if (!string.Equals(manifest.ImageSha256, recorded, StringComparison.OrdinalIgnoreCase))
        {
            throw new CorruptImageException(
                $"image cache entry {imageDirectory}: manifest sha256 {manifest.ImageSha256} differs from {Path.GetFileName(checksumPath)} ({recorded})",
                imageDirectory);
        }

        string actual;
        var stream = new FileStream(imagePath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.Asynchronous | FileOptions.SequentialScan);
        await using (stream.ConfigureAwait(false))
        {
            actual = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
        }

        if (!string.Equals(actual, recorded, StringComparison.OrdinalIgnoreCase))
        {
            throw new CorruptImageException(
                $"image {imagePath} is corrupt: its sha256 is {actual}, {Path.GetFileName(checksumPath)} records {recorded}",
                imageDirectory);
        }

        return new GoldenImage(name, imagePath, actual, manifest.VirtualSizeBytes, recipeHash.ToLowerInvariant());
    }

    private static async Task<string> ReadChecksumFileAsync(string checksumPath, string name, string imageDirectory, CancellationToken cancellationToken)
    {
        var text = (await File.ReadAllTextAsync(checksumPath, cancellationToken).ConfigureAwait(false)).Trim();
        // sha256sum format: "<64 hex>  <file name>" (a '*' instead of the second space in binary mode).
        var parts = text.Split(' ', 2);
        var fileName = parts.Length == 2 ? parts[1].TrimStart(' ', '*') : string.Empty;
        if (parts[0].Length != 64 || !parts[0].All(char.IsAsciiHexDigit) || !string.Equals(fileName, name + ".qcow2", StringComparison.Ordinal))
        {
            throw new CorruptImageException($"image cache entry {imageDirectory}: {Path.GetFileName(checksumPath)} is not a sha256sum line for {name}.qcow2", imageDirectory);
        }

        return parts[0].ToLowerInvariant();
    }

    private static async Task<(string Name, string RecipeHash, string ImageSha256, ulong VirtualSizeBytes)> ReadManifestAsync(
        string manifestPath, string imageDirectory, CancellationToken cancellationToken)
    {
        try
        {
            var stream = File.OpenRead(manifestPath);
            await using (stream.ConfigureAwait(false))
            {
                using var document = await JsonDocument.ParseAsync(stream, cancellationToken: cancellationToken).ConfigureAwait(false);
                var root = document.RootElement;
                return (
                    root.GetProperty("name").GetString() ?? string.Empty,
                    root.GetProperty("recipeHash").GetString() ?? string.Empty,
                    root.GetProperty("imageSha256").GetString() ?? string.Empty,
                    root.GetProperty("virtualSizeBytes").GetUInt64());
            }
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new CorruptImageException(
                string.Create(CultureInfo.InvariantCulture, $"image cache entry {imageDirectory}: {ManifestFileName} is unreadable: {e.Message}"), e);
        }
    }
}
