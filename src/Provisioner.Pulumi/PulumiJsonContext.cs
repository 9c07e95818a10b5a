using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Provisioner.Pulumi;

/// <summary>Source-generated JSON metadata (no reflection at start-up).</summary>
[JsonSerializable(typeof(JsonObject))]
internal sealed partial class PulumiJsonContext : JsonSerializerContext;
