using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf.Collections;
using Google.Protobuf.WellKnownTypes;
using Provisioner.Core.Stacks;
using Provisioner.Pulumi.Protocol;

namespace Provisioner.Pulumi;

/// <summary>
/// The provider's configuration: the stack definition as Pulumi passes it (the <c>provisioner:*</c> keys of
/// <c>stacks/Pulumi.&lt;stack&gt;.yaml</c>, without their namespace), validated by the same
/// <see cref="StackLoader"/> the CLI uses, so both report the same errors with the same paths.
/// </summary>
public sealed class StackConfiguration
{
    private StackConfiguration(JsonElement json) => Json = json;

    /// <summary>The configuration as one JSON object (secrets revealed: it never leaves the process).</summary>
    public JsonElement Json { get; }

    /// <summary>From <c>ConfigureRequest.args</c> or <c>CheckRequest.news</c>.</summary>
    public static StackConfiguration FromStruct(Struct? args)
    {
        var json = PropertyValues.ToJson(PropertyValues.RevealStruct(args));
        return new StackConfiguration(JsonSerializer.SerializeToElement(json, PulumiJsonContext.Default.JsonObject));
    }

    /// <summary>From the deprecated <c>ConfigureRequest.variables</c> (values are JSON text or plain strings).</summary>
    public static StackConfiguration FromVariables(MapField<string, string> variables)
    {
        ArgumentNullException.ThrowIfNull(variables);
        var json = new JsonObject();
        foreach (var (key, value) in variables)
        {
            json[key] = JsonValue.Create(value);
        }

        return new StackConfiguration(JsonSerializer.SerializeToElement(json, PulumiJsonContext.Default.JsonObject));
    }

    /// <summary>Validates the configuration as stack <paramref name="stackName"/>.</summary>
    public bool TryGetStack(string stackName, out StackDefinition? stack, out IReadOnlyList<ValidationError> errors) =>
        StackLoader.TryFromJson(stackName, Json, out stack, out errors);

    /// <summary>The stack, or an exception listing every problem.</summary>
    /// <exception cref="StackValidationException">The configuration is not a valid stack.</exception>
    public StackDefinition Stack(string stackName) => StackLoader.FromJson(stackName, Json);
}
