using System.Text.Json;
using System.Xml.Linq;
using Provisioner.Core.Security;
using Provisioner.Core.Templates;
using YamlDotNet.RepresentationModel;

namespace Provisioner.Core.Tests.Templates;

public sealed class TemplateRendererTests : IDisposable
{
    /// <summary>Values that would change the document's structure if they reached it unescaped.</summary>
    public static TheoryData<string> HostileValues => new()
    {
        "it's \"quoted\"",
        "</name><evil attr='1'/><name>",
        "]]><!-- comment --><![CDATA[",
        "&amp; &lt; &#x41; &unknown;",
        "line one\nline two\r\n\ttabbed",
        "{{ 6 * 7 }} {% raw %} {{~ end ~}}",
        "key: value\n- item\n? complex\n# comment",
        "!!python/object/apply:os.system ['id']",
        "*alias &anchor | > %TAG ! tag:x,2000:",
        "\"}, \"injected\": true, \"x\": {\"",
        "back\\slash \\\" \\u0041",
        "unicode: æøå 😀 \u2028 \u0085",
    };

    private readonly string _dir = Directory.CreateTempSubdirectory("tpltest-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [MemberData(nameof(HostileValues))]
    public void Render_XmlTemplateWithHostileValue_ValueStaysTextAndAttributeData(string value)
    {
        var renderer = WithTemplate("t.xml.sbn", "<root a='{{ v }}' b=\"{{ v }}\"><text>{{ v }}</text></root>\n");

        var xml = renderer.Render("t.xml.sbn", new Dictionary<string, object?> { ["v"] = value });

        var root = XElement.Parse(xml);
        Assert.Equal(value.Replace("\r\n", "\n", StringComparison.Ordinal), root.Element("text")!.Value.Replace("\r\n", "\n", StringComparison.Ordinal));
        Assert.Equal(value, (string?)root.Attribute("a"));
        Assert.Equal(value, (string?)root.Attribute("b"));
        Assert.Single(root.Elements());
        Assert.Equal(2, root.Attributes().Count());
        Assert.Empty(root.DescendantNodes().OfType<XComment>());
        Assert.Empty(root.DescendantNodes().OfType<XCData>());
    }

    [Theory]
    [MemberData(nameof(HostileValues))]
    public void Render_YamlTemplateWithHostileValue_ValueStaysOneStringScalar(string value)
    {
        var renderer = WithTemplate("t.yaml.sbn", "key: {{ v }}\nlist:\n  - {{ v }}\nother: fixed\n");

        var yaml = renderer.Render("t.yaml.sbn", new Dictionary<string, object?> { ["v"] = value });

        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        var root = (YamlMappingNode)Assert.Single(stream.Documents).RootNode;
        Assert.Equal(3, root.Children.Count);
        var scalar = (YamlScalarNode)root["key"];
        Assert.Equal(value, scalar.Value);
        Assert.True(scalar.Tag.IsEmpty, "no tag may reach the document");
        Assert.Equal(value, ((YamlScalarNode)Assert.Single((YamlSequenceNode)root["list"])).Value);
        Assert.Equal("fixed", ((YamlScalarNode)root["other"]).Value);
    }

    [Theory]
    [MemberData(nameof(HostileValues))]
    public void Render_JsonTemplateWithHostileValue_ValueStaysOneString(string value)
    {
        var renderer = WithTemplate("t.json.sbn", "{ \"key\": {{ v }}, \"n\": {{ n }}, \"b\": {{ b }} }\n");

        var json = renderer.Render("t.json.sbn", new Dictionary<string, object?> { ["v"] = value, ["n"] = 42, ["b"] = true });

        using var document = JsonDocument.Parse(json);
        Assert.Equal(3, document.RootElement.EnumerateObject().Count());
        Assert.Equal(value, document.RootElement.GetProperty("key").GetString());
        Assert.Equal(42, document.RootElement.GetProperty("n").GetInt32());
        Assert.True(document.RootElement.GetProperty("b").GetBoolean());
    }

    [Fact]
    public void Render_ValueLooksLikeTemplateCode_IsNotEvaluated()
    {
        var renderer = WithTemplate("t.xml.sbn", "<r>{{ v }}</r>");

        var xml = renderer.Render("t.xml.sbn", new Dictionary<string, object?> { ["v"] = "{{ 6 * 7 }}" });

        Assert.Equal("<r>{{ 6 * 7 }}</r>", xml);
    }

    [Fact]
    public void Render_XmlIllegalCharacter_IsRejectedNotDropped()
    {
        var renderer = WithTemplate("t.xml.sbn", "<r>{{ v }}</r>");

        var e = Assert.Throws<TemplateRenderException>(() => renderer.Render("t.xml.sbn", new Dictionary<string, object?> { ["v"] = "a\u0001b" }));

        Assert.Contains("U+0001", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_XmlFragmentFromOurRenderer_IsInsertedAsMarkup()
    {
        var renderer = WithTemplate("t.xml.sbn", "<r>{{ m }}</r>");
        var fragment = Samples.Renderer().RenderNodeMetadata(Samples.NodeMetadata());

        var xml = renderer.Render("t.xml.sbn", new Dictionary<string, object?> { ["m"] = fragment });

        Assert.Equal(Samples.NodeMetadata(), NodeMetadata.Parse(XElement.Parse(xml).Element("node")!.ToString()));
    }

    [Fact]
    public void Render_XmlFragmentIntoYaml_IsRejected()
    {
        var renderer = WithTemplate("t.yaml.sbn", "k: {{ m }}");
        var fragment = Samples.Renderer().RenderNodeMetadata(Samples.NodeMetadata());

        Assert.Throws<TemplateRenderException>(() => renderer.Render("t.yaml.sbn", new Dictionary<string, object?> { ["m"] = fragment }));
    }

    [Fact]
    public void Render_SecretValue_IsRejectedRatherThanRedactedOrRevealed()
    {
        var renderer = WithTemplate("t.json.sbn", "{{ s }}");

        Assert.Throws<TemplateRenderException>(() => renderer.Render("t.json.sbn", new Dictionary<string, object?> { ["s"] = new Secret("hunter2") }));
    }

    [Fact]
    public void Render_NestedDictionariesAndLists_AreReachable()
    {
        var renderer = WithTemplate("t.json.sbn", "[{{ for x in items }}{{ x.name }}{{ if !for.last }},{{ end }}{{ end }}]");
        var model = new Dictionary<string, object?>
        {
            ["items"] = new List<object?>
            {
                new Dictionary<string, object?> { ["name"] = "a" },
                new Dictionary<string, object?> { ["name"] = "b\"" },
            },
        };

        var json = renderer.Render("t.json.sbn", model);

        Assert.Equal("[\"a\",\"b\\\"\"]", json);
    }

    [Theory]
    [InlineData("t.txt.sbn")]
    [InlineData("t.sh.sbn")]
    public void Render_LanguageWithoutEscapingRule_IsRejected(string name)
    {
        var renderer = WithTemplate(name, "{{ v }}");

        var e = Assert.Throws<TemplateRenderException>(() => renderer.Render(name, new Dictionary<string, object?> { ["v"] = "x" }));

        Assert.Contains("no escaping rule", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("../t.xml.sbn")]
    [InlineData("/etc/t.xml.sbn")]
    [InlineData("a/../../t.xml.sbn")]
    [InlineData("t.xml")]
    public void Render_NameOutsideTemplatesFolder_IsRejected(string name)
    {
        var renderer = new TemplateRenderer(_dir);

        Assert.Throws<TemplateRenderException>(() => renderer.Render(name, new Dictionary<string, object?>()));
    }

    [Fact]
    public void Render_UndefinedVariable_FailsInsteadOfRenderingEmpty()
    {
        var renderer = WithTemplate("t.xml.sbn", "<r a='{{ misspelt }}'/>");

        Assert.Throws<TemplateRenderException>(() => renderer.Render("t.xml.sbn", new Dictionary<string, object?>()));
    }

    [Fact]
    public void Render_TemplateWithSyntaxError_NamesTheTemplate()
    {
        var renderer = WithTemplate("bad.xml.sbn", "<r>{{ if }}</r>");

        var e = Assert.Throws<TemplateRenderException>(() => renderer.Render("bad.xml.sbn", new Dictionary<string, object?>()));

        Assert.Contains("bad.xml.sbn", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_MissingTemplate_NamesTheTemplate()
    {
        var e = Assert.Throws<TemplateRenderException>(() => new TemplateRenderer(_dir).Render("none.xml.sbn", new Dictionary<string, object?>()));

        Assert.Contains("none.xml.sbn", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FindDefaultDirectory_BuildOutput_HoldsCopyOfRepositoryTemplates()
    {
        var shipped = TemplateRenderer.FindDefaultDirectory();
        var source = Path.GetFullPath(Path.Combine(Golden.TestFilesDirectory(), "..", "..", "..", "templates"));

        var sourceFiles = Directory.GetFiles(source, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(source, f)).Order().ToList();
        var shippedFiles = Directory.GetFiles(shipped, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(shipped, f)).Order().ToList();
        Assert.Equal(sourceFiles, shippedFiles);
        Assert.All(sourceFiles, f => Assert.Equal(File.ReadAllText(Path.Combine(source, f)), File.ReadAllText(Path.Combine(shipped, f))));
    }

    [Theory]
    [MemberData(nameof(HostileValues))]
    public void RenderDomain_HostileFreeTextFields_RoundTripAsData(string value)
    {
        var path = "/srv/" + value.Replace("\n", "", StringComparison.Ordinal).Replace("\r", "", StringComparison.Ordinal).Replace("\t", "", StringComparison.Ordinal)
            .Replace("\u2028", "", StringComparison.Ordinal).Replace("\u0085", "", StringComparison.Ordinal);
        var singleLine = path[5..];
        var metadata = Samples.NodeMetadata() with { Role = singleLine, Stack = singleLine, DefinitionHash = singleLine, HostKeyFingerprint = singleLine };
        var spec = Samples.Domain(DomainType.Qemu, DiskBus.Virtio) with
        {
            SerialLogPath = path,
            EmulatorPath = path,
            CloudInitSeed = DiskSource.FromFile(path),
            Metadata = metadata,
        };

        var xml = Samples.Renderer().RenderDomain(spec);

        var domain = XElement.Parse(xml);
        Assert.Equal(path, (string?)domain.Element("devices")!.Element("serial")!.Element("log")!.Attribute("file"));
        Assert.Equal(path, domain.Element("devices")!.Element("emulator")!.Value);
        Assert.Equal(metadata, NodeMetadata.Parse(xml));
        Assert.Empty(domain.DescendantNodes().OfType<XComment>());
        Assert.Empty(domain.DescendantNodes().OfType<XCData>());
        var safe = XElement.Parse(Samples.Renderer().RenderDomain(Samples.Domain(DomainType.Qemu, DiskBus.Virtio) with { EmulatorPath = "/usr/bin/qemu-system-x86_64" }));
        Assert.Equal(safe.Descendants().Count(), domain.Descendants().Count());
    }

    private TemplateRenderer WithTemplate(string name, string text)
    {
        File.WriteAllText(Path.Combine(_dir, name), text);
        return new TemplateRenderer(_dir);
    }
}
