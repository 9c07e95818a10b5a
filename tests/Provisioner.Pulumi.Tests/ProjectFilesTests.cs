using System.Text.Json;
using System.Text.RegularExpressions;
using Provisioner.Core.Stacks;
using YamlDotNet.RepresentationModel;

namespace Provisioner.Pulumi.Tests;

/// <summary>Pulumi.yaml and every stacks/Pulumi.*.yaml checked against the plugin's own schema.</summary>
public sealed partial class ProjectFilesTests
{
    private static readonly JsonElement Schema = JsonDocument.Parse(ResourceProviderService.Schema).RootElement;

    private static YamlMappingNode Load(string path)
    {
        var yaml = new YamlStream();
        using var reader = new StreamReader(path);
        yaml.Load(reader);
        return (YamlMappingNode)yaml.Documents[0].RootNode;
    }

    private static YamlMappingNode Project => Load(Path.Combine(PluginProcess.RepoRoot, "Pulumi.yaml"));

    private static YamlNode? Get(YamlMappingNode map, string key) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out var v) ? v : null;

    public static TheoryData<string> StackFiles() =>
        [.. Directory.GetFiles(Path.Combine(PluginProcess.RepoRoot, "stacks"), "Pulumi.*.yaml").Select(f => Path.GetFileName(f)!).Order()];

    [Fact]
    public void PulumiYaml_ReferencesThePluginByPath_WithStackConfigDir()
    {
        var project = Project;
        Assert.Equal("stacks", ((YamlScalarNode)Get(project, "stackConfigDir")!).Value);
        var provider = (YamlMappingNode)((YamlSequenceNode)Get((YamlMappingNode)Get(project, "plugins")!, "providers")!)[0];
        Assert.Equal("provisioner", ((YamlScalarNode)Get(provider, "name")!).Value);
        Assert.False(string.IsNullOrWhiteSpace(((YamlScalarNode)Get(provider, "path")!).Value));
    }

    [Fact]
    public void PulumiYaml_EveryResourceTypeExists_AndEveryRequiredInputIsGiven()
    {
        var resources = (YamlMappingNode)Get(Project, "resources")!;
        Assert.NotEmpty(resources.Children);
        foreach (var (key, value) in resources.Children)
        {
            var resource = (YamlMappingNode)value;
            var type = ((YamlScalarNode)Get(resource, "type")!).Value!;
            Assert.True(Schema.GetProperty("resources").TryGetProperty(type, out var schemaResource), $"{key}: type {type} is not in the schema");
            var given = Get(resource, "properties") is YamlMappingNode p ? p.Children.Keys.Select(k => ((YamlScalarNode)k).Value!).ToHashSet() : [];
            foreach (var required in schemaResource.GetProperty("requiredInputs").EnumerateArray().Select(r => r.GetString()!))
            {
                Assert.True(given.Contains(required), $"{key}: required input '{required}' of {type} is missing");
            }

            foreach (var name in given)
            {
                Assert.True(schemaResource.GetProperty("inputProperties").TryGetProperty(name, out _), $"{key}: '{name}' is not an input of {type}");
            }
        }
    }

    [Fact]
    public void PulumiYaml_EveryReferenceResolves_ToAResourceOutputFunctionOrDeclaredConfig()
    {
        var project = Project;
        var resources = ((YamlMappingNode)Get(project, "resources")!).Children.ToDictionary(c => ((YamlScalarNode)c.Key).Value!, c => ((YamlScalarNode)Get((YamlMappingNode)c.Value, "type")!).Value!);
        var variables = Get(project, "variables") is YamlMappingNode v ? v.Children.Keys.Select(k => ((YamlScalarNode)k).Value!).ToHashSet() : [];
        var config = Get(project, "config") is YamlMappingNode c ? c.Children.Keys.Select(k => ((YamlScalarNode)k).Value!).ToHashSet() : [];
        var text = File.ReadAllText(Path.Combine(PluginProcess.RepoRoot, "Pulumi.yaml"));
        foreach (Match m in Reference().Matches(text))
        {
            var root = m.Groups["root"].Value;
            var property = m.Groups["prop"].Value;
            if (resources.TryGetValue(root, out var type))
            {
                Assert.True(Schema.GetProperty("resources").GetProperty(type).GetProperty("properties").TryGetProperty(property, out _), $"${{{root}.{property}}}: {type} has no output '{property}'");
            }
            else
            {
                Assert.True(variables.Contains(root) || config.Contains(root) || root == "pulumi", $"${{{root}}} is neither a resource, a variable nor a config key declared in Pulumi.yaml");
            }
        }

        foreach (Match m in InvokedFunction().Matches(text))
        {
            Assert.True(Schema.GetProperty("functions").TryGetProperty(m.Groups["fn"].Value, out _), $"function {m.Groups["fn"].Value} is not in the schema");
        }
    }

    [Theory]
    [MemberData(nameof(StackFiles))]
    public void StackFile_EveryProviderKeyDeclared_RequiredPresent_AndValidForTheCli(string file)
    {
        var path = Path.Combine(PluginProcess.RepoRoot, "stacks", file);
        var config = (YamlMappingNode)Get(Load(path), "config")!;
        var keys = config.Children.Keys.Select(k => ((YamlScalarNode)k).Value!).ToList();
        var variables = Schema.GetProperty("config").GetProperty("variables");
        var projectConfig = Get(Project, "config") is YamlMappingNode c ? c.Children.Keys.Select(k => ((YamlScalarNode)k).Value!).ToHashSet() : [];
        foreach (var key in keys)
        {
            if (key.StartsWith("provisioner:", StringComparison.Ordinal))
            {
                Assert.True(variables.TryGetProperty(key["provisioner:".Length..], out _), $"{file}: {key} is not a config variable of the provider schema");
            }
            else
            {
                var local = key.StartsWith("provisioner-project:", StringComparison.Ordinal) ? key[(key.IndexOf(':', StringComparison.Ordinal) + 1)..] : key;
                Assert.True(projectConfig.Contains(local), $"{file}: {key} is not declared in Pulumi.yaml's config");
            }
        }

        foreach (var required in Schema.GetProperty("config").GetProperty("required").EnumerateArray().Select(r => "provisioner:" + r.GetString()))
        {
            Assert.Contains(required, keys);
        }

        // And the stack itself is valid exactly as the CLI reads it.
        var stack = StackLoader.LoadFile(path);
        Assert.NotEmpty(stack.Nodes);
    }

    [Fact]
    public void PulumiYaml_NodeResources_NameNodesOfTheDevStack()
    {
        var dev = StackLoader.LoadFile(Path.Combine(PluginProcess.RepoRoot, "stacks", "Pulumi.dev.yaml"));
        var resources = (YamlMappingNode)Get(Project, "resources")!;
        foreach (var (_, value) in resources.Children)
        {
            var resource = (YamlMappingNode)value;
            if (((YamlScalarNode)Get(resource, "type")!).Value == "provisioner:index:Node")
            {
                var name = ((YamlScalarNode)Get((YamlMappingNode)Get(resource, "properties")!, "name")!).Value!;
                Assert.NotNull(dev.FindNode(name));
            }
        }
    }

    [GeneratedRegex(@"\$\{(?<root>[A-Za-z0-9_\-]+)(\.(?<prop>[A-Za-z0-9_]+))?")]
    private static partial Regex Reference();

    [GeneratedRegex(@"function:\s*(?<fn>[a-z]+:[a-z]+:[A-Za-z]+)")]
    private static partial Regex InvokedFunction();
}
