using System.Text.Json;
using Provisioner.Core.Naming;

namespace Provisioner.Core.Stacks;

/// <summary>
/// Loads and validates a stack definition, from a Pulumi stack config file
/// (<c>stacks/Pulumi.&lt;stack&gt;.yaml</c>) or from the JSON config Pulumi hands the provider.
/// Both paths build the same intermediate tree and run one binder and one validator, so they accept
/// the same definitions and report the same error paths.
/// </summary>
/// <remarks>
/// <para>The definition is the set of config keys in the <c>provisioner:</c> namespace (the
/// provider's package name): <c>hosts</c>, <c>networks</c>, <c>image</c>, <c>nodes</c>,
/// <c>placement</c>, <c>access</c> (required) and <c>virtualization</c>, <c>runtime</c>,
/// <c>firewall</c>, <c>kubernetes</c> (optional). Keys of other namespaces belong to other Pulumi
/// packages and are ignored; unknown keys inside our namespace or inside our objects are errors.</para>
/// <para>Every error is collected; a definition with any error throws
/// <see cref="StackValidationException"/> listing all of them.</para>
/// </remarks>
public static class StackLoader
{
    /// <summary>The config namespace (Pulumi package name) of the definition.</summary>
    public const string Namespace = "provisioner";

    /// <summary>Largest stack file accepted; real ones are a few KiB.</summary>
    public const int MaxFileBytes = 1024 * 1024;

    /// <summary>Config keys (without namespace) that must be present.</summary>
    public static readonly IReadOnlyList<string> RequiredSections = ["hosts", "networks", "image", "nodes", "placement", "access"];

    /// <summary>Config keys (without namespace) that may be present.</summary>
    public static readonly IReadOnlyList<string> OptionalSections = ["virtualization", "runtime", "firewall", "kubernetes"];

    /// <summary>Top-level keys of a Pulumi stack file other than <c>config</c>; ignored.</summary>
    private static readonly string[] PulumiFileKeys = ["encryptionsalt", "secretsprovider", "encryptedkey", "environment"];

    /// <summary>Keys Pulumi itself adds to a provider's inputs; ignored by <see cref="FromJson"/>.</summary>
    private static readonly string[] PulumiProviderKeys = ["version", "pluginDownloadURL"];

    private static readonly string[] AllSections = [.. RequiredSections, .. OptionalSections];

    /// <summary>The namespaced config key of a section, e.g. <c>provisioner:hosts</c>.</summary>
    public static string Key(string section) => $"{Namespace}:{section}";

    /// <summary>
    /// The stack name in a stack file name: <c>dev</c> for <c>stacks/Pulumi.dev.yaml</c>, or
    /// <see langword="null"/> when the name does not have that shape.
    /// </summary>
    public static string? StackNameFromPath(string path)
    {
        var file = System.IO.Path.GetFileName(path);
        const string Prefix = "Pulumi.", Suffix = ".yaml";
        return file.Length > Prefix.Length + Suffix.Length
               && file.StartsWith(Prefix, StringComparison.Ordinal)
               && file.EndsWith(Suffix, StringComparison.Ordinal)
            ? file[Prefix.Length..^Suffix.Length]
            : null;
    }

    /// <summary>Reads and validates <c>Pulumi.&lt;stack&gt;.yaml</c>; the stack name comes from the file name.</summary>
    /// <exception cref="StackValidationException">The definition is invalid (all problems listed).</exception>
    public static StackDefinition LoadFile(string path)
    {
        var stackName = CheckFile(path);
        return Parse(File.ReadAllText(path), stackName, path);
    }

