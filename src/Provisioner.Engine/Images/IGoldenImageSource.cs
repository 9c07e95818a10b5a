using System.Security.Cryptography;
using Provisioner.Core.Stacks;
using Provisioner.Engine.Execution;
using Provisioner.Engine.Planning;

namespace Provisioner.Engine.Images;

/// <summary>Where the golden image a stack's nodes are cloned from comes from.</summary>
public interface IGoldenImageSource
{
    /// <summary>The image's name and checksum if it is available now, without building anything.</summary>
    Task<ImageReference> PeekAsync(ImageDefinition image, CancellationToken cancellationToken);

    /// <summary>The image file, built first if needed.</summary>
    Task<GoldenImageFile> EnsureAsync(ImageDefinition image, IProgress<string>? progress, CancellationToken cancellationToken);
}

/// <summary>A golden image that is simply a file on this machine (a prebuilt image, or one a test made).</summary>
public sealed class FileImageSource : IGoldenImageSource
{
    private readonly string _path;
    private readonly Lazy<Task<string>> _sha256;

    /// <summary>Uses the image file at <paramref name="path"/>; its SHA-256 is computed once.</summary>
    public FileImageSource(string path)
    {
        _path = Path.GetFullPath(path);
        _sha256 = new Lazy<Task<string>>(async () =>
        {
            var stream = File.OpenRead(_path);
            await using (stream.ConfigureAwait(false))
            {
                return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream).ConfigureAwait(false));
            }
        });
    }

    /// <inheritdoc />
    public async Task<ImageReference> PeekAsync(ImageDefinition image, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(image);
        return new ImageReference(image.Name, await _sha256.Value.WaitAsync(cancellationToken).ConfigureAwait(false));
    }

    /// <inheritdoc />
    public async Task<GoldenImageFile> EnsureAsync(ImageDefinition image, IProgress<string>? progress, CancellationToken cancellationToken) =>
        new(await PeekAsync(image, cancellationToken).ConfigureAwait(false), _path);
}
