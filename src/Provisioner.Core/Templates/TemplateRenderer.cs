using System.Collections;
using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Scriban;
using Scriban.Runtime;

namespace Provisioner.Core.Templates;

/// <summary>
/// Renders the files in <c>templates/</c> with Scriban. Every value a template writes is escaped for
/// the template's target language, chosen by its file name (<c>*.xml.sbn</c>, <c>*.yaml.sbn</c>,
/// <c>*.json.sbn</c>), so escaping is a property of the renderer, not a habit of template authors.
/// Thread-safe; parsed templates are cached.
/// </summary>
public sealed partial class TemplateRenderer
{
    /// <summary>Name of the folder that holds the templates, in the repository and next to the binaries.</summary>
    public const string DirectoryName = "templates";

    private readonly ConcurrentDictionary<string, Template> _cache = new(StringComparer.Ordinal);

    /// <summary>Creates a renderer for the templates under <paramref name="templatesDirectory"/>.</summary>
    public TemplateRenderer(string templatesDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(templatesDirectory);
        TemplatesDirectory = Path.GetFullPath(templatesDirectory);
    }

    /// <summary>The folder templates are loaded from.</summary>
    public string TemplatesDirectory { get; }

    /// <summary>
    /// A renderer for the templates shipped next to the running binaries (the build copies
    /// <c>templates/**</c> into the output of every project that references Provisioner.Core).
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">No templates folder next to the binaries.</exception>
    public static TemplateRenderer CreateDefault() => new(FindDefaultDirectory());

    /// <summary>The <c>templates</c> folder next to the running binaries.</summary>
    /// <exception cref="DirectoryNotFoundException">No templates folder next to the binaries.</exception>
    public static string FindDefaultDirectory()
    {
        var candidate = Path.Combine(AppContext.BaseDirectory, DirectoryName);
        if (File.Exists(Path.Combine(candidate, "libvirt", "domain.xml.sbn")))
        {
            return candidate;
        }
        throw new DirectoryNotFoundException($"no '{DirectoryName}' folder with libvirt/domain.xml.sbn next to the binaries in '{AppContext.BaseDirectory}'");
    }

    /// <summary>Renders a node's domain XML.</summary>
    /// <exception cref="RenderModelException">A value in <paramref name="spec"/> is invalid.</exception>
    public string RenderDomain(DomainSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var model = LibvirtModels.Domain(spec, RenderMetadataFragment("libvirt/node-metadata.xml.sbn", LibvirtModels.NodeMetadata(spec.Metadata, qualified: true, "domain.metadata")));
        return RenderModel("libvirt/domain.xml.sbn", model);
    }

    /// <summary>
    /// Renders the metadata block alone, for virDomainSetMetadata with type ELEMENT, key
    /// <see cref="ProvisionerXml.Prefix"/> and URI <see cref="ProvisionerXml.NodeNamespace"/>. The element
    /// is unqualified (<c>&lt;node&gt;…</c>): libvirt puts it into the namespace itself and rejects an
    /// element that declares one. <see cref="NodeMetadata.Parse"/> reads both this form, which is also
    /// what virDomainGetMetadata returns, and the qualified form inside domain XML.
    /// </summary>
    public XmlFragment RenderNodeMetadata(NodeMetadata metadata) =>
        RenderMetadataFragment("libvirt/node-metadata.xml.sbn", LibvirtModels.NodeMetadata(metadata, qualified: false));

    /// <summary>Renders a network's XML.</summary>
    /// <exception cref="RenderModelException">A value in <paramref name="spec"/> is invalid.</exception>
    public string RenderNetwork(NetworkSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var model = LibvirtModels.Network(spec, RenderMetadataFragment("libvirt/network-metadata.xml.sbn", LibvirtModels.NetworkMetadata(spec.Metadata, qualified: true, "network.metadata")));
        return RenderModel("libvirt/network.xml.sbn", model);
    }

