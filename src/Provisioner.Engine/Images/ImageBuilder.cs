using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Provisioner.Engine.LocalHost;

namespace Provisioner.Engine.Images;

/// <summary>
/// Makes sure a recipe's golden image is in the <see cref="ImageCache"/>, building it when it is
/// missing or corrupt. The build runs the recipe's <c>build.sh</c> (as root) into a temporary
/// directory inside the recipe's cache directory, which is renamed into place only once the
/// result verifies, so a killed build never leaves a half image in the cache. One build at a
/// time per recipe, across processes: callers serialize on the cache's lock file (flock(2),
/// the same lock <c>images/ensure-image.sh</c> takes), and a caller that waited finds the image
/// the other one built.
/// </summary>
public sealed partial class ImageBuilder
{
    private const int LogTailLines = 60;

    private readonly ImageCache _cache;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;

    /// <summary>Creates a builder for <paramref name="cache"/>.</summary>
    public ImageBuilder(ImageCache cache, TimeProvider? timeProvider = null, ILogger<ImageBuilder>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(cache);
        _cache = cache;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>Interval between attempts to take the lock while another build holds it.</summary>
    public TimeSpan LockPollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a cancelled build gets to clean up (unmount, delete) after SIGTERM before SIGKILL.</summary>
    public TimeSpan TerminateGrace { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The shell that runs build scripts.</summary>
    public string Shell { get; init; } = "/bin/bash";

    /// <summary>
    /// Returns the verified cached image of <paramref name="recipe"/>, building it first if needed.
    /// Build output lines are reported to <paramref name="progress"/> as they are printed.
    /// </summary>
    /// <exception cref="ImageBuildException">The build failed or produced an image that does not verify.</exception>
    public async Task<GoldenImage> EnsureBuiltAsync(
        ImageRecipe recipe, IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(recipe);
        var hash = await recipe.ComputeHashAsync(cancellationToken).ConfigureAwait(false);
        var cached = await TryGetValidAsync(recipe.Name, hash, cancellationToken).ConfigureAwait(false);
        if (cached is not null)
        {
            return cached;
        }

        var recipeDirectory = _cache.GetRecipeDirectory(recipe.Name);
        Directory.CreateDirectory(recipeDirectory);
        var buildLock = await AcquireLockAsync(Path.Combine(recipeDirectory, ImageCache.LockFileName), recipe.Name, progress, cancellationToken)
            .ConfigureAwait(false);
        await using (buildLock.ConfigureAwait(false))
        {
            // Whoever held the lock may just have built it.
            cached = await TryGetValidAsync(recipe.Name, hash, cancellationToken).ConfigureAwait(false);
            if (cached is not null)
            {
                return cached;
            }

            return await BuildLockedAsync(recipe, hash, recipeDirectory, progress, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<GoldenImage?> TryGetValidAsync(string name, string hash, CancellationToken cancellationToken)
    {
        try
        {
            var image = await _cache.TryGetAsync(name, hash, cancellationToken).ConfigureAwait(false);
            if (image is not null)
            {
                LogCacheHit(_logger, name, hash, image.Path);
            }

            return image;
        }
        catch (CorruptImageException e)
        {
            // Rebuilt under the lock; deleting here could race a reader that holds the lock.
            LogCorrupt(_logger, name, e.Message);
            return null;
        }
    }

    private async Task<GoldenImage> BuildLockedAsync(
        ImageRecipe recipe, string hash, string recipeDirectory, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        var final = _cache.GetImageDirectory(recipe.Name, hash);
        if (Directory.Exists(final))
        {
            // Still here under the lock, so it failed verification above.
            DeleteTree(final);
        }

        // With the lock held no build is running: anything temporary is left from a killed one.
        foreach (var stale in Directory.EnumerateDirectories(recipeDirectory, ImageCache.TemporaryPrefix + "*"))
        {
            LogRemovingStale(_logger, stale);
            DeleteTree(stale);
        }

        var temporary = Path.Combine(
            recipeDirectory, ImageCache.TemporaryPrefix + hash + "-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        LogBuilding(_logger, recipe.Name, hash, temporary);
        progress?.Report($"building image {recipe.Name} (recipe {hash})");
        var started = _timeProvider.GetTimestamp();

        ChildProcessResult result;
        try
        {
            result = await ChildProcess.RunAsync(
                Shell,
                [recipe.BuildScriptPath, temporary],
                new Dictionary<string, string>(StringComparer.Ordinal) { [ImageCache.CacheVariable] = _cache.RootDirectory },
                progress is null ? null : progress.Report,
                LogTailLines,
                TerminateGrace,
                cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            DeleteTree(temporary);
            throw;
        }

        if (result.ExitCode != 0)
        {
            DeleteTree(temporary);
            throw new ImageBuildException(
                recipe.Name,
                result.ExitCode,
                result.OutputTail,
                $"{recipe.BuildScriptPath} exited with {result.ExitCode.ToString(CultureInfo.InvariantCulture)}");
        }

        try
        {
            await ImageCache.VerifyAsync(temporary, recipe.Name, hash, cancellationToken).ConfigureAwait(false);
        }
        catch (CorruptImageException e)
        {
            DeleteTree(temporary);
            throw new ImageBuildException(recipe.Name, 0, result.OutputTail, "the built image does not verify: " + e.Message);
        }

        // rename(2): the entry appears complete or not at all.
        Directory.Move(temporary, final);
        var elapsed = _timeProvider.GetElapsedTime(started);
        LogBuilt(_logger, recipe.Name, hash, elapsed.TotalSeconds);
        return await ImageCache.VerifyAsync(final, recipe.Name, hash, cancellationToken).ConfigureAwait(false);
    }

    private async Task<FileStream> AcquireLockAsync(string lockPath, string name, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        var reported = false;
        while (true)
        {
            try
            {
                // FileShare.None takes an exclusive flock(2) on Linux: the same lock `flock` takes in ensure-image.sh.
                return new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (File.Exists(lockPath))
            {
                if (!reported)
                {
                    progress?.Report($"waiting for another build of image {name} ({lockPath})");
                    reported = true;
                }

                await Task.Delay(LockPollInterval, _timeProvider, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static void DeleteTree(string path)
    {
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
    }

    [LoggerMessage(EventId = 3101, Level = LogLevel.Debug, Message = "Image {Name} (recipe {RecipeHash}) found in cache at {Path}")]
    private static partial void LogCacheHit(ILogger logger, string name, string recipeHash, string path);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Warning, Message = "Cached image {Name} fails verification and will be rebuilt: {Reason}")]
    private static partial void LogCorrupt(ILogger logger, string name, string reason);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Information, Message = "Building image {Name} (recipe {RecipeHash}) in {Directory}")]
    private static partial void LogBuilding(ILogger logger, string name, string recipeHash, string directory);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Information, Message = "Built image {Name} (recipe {RecipeHash}) in {Seconds:F0} s")]
    private static partial void LogBuilt(ILogger logger, string name, string recipeHash, double seconds);

    [LoggerMessage(EventId = 3105, Level = LogLevel.Warning, Message = "Removing the remains of an interrupted image build: {Directory}")]
    private static partial void LogRemovingStale(ILogger logger, string directory);
}
