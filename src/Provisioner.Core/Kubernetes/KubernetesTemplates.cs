using System.Collections.Concurrent;
using System.Globalization;
using System.Text.RegularExpressions;
using Provisioner.Core.Templates;
using Scriban;
using Scriban.Parsing;
using Scriban.Runtime;

namespace Provisioner.Core.Kubernetes;

/// <summary>
/// The node files under <c>templates/kubernetes/</c> that are not YAML: containerd's TOML, sysctl and modules-load
/// lists, the APT source and pin, keepalived's configuration and the audit policy. Static files are read as they
/// are; <c>*.sbn</c> files are Scriban templates rendered by a context that writes only <em>tokens</em> (numbers,
/// booleans, and strings of letters, digits and <c>._:/@+=%~-</c>), refusing anything else. These line-oriented
/// formats have no quoting that every consumer agrees on, so a value that could need escaping (a space, a quote,
/// <c>#</c>, a brace, a line break) is refused instead of escaped: it can never start a new directive.
/// </summary>
public sealed partial class KubernetesTemplates
{
    private const string Folder = "kubernetes";
    private readonly ConcurrentDictionary<string, Template> _cache = new(StringComparer.Ordinal);

    /// <summary>Templates under <paramref name="templatesDirectory"/>/kubernetes.</summary>
    public KubernetesTemplates(string templatesDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(templatesDirectory);
        TemplatesDirectory = Path.GetFullPath(templatesDirectory);
    }

    /// <summary>The templates folder (the one holding <c>kubernetes/</c>).</summary>
    public string TemplatesDirectory { get; }

    /// <summary>The templates shipped next to the binaries.</summary>
    public static KubernetesTemplates CreateDefault() => new(TemplateRenderer.FindDefaultDirectory());

    /// <summary>A static file's text, e.g. <c>audit-policy.yaml</c>.</summary>
    public string Read(string name)
    {
        var path = PathOf(name);
        return File.ReadAllText(path).ReplaceLineEndings("\n");
    }

    /// <summary>Renders <c>kubernetes/<paramref name="name"/></c> (a <c>.sbn</c> file) with <paramref name="model"/>.</summary>
    /// <exception cref="TemplateRenderException">A value is not a token, or the template is broken.</exception>
    public string Render(string name, IReadOnlyDictionary<string, object?> model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var template = _cache.GetOrAdd(name, n =>
        {
            var parsed = Template.Parse(File.ReadAllText(PathOf(n)).ReplaceLineEndings("\n"), n);
            return parsed.HasErrors ? throw new TemplateRenderException($"template '{n}' does not parse: {string.Join("; ", parsed.Messages)}") : parsed;
        });
        var context = new TokenTemplateContext();
        context.PushGlobal(ToScriptObject(model));
        try
        {
            return template.Render(context);
        }
        catch (Scriban.Syntax.ScriptRuntimeException e)
        {
            throw new TemplateRenderException($"template '{name}': {e.OriginalMessage}", e);
        }
    }

    private static ScriptObject ToScriptObject(IReadOnlyDictionary<string, object?> map)
    {
        var result = new ScriptObject();
        foreach (var (key, value) in map)
        {
            result.Add(key, ToScript(value));
        }

        return result;
    }

    private static object? ToScript(object? value) => value switch
    {
        null or string or bool or int or long => value,
        IReadOnlyDictionary<string, object?> map => ToScriptObject(map),
        System.Collections.IEnumerable list => new ScriptArray(list.Cast<object?>().Select(ToScript)),
        _ => throw new TemplateRenderException($"values of type {value.GetType().Name} cannot be passed to a template"),
    };

    private string PathOf(string name)
    {
        if (!NamePattern().IsMatch(name))
        {
            throw new TemplateRenderException($"'{name}' is not a template name under {Folder}/");
        }

        var path = Path.Combine(TemplatesDirectory, Folder, name);
        return File.Exists(path) ? path : throw new TemplateRenderException($"template '{Folder}/{name}' not found under '{TemplatesDirectory}'");
    }

    /// <summary>Whether <paramref name="value"/> may be written by a token template.</summary>
    internal static bool IsToken(string value) => TokenPattern().IsMatch(value);

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]*\\z", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[A-Za-z0-9._:/@+=%~-]+\\z", RegexOptions.CultureInvariant)]
    private static partial Regex TokenPattern();

    private sealed class TokenTemplateContext : TemplateContext
    {
        public TokenTemplateContext()
        {
            StrictVariables = true;
            TemplateLoader = null;
            EnableRelaxedMemberAccess = false;
            NewLine = "\n";
            LoopLimit = 10_000;
        }

        public override TemplateContext Write(SourceSpan span, object? textAsObject) => base.Write(span, Token(textAsObject));

        public override ValueTask<TemplateContext> WriteAsync(SourceSpan span, object? textAsObject) => base.WriteAsync(span, Token(textAsObject));

        private static string Token(object? value) => value switch
        {
            bool b => b ? "true" : "false",
            int or long or uint or ulong => Convert.ToString(value, CultureInfo.InvariantCulture)!,
            string s when IsToken(s) => s,
            string s => throw new TemplateRenderException($"'{s}' is not a token (letters, digits and ._:/@+=%~-): refused rather than escaped"),
            null => throw new TemplateRenderException("a null value cannot be written"),
            _ => throw new TemplateRenderException($"values of type {value.GetType().Name} cannot be written"),
        };
    }
}
