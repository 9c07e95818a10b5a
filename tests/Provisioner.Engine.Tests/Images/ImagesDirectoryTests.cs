using Provisioner.Engine.Images;

namespace Provisioner.Engine.Tests.Images;

public sealed class ImagesDirectoryTests
{
    [Fact]
    public void Locate_StartBelowRepository_FindsImagesAbove()
    {
        using var repo = new TempDirectory();
        repo.Write("images/recipe-hash.sh", "#!/bin/bash\n");
        var start = repo.Combine("src", "Provisioner.Cli", "bin", "Release", "net10.0");
        Directory.CreateDirectory(start);

        Assert.Equal(repo.Combine("images"), ImagesDirectory.Locate(null, start));
    }

    [Fact]
    public void Locate_PublishedFolderWithImages_FindsItFirst()
    {
        using var repo = new TempDirectory();
        repo.Write("images/recipe-hash.sh", "#!/bin/bash\n");
        repo.Write("publish/images/recipe-hash.sh", "#!/bin/bash\n");

        Assert.Equal(repo.Combine("publish", "images"), ImagesDirectory.Locate(null, repo.Combine("publish")));
    }

    [Fact]
    public void Locate_ImagesWithoutMarker_Skipped()
    {
        using var repo = new TempDirectory();
        repo.Write("images/recipe-hash.sh", "#!/bin/bash\n");
        repo.Write("sub/images/unrelated.png", "png");

        Assert.Equal(repo.Combine("images"), ImagesDirectory.Locate(null, repo.Combine("sub")));
    }

    [Fact]
    public void Locate_Override_WinsOverSearch()
    {
        using var repo = new TempDirectory();
        repo.Write("images/recipe-hash.sh", "#!/bin/bash\n");
        repo.Write("elsewhere/recipe-hash.sh", "#!/bin/bash\n");

        Assert.Equal(repo.Combine("elsewhere"), ImagesDirectory.Locate(repo.Combine("elsewhere"), repo.Path));
    }

    [Fact]
    public void Locate_OverrideNotAnImagesDirectory_ThrowsNamingVariable()
    {
        using var repo = new TempDirectory();

        var error = Assert.Throws<ImageRecipeException>(() => ImagesDirectory.Locate(repo.Path, repo.Path));

        Assert.Contains(ImagesDirectory.OverrideVariable, error.Message);
        Assert.Contains(repo.Path, error.Message);
    }

    [Fact]
    public void Locate_NothingFound_ThrowsNamingStartAndVariable()
    {
        using var empty = new TempDirectory();

        var error = Assert.Throws<ImageRecipeException>(() => ImagesDirectory.Locate(null, empty.Path));

        Assert.Contains(empty.Path, error.Message);
        Assert.Contains(ImagesDirectory.OverrideVariable, error.Message);
    }

    [Fact]
    public void Locate_FromTestBinaries_FindsRepositoryImages()
    {
        var images = ImagesDirectory.Locate(null, AppContext.BaseDirectory);

        Assert.True(File.Exists(Path.Combine(images, "debian-12", "build.sh")));
    }
}
