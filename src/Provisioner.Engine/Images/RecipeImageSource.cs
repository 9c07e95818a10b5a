using Provisioner.Core.Stacks;
using Provisioner.Engine.Execution;
using Provisioner.Engine.Planning;

namespace Provisioner.Engine.Images;

/// <summary>
/// Golden images built from the recipes in <c>images/</c>, cached outside the checkout by recipe
/// hash, and only ever used after their SHA-256 checks out.
/// </summary>
public sealed class RecipeImageSource : IGoldenImageSource
{
    private readonly ImageCache _cache;
    private readonly ImageBuilder _builder;
    private readonly string _imagesDirectory;

    /// <summary>Uses <paramref name="imagesDirectory"/> for recipes and <paramref name="cache"/> for built images.</summary>
    public RecipeImageSource(string imagesDirectory, ImageCache cache, ImageBuilder builder)
    {
        _imagesDirectory = imagesDirectory;
        _cache = cache;
        _builder = builder;
    }

    /// <summary>The recipes found from the tool's location and the cache named by the environment.</summary>
    public static RecipeImageSource FromEnvironment(TimeProvider time)
    {
        var cache = ImageCache.FromEnvironment();
        return new RecipeImageSource(ImagesDirectory.Locate(), cache, new ImageBuilder(cache, time));
    }

    /// <inheritdoc />
    public async Task<ImageReference> PeekAsync(ImageDefinition image, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(image);
        var recipe = ImageRecipe.Open(_imagesDirectory, image.Recipe);
        var cached = await _cache.TryGetAsync(recipe, cancellationToken).ConfigureAwait(false);
        return new ImageReference(image.Name, cached?.Sha256);
    }

    /// <inheritdoc />
    public async Task<GoldenImageFile> EnsureAsync(ImageDefinition image, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(image);
        var recipe = ImageRecipe.Open(_imagesDirectory, image.Recipe);
        var built = await _builder.EnsureBuiltAsync(recipe, progress, cancellationToken).ConfigureAwait(false);
        return new GoldenImageFile(new ImageReference(image.Name, built.Sha256), built.Path);
    }
}
