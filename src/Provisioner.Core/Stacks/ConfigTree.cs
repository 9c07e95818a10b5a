using System.Globalization;
using System.Text.Json;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Provisioner.Core.Stacks;

/// <summary>Type of a scalar after YAML 1.2 core-schema resolution (or as JSON typed it).</summary>
internal enum ScalarKind
{
    Null,
    Boolean,
    Number,
    String,
}

/// <summary>
/// A format-neutral tree of config values with source locations, so YAML files and Pulumi's JSON
/// config go through one binder and one validator and produce identical error paths.
/// </summary>
internal abstract class ConfigNode(SourceLocation? location)
{
    public SourceLocation? Location { get; } = location;

    public abstract string KindName { get; }
}

internal sealed class ConfigScalar(string text, ScalarKind kind, SourceLocation? location) : ConfigNode(location)
{
    public string Text { get; } = text;

    public ScalarKind Kind { get; } = kind;

    public override string KindName => Kind switch
    {
        ScalarKind.Null => "null",
        ScalarKind.Boolean => "a boolean",
        ScalarKind.Number => "a number",
        _ => "a string",
    };
}

internal sealed class ConfigSequence(IReadOnlyList<ConfigNode> items, SourceLocation? location) : ConfigNode(location)
{
    public IReadOnlyList<ConfigNode> Items { get; } = items;

    public override string KindName => "a list";
}

/// <summary>A value that was already reported as an error while reading; the binder skips it silently.</summary>
internal sealed class ConfigInvalid(SourceLocation? location) : ConfigNode(location)
{
    public override string KindName => "an invalid value";
}

internal sealed record ConfigEntry(string Key, SourceLocation? KeyLocation, ConfigNode Value);

internal sealed class ConfigMapping(IReadOnlyList<ConfigEntry> entries, SourceLocation? location) : ConfigNode(location)
{
    public IReadOnlyList<ConfigEntry> Entries { get; } = entries;

    public override string KindName => "a mapping";
}

/// <summary>Builds a <see cref="ConfigNode"/> tree from YAML parser events, keeping line and column.</summary>
/// <remarks>
/// Parsing events ourselves (rather than deserializing) gives exact locations and lets us refuse
/// what a stack file never needs: aliases (no billion-laughs expansion), custom tags, several
/// documents, duplicate keys (which YAML forbids but many loaders silently accept, last one winning).
/// </remarks>
internal sealed class YamlConfigReader
{
    private const int MaxDepth = 64;
    private readonly string _source;
    private readonly List<ValidationError> _errors;
    private readonly Parser _parser;

    private YamlConfigReader(string yaml, string source, List<ValidationError> errors)
    {
        _source = source;
        _errors = errors;
        _parser = new Parser(new StringReader(yaml));
    }

    /// <summary>Reads the single document of <paramref name="yaml"/>; null (with errors) when it is unreadable.</summary>
    public static ConfigNode? Read(string yaml, string source, List<ValidationError> errors)
    {
        var reader = new YamlConfigReader(yaml, source, errors);
        try
        {
            return reader.ReadStream();
        }
        catch (YamlException ex)
        {
            errors.Add(new ValidationError(string.Empty, "is not valid YAML: " + StripMark(ex.Message)) { Location = reader.At(ex.Start) });
            return null;
        }
    }

    private ConfigNode? ReadStream()
    {
        _parser.Consume<StreamStart>();
        if (_parser.TryConsume<StreamEnd>(out _))
        {
            _errors.Add(new ValidationError(string.Empty, "the file is empty; expected a 'config:' mapping") { Location = new SourceLocation(_source, 1, 1) });
            return null;
        }

        _parser.Consume<DocumentStart>();
        var root = ReadNode(string.Empty, 0);
        _parser.Consume<DocumentEnd>();
        if (_parser.Accept<DocumentStart>(out var extra))
        {
            _errors.Add(new ValidationError(string.Empty, "has more than one YAML document; a stack file holds exactly one") { Location = At(extra.Start) });
            return null;
        }

        _parser.Consume<StreamEnd>();
        return root;
    }

