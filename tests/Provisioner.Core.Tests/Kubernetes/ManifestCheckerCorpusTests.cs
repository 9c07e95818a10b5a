using Provisioner.Core.Kubernetes.Check;
using Provisioner.Core.Tests.Templates;

namespace Provisioner.Core.Tests.Kubernetes;

/// <summary>
/// Runs tests/corpus/k8s-check: good manifests pass, each bad manifest yields exactly its .expected violations.
/// PROVISIONER_BLESS=1 rewrites the .expected files (review the diff like code).
/// </summary>
public sealed class ManifestCheckerCorpusTests
{
    private static readonly string Corpus = Path.GetFullPath(Path.Combine(Golden.TestFilesDirectory(), "..", "..", "corpus", "k8s-check"));

    private static ManifestChecker Checker => new(KubernetesSamples.Rules("1.34.2", userNamespaces: false));

    public static TheoryData<string> GoodFiles() => new(Directory.GetFiles(Path.Combine(Corpus, "good"), "*.yaml").Select(Path.GetFileName).Order()!);

    public static TheoryData<string> BadFiles() => new(Directory.GetFiles(Path.Combine(Corpus, "bad"), "*.yaml").Select(Path.GetFileName).Order()!);

    [Theory]
    [MemberData(nameof(GoodFiles))]
    public void Check_GoodManifest_HasNoViolation(string file)
    {
        var result = Checker.Check(file, File.ReadAllText(Path.Combine(Corpus, "good", file)));

        Assert.Null(result.ParseError);
        Assert.NotEmpty(result.Objects);
        Assert.False(result.HasViolations, ManifestChecker.Format([result]));
    }

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void Check_BadManifest_HasExactlyTheExpectedViolations(string file)
    {
        var result = Checker.Check(file, File.ReadAllText(Path.Combine(Corpus, "bad", file)));
        var actual = result.Objects
            .SelectMany(o => o.Violations.Select(v => $"{o.Kind}/{o.Name} {v.Source}/{v.Rule} {v.Path}"))
            .ToList();
        var expectedFile = Path.Combine(Corpus, "bad", Path.ChangeExtension(file, ".expected"));
        if (Environment.GetEnvironmentVariable(Golden.BlessVariable) == "1")
        {
            File.WriteAllText(expectedFile, string.Join('\n', actual) + "\n");
            return;
        }

        var expected = File.ReadAllLines(expectedFile).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        Assert.NotEmpty(expected);
        Assert.Equal(expected.Order(StringComparer.Ordinal), actual.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Corpus_EveryBadManifest_HasAnExpectedFile()
    {
        foreach (var file in Directory.GetFiles(Path.Combine(Corpus, "bad"), "*.yaml"))
        {
            Assert.True(File.Exists(Path.ChangeExtension(file, ".expected")), $"{file} has no .expected file");
        }
    }
}
