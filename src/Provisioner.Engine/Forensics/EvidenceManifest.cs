using System.Text.Json;
using System.Text.Json.Serialization;

namespace Provisioner.Engine.Forensics;

/// <summary>One file of an evidence set.</summary>
/// <param name="Name">File name inside the evidence directory (no directories).</param>
/// <param name="Kind">What it is: <c>memory</c>, <c>disk</c>, <c>domain-xml</c>, <c>console-log</c>, <c>metadata</c>.</param>
/// <param name="Bytes">Size in bytes.</param>
/// <param name="Sha256">SHA-256 of the content, lower-case hex.</param>
/// <param name="Source">Where it came from on the host (a disk's path, the console log's path), or null.</param>
/// <param name="CapturedAt">When the file was complete.</param>
public sealed record EvidenceFile(string Name, string Kind, long Bytes, string Sha256, string? Source, DateTimeOffset CapturedAt);

/// <summary>
/// The manifest of an evidence set (<c>manifest.json</c>): what was captured from which node, when, by whom, and
/// the SHA-256 of every file, so anyone can later show the files are what was captured.
/// </summary>
public sealed record EvidenceManifest
{
    /// <summary>The manifest's file name in an evidence directory.</summary>
    public const string FileName = "manifest.json";

    /// <summary>Present while a capture is in progress; an evidence directory holding it is incomplete.</summary>
    public const string IncompleteMarker = "CAPTURE-INCOMPLETE";

    /// <summary>Format version.</summary>
    public int Version { get; init; } = 1;

    /// <summary>Stack name.</summary>
    public required string Stack { get; init; }

    /// <summary>Node name.</summary>
    public required string Node { get; init; }

    /// <summary>libvirt domain name.</summary>
    public required string Domain { get; init; }

    /// <summary>libvirt domain UUID.</summary>
    public required Guid DomainUuid { get; init; }

    /// <summary>Host name (from the stack) and its libvirt URI.</summary>
    public required string Host { get; init; }

    /// <summary>The host's libvirt URI.</summary>
    public required string HostUri { get; init; }

    /// <summary>Who captured it.</summary>
    public required string Operator { get; init; }

    /// <summary>The quarantine reason, when the node was quarantined.</summary>
    public string? Reason { get; init; }

    /// <summary>Whether the node was quarantined (cut off) during the capture.</summary>
    public required bool Quarantined { get; init; }

    /// <summary>The golden image volume the root disk is a linked clone of (the disk copy needs it to be read as a whole).</summary>
    public string? BackingVolume { get; init; }

    /// <summary>The pinned host key fingerprint of the captured node.</summary>
    public string? HostKeyFingerprint { get; init; }

    /// <summary>When the capture started.</summary>
    public required DateTimeOffset Started { get; init; }

    /// <summary>When it finished.</summary>
    public required DateTimeOffset Completed { get; init; }

    /// <summary>Every file, with its hash.</summary>
    public required IReadOnlyList<EvidenceFile> Files { get; init; }

    /// <summary>Things worth knowing (for example: no console log existed).</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>Serialises the manifest (indented JSON).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, EvidenceJsonContext.Default.EvidenceManifest);

    /// <summary>Reads a manifest.</summary>
    /// <exception cref="FormatException">Not a manifest.</exception>
    public static EvidenceManifest Parse(string json)
    {
        try
        {
            return JsonSerializer.Deserialize(json, EvidenceJsonContext.Default.EvidenceManifest)
                ?? throw new FormatException("evidence manifest is empty");
        }
        catch (JsonException e)
        {
            throw new FormatException($"evidence manifest is not valid: {e.Message}", e);
        }
    }
}

/// <summary>Source-generated JSON for the forensics records.</summary>
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(EvidenceManifest))]
internal sealed partial class EvidenceJsonContext : JsonSerializerContext;