    private ConfigNode? ReadNode(string path, int depth)
    {
        var current = _parser.Current ?? throw new InvalidOperationException("unexpected end of YAML events");
        var location = At(current.Start);
        if (depth > MaxDepth)
        {
            throw new YamlException(current.Start, current.End, $"nesting deeper than {MaxDepth} levels");
        }

        if (current is AnchorAlias)
        {
            _parser.MoveNext();
            _errors.Add(new ValidationError(path, "uses a YAML alias (*name); aliases are not supported in stack files, write the value out") { Location = location });
            return null;
        }

        if (current is NodeEvent node && !node.Tag.IsEmpty && !node.Tag.IsNonSpecific && !IsCoreTag(node.Tag.Value))
        {
            _parser.SkipThisAndNestedEvents();
            _errors.Add(new ValidationError(path, $"has YAML tag '{node.Tag.Value}', which is not supported") { Location = location });
            return null;
        }

        switch (current)
        {
            case Scalar scalar:
                _parser.MoveNext();
                return new ConfigScalar(scalar.Value, Resolve(scalar), location);
            case SequenceStart:
            {
                _parser.MoveNext();
                var items = new List<ConfigNode>();
                while (!_parser.TryConsume<SequenceEnd>(out _))
                {
                    var item = ReadNode($"{path}[{items.Count}]", depth + 1);
                    items.Add(item ?? new ConfigInvalid(location));
                }

                return new ConfigSequence(items, location);
            }

            case MappingStart:
            {
                _parser.MoveNext();
                var entries = new List<ConfigEntry>();
                var seen = new Dictionary<string, SourceLocation>(StringComparer.Ordinal);
                while (!_parser.TryConsume<MappingEnd>(out _))
                {
                    var keyEvent = _parser.Current;
                    if (keyEvent is not Scalar keyScalar)
                    {
                        var keyLocation = At(keyEvent!.Start);
                        _parser.SkipThisAndNestedEvents();
                        _parser.SkipThisAndNestedEvents();
                        _errors.Add(new ValidationError(path, "has a mapping key that is not a plain string") { Location = keyLocation });
                        continue;
                    }

                    _parser.MoveNext();
                    var key = keyScalar.Value;
                    var keyAt = At(keyScalar.Start);
                    var childPath = Join(path, key);
                    var value = ReadNode(childPath, depth + 1);
                    if (seen.TryGetValue(key, out var first))
                    {
                        _errors.Add(new ValidationError(childPath, $"is given twice (first at line {first.Line}); YAML keys must be unique") { Location = keyAt });
                        continue;
                    }

                    seen.Add(key, keyAt);
                    entries.Add(new ConfigEntry(key, keyAt, value ?? new ConfigInvalid(keyAt)));
                }

                return new ConfigMapping(entries, location);
            }

            default:
                throw new YamlException(current.Start, current.End, $"unexpected YAML event {current.GetType().Name}");
        }
    }

    /// <summary>
    /// Path of a child, in the form the binder uses: keys under <c>config:</c> are the path roots
    /// (<c>provisioner:hosts</c>), deeper keys are joined with '.'.
    /// </summary>
    private static string Join(string path, string key) => path is "" or "config" ? key : $"{path}.{key}";

    private static bool IsCoreTag(string tag) => tag is "tag:yaml.org,2002:str" or "tag:yaml.org,2002:int"
        or "tag:yaml.org,2002:float" or "tag:yaml.org,2002:bool" or "tag:yaml.org,2002:null"
        or "tag:yaml.org,2002:map" or "tag:yaml.org,2002:seq";

    /// <summary>YAML 1.2 core schema: only plain scalars are typed; quoted and block scalars are strings.</summary>
    private static ScalarKind Resolve(Scalar scalar)
    {
        if (!scalar.Tag.IsEmpty && !scalar.Tag.IsNonSpecific)
        {
            return scalar.Tag.Value switch
            {
                "tag:yaml.org,2002:int" or "tag:yaml.org,2002:float" => ScalarKind.Number,
                "tag:yaml.org,2002:bool" => ScalarKind.Boolean,
                "tag:yaml.org,2002:null" => ScalarKind.Null,
                _ => ScalarKind.String,
            };
        }

        if (scalar.Style != ScalarStyle.Plain)
        {
            return ScalarKind.String;
        }

        var text = scalar.Value;
        return text switch
        {
            "" or "~" or "null" or "Null" or "NULL" => ScalarKind.Null,
            "true" or "True" or "TRUE" or "false" or "False" or "FALSE" => ScalarKind.Boolean,
            _ when IsNumber(text) => ScalarKind.Number,
            _ => ScalarKind.String,
        };
    }

    private static bool IsNumber(string text) =>
        long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _)
        || (text.Any(char.IsAsciiDigit)
            && double.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out _));

    private SourceLocation At(Mark mark) => new(_source, (int)Math.Max(1, mark.Line), (int)Math.Max(1, mark.Column));

    private static string StripMark(string message)
    {
        // YamlDotNet prefixes "(Line: 3, Col: 5, Idx: 20) - (Line: 3, Col: 6, Idx: 21): "; we report the location separately.
        var marker = message.IndexOf("): ", StringComparison.Ordinal);
        return message.StartsWith("(Line", StringComparison.Ordinal) && marker >= 0 ? message[(marker + 3)..] : message;
    }
}

/// <summary>Builds a <see cref="ConfigNode"/> tree from JSON (Pulumi's provider config).</summary>
internal static class JsonConfigReader
{
    public static ConfigNode Read(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => new ConfigMapping(
            element.EnumerateObject().Select(p => new ConfigEntry(p.Name, null, Read(p.Value))).ToList(),
            null),
        JsonValueKind.Array => new ConfigSequence(element.EnumerateArray().Select(Read).ToList(), null),
        JsonValueKind.String => new ConfigScalar(element.GetString()!, ScalarKind.String, null),
        JsonValueKind.Number => new ConfigScalar(element.GetRawText(), ScalarKind.Number, null),
        JsonValueKind.True => new ConfigScalar("true", ScalarKind.Boolean, null),
        JsonValueKind.False => new ConfigScalar("false", ScalarKind.Boolean, null),
        _ => new ConfigScalar(string.Empty, ScalarKind.Null, null),
    };
}
