using System.Diagnostics;
using Provisioner.Engine.Images;

namespace Provisioner.Engine.Tests.Images;

public sealed class ImageRecipeTests
{
    private static TempDirectory SampleRecipe()
    {
        var dir = new TempDirectory();
        dir.Write("build.sh", "#!/bin/bash\necho build\n");
        dir.Write("packages.txt", "cloud-init\nopenssh-server\n");
        dir.Write("overlay/etc/cloud/cloud.cfg.d/10-x.cfg", "datasource_list: [ NoCloud, None ]\n");
        return dir;
    }

    [Fact]
    public async Task ComputeHashAsync_SameContentInTwoPlaces_SameHash()
    {
        using var a = SampleRecipe();
        using var b = SampleRecipe();

        var hashA = await ImageRecipe.ComputeHashAsync(a.Path, TestContext.Current.CancellationToken);
        var hashB = await ImageRecipe.ComputeHashAsync(b.Path, TestContext.Current.CancellationToken);

        Assert.Equal(hashA, hashB);
        Assert.Matches("^[0-9a-f]{64}$", hashA);
    }

    [Fact]
    public async Task ComputeHashAsync_KnownContent_PinnedValue()
    {
        // Pins the format ("<sha256>  <path>\n" per file, sorted by bytes, then sha256) so
        // that a change to it, which would orphan every cached image, is a deliberate one.
        using var dir = new TempDirectory();
        dir.Write("b", "2\n");
        dir.Write("a/z", "1\n");

        var hash = await ImageRecipe.ComputeHashAsync(dir.Path, TestContext.Current.CancellationToken);

        // Value of images/recipe-hash.sh on the same two files.
        Assert.Equal("eb58cb18ce76149d328f875e15f02ed2e3f25cb4756430d53cd4294c5e7a73e2", hash);
        Assert.Equal(ExpectedListingHash(("a/z", "1\n"), ("b", "2\n")), hash);
    }

    [Fact]
    public async Task ComputeHashAsync_FileContentChanged_HashChanges()
    {
        using var dir = SampleRecipe();
        var before = await ImageRecipe.ComputeHashAsync(dir.Path, TestContext.Current.CancellationToken);

        dir.Write("overlay/etc/cloud/cloud.cfg.d/10-x.cfg", "datasource_list: [ NoCloud ]\n");

        Assert.NotEqual(before, await ImageRecipe.ComputeHashAsync(dir.Path, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task ComputeHashAsync_FileAdded_HashChanges()
    {
        using var dir = SampleRecipe();
        var before = await ImageRecipe.ComputeHashAsync(dir.Path, TestContext.Current.CancellationToken);

        dir.Write("overlay/etc/motd", string.Empty);

        Assert.NotEqual(before, await ImageRecipe.ComputeHashAsync(dir.Path, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task ComputeHashAsync_FileRenamedSameContent_HashChanges()
    {
        using var dir = SampleRecipe();
        var before = await ImageRecipe.ComputeHashAsync(dir.Path, TestContext.Current.CancellationToken);

        File.Move(dir.Combine("packages.txt"), dir.Combine("packages2.txt"));

        Assert.NotEqual(before, await ImageRecipe.ComputeHashAsync(dir.Path, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task ComputeHashAsync_SymbolicLinkAdded_HashUnchanged()
    {
        using var dir = SampleRecipe();
        var before = await ImageRecipe.ComputeHashAsync(dir.Path, TestContext.Current.CancellationToken);

        File.CreateSymbolicLink(dir.Combine("link"), dir.Combine("packages.txt"));

        Assert.Equal(before, await ImageRecipe.ComputeHashAsync(dir.Path, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task ComputeHashAsync_SameDirectoryAsRecipeHashScript_SameValue()
    {
        Assert.SkipUnless(Repository.HasCommand("sha256sum") && Repository.HasCommand("bash"), "bash and sha256sum (coreutils) are needed to run images/recipe-hash.sh");
        using var dir = SampleRecipe();
        // Byte order differs from ordinal UTF-16 order here: 'é' (0xC3 0xA9) sorts after 'z'.
        dir.Write("overlay/é", "accent\n");
        dir.Write("overlay/z", "zed\n");
        dir.Write("overlay/Z", "upper\n");
        dir.Write(".hidden", "hidden\n");
        dir.Write("with space", "space\n");

        var expected = await ImageRecipe.ComputeHashAsync(dir.Path, TestContext.Current.CancellationToken);

        Assert.Equal(expected, RunRecipeHashScript(dir.Path));
    }

    [Fact]
    public async Task ComputeHashAsync_RealDebianRecipe_MatchesScript()
    {
        Assert.SkipUnless(Repository.HasCommand("sha256sum") && Repository.HasCommand("bash"), "bash and sha256sum (coreutils) are needed to run images/recipe-hash.sh");
        var recipe = ImageRecipe.Open(Repository.ImagesDirectory, "debian-12");

        var hash = await recipe.ComputeHashAsync(TestContext.Current.CancellationToken);

        Assert.Equal(RunRecipeHashScript(recipe.DirectoryPath), hash);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Debian-12")]
    [InlineData("../etc")]
    [InlineData("debian 12")]
    [InlineData("-debian")]
    public void Open_InvalidName_ThrowsNamingIt(string name)
    {
        using var dir = new TempDirectory();

        var error = Assert.Throws<ImageRecipeException>(() => ImageRecipe.Open(dir.Path, name));

        Assert.Contains($"'{name}'", error.Message);
    }

    [Fact]
    public void Open_NoBuildScript_ThrowsNamingPath()
    {
        using var dir = new TempDirectory();
        dir.Write("debian-12/packages.txt", "x\n");

        var error = Assert.Throws<ImageRecipeException>(() => ImageRecipe.Open(dir.Path, "debian-12"));

        Assert.Contains(Path.Combine(dir.Path, "debian-12", "build.sh"), error.Message);
    }

    [Fact]
    public void Open_ExistingRecipe_PathsPointIntoIt()
    {
        using var dir = new TempDirectory();
        dir.Write("debian-12/build.sh", "#!/bin/bash\n");

        var recipe = ImageRecipe.Open(dir.Path, "debian-12");

        Assert.Equal("debian-12", recipe.Name);
        Assert.Equal(dir.Combine("debian-12"), recipe.DirectoryPath);
        Assert.Equal(dir.Combine("debian-12", "build.sh"), recipe.BuildScriptPath);
    }

    private static string ExpectedListingHash(params (string Path, string Content)[] files)
    {
        var listing = string.Concat(files.Select(f =>
            Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(f.Content))) + "  " + f.Path + "\n"));
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(listing)));
    }

    private static string RunRecipeHashScript(string directory)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(Repository.ImagesDirectory, "recipe-hash.sh"));
        start.ArgumentList.Add(directory);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, "recipe-hash.sh failed: " + error);
        return output.Trim();
    }
}