    /// <summary>
    /// Renders the metadata block alone, for virNetworkSetMetadata with type ELEMENT, key
    /// <see cref="ProvisionerXml.Prefix"/> and URI <see cref="ProvisionerXml.NetworkNamespace"/>;
    /// unqualified for the same reason as <see cref="RenderNodeMetadata"/>.
    /// </summary>
    public XmlFragment RenderNetworkMetadata(NetworkMetadata metadata) =>
        RenderMetadataFragment("libvirt/network-metadata.xml.sbn", LibvirtModels.NetworkMetadata(metadata, qualified: false));

    private XmlFragment RenderMetadataFragment(string templateName, ScriptObject model) =>
        new(RenderModel(templateName, model).TrimEnd('\n'));

    /// <summary>Renders a directory storage pool's XML.</summary>
    public string RenderPool(StoragePoolSpec spec) => RenderModel("libvirt/pool.xml.sbn", LibvirtModels.Pool(spec));

    /// <summary>Renders a storage volume's XML.</summary>
    public string RenderVolume(StorageVolumeSpec spec) => RenderModel("libvirt/volume.xml.sbn", LibvirtModels.Volume(spec));

    /// <summary>
    /// Renders any template under <see cref="TemplatesDirectory"/> with a model of plain values: strings,
    /// numbers, booleans, <see cref="Guid"/>, <see cref="DateTimeOffset"/>, <see cref="XmlFragment"/>, and
    /// dictionaries and lists of those. Keys are used as written (use snake_case in templates).
    /// </summary>
    /// <param name="templateName">Path relative to the templates folder with '/' separators, e.g. <c>docker/daemon.json.sbn</c>.</param>
    /// <param name="model">Top-level variables of the template.</param>
    public string Render(string templateName, IReadOnlyDictionary<string, object?> model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return RenderModel(templateName, ToScriptObject(model, "model"));
    }

    private string RenderModel(string templateName, ScriptObject model)
    {
        var template = Load(templateName);
        var context = new EscapingTemplateContext(OutputEscaping.LanguageOf(templateName));
        context.PushGlobal(model);
        try
        {
            return template.Render(context);
        }
        catch (Scriban.Syntax.ScriptRuntimeException e)
        {
            // Escaping failures surface wrapped by Scriban; give the caller our own exception with the cause.
            throw new TemplateRenderException($"template '{templateName}': {e.OriginalMessage}", e);
        }
    }

    private Template Load(string templateName) => _cache.GetOrAdd(templateName, name =>
    {
        if (!TemplateNamePattern().IsMatch(name) || name.Contains("..", StringComparison.Ordinal))
        {
            throw new TemplateRenderException($"'{name}' is not a template name (relative path of lower-case segments ending in .sbn)");
        }
        var path = Path.Combine(TemplatesDirectory, name);
        if (!File.Exists(path))
        {
            throw new TemplateRenderException($"template '{name}' not found under '{TemplatesDirectory}'");
        }
        var template = Template.Parse(File.ReadAllText(path), path);
        if (template.HasErrors)
        {
            throw new TemplateRenderException($"template '{name}' does not parse: {string.Join("; ", template.Messages)}");
        }
        return template;
    });

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*\\.sbn$", RegexOptions.CultureInvariant)]
    private static partial Regex TemplateNamePattern();

    private static object? ToScript(object? value, string path) => value switch
    {
        null or string or bool or int or long or Guid or DateTimeOffset or XmlFragment => value,
        IReadOnlyDictionary<string, object?> map => ToScriptObject(map, path),
        IDictionary dictionary => ToScriptObject(dictionary.Cast<DictionaryEntry>().ToDictionary(e => (string)e.Key, e => e.Value), path),
        IEnumerable list => ToScriptArray(list, path),
        _ => throw new TemplateRenderException($"{path}: values of type {value.GetType().Name} cannot be passed to a template"),
    };

    private static ScriptObject ToScriptObject(IReadOnlyDictionary<string, object?> map, string path)
    {
        var result = new ScriptObject();
        foreach (var (key, item) in map)
        {
            result.Add(key, ToScript(item, $"{path}.{key}"));
        }
        return result;
    }

    private static ScriptArray ToScriptArray(IEnumerable list, string path)
    {
        var result = new ScriptArray();
        var index = 0;
        foreach (var item in list)
        {
            result.Add(ToScript(item, $"{path}[{index++}]"));
        }
        return result;
    }
}
