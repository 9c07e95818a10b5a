namespace Provisioner.Engine.Tests.Images;

/// <summary>A directory under the system temp folder, deleted on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = Directory.CreateTempSubdirectory("pv-images-test-").FullName;
    }

    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public string Write(string relativePath, string content)
    {
        var full = Combine(relativePath);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        File.WriteAllText(full, content);
        return full;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}

/// <summary>Where the repository's real files are, for tests that check them.</summary>
internal static class Repository
{
    public static string ImagesDirectory =>
        Provisioner.Engine.Images.ImagesDirectory.Locate(null, AppContext.BaseDirectory);

    public static string Root => System.IO.Path.GetDirectoryName(ImagesDirectory)!;

    public static bool HasCommand(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/sbin"])
            .Any(d => File.Exists(System.IO.Path.Combine(d, name)));

    /// <summary>
    /// Skips with <paramref name="reason"/> when a prerequisite is missing, except in CI
    /// (<c>CI=true</c>), where prerequisites are installed and a missing one is a failure.
    /// </summary>
    public static void Require(bool condition, string reason)
    {
        if (condition)
        {
            return;
        }

        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            Assert.Fail("prerequisite missing in CI: " + reason);
        }

        Assert.Skip(reason);
    }
}
