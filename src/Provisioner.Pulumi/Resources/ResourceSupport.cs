using Google.Protobuf.WellKnownTypes;
using Pulumirpc;
using Provisioner.Pulumi.Protocol;

namespace Provisioner.Pulumi.Resources;

/// <summary>One property's comparison for a detailed diff.</summary>
/// <param name="Name">Top-level property name.</param>
/// <param name="ForcesReplacement">Whether a change replaces the resource.</param>
internal sealed record DiffRule(string Name, Func<Value?, Value?, bool> ForcesReplacement);

/// <summary>Shared pieces of the resources: detailed diffs and secrets kept secret.</summary>
internal static class ResourceSupport
{
    public static DiffRule Replaces(string name) => new(name, (_, _) => true);

    public static DiffRule InPlace(string name) => new(name, (_, _) => false);

    /// <summary>A per-property diff of old state against new checked inputs; only the given properties count.</summary>
    public static DiffResponse Diff(Struct? olds, Struct? news, IEnumerable<DiffRule> rules, IEnumerable<string> ignoreChanges)
    {
        var ignored = ignoreChanges.ToHashSet(StringComparer.Ordinal);
        var response = new DiffResponse { HasDetailedDiff = true };
        foreach (var rule in rules)
        {
            if (ignored.Contains(rule.Name))
            {
                continue;
            }

            var oldValue = olds is not null && olds.Fields.TryGetValue(rule.Name, out var o) ? PropertyValues.Reveal(o) : null;
            var newValue = news is not null && news.Fields.TryGetValue(rule.Name, out var n) ? PropertyValues.Reveal(n) : null;
            var oldMissing = oldValue is null || oldValue.KindCase == Value.KindOneofCase.NullValue;
            var newMissing = newValue is null || newValue.KindCase == Value.KindOneofCase.NullValue;
            if (oldMissing && newMissing)
            {
                continue;
            }

            if (!oldMissing && !newMissing && oldValue!.Equals(newValue))
            {
                continue;
            }

            var replace = rule.ForcesReplacement(oldValue, newValue);
            var kind = (oldMissing, newMissing, replace) switch
            {
                (true, _, false) => PropertyDiff.Types.Kind.Add,
                (true, _, true) => PropertyDiff.Types.Kind.AddReplace,
                (_, true, false) => PropertyDiff.Types.Kind.Delete,
                (_, true, true) => PropertyDiff.Types.Kind.DeleteReplace,
                (_, _, false) => PropertyDiff.Types.Kind.Update,
                (_, _, true) => PropertyDiff.Types.Kind.UpdateReplace,
            };
            response.Diffs.Add(rule.Name);
            response.DetailedDiff[rule.Name] = new PropertyDiff { Kind = kind, InputDiff = false };
            if (replace)
            {
                response.Replaces.Add(rule.Name);
            }
        }

        response.Changes = response.Diffs.Count > 0 ? DiffResponse.Types.DiffChanges.DiffSome : DiffResponse.Types.DiffChanges.DiffNone;
        return response;
    }

    /// <summary>Outputs whose input of the same name arrived secret go back secret (secrets stay secret both ways).</summary>
    public static Struct KeepSecrets(Struct? inputs, Struct outputs)
    {
        if (inputs is null)
        {
            return outputs;
        }

        foreach (var (key, value) in inputs.Fields)
        {
            if (PropertyValues.IsSecret(value, out _) && outputs.Fields.TryGetValue(key, out var output) && !PropertyValues.IsSecret(output, out _))
            {
                outputs.Fields[key] = PropertyValues.Secret(output);
            }
        }

        return outputs;
    }

    public static Value Unknown => Value.ForString(PropertyValues.Unknown);

    public static Value Str(string? text) => text is null ? Value.ForNull() : Value.ForString(text);
}
