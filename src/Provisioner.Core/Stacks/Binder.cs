using System.Globalization;
using Provisioner.Core.Naming;

namespace Provisioner.Core.Stacks;

/// <summary>
/// Typed reading of a <see cref="ConfigNode"/> tree with error collection: every reader records what
/// is wrong (path, quoted value, location) and returns null instead of throwing, so one pass finds
/// all problems.
/// </summary>
internal sealed class Binder
{
    /// <summary>Key Pulumi uses to mark a secret value inside JSON config.</summary>
    private const string PulumiSecretSignature = "4dabf18193072939515e22adb298388d";

    public List<ValidationError> Errors { get; } = [];

    public void Error(string path, SourceLocation? location, string message) =>
        Errors.Add(new ValidationError(path, message) { Location = location });

    public static string Q(string? value) => ResourceName.Quote(value);

    /// <summary>The node as a mapping with the given allowed fields, or null (with an error unless absent).</summary>
    public ObjectReader? Object(ConfigNode? node, string path, IReadOnlyList<string> fields)
    {
        if (node is null or ConfigInvalid)
        {
            return null;
        }

        if (node is not ConfigMapping mapping || IsSecret(node))
        {
            TypeError(node, path, "a mapping");
            return null;
        }

        return new ObjectReader(this, mapping, path, fields);
    }

    /// <summary>The node's items with their paths, or null (with an error unless absent).</summary>
    public IReadOnlyList<(ConfigNode Node, string Path)>? List(ConfigNode? node, string path)
    {
        if (node is null or ConfigInvalid)
        {
            return null;
        }

        if (node is not ConfigSequence sequence)
        {
            TypeError(node, path, "a list");
            return null;
        }

        return sequence.Items.Select((item, i) => (item, $"{path}[{i}]")).ToList();
    }

    public string? String(ConfigNode? node, string path)
    {
        if (node is null or ConfigInvalid)
        {
            return null;
        }

        // A plain YAML number such as 1.30 is accepted where text is expected, exactly as written.
        if (node is ConfigScalar { Kind: ScalarKind.String or ScalarKind.Number } scalar)
        {
            return scalar.Text;
        }

        TypeError(node, path, "a string");
        return null;
    }

    /// <summary>A <see cref="ResourceName"/> of at most <paramref name="maxLength"/> characters.</summary>
    public string? Name(ConfigNode? node, string path, int maxLength)
    {
        var text = String(node, path);
        if (text is null)
        {
            return null;
        }

        var problem = ResourceName.Explain(text, maxLength);
        if (problem is not null)
        {
            Error(path, node!.Location, $"{Q(text)} is not a valid name ({ResourceName.Pattern}): {problem}");
            return null;
        }

        return text;
    }

    /// <summary>An integer in [min, max]; Pulumi's string-typed config ("4") is accepted too.</summary>
    public long? Integer(ConfigNode? node, string path, long min, long max)
    {
        if (node is null or ConfigInvalid)
        {
            return null;
        }

        if (node is not ConfigScalar { Kind: ScalarKind.Number or ScalarKind.String } scalar)
        {
            TypeError(node, path, "an integer");
            return null;
        }

        if (!long.TryParse(scalar.Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            Error(path, node.Location, $"{Q(scalar.Text)} is not an integer");
            return null;
        }

        if (value < min || value > max)
        {
            Error(path, node.Location, $"{value} is out of range {min}-{max}");
            return null;
        }

        return value;
    }

    /// <summary>true or false; Pulumi's string-typed config ("true") is accepted too.</summary>
    public bool? Boolean(ConfigNode? node, string path)
    {
        if (node is null or ConfigInvalid)
        {
            return null;
        }

        if (node is ConfigScalar { Kind: ScalarKind.Boolean or ScalarKind.String } scalar)
        {
            switch (scalar.Text)
            {
                case "true" or "True" or "TRUE":
                    return true;
                case "false" or "False" or "FALSE":
                    return false;
            }

            Error(path, node.Location, $"{Q(scalar.Text)} is not a boolean (true or false)");
            return null;
        }

        TypeError(node, path, "a boolean");
        return null;
    }

    /// <summary>One of a fixed set of words, case-sensitive.</summary>
    public T? Choice<T>(ConfigNode? node, string path, IReadOnlyDictionary<string, T> choices)
        where T : struct
    {
        var text = String(node, path);
        if (text is null)
        {
            return null;
        }

        if (choices.TryGetValue(text, out var value))
        {
            return value;
        }

        Error(path, node!.Location, $"{Q(text)} is not one of {string.Join(", ", choices.Keys)}");
        return null;
    }

    public Ipv4Cidr? Cidr(ConfigNode? node, string path)
    {
        var text = String(node, path);
        if (text is null)
        {
            return null;
        }

        if (!Ipv4Cidr.TryParse(text, out var cidr, out var error))
        {
            Error(path, node!.Location, $"{Q(text)} {error}");
            return null;
        }

        return cidr;
    }

    public Ipv4Address? Address(ConfigNode? node, string path)
    {
        var text = String(node, path);
        if (text is null)
        {
            return null;
        }

        if (!Ipv4Address.TryParse(text, out var address))
        {
            Error(path, node!.Location, $"{Q(text)} is not an IPv4 address");
            return null;
        }

        return address;
    }

    /// <summary>A list of CIDRs; duplicates are reported. Null when absent or when any item is bad.</summary>
    public IReadOnlyList<Ipv4Cidr>? CidrList(ConfigNode? node, string path)
    {
        var items = List(node, path);
        if (items is null)
        {
            return null;
        }

        var result = new List<Ipv4Cidr>();
        var ok = true;
        foreach (var (item, itemPath) in items)
        {
            var cidr = Cidr(item, itemPath);
            if (cidr is null)
            {
                ok = false;
                continue;
            }

            if (result.Contains(cidr.Value))
            {
                Error(itemPath, item.Location, $"'{cidr}' is listed twice");
                ok = false;
                continue;
            }

            result.Add(cidr.Value);
        }

        return ok ? result.AsReadOnly() : null;
    }

    private void TypeError(ConfigNode node, string path, string expected)
    {
        if (IsSecret(node))
        {
            Error(path, node.Location, "is a Pulumi secret; the stack definition holds no secrets (set it as plain config, or not at all)");
            return;
        }

        var got = node is ConfigScalar { Kind: not ScalarKind.Null } scalar ? $"{node.KindName} {Q(scalar.Text)}" : node.KindName;
        Error(path, node.Location, $"expected {expected}, got {got}");
    }

    /// <summary>Pulumi's secret forms: <c>secure: …</c> in a stack file, the signature object in JSON.</summary>
    private static bool IsSecret(ConfigNode node) => node is ConfigMapping mapping
        && ((mapping.Entries.Count == 1 && mapping.Entries[0].Key == "secure")
            || mapping.Entries.Any(e => e.Key == PulumiSecretSignature));
}

/// <summary>Reads the fields of one mapping; unknown and duplicate fields are reported on creation.</summary>
internal sealed class ObjectReader
{
    private readonly Binder _binder;
    private readonly Dictionary<string, ConfigEntry> _entries = new(StringComparer.Ordinal);

