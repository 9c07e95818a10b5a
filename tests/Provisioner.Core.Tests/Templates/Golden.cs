using System.Runtime.CompilerServices;

namespace Provisioner.Core.Tests.Templates;

/// <summary>
/// Golden files: rendered output compared byte for byte with a reviewed file in TestFiles/.
/// To re-bless after an intended template change, run the tests with PROVISIONER_BLESS=1
/// (e.g. <c>PROVISIONER_BLESS=1 dotnet test tests/Provisioner.Core.Tests</c>): each golden test then
/// rewrites its expected file in the source tree and passes; review the diff like code before committing.
/// </summary>
internal static class Golden
{
    public const string BlessVariable = "PROVISIONER_BLESS";

    public static string TestFilesDirectory([CallerFilePath] string thisFile = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(thisFile)!, "..", "TestFiles"));

    public static void AssertMatches(string fileName, string actual)
    {
        var path = Path.Combine(TestFilesDirectory(), fileName);
        if (Environment.GetEnvironmentVariable(BlessVariable) == "1")
        {
            File.WriteAllText(path, actual);
            return;
        }
        Assert.True(File.Exists(path), $"golden file {path} is missing; run with {BlessVariable}=1 to create it, then review it");
        var expected = File.ReadAllText(path);
        Assert.Equal(expected, actual);
    }
}
