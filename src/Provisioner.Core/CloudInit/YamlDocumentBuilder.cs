using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Provisioner.Core.CloudInit;

/// <summary>
/// Builds YAML as a YamlDotNet node graph and lets YamlDotNet serialise it. Cloud-init documents are
/// data, not text: with a graph, structure comes from our code and every value is a scalar node that
/// the emitter quotes, so no value can add a key, a list item, a tag (<c>!!python/…</c>) or a line —
/// something a text template can only promise if every single value is escaped by hand. Strings are
/// always double-quoted (multi-line ones use literal blocks where YamlDotNet can represent them exactly),
/// so nothing is left to YAML's implicit typing ("no" staying a string, "0644" not becoming a number).
/// </summary>
internal static class YamlDocumentBuilder
{
    public static YamlScalarNode Str(string value) => new(value) { Style = IsLiteralSafe(value) ? ScalarStyle.Literal : ScalarStyle.DoubleQuoted };

    public static YamlScalarNode Bool(bool value) => new(value ? "true" : "false") { Style = ScalarStyle.Plain };

    public static YamlScalarNode Int(long value) => new(value.ToString(CultureInfo.InvariantCulture)) { Style = ScalarStyle.Plain };

    public static YamlSequenceNode Seq(IEnumerable<YamlNode> items) => new(items) { Style = SequenceStyle.Block };

    public static YamlMappingNode Map(params (string Key, YamlNode? Value)[] entries)
    {
        var map = new YamlMappingNode();
        foreach (var (key, value) in entries)
        {
            if (value is not null)
            {
                map.Add(new YamlScalarNode(key) { Style = ScalarStyle.Plain }, value);
            }
        }
        return map;
    }

    /// <summary>Serialises one document, optionally behind a first line such as <c>#cloud-config</c>.</summary>
    public static string Serialize(YamlNode root, string? headerLine = null)
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture) { NewLine = "\n" };
        if (headerLine is not null)
        {
            writer.Write(headerLine);
            writer.Write('\n');
        }
        // No line folding: long values (SSH keys) stay on one line.
        var emitter = new Emitter(writer, EmitterSettings.Default.WithBestWidth(int.MaxValue).WithNewLine("\n"));
        new YamlStream(new YamlDocument(root)).Save(emitter, assignAnchors: false);
        var text = writer.ToString();
        // YamlStream always closes the document with an explicit "..." line; one document needs none.
        // Only the marker can be an unindented "..." line at the very end: values are quoted or indented.
        return text.EndsWith("\n...\n", StringComparison.Ordinal) ? text[..^4] : text;
    }

    /// <summary>
    /// A literal block reproduces the text exactly only for printable text without carriage returns,
    /// tabs, trailing spaces on a line, or leading blank lines; everything else is double-quoted.
    /// </summary>
    private static bool IsLiteralSafe(string value)
    {
        if (!value.Contains('\n', StringComparison.Ordinal) || value.StartsWith('\n') || value.StartsWith(' '))
        {
            return false;
        }
        foreach (var line in value.Split('\n'))
        {
            if (line.EndsWith(' '))
            {
                return false;
            }
            foreach (var c in line)
            {
                if (c < 0x20 || c is '\u007F' or '\u0085' or '\u2028' or '\u2029' or '\uFEFF' || char.IsSurrogate(c))
                {
                    return false;
                }
            }
        }
        return true;
    }
}
