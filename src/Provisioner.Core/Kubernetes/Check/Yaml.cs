using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Provisioner.Core.Kubernetes.Check;

/// <summary>Typed reads from a YAML node graph, with Kubernetes' (YAML 1.1, go-yaml) reading of scalars.</summary>
internal static class Yaml
{
    public static YamlNode? Get(YamlNode? node, string key) =>
        node is YamlMappingNode map && map.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    public static YamlMappingNode? Map(YamlNode? node, string key) => Get(node, key) as YamlMappingNode;

    public static YamlSequenceNode? Seq(YamlNode? node, string key) => Get(node, key) as YamlSequenceNode;

    /// <summary>A plain (unquoted) scalar's text, or a quoted string's; null when absent, null-valued or not a scalar.</summary>
    public static string? Str(YamlNode? node, string key) => Get(node, key) is YamlScalarNode { Value: { } v } s && !IsNull(s) ? v : null;

    /// <summary>A boolean as Kubernetes' YAML decoder reads it; null when absent or not a boolean (a quoted "false" is a string).</summary>
    public static bool? Bool(YamlNode? node, string key)
    {
        if (Get(node, key) is not YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any, Value: { } value })
        {
            return null;
        }

        return value switch
        {
            "true" or "True" or "TRUE" or "yes" or "Yes" or "YES" or "on" or "On" or "ON" or "y" or "Y" => true,
            "false" or "False" or "FALSE" or "no" or "No" or "NO" or "off" or "Off" or "OFF" or "n" or "N" => false,
            _ => null,
        };
    }

    /// <summary>An integer; null when absent or not an integer.</summary>
    public static long? Long(YamlNode? node, string key) => Int(Get(node, key));

    public static long? Int(YamlNode? node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any, Value: { } value }
        && long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var result) ? result : null;

    public static bool Has(YamlNode? node, string key) => Get(node, key) is { } value && !(value is YamlScalarNode s && IsNull(s));

    private static bool IsNull(YamlScalarNode scalar) =>
        scalar.Style is ScalarStyle.Plain or ScalarStyle.Any && scalar.Value is null or "" or "~" or "null" or "Null" or "NULL";
}
