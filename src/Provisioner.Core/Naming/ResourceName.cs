namespace Provisioner.Core.Naming;

/// <summary>
/// The one name pattern every user-chosen name (stack, host, network, node, image, pool) must match
/// before it is used anywhere near libvirt XML, file names, host names or shell commands:
/// a lower-case DNS label, <c>^[a-z]([a-z0-9-]*[a-z0-9])?\z</c>, ASCII only.
/// </summary>
/// <remarks>
/// The check is a plain loop over the characters rather than a regular expression on purpose:
/// <c>$</c> in .NET matches before a trailing newline, and character classes are easy to widen
/// by accident with culture or case options. A name that passes is safe unquoted in XML attribute
/// values, file names, host names and shell words, and cannot start like a command-line option.
/// </remarks>
public static class ResourceName
{
    /// <summary>The pattern in regular-expression form, for documentation and error messages.</summary>
    public const string Pattern = @"^[a-z]([a-z0-9-]*[a-z0-9])?\z";

    /// <summary>Longest name of any kind: the limit of one DNS label (RFC 1035), so every name is a valid host name.</summary>
    public const int MaxLength = 63;

    /// <summary>
    /// Longest stack name. The stack name prefixes every libvirt object name
    /// (<c>&lt;stack&gt;-&lt;node&gt;-root</c>), so it is kept short.
    /// </summary>
    public const int MaxStackLength = 20;

    /// <summary>The stricter pattern of stack names: no '-', see <see cref="ExplainStack"/>.</summary>
    public const string StackPattern = @"^[a-z][a-z0-9]*\z";

    /// <summary>
    /// Longest node name after pool expansion. The node name is the guest's host name, and
    /// <c>&lt;stack&gt;-&lt;node&gt;-root</c> stays under 70 characters.
    /// </summary>
    public const int MaxNodeLength = 40;

    /// <summary>Longest node pool name: leaves room for the <c>-NNNN</c> suffix of pool expansion.</summary>
    public const int MaxPoolLength = MaxNodeLength - 5;

    /// <summary>Longest network name; <c>&lt;stack&gt;-&lt;network&gt;</c> is the libvirt network name.</summary>
    public const int MaxNetworkLength = 24;

    /// <summary>Longest golden image name; <c>golden-&lt;image&gt;-&lt;checksum12&gt;</c> is a volume name.</summary>
    public const int MaxImageLength = 32;

    /// <summary>Longest host or storage pool name.</summary>
    public const int MaxHostLength = MaxLength;

    /// <summary>Whether <paramref name="value"/> matches <see cref="Pattern"/> and is at most <paramref name="maxLength"/> characters.</summary>
    public static bool IsValid(string? value, int maxLength = MaxLength) => Explain(value, maxLength) is null;

    /// <summary>
    /// Why <paramref name="value"/> is not a valid name, or <see langword="null"/> when it is.
    /// The explanation does not repeat the value; callers quote it with <see cref="Quote"/>.
    /// </summary>
    public static string? Explain(string? value, int maxLength = MaxLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxLength, MaxLength);
        if (string.IsNullOrEmpty(value))
        {
            return "must not be empty";
        }

        if (value.Length > maxLength)
        {
            return $"is {value.Length} characters long, at most {maxLength} allowed";
        }

        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            var allowed = c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-';
            if (!allowed)
            {
                return $"contains {Describe(c)} at position {i + 1}; only a-z, 0-9 and '-' are allowed";
            }
        }

        if (value[0] is < 'a' or > 'z')
        {
            return "must start with a letter a-z";
        }

        if (value[^1] == '-')
        {
            return "must not end with '-'";
        }

        return null;
    }

    /// <summary>
    /// Why <paramref name="value"/> is not a valid stack name, or <see langword="null"/>. Stack names
    /// follow <see cref="StackPattern"/>: a name without '-' of at most <see cref="MaxStackLength"/>
    /// characters. Several stacks may share a host, and libvirt names are
    /// <c>&lt;stack&gt;-&lt;node&gt;</c>; with a hyphen allowed, stack <c>a-b</c> node <c>c</c> and
    /// stack <c>a</c> node <c>b-c</c> would both own domain <c>a-b-c</c>. Without it, the stack is
    /// everything before the first '-', so names of different stacks never collide.
    /// </summary>
    public static string? ExplainStack(string? value)
    {
        var problem = Explain(value, MaxStackLength);
        if (problem is null && value!.Contains('-', StringComparison.Ordinal))
        {
            return "must not contain '-' (libvirt names are <stack>-<name>, so a '-' in the stack name would make names of two stacks collide)";
        }

        return problem;
    }

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="value"/> is a valid stack name.</summary>
    public static void ThrowIfInvalidStack(string? value, string paramName)
    {
        var problem = ExplainStack(value);
        if (problem is not null)
        {
            throw new ArgumentException($"{Quote(value)} is not a valid stack name ({StackPattern}): {problem}", paramName);
        }
    }

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="value"/> is a valid name.</summary>
    public static void ThrowIfInvalid(string? value, int maxLength, string paramName)
    {
        var problem = Explain(value, maxLength);
        if (problem is not null)
        {
            throw new ArgumentException($"{Quote(value)} is not a valid name ({Pattern}): {problem}", paramName);
        }
    }

    /// <summary>
    /// Quotes an untrusted value for an error message: at most 80 characters, control and non-ASCII
    /// characters escaped as <c>\uXXXX</c>, so a hostile value cannot forge lines in a log or terminal.
    /// </summary>
    public static string Quote(string? value)
    {
        if (value is null)
        {
            return "null";
        }

        const int Limit = 80;
        var builder = new System.Text.StringBuilder(Math.Min(value.Length, Limit) + 8);
        builder.Append('\'');
        for (var i = 0; i < value.Length && i < Limit; i++)
        {
            var c = value[i];
            if (c is < ' ' or > '~' || c == '\\' || c == '\'')
            {
                builder.Append(c switch
                {
                    '\'' => "\\'",
                    '\\' => "\\\\",
                    '\n' => "\\n",
                    '\r' => "\\r",
                    '\t' => "\\t",
                    _ => $"\\u{(int)c:x4}",
                });
            }
            else
            {
                builder.Append(c);
            }
        }

        if (value.Length > Limit)
        {
            builder.Append('…');
        }

        builder.Append('\'');
        return builder.ToString();
    }

    private static string Describe(char c) => c switch
    {
        '\n' => "a newline",
        '\r' => "a carriage return",
        '\t' => "a tab",
        ' ' => "a space",
        >= 'A' and <= 'Z' => $"upper-case '{c}'",
        < ' ' or (> '~' and < '\u00a0') => $"control character \\u{(int)c:x4}",
        > '~' => $"non-ASCII character \\u{(int)c:x4}",
        _ => $"'{c}'",
    };
}
