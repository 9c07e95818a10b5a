using Provisioner.Core.Stacks;

namespace Provisioner.Core.Tests.Stacks;

/// <summary>Builds small stack files for tests: a valid default per section, overridable one at a time.</summary>
internal static class StackYaml
{
    public const string Ed25519Key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK+sRot3zY7xLHWPOT3JtO/v8quf6VpTNZip6rjZdg8C ops@example.net";

    private static readonly (string Key, string Body)[] Defaults =
    [
        ("hosts", """
            - name: h1
              uri: test:///default
              region: oslo
              zone: a
              pool: {name: p, path: /srv/pool, media: nvme}
            - name: h2
              uri: test:///default
              region: oslo
              zone: b
              pool: {name: p, path: /srv/pool, media: ssd}
            """),
        ("networks", """
            - name: net
              cidr: 10.1.0.0/24
              mode: nat
            """),
        ("image", """
            name: debian-12
            """),
        ("nodes", """
            - name: cp
              role: control-plane
              count: 2
              cpus: 2
              memoryMiB: 2048
              diskGiB: 10
              network: net
            - name: box
              role: sandbox
              cpus: 1
              memoryMiB: 1024
              diskGiB: 4
              diskBus: nvme
              network: net
            """),
        ("placement", """
            region: oslo
            """),
        ("access", $"""
            user: ops
            sshPublicKeys: ["{Ed25519Key}"]
            adminCidrs: [10.1.0.0/24]
            """),
    ];

    /// <summary>
    /// A stack file with the default sections, where <paramref name="overrides"/> replace a section's
    /// body (null removes it) or add one (virtualization, runtime, firewall, kubernetes).
    /// </summary>
    public static string Build(params (string Key, string? Body)[] overrides)
    {
        var sections = Defaults.Select(d => (d.Key, Body: (string?)d.Body)).ToList();
        foreach (var (key, body) in overrides)
        {
            var index = sections.FindIndex(s => s.Key == key);
            if (index >= 0)
            {
                sections[index] = (key, body);
            }
            else
            {
                sections.Add((key, body));
            }
        }

        var lines = new List<string> { "config:" };
        foreach (var (key, body) in sections.Where(s => s.Body is not null))
        {
            lines.Add($"  provisioner:{key}:");
            lines.AddRange(body!.Split('\n').Select(l => "    " + l.TrimEnd('\r')));
        }

        return string.Join('\n', lines) + "\n";
    }

    public static StackDefinition Load(params (string Key, string? Body)[] overrides) =>
        StackLoader.Parse(Build(overrides), "test", "Pulumi.test.yaml");

    /// <summary>The errors of a definition that must be invalid.</summary>
    public static IReadOnlyList<ValidationError> Errors(params (string Key, string? Body)[] overrides) => ErrorsOf(Build(overrides));

    public static IReadOnlyList<ValidationError> ErrorsOf(string yaml, string stackName = "test")
    {
        var ex = Assert.Throws<StackValidationException>(() => StackLoader.Parse(yaml, stackName, "Pulumi.test.yaml"));
        Assert.NotEmpty(ex.Errors);
        return ex.Errors;
    }

    /// <summary>Asserts exactly one error at <paramref name="path"/> whose message contains <paramref name="fragment"/>.</summary>
    public static ValidationError Single(IReadOnlyList<ValidationError> errors, string path, string fragment)
    {
        var at = errors.Where(e => e.Path == path).ToList();
        Assert.True(at.Count == 1, $"expected one error at {path}, got:\n{string.Join("\n", errors)}");
        Assert.True(at[0].Message.Contains(fragment, StringComparison.Ordinal), $"expected '{fragment}' in: {at[0].Message}");
        return at[0];
    }

    /// <summary>Directory holding the repository's stacks/ folder.</summary>
    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "stacks", "Pulumi.dev.yaml")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("stacks/Pulumi.dev.yaml not found above " + AppContext.BaseDirectory);
    }
}