    /// <summary>Reads and validates <c>Pulumi.&lt;stack&gt;.yaml</c> asynchronously; see <see cref="LoadFile"/>.</summary>
    /// <exception cref="StackValidationException">The definition is invalid (all problems listed).</exception>
    public static async Task<StackDefinition> LoadFileAsync(string path, CancellationToken cancellationToken)
    {
        var stackName = CheckFile(path);
        var yaml = await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false);
        return Parse(yaml, stackName, path);
    }

    /// <summary>Validates the YAML text of a stack file.</summary>
    /// <param name="yaml">The file content (Pulumi stack config format, top-level <c>config:</c>).</param>
    /// <param name="stackName">The stack name.</param>
    /// <param name="sourceName">Shown in error locations, e.g. the file path.</param>
    /// <exception cref="StackValidationException">The definition is invalid (all problems listed).</exception>
    public static StackDefinition Parse(string yaml, string stackName, string sourceName) =>
        TryParse(yaml, stackName, sourceName, out var stack, out var errors) ? stack! : throw new StackValidationException(stackName, errors);

    /// <summary>Like <see cref="Parse"/>, returning the errors instead of throwing.</summary>
    public static bool TryParse(string yaml, string stackName, string sourceName, out StackDefinition? stack, out IReadOnlyList<ValidationError> errors)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        ArgumentNullException.ThrowIfNull(sourceName);
        var binder = new Binder();
        var root = YamlConfigReader.Read(yaml, sourceName, binder.Errors);
        var sections = new Dictionary<string, ConfigNode>(StringComparer.Ordinal);
        var ignored = new List<string>();
        SourceLocation? configLocation = root?.Location;
        if (root is ConfigMapping document)
        {
            var config = ReadDocument(document, binder);
            configLocation = config?.Location ?? configLocation;
            foreach (var entry in config?.Entries ?? [])
            {
                if (SectionOf(entry.Key) is { } section)
                {
                    AddSection(sections, entry, section, binder);
                }
                else
                {
                    ignored.Add(entry.Key);
                }
            }
        }
        else if (root is not null)
        {
            binder.Error(string.Empty, root.Location, $"expected a mapping with a 'config:' key, got {root.KindName}");
        }

        return Finish(stackName, root is null ? null : sections, configLocation, ignored, binder, out stack, out errors);
    }

    /// <summary>
    /// Validates the config object Pulumi passes to the provider (<c>CheckConfig</c>/<c>Configure</c>).
    /// Keys may carry the namespace (<c>provisioner:hosts</c>) or not (<c>hosts</c>, as Pulumi passes
    /// provider config); keys of other namespaces and Pulumi's own <c>version</c> and
    /// <c>pluginDownloadURL</c> are ignored. A value may be the JSON itself or a string holding JSON
    /// (Pulumi passes structured config as JSON text).
    /// </summary>
    /// <exception cref="StackValidationException">The definition is invalid (all problems listed).</exception>
    public static StackDefinition FromJson(string stackName, JsonElement configObject) =>
        TryFromJson(stackName, configObject, out var stack, out var errors) ? stack! : throw new StackValidationException(stackName, errors);

    /// <summary>Like <see cref="FromJson"/>, returning the errors instead of throwing.</summary>
    public static bool TryFromJson(string stackName, JsonElement configObject, out StackDefinition? stack, out IReadOnlyList<ValidationError> errors)
    {
        var binder = new Binder();
        Dictionary<string, ConfigNode>? sections = null;
        if (configObject.ValueKind != JsonValueKind.Object)
        {
            binder.Error(string.Empty, null, $"expected a JSON object of config keys, got {configObject.ValueKind}");
        }
        else
        {
            sections = new Dictionary<string, ConfigNode>(StringComparer.Ordinal);
            foreach (var property in configObject.EnumerateObject())
            {
                string section;
                if (SectionOf(property.Name) is { } namespaced)
                {
                    section = namespaced;
                }
                else if (!property.Name.Contains(':', StringComparison.Ordinal) && !PulumiProviderKeys.Contains(property.Name, StringComparer.Ordinal))
                {
                    section = property.Name;
                }
                else
                {
                    continue;
                }

                var value = property.Value;
                if (value.ValueKind == JsonValueKind.String && value.GetString() is { } text && text.TrimStart() is ['{' or '[', ..])
                {
                    if (!TryParseJson(text, out value))
                    {
                        binder.Error(Key(section), null, "is a string that starts like JSON but is not valid JSON");
                        continue;
                    }
                }

                AddSection(sections, new ConfigEntry(property.Name, null, JsonConfigReader.Read(value)), section, binder);
            }
        }

        return Finish(stackName, sections, null, [], binder, out stack, out errors);
    }

    /// <summary>
    /// The section of a config key in our namespace: <c>provisioner:hosts</c> and Pulumi's older
    /// <c>provisioner:config:hosts</c> form both give <c>hosts</c>; null for other namespaces.
    /// </summary>
    private static string? SectionOf(string key)
    {
        if (!key.StartsWith(Namespace + ":", StringComparison.Ordinal))
        {
            return null;
        }

        var section = key[(Namespace.Length + 1)..];
        return section.StartsWith("config:", StringComparison.Ordinal) ? section["config:".Length..] : section;
    }

    private static string CheckFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var stackName = StackNameFromPath(path)
            ?? throw new StackValidationException(
                System.IO.Path.GetFileName(path),
                [new ValidationError(string.Empty, $"{ResourceName.Quote(System.IO.Path.GetFileName(path))} is not a stack file name; expected Pulumi.<stack>.yaml")]);
        var length = new FileInfo(path).Length;
        if (length > MaxFileBytes)
        {
            throw new StackValidationException(stackName, [new ValidationError(string.Empty, $"the file is {length} bytes, more than the {MaxFileBytes} allowed for a stack file")]);
        }

        return stackName;
    }

    private static bool TryParseJson(string text, out JsonElement element)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            element = document.RootElement.Clone();
            return true;
        }
        catch (JsonException)
        {
            element = default;
            return false;
        }
    }

    /// <summary>The <c>config:</c> mapping of a stack file; other Pulumi top-level keys are ignored.</summary>
    private static ConfigMapping? ReadDocument(ConfigMapping document, Binder binder)
    {
        ConfigMapping? config = null;
        var hasConfig = false;
        foreach (var entry in document.Entries)
        {
            if (entry.Key == "config")
            {
                hasConfig = true;
                config = entry.Value switch
                {
                    ConfigMapping mapping => mapping,
                    ConfigInvalid => null,
                    _ => null,
                };
                if (entry.Value is not (ConfigMapping or ConfigInvalid))
                {
                    binder.Error("config", entry.Value.Location, $"expected a mapping of config keys, got {entry.Value.KindName}");
                }
            }
            else if (!PulumiFileKeys.Contains(entry.Key, StringComparer.Ordinal))
            {
                binder.Error(entry.Key, entry.KeyLocation, $"unknown top-level key {Binder.Q(entry.Key)}; a Pulumi stack file has config, {string.Join(", ", PulumiFileKeys)}");
            }
        }

        if (!hasConfig)
        {
            binder.Error("config", document.Location, "is required: the definition lives under config: as provisioner:* keys");
        }

        return config;
    }

    private static void AddSection(Dictionary<string, ConfigNode> sections, ConfigEntry entry, string section, Binder binder)
    {
        var path = Key(section);
        if (!AllSections.Contains(section, StringComparer.Ordinal))
        {
            binder.Error(path, entry.KeyLocation ?? entry.Value.Location, $"unknown key {Binder.Q(entry.Key)} in the {Namespace} namespace; allowed: {string.Join(", ", AllSections.Select(Key))}");
            return;
        }

        if (!sections.TryAdd(section, entry.Value))
        {
            binder.Error(path, entry.KeyLocation ?? entry.Value.Location, "is given twice (with and without the namespace?)");
        }
    }

    private static bool Finish(
        string stackName,
        Dictionary<string, ConfigNode>? sections,
        SourceLocation? configLocation,
        List<string> ignoredKeys,
        Binder binder,
        out StackDefinition? stack,
        out IReadOnlyList<ValidationError> errors)
    {
        ArgumentNullException.ThrowIfNull(stackName);
        var nameProblem = ResourceName.ExplainStack(stackName);
        if (nameProblem is not null)
        {
            binder.Error(string.Empty, null, $"stack name {ResourceName.Quote(stackName)} is not valid ({ResourceName.StackPattern}): {nameProblem}");
        }

        stack = null;
        if (sections is not null)
        {
            foreach (var required in RequiredSections)
            {
                if (!sections.TryGetValue(required, out var value) || value is ConfigScalar { Kind: ScalarKind.Null })
                {
                    // A key like "hosts" or "provisioner.hosts" is silently someone else's config in
                    // Pulumi's eyes; point at it, since it is almost certainly the missing section.
                    var near = ignoredKeys.FirstOrDefault(k => k.EndsWith(required, StringComparison.Ordinal));
                    binder.Error(Key(required), configLocation, near is null
                        ? "is required"
                        : $"is required (found {Binder.Q(near)}, which is not in the '{Namespace}:' namespace)");
                    sections.Remove(required);
                }
            }

            var bound = new BoundStack { Name = stackName };
            var sectionBinder = new SectionBinder(binder);
            sectionBinder.Hosts(sections.GetValueOrDefault("hosts"), Key("hosts"), bound);
            sectionBinder.Networks(sections.GetValueOrDefault("networks"), Key("networks"), bound);
            bound.Image = sectionBinder.Image(sections.GetValueOrDefault("image"), Key("image"));
            sectionBinder.Nodes(sections.GetValueOrDefault("nodes"), Key("nodes"), bound);
            bound.Placement = sectionBinder.Placement(sections.GetValueOrDefault("placement"), Key("placement"));
            bound.Access = sectionBinder.Access(sections.GetValueOrDefault("access"), Key("access"));
            bound.Virtualization = sectionBinder.Virtualization(NonNull(sections, "virtualization"), Key("virtualization"));
            bound.Runtime = sectionBinder.Runtime(NonNull(sections, "runtime"), Key("runtime"));
            bound.Firewall = sectionBinder.Firewall(NonNull(sections, "firewall"), Key("firewall"));
            sectionBinder.Kubernetes(NonNull(sections, "kubernetes"), Key("kubernetes"), bound);
            stack = new StackValidator(binder).Validate(bound);
        }

        // Document order where locations are known; JSON errors keep the order they were found in.
        errors = binder.Errors
            .OrderBy(e => e.Location?.Line ?? int.MaxValue)
            .ThenBy(e => e.Location?.Column ?? int.MaxValue)
            .ToList();
        if (errors.Count > 0)
        {
            stack = null;
        }

        return stack is not null;
    }

    private static ConfigNode? NonNull(Dictionary<string, ConfigNode> sections, string key) =>
        sections.GetValueOrDefault(key) is { } node && node is not ConfigScalar { Kind: ScalarKind.Null } ? node : null;
}
