using System.Text;

namespace Provisioner.Remote.Tests.Shell;

/// <summary>Strings that break naive quoting, and a seeded generator of random ones built from the same pieces.</summary>
internal static class HostileStrings
{
    public static readonly string[] Samples =
    [
        "",
        " ",
        "plain",
        "two words",
        "  leading and trailing  ",
        "'",
        "''",
        "it's",
        "'\\''",
        "\"",
        "\"double\" 'single'",
        "$HOME",
        "${HOME}",
        "$(id)",
        "$(touch /tmp/pwned)",
        "`id`",
        "\\",
        "\\n",
        "back\\slash\\",
        "line\nbreak",
        "\n",
        "\r\n",
        "tab\there",
        "a;b",
        "; rm -rf /",
        "a && b || c",
        "a | b",
        "> /dev/null",
        "< /etc/passwd",
        "*",
        "/*",
        "?",
        "[a-z]",
        "{a,b}",
        "~",
        "~root",
        "-",
        "--",
        "-n",
        "-e",
        "--help",
        "-rf",
        "A=B",
        "=",
        "#comment",
        "!",
        "!!",
        "%s%n",
        "\u00e6\u00f8\u00e5 \u00c6\u00d8\u00c5",
        "\u65e5\u672c\u8a9e",
        "\ud83d\ude00 emoji",
        "\u202e right-to-left",
        "\u0001\u0002\u001b[31mred",
        "\u007f",
    ];

    private const string Pieces = "a Z0 '\"\\$`(){}[]*?~!#&|;<>\n\t\r=%-+,.:/@^\u00e6\u65e5";

    public static IEnumerable<string> Random(int seed, int count, int maxLength)
    {
        var random = new Random(seed);
        for (var i = 0; i < count; i++)
        {
            var length = random.Next(0, maxLength + 1);
            var builder = new StringBuilder(length);
            for (var j = 0; j < length; j++)
            {
                var pick = random.Next(0, 20);
                if (pick == 0)
                {
                    builder.Append("\ud83d\ude00");
                }
                else if (pick == 1)
                {
                    builder.Append("'\\''");
                }
                else
                {
                    builder.Append(Pieces[random.Next(Pieces.Length)]);
                }
            }

            yield return builder.ToString();
        }
    }
}
