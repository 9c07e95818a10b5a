using System.Collections.Concurrent;
using System.Diagnostics;
using Provisioner.Engine.Images;

namespace Provisioner.Engine.Tests.Images;

/// <summary>
/// ImageBuilder against a stand-in recipe whose build.sh writes a small fake image the way the
/// real one does (checksum file, manifest with the recipe hash from images/recipe-hash.sh).
/// The script's behaviour is chosen per test through a file in the cache root.
/// </summary>
public sealed class ImageBuilderTests : IDisposable
{
    private const string Name = "fake-1";

    private const string BuildScript = """
        #!/bin/bash
        set -euo pipefail
        out=$1
        dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
        mode=$(cat "$PROVISIONER_CACHE/mode" 2>/dev/null || echo ok)
        echo run >>"$PROVISIONER_CACHE/runs"
        echo "building $mode into $out"
        case "$mode" in
            fail) echo "step one"; echo "boom: mirror unreachable" >&2; exit 3 ;;
            slow) sleep 2 ;;
            hang) trap 'touch "$PROVISIONER_CACHE/terminated"; exit 143' TERM
                  echo started; sleep 60 & wait ;;
        esac
        hash=$("$dir/../recipe-hash.sh" "$dir")
        [[ $mode == badmanifest ]] && hash=$(printf '0%.0s' {1..64})
        mkdir -p "$out"
        printf 'fake image %s' "$hash" >"$out/fake-1.qcow2"
        sha=$(sha256sum "$out/fake-1.qcow2" | cut -d' ' -f1)
        printf '%s  fake-1.qcow2\n' "$sha" >"$out/fake-1.qcow2.sha256"
        printf '{ "name": "fake-1", "recipeHash": "%s", "imageSha256": "%s", "virtualSizeBytes": 1048576 }\n' "$hash" "$sha" >"$out/manifest.json"
        echo done
        """;

    private readonly TempDirectory _images = new();
    private readonly TempDirectory _cacheRoot = new();
    private readonly ImageRecipe _recipe;
    private readonly ImageCache _cache;

    public ImageBuilderTests()
    {
        File.Copy(Path.Combine(Repository.ImagesDirectory, "recipe-hash.sh"), _images.Combine("recipe-hash.sh"));
        _images.Write($"{Name}/build.sh", BuildScript.ReplaceLineEndings("\n") + "\n");
        _images.Write($"{Name}/packages.txt", "none\n");
        _recipe = ImageRecipe.Open(_images.Path, Name);
        _cache = new ImageCache(_cacheRoot.Path);
    }

    public void Dispose()
    {
        _images.Dispose();
        _cacheRoot.Dispose();
    }

    private ImageBuilder NewBuilder() => new(_cache) { LockPollInterval = TimeSpan.FromMilliseconds(50), TerminateGrace = TimeSpan.FromSeconds(10) };

    private void SetMode(string mode) => File.WriteAllText(Path.Combine(_cacheRoot.Path, "mode"), mode);

    private int Runs => File.Exists(Path.Combine(_cacheRoot.Path, "runs")) ? File.ReadAllLines(Path.Combine(_cacheRoot.Path, "runs")).Length : 0;

    private string[] LeftoverTemporaries =>
        Directory.Exists(_cache.GetRecipeDirectory(Name))
            ? Directory.GetDirectories(_cache.GetRecipeDirectory(Name), ImageCache.TemporaryPrefix + "*")
            : [];

    [Fact]
    public async Task EnsureBuiltAsync_NotCached_RunsScriptStreamsLogAndCaches()
    {
        var lines = new ConcurrentQueue<string>();

        var image = await NewBuilder().EnsureBuiltAsync(_recipe, new SynchronousProgress(lines.Enqueue), TestContext.Current.CancellationToken);

        var hash = await _recipe.ComputeHashAsync(TestContext.Current.CancellationToken);
        Assert.Equal(Path.Combine(_cacheRoot.Path, "images", Name, hash, "fake-1.qcow2"), image.Path);
        Assert.Equal(hash, image.RecipeHash);
        Assert.Equal(1048576UL, image.VirtualSizeBytes);
        Assert.Contains(lines, l => l.StartsWith("building ok into ", StringComparison.Ordinal));
        Assert.Contains("done", lines);
        Assert.Equal(1, Runs);
        Assert.Empty(LeftoverTemporaries);
    }

    [Fact]
    public async Task EnsureBuiltAsync_AlreadyCached_DoesNotRunScript()
    {
        var first = await NewBuilder().EnsureBuiltAsync(_recipe, null, TestContext.Current.CancellationToken);

        var second = await NewBuilder().EnsureBuiltAsync(_recipe, null, TestContext.Current.CancellationToken);

        Assert.Equal(first, second);
        Assert.Equal(1, Runs);
    }

    [Fact]
    public async Task EnsureBuiltAsync_RecipeChanged_BuildsNewEntry()
    {
        var first = await NewBuilder().EnsureBuiltAsync(_recipe, null, TestContext.Current.CancellationToken);
        _images.Write($"{Name}/packages.txt", "changed\n");

        var second = await NewBuilder().EnsureBuiltAsync(_recipe, null, TestContext.Current.CancellationToken);

        Assert.NotEqual(first.RecipeHash, second.RecipeHash);
        Assert.Equal(2, Runs);
    }

