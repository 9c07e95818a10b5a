using System.Text.Json;
using System.Text.Json.Serialization;

namespace Provisioner.Engine.Replacement;

/// <summary>
/// The small progress record of a replacement, kept beside the node's evidence (<c>&lt;root&gt;/&lt;stack&gt;/&lt;node&gt;/replacement.json</c>)
/// because the domain, and its metadata, are gone while the node is re-created. A re-run reads it and continues.
/// </summary>
public sealed record ReplacementProgress
{
    /// <summary>File name in the node's evidence directory.</summary>
    public const string FileName = "replacement.json";

    /// <summary>Stack.</summary>
    public required string Stack { get; init; }

    /// <summary>Node.</summary>
    public required string Node { get; init; }

    /// <summary>Who started it.</summary>
    public required string Operator { get; init; }

    /// <summary>When it started.</summary>
    public required DateTimeOffset Started { get; init; }

    /// <summary>The last step reached (<see cref="ReplacementStep"/>).</summary>
    public required string Step { get; init; }

    /// <summary>When the step was reached.</summary>
    public required DateTimeOffset Updated { get; init; }

    /// <summary>The host key fingerprint of the node being replaced.</summary>
    public string? OldHostKeyFingerprint { get; init; }

    /// <summary>Reads the record of <paramref name="directory"/>, or null.</summary>
    public static async Task<ReplacementProgress?> ReadAsync(string directory, CancellationToken cancellationToken)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false), ReplacementJsonContext.Default.ReplacementProgress);
        }
        catch (JsonException e)
        {
            throw new FormatException($"{path}: not a replacement progress record: {e.Message}", e);
        }
    }

    /// <summary>Writes the record atomically into <paramref name="directory"/> (created root-only when missing).</summary>
    public async Task WriteAsync(string directory, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var path = Path.Combine(directory, FileName);
        var temporary = path + ".tmp";
        await File.WriteAllTextAsync(temporary, JsonSerializer.Serialize(this, ReplacementJsonContext.Default.ReplacementProgress), cancellationToken).ConfigureAwait(false);
        File.Move(temporary, path, overwrite: true);
    }
}

/// <summary>The steps of a replacement, in order.</summary>
public static class ReplacementStep
{
    /// <summary>Kubernetes drain (and etcd member removal) in progress.</summary>
    public const string Draining = "draining";

    /// <summary>The node is out of the cluster; the machine is about to be destroyed.</summary>
    public const string Drained = "drained";

    /// <summary>Destroying and re-creating the machine; a node in this step is half-replaced.</summary>
    public const string Recreating = "recreating";

    /// <summary>The machine is new; hardening, rejoin and audit follow.</summary>
    public const string Recreated = "recreated";

    /// <summary>Everything finished.</summary>
    public const string Done = "done";
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ReplacementProgress))]
internal sealed partial class ReplacementJsonContext : JsonSerializerContext;