    public ObjectReader(Binder binder, ConfigMapping mapping, string path, IReadOnlyList<string> fields)
    {
        _binder = binder;
        Path = path;
        Location = mapping.Location;
        foreach (var entry in mapping.Entries)
        {
            var entryPath = PathOf(entry.Key);
            if (!fields.Contains(entry.Key, StringComparer.Ordinal))
            {
                var suggestion = Suggest(entry.Key, fields);
                binder.Error(
                    entryPath,
                    entry.KeyLocation ?? entry.Value.Location,
                    $"unknown field {Binder.Q(entry.Key)}{(suggestion is null ? string.Empty : $" (did you mean '{suggestion}'?)")}; allowed: {string.Join(", ", fields)}");
                continue;
            }

            if (!_entries.TryAdd(entry.Key, entry))
            {
                binder.Error(entryPath, entry.KeyLocation ?? entry.Value.Location, "is given twice");
            }
        }
    }

    public string Path { get; }

    public SourceLocation? Location { get; }

    public string PathOf(string key) => $"{Path}.{key}";

    /// <summary>The value of <paramref name="key"/>; null when absent or explicitly null.</summary>
    public ConfigNode? Node(string key) =>
        _entries.TryGetValue(key, out var entry) && entry.Value is not ConfigScalar { Kind: ScalarKind.Null } ? entry.Value : null;

    /// <summary>Whether the key is present with a value (possibly an invalid one).</summary>
    public bool Has(string key) => Node(key) is not null;

    /// <summary>Records "is required" for an absent key and returns whether it is present.</summary>
    public bool Require(string key)
    {
        if (Has(key))
        {
            return true;
        }

        _binder.Error(PathOf(key), Location, "is required");
        return false;
    }

    public string? String(string key, bool required = false) =>
        required && !Require(key) ? null : _binder.String(Node(key), PathOf(key));

    public string? Name(string key, int maxLength, bool required = false) =>
        required && !Require(key) ? null : _binder.Name(Node(key), PathOf(key), maxLength);

    public long? Integer(string key, long min, long max, bool required = false) =>
        required && !Require(key) ? null : _binder.Integer(Node(key), PathOf(key), min, max);

    public bool? Boolean(string key) => _binder.Boolean(Node(key), PathOf(key));

    public T? Choice<T>(string key, IReadOnlyDictionary<string, T> choices, bool required = false)
        where T : struct =>
        required && !Require(key) ? null : _binder.Choice(Node(key), PathOf(key), choices);

    public Ipv4Cidr? Cidr(string key, bool required = false) =>
        required && !Require(key) ? null : _binder.Cidr(Node(key), PathOf(key));

    public Ipv4Address? Address(string key) => _binder.Address(Node(key), PathOf(key));

    public ObjectReader? Object(string key, IReadOnlyList<string> fields, bool required = false) =>
        required && !Require(key) ? null : _binder.Object(Node(key), PathOf(key), fields);

    public IReadOnlyList<(ConfigNode Node, string Path)>? List(string key, bool required = false) =>
        required && !Require(key) ? null : _binder.List(Node(key), PathOf(key));

    public IReadOnlyList<Ipv4Cidr>? CidrList(string key, bool required = false) =>
        required && !Require(key) ? null : _binder.CidrList(Node(key), PathOf(key));

    /// <summary>The allowed field closest to a misspelt one (edit distance at most 2, case-insensitive).</summary>
    private static string? Suggest(string key, IReadOnlyList<string> fields)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var field in fields)
        {
            var distance = Distance(key.ToLowerInvariant(), field.ToLowerInvariant());
            if (distance < bestDistance)
            {
                (best, bestDistance) = (field, distance);
            }
        }

        return bestDistance <= 2 ? best : null;
    }

    private static int Distance(string a, string b)
    {
        if (Math.Abs(a.Length - b.Length) > 2 || a.Length > 64 || b.Length > 64)
        {
            return int.MaxValue;
        }

        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
