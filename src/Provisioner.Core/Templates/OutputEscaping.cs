using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;

namespace Provisioner.Core.Templates;

/// <summary>The target language of a template, which decides how every written value is escaped.</summary>
internal enum TemplateLanguage
{
    /// <summary>XML: values become character data safe in both text and quoted attributes.</summary>
    Xml,

    /// <summary>YAML: values become complete double-quoted scalars (strings) or plain numbers/booleans.</summary>
    Yaml,

    /// <summary>JSON: values become complete JSON literals (quoted strings, numbers, booleans, null).</summary>
    Json,

    /// <summary>nftables: only typed firewall tokens and integers, never strings (see <see cref="Hardening.FirewallEscaping"/>).</summary>
    Nftables,

    /// <summary>iptables-restore input: only typed firewall tokens and integers, never strings.</summary>
    Iptables,
}

/// <summary>
/// The escaping rules per target language. They run on every value a template writes, so a template
/// author cannot forget them; the templates have no way to write a value raw.
/// </summary>
internal static class OutputEscaping
{
    /// <summary>Picks the language from the template's file name (<c>x.xml.sbn</c>, <c>x.yaml.sbn</c>, <c>x.json.sbn</c>).</summary>
    public static TemplateLanguage LanguageOf(string templateName)
    {
        var name = templateName.EndsWith(".sbn", StringComparison.Ordinal) ? templateName[..^4] : templateName;
        var extension = Path.GetExtension(name);
        return extension switch
        {
            ".xml" => TemplateLanguage.Xml,
            ".yaml" or ".yml" => TemplateLanguage.Yaml,
            ".json" => TemplateLanguage.Json,
            ".nft" => TemplateLanguage.Nftables,
            ".rules" => TemplateLanguage.Iptables,
            _ => throw new TemplateRenderException(
                $"template '{templateName}': no escaping rule for '{extension}' output; name it *.xml.sbn, *.yaml.sbn or *.json.sbn"),
        };
    }

    public static string Escape(TemplateLanguage language, object? value) => language switch
    {
        TemplateLanguage.Xml => EscapeXml(value),
        TemplateLanguage.Yaml => EscapeYaml(value),
        TemplateLanguage.Json => EscapeJson(value),
        TemplateLanguage.Nftables => Hardening.FirewallEscaping.Nftables(value),
        TemplateLanguage.Iptables => Hardening.FirewallEscaping.Iptables(value),
        _ => throw new ArgumentOutOfRangeException(nameof(language), language, null),
    };

    private static string EscapeXml(object? value) => value switch
    {
        null => string.Empty,
        XmlFragment fragment => fragment.Markup,
        _ => XmlText(FormatScalar(value)),
    };

    /// <summary>
    /// Escapes text for XML character data and for attribute values in either quote style. Line breaks
    /// and tabs become character references so they survive attribute-value normalisation unchanged.
    /// Characters XML 1.0 cannot carry at all (NUL and most C0 controls) are rejected, not dropped.
    /// </summary>
    public static string XmlText(string text)
    {
        StringBuilder? builder = null;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            string? replacement = c switch
            {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&apos;",
                '\n' => "&#10;",
                '\r' => "&#13;",
                '\t' => "&#9;",
                _ when IsXmlChar(text, i) => null,
                _ => throw new TemplateRenderException(
                    $"value contains U+{(int)c:X4}, which XML 1.0 cannot represent"),
            };
            if (replacement is null)
            {
                builder?.Append(c);
                continue;
            }
            builder ??= new StringBuilder(text, 0, i, text.Length + 16);
            builder.Append(replacement);
        }
        return builder?.ToString() ?? text;
    }

    private static bool IsXmlChar(string text, int index)
    {
        var c = text[index];
        if (char.IsHighSurrogate(c))
        {
            return index + 1 < text.Length && char.IsLowSurrogate(text[index + 1]);
        }
        if (char.IsLowSurrogate(c))
        {
            return index > 0 && char.IsHighSurrogate(text[index - 1]);
        }
        return c >= 0x20 && c != '\uFFFE' && c != '\uFFFF';
    }

    private static string EscapeYaml(object? value) => value switch
    {
        null => "null",
        bool b => b ? "true" : "false",
        int or long or uint or ulong => Convert.ToString(value, CultureInfo.InvariantCulture)!,
        XmlFragment => throw new TemplateRenderException("an XML fragment cannot be written into YAML"),
        _ => YamlDoubleQuoted(FormatScalar(value)),
    };

    /// <summary>
    /// A complete YAML double-quoted scalar. Inside double quotes only <c>"</c>, <c>\</c> and
    /// non-printable characters are special, so escaping exactly those makes any text inert data:
    /// no <c>: </c>, <c>- </c>, <c>#</c>, <c>!!tag</c> or line break can change the document's structure.
    /// </summary>
    public static string YamlDoubleQuoted(string text)
    {
        var builder = new StringBuilder(text.Length + 2);
        builder.Append('"');
        foreach (var c in text)
        {
            switch (c)
            {
                case '"': builder.Append("\\\""); break;
                case '\\': builder.Append("\\\\"); break;
                case '\n': builder.Append("\\n"); break;
                case '\r': builder.Append("\\r"); break;
                case '\t': builder.Append("\\t"); break;
                case < ' ' or '\u007F' or '\u0085' or '\u2028' or '\u2029' or '\uFEFF':
                    builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}");
                    break;
                default: builder.Append(c); break;
            }
        }
        builder.Append('"');
        return builder.ToString();
    }

    private static string EscapeJson(object? value) => value switch
    {
        null => "null",
        bool b => b ? "true" : "false",
        int or long or uint or ulong => Convert.ToString(value, CultureInfo.InvariantCulture)!,
        XmlFragment => throw new TemplateRenderException("an XML fragment cannot be written into JSON"),
        _ => "\"" + JavaScriptEncoder.UnsafeRelaxedJsonEscaping.Encode(FormatScalar(value)) + "\"",
    };

    private static string FormatScalar(object value) => value switch
    {
        string s => s,
        bool b => b ? "true" : "false",
        Guid g => g.ToString("D"),
        DateTimeOffset d => MetadataXml.FormatTime(d),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => throw new TemplateRenderException(
            $"a value of type {value.GetType().Name} cannot be written by a template; pass a string or number"),
    };
}
