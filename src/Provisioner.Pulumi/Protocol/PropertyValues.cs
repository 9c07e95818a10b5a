using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf.WellKnownTypes;

namespace Provisioner.Pulumi.Protocol;

/// <summary>
/// Pulumi's encoding of property values inside <see cref="Struct"/>: secrets are objects carrying a
/// signature key, values not known yet (during preview) are a sentinel string.
/// </summary>
public static class PropertyValues
{
    /// <summary>The key that marks a special value (secret, asset, resource reference).</summary>
    public const string SignatureKey = "4dabf18193072939515e22adb298388d";

    /// <summary>The signature of a secret.</summary>
    public const string SecretSignature = "1b47061264138c4ac30d75fd1eb44270";

    /// <summary>The value of a property not known yet (preview).</summary>
    public const string Unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

    /// <summary>Wraps <paramref name="value"/> as a secret.</summary>
    public static Value Secret(Value value)
    {
        var s = new Struct();
        s.Fields[SignatureKey] = Value.ForString(SecretSignature);
        s.Fields["value"] = value;
        return Value.ForStruct(s);
    }

    /// <summary>Whether <paramref name="value"/> is a secret, and what it holds.</summary>
    public static bool IsSecret(Value? value, out Value inner)
    {
        inner = value ?? Value.ForNull();
        if (value?.KindCase == Value.KindOneofCase.StructValue
            && value.StructValue.Fields.TryGetValue(SignatureKey, out var sig)
            && sig.StringValue == SecretSignature)
        {
            inner = value.StructValue.Fields.TryGetValue("value", out var v) ? v : Value.ForNull();
            return true;
        }

        return false;
    }

    /// <summary>The value with every secret wrapper removed, at any depth.</summary>
    public static Value Reveal(Value value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (IsSecret(value, out var inner))
        {
            return Reveal(inner);
        }

        return value.KindCase switch
        {
            Value.KindOneofCase.StructValue => Value.ForStruct(RevealStruct(value.StructValue)),
            Value.KindOneofCase.ListValue => Value.ForList([.. value.ListValue.Values.Select(Reveal)]),
            _ => value,
        };
    }

    /// <summary>The struct with every secret wrapper removed.</summary>
    public static Struct RevealStruct(Struct? value)
    {
        var result = new Struct();
        foreach (var (key, v) in value?.Fields ?? [])
        {
            result.Fields[key] = Reveal(v);
        }

        return result;
    }

    /// <summary>Whether the value or anything in it is not known yet.</summary>
    public static bool ContainsUnknown(Value? value) => value?.KindCase switch
    {
        Value.KindOneofCase.StringValue => value.StringValue == Unknown,
        Value.KindOneofCase.StructValue => value.StructValue.Fields.Values.Any(ContainsUnknown),
        Value.KindOneofCase.ListValue => value.ListValue.Values.Any(ContainsUnknown),
        _ => false,
    };

    /// <summary>Converts a (revealed) struct to JSON.</summary>
    public static JsonObject ToJson(Struct value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var result = new JsonObject();
        foreach (var (key, v) in value.Fields)
        {
            result[key] = ToJson(v);
        }

        return result;
    }

    /// <summary>Converts a (revealed) value to JSON; whole numbers stay integers.</summary>
    public static JsonNode? ToJson(Value value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.KindCase switch
        {
            Value.KindOneofCase.StringValue => JsonValue.Create(value.StringValue),
            Value.KindOneofCase.BoolValue => JsonValue.Create(value.BoolValue),
            Value.KindOneofCase.NumberValue => value.NumberValue == Math.Floor(value.NumberValue) && Math.Abs(value.NumberValue) < 1e15
                ? JsonValue.Create((long)value.NumberValue)
                : JsonValue.Create(value.NumberValue),
            Value.KindOneofCase.StructValue => ToJson(value.StructValue),
            Value.KindOneofCase.ListValue => new JsonArray([.. value.ListValue.Values.Select(ToJson)]),
            _ => null,
        };
    }

    /// <summary>Converts JSON to a protobuf value.</summary>
    public static Value FromJson(JsonNode? node) => node switch
    {
        null => Value.ForNull(),
        JsonObject o => Value.ForStruct(FromJsonObject(o)),
        JsonArray a => Value.ForList([.. a.Select(FromJson)]),
        JsonValue v when v.GetValueKind() == JsonValueKind.String => Value.ForString(v.GetValue<string>()),
        JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => Value.ForBool(v.GetValue<bool>()),
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => Value.ForNumber(double.Parse(v.ToJsonString(), CultureInfo.InvariantCulture)),
        _ => Value.ForNull(),
    };

    /// <summary>Converts a JSON object to a struct.</summary>
    public static Struct FromJsonObject(JsonObject node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var result = new Struct();
        foreach (var (key, v) in node)
        {
            result.Fields[key] = FromJson(v);
        }

        return result;
    }

    /// <summary>A string field, or null when absent, null or not a string.</summary>
    public static string? Text(Struct? s, string key) =>
        s is not null && s.Fields.TryGetValue(key, out var v) && Reveal(v).KindCase == Value.KindOneofCase.StringValue ? Reveal(v).StringValue : null;

    /// <summary>A number field, or null when absent or not a number.</summary>
    public static double? Number(Struct? s, string key) =>
        s is not null && s.Fields.TryGetValue(key, out var v) && Reveal(v).KindCase == Value.KindOneofCase.NumberValue ? Reveal(v).NumberValue : null;

    /// <summary>Whether the field is present and not null.</summary>
    public static bool Has(Struct? s, string key) =>
        s is not null && s.Fields.TryGetValue(key, out var v) && v.KindCase is not (Value.KindOneofCase.NullValue or Value.KindOneofCase.None);

    /// <summary>The stack name in a resource URN (<c>urn:pulumi:STACK::project::type::name</c>), or null.</summary>
    public static string? StackOfUrn(string? urn)
    {
        const string prefix = "urn:pulumi:";
        if (urn is null || !urn.StartsWith(prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var end = urn.IndexOf("::", prefix.Length, StringComparison.Ordinal);
        return end <= prefix.Length ? null : urn[prefix.Length..end];
    }
}
