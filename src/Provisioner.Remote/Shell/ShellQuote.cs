using System.Text;

namespace Provisioner.Remote.Shell;

/// <summary>
/// The one quoting helper for POSIX <c>sh</c> (and shells compatible with it, such as bash and dash).
/// Every value that reaches a remote command line goes through here, either directly or through
/// <see cref="ShellCommand"/>.
/// </summary>
/// <remarks>
/// A quoted word is either left bare, when it consists only of characters no POSIX shell treats
/// specially anywhere in a word (<c>A-Z a-z 0-9 _ @ % + : , . / -</c>), or wrapped in single quotes with
/// each embedded <c>'</c> written as <c>'\''</c>. Inside single quotes sh performs no expansion at all,
/// so <c>$()</c>, backticks, globs, newlines and backslashes are all literal. <c>=</c> and <c>~</c> are not
/// in the bare set because a leading <c>NAME=</c> word is an assignment and a leading <c>~</c> is expanded.
/// NUL cannot be represented in a C argument vector, so it is rejected rather than silently truncated.
/// </remarks>
public static class ShellQuote
{
    /// <summary>Quotes <paramref name="argument"/> so that sh reads it back as exactly one word with the same bytes.</summary>
    /// <exception cref="ArgumentException">The value contains a NUL character or an unpaired UTF-16 surrogate.</exception>
    public static string Quote(string argument)
    {
        ArgumentNullException.ThrowIfNull(argument);
        Validate(argument, nameof(argument));
        if (argument.Length > 0 && IsBare(argument))
        {
            return argument;
        }

        var builder = new StringBuilder(argument.Length + 2);
        builder.Append('\'');
        foreach (var c in argument)
        {
            if (c == '\'')
            {
                // Close the quoted run, add an escaped quote, reopen.
                builder.Append("'\\''");
            }
            else
            {
                builder.Append(c);
            }
        }

        builder.Append('\'');
        return builder.ToString();
    }

    /// <summary>Quotes each element of <paramref name="argv"/> and joins them with single spaces.</summary>
    /// <exception cref="ArgumentException">An element is null, contains a NUL character or an unpaired surrogate.</exception>
    public static string Join(IEnumerable<string> argv)
    {
        ArgumentNullException.ThrowIfNull(argv);
        var builder = new StringBuilder();
        var index = 0;
        foreach (var argument in argv)
        {
            if (argument is null)
            {
                throw new ArgumentException($"argv[{index}] is null.", nameof(argv));
            }

            if (index > 0)
            {
                builder.Append(' ');
            }

            try
            {
                builder.Append(Quote(argument));
            }
            catch (ArgumentException ex)
            {
                throw new ArgumentException($"argv[{index}]: {ex.Message}", nameof(argv), ex);
            }

            index++;
        }

        return builder.ToString();
    }

    /// <summary>
    /// Checks that <paramref name="value"/> can be passed as a process argument: no NUL, and valid UTF-16
    /// (an unpaired surrogate would be silently replaced when encoded as UTF-8, changing the value).
    /// </summary>
    internal static void Validate(string value, string what)
    {
        var nul = value.IndexOf('\0', StringComparison.Ordinal);
        if (nul >= 0)
        {
            throw new ArgumentException(
                $"{what} contains a NUL character at index {nul}; a NUL byte cannot be passed in a shell command line.",
                what);
        }

        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
                continue;
            }

            if (char.IsSurrogate(c))
            {
                throw new ArgumentException(
                    $"{what} contains an unpaired UTF-16 surrogate at index {i}; it has no UTF-8 encoding.",
                    what);
            }
        }
    }

    private static bool IsBare(string value)
    {
        foreach (var c in value)
        {
            var safe = c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9')
                or '_' or '@' or '%' or '+' or ':' or ',' or '.' or '/' or '-';
            if (!safe)
            {
                return false;
            }
        }

        return true;
    }
}