    [Fact]
    public async Task EnsureBuiltAsync_ScriptFails_ThrowsWithLogTailAndCachesNothing()
    {
        SetMode("fail");

        var error = await Assert.ThrowsAsync<ImageBuildException>(
            () => NewBuilder().EnsureBuiltAsync(_recipe, null, TestContext.Current.CancellationToken));

        Assert.Equal(3, error.ExitCode);
        Assert.Equal(Name, error.RecipeName);
        Assert.Contains("boom: mirror unreachable", error.LogTail);
        Assert.Contains("boom: mirror unreachable", error.Message);
        Assert.Null(await _cache.TryGetAsync(_recipe, TestContext.Current.CancellationToken));
        Assert.Empty(LeftoverTemporaries);
    }

    [Fact]
    public async Task EnsureBuiltAsync_BuiltImageDoesNotVerify_ThrowsAndCachesNothing()
    {
        SetMode("badmanifest");

        var error = await Assert.ThrowsAsync<ImageBuildException>(
            () => NewBuilder().EnsureBuiltAsync(_recipe, null, TestContext.Current.CancellationToken));

        Assert.Contains("does not verify", error.Message);
        Assert.Null(await _cache.TryGetAsync(_recipe, TestContext.Current.CancellationToken));
        Assert.Empty(LeftoverTemporaries);
    }

    [Fact]
    public async Task EnsureBuiltAsync_CachedImageCorrupt_Rebuilds()
    {
        var first = await NewBuilder().EnsureBuiltAsync(_recipe, null, TestContext.Current.CancellationToken);
        await File.AppendAllTextAsync(first.Path, "bit rot", TestContext.Current.CancellationToken);

        var second = await NewBuilder().EnsureBuiltAsync(_recipe, null, TestContext.Current.CancellationToken);

        Assert.Equal(first, second);
        Assert.Equal(2, Runs);
    }

    [Fact]
    public async Task EnsureBuiltAsync_TwoConcurrentCallers_BuildOnce()
    {
        SetMode("slow");

        var results = await Task.WhenAll(
            NewBuilder().EnsureBuiltAsync(_recipe, null, TestContext.Current.CancellationToken),
            NewBuilder().EnsureBuiltAsync(_recipe, null, TestContext.Current.CancellationToken));

        Assert.Equal(results[0], results[1]);
        Assert.Equal(1, Runs);
    }

    [Fact]
    public async Task EnsureBuiltAsync_LockHeldByFlockCommand_WaitsForIt()
    {
        // ensure-image.sh takes the same lock with flock(1); the builder must wait for it.
        Assert.SkipUnless(Repository.HasCommand("flock"), "flock (util-linux) is needed to hold the lock from outside");
        var recipeDirectory = _cache.GetRecipeDirectory(Name);
        Directory.CreateDirectory(recipeDirectory);
        var acquired = Path.Combine(_cacheRoot.Path, "acquired");
        var holder = new ProcessStartInfo("flock") { RedirectStandardError = true };
        foreach (var argument in new[] { Path.Combine(recipeDirectory, ImageCache.LockFileName), "-c", $"touch '{acquired}'; sleep 2" })
        {
            holder.ArgumentList.Add(argument);
        }

        using var shell = Process.Start(holder)!;
        while (!File.Exists(acquired))
        {
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }

        var lines = new ConcurrentQueue<string>();
        await NewBuilder().EnsureBuiltAsync(_recipe, new SynchronousProgress(lines.Enqueue), TestContext.Current.CancellationToken);

        Assert.Contains(lines, l => l.StartsWith("waiting for another build", StringComparison.Ordinal));
        Assert.True(shell.WaitForExit(TimeSpan.FromSeconds(10)));
        Assert.Equal(1, Runs);
    }

    [Fact]
    public async Task EnsureBuiltAsync_LeftoverOfKilledBuild_RemovedBeforeBuilding()
    {
        var stale = Path.Combine(_cache.GetRecipeDirectory(Name), ImageCache.TemporaryPrefix + "deadbeef-1");
        Directory.CreateDirectory(stale);
        File.WriteAllText(Path.Combine(stale, "fake-1.qcow2"), "half");

        await NewBuilder().EnsureBuiltAsync(_recipe, null, TestContext.Current.CancellationToken);

        Assert.False(Directory.Exists(stale));
        Assert.Empty(LeftoverTemporaries);
    }

    [Fact]
    public async Task EnsureBuiltAsync_Cancelled_TerminatesScriptGroupAndCachesNothing()
    {
        SetMode("hang");
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var progress = new SynchronousProgress(line =>
        {
            if (line == "started")
            {
                cancel.Cancel();
            }
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => NewBuilder().EnsureBuiltAsync(_recipe, progress, cancel.Token));

        // The script's TERM trap ran: it can unmount and clean up what it made.
        Assert.True(File.Exists(Path.Combine(_cacheRoot.Path, "terminated")));
        Assert.Null(await _cache.TryGetAsync(_recipe, TestContext.Current.CancellationToken));
        Assert.Empty(LeftoverTemporaries);
    }

    /// <summary>Reports on the calling thread (Progress&lt;T&gt; posts to the thread pool and may report late).</summary>
    private sealed class SynchronousProgress(Action<string> report) : IProgress<string>
    {
        public void Report(string value) => report(value);
    }
}
