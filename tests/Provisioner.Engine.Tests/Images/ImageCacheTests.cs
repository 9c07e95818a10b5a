using System.Security.Cryptography;
using System.Text;
using Provisioner.Engine.Images;

namespace Provisioner.Engine.Tests.Images;

public sealed class ImageCacheTests
{
    private const string Name = "debian-12";
    private const string Hash = "8a90be8ac5f5b9e807ef6ddab8790661f8f54aae580c656df71683fa3d84ff69";

    /// <summary>Writes a cache entry the way build.sh does, with <paramref name="content"/> as the "image".</summary>
    internal static string WriteEntry(string directory, string name, string recipeHash, byte[] content, ulong virtualSize = 4294967296)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllBytes(Path.Combine(directory, name + ".qcow2"), content);
        var sha = Convert.ToHexStringLower(SHA256.HashData(content));
        File.WriteAllText(Path.Combine(directory, name + ".qcow2.sha256"), $"{sha}  {name}.qcow2\n");
        File.WriteAllText(
            Path.Combine(directory, "manifest.json"),
            $$"""
            {
              "name": "{{name}}",
              "recipeHash": "{{recipeHash}}",
              "imageFile": "{{name}}.qcow2",
              "imageSha256": "{{sha}}",
              "virtualSizeBytes": {{virtualSize}},
              "packages": [ { "name": "cloud-init", "version": "22.4.2-1+deb12u4" } ]
            }
            """);
        return sha;
    }

    [Fact]
    public async Task TryGetAsync_NoEntry_ReturnsNull()
    {
        using var root = new TempDirectory();
        var cache = new ImageCache(root.Path);

        Assert.Null(await cache.TryGetAsync(Name, Hash, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task TryGetAsync_ValidEntry_ReturnsVerifiedImage()
    {
        using var root = new TempDirectory();
        var cache = new ImageCache(root.Path);
        var directory = cache.GetImageDirectory(Name, Hash);
        var sha = WriteEntry(directory, Name, Hash, Encoding.ASCII.GetBytes("QFI\xfb pretend image"));

        var image = await cache.TryGetAsync(Name, Hash, TestContext.Current.CancellationToken);

        Assert.Equal(new GoldenImage(Name, Path.Combine(directory, "debian-12.qcow2"), sha, 4294967296, Hash), image);
        Assert.Equal(Path.Combine(root.Path, "images", Name, Hash), directory);
    }

    [Fact]
    public async Task TryGetAsync_ImageCorrupted_ThrowsCorruptImage()
    {
        using var root = new TempDirectory();
        var cache = new ImageCache(root.Path);
        var directory = cache.GetImageDirectory(Name, Hash);
        WriteEntry(directory, Name, Hash, new byte[4096]);
        // One flipped byte in the middle, same size: only a full checksum notices.
        await using (var image = new FileStream(Path.Combine(directory, "debian-12.qcow2"), FileMode.Open))
        {
            image.Position = 2048;
            image.WriteByte(1);
        }

        var error = await Assert.ThrowsAsync<CorruptImageException>(() => cache.TryGetAsync(Name, Hash, TestContext.Current.CancellationToken));

        Assert.Contains("is corrupt", error.Message);
        Assert.Equal(directory, error.ImageDirectory);
    }

    [Fact]
    public async Task TryGetAsync_ImageTruncated_ThrowsCorruptImage()
    {
        using var root = new TempDirectory();
        var cache = new ImageCache(root.Path);
        var directory = cache.GetImageDirectory(Name, Hash);
        WriteEntry(directory, Name, Hash, new byte[4096]);
        File.WriteAllBytes(Path.Combine(directory, "debian-12.qcow2"), new byte[100]);

        await Assert.ThrowsAsync<CorruptImageException>(() => cache.TryGetAsync(Name, Hash, TestContext.Current.CancellationToken));
    }

    [Theory]
    [InlineData("debian-12.qcow2")]
    [InlineData("debian-12.qcow2.sha256")]
    [InlineData("manifest.json")]
    public async Task TryGetAsync_FileMissing_ThrowsNamingIt(string missing)
    {
        using var root = new TempDirectory();
        var cache = new ImageCache(root.Path);
        var directory = cache.GetImageDirectory(Name, Hash);
        WriteEntry(directory, Name, Hash, new byte[16]);
        File.Delete(Path.Combine(directory, missing));

        var error = await Assert.ThrowsAsync<CorruptImageException>(() => cache.TryGetAsync(Name, Hash, TestContext.Current.CancellationToken));

        Assert.Contains(missing, error.Message);
    }

    [Fact]
    public async Task TryGetAsync_ManifestForOtherRecipe_ThrowsCorruptImage()
    {
        using var root = new TempDirectory();
        var cache = new ImageCache(root.Path);
        var directory = cache.GetImageDirectory(Name, Hash);
        WriteEntry(directory, Name, new string('0', 64), new byte[16]);

        var error = await Assert.ThrowsAsync<CorruptImageException>(() => cache.TryGetAsync(Name, Hash, TestContext.Current.CancellationToken));

        Assert.Contains("manifest is for", error.Message);
    }

    [Fact]
    public async Task TryGetAsync_ChecksumFileGarbage_ThrowsCorruptImage()
    {
        using var root = new TempDirectory();
        var cache = new ImageCache(root.Path);
        var directory = cache.GetImageDirectory(Name, Hash);
        WriteEntry(directory, Name, Hash, new byte[16]);
        File.WriteAllText(Path.Combine(directory, "debian-12.qcow2.sha256"), "not a checksum\n");

        await Assert.ThrowsAsync<CorruptImageException>(() => cache.TryGetAsync(Name, Hash, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task TryGetAsync_ManifestUnparsable_ThrowsCorruptImage()
    {
        using var root = new TempDirectory();
        var cache = new ImageCache(root.Path);
        var directory = cache.GetImageDirectory(Name, Hash);
        WriteEntry(directory, Name, Hash, new byte[16]);
        File.WriteAllText(Path.Combine(directory, "manifest.json"), "{ \"name\": ");

        var error = await Assert.ThrowsAsync<CorruptImageException>(() => cache.TryGetAsync(Name, Hash, TestContext.Current.CancellationToken));

        Assert.Contains("manifest.json", error.Message);
    }
}
