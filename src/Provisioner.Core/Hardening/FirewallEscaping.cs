using System.Globalization;
using System.Text.RegularExpressions;
using Provisioner.Core.Templates;

namespace Provisioner.Core.Hardening;

/// <summary>
/// The output rule for nftables (<c>*.nft.sbn</c>) and iptables-restore (<c>*.rules.sbn</c>) templates,
/// called by the escaping template context for every value a template writes. There is no escaping
/// syntax worth trusting in these languages (nftables quoted strings have no escape for <c>"</c>), so
/// the rule is structural: only <see cref="FirewallToken"/>s and non-negative integers are written;
/// strings, booleans and anything else make the render fail.
/// </summary>
public static partial class FirewallEscaping
{
    // Everything a token can produce; checked again on output as a second line of defence.
    [GeneratedRegex("^[0-9a-z./:{}, -]+\\z", RegexOptions.CultureInvariant)]
    private static partial Regex TokenText();

    /// <summary>Writes <paramref name="value"/> into an nftables rule, or throws.</summary>
    /// <exception cref="TemplateRenderException">The value is not a <see cref="FirewallToken"/> or a non-negative integer.</exception>
    public static string Nftables(object? value) => Write(value, t => t.ToNftables(), "nftables");

    /// <summary>Writes <paramref name="value"/> into an iptables-restore rule, or throws.</summary>
    /// <exception cref="TemplateRenderException">The value is not a <see cref="FirewallToken"/> (other than a set) or a non-negative integer.</exception>
    public static string Iptables(object? value) => Write(value, t => t.ToIptables(), "iptables");

    private static string Write(object? value, Func<FirewallToken, string> format, string language)
    {
        var text = value switch
        {
            FirewallToken token => format(token),
            int i when i >= 0 => i.ToString(CultureInfo.InvariantCulture),
            long l when l >= 0 => l.ToString(CultureInfo.InvariantCulture),
            null => throw new TemplateRenderException($"a null value cannot be written into an {language} rule"),
            string s => throw new TemplateRenderException(
                $"a string ('{Shorten(s)}') cannot be written into an {language} rule; pass a typed address, network, port or protocol"),
            _ => throw new TemplateRenderException(
                $"a value of type {value.GetType().Name} cannot be written into an {language} rule; pass a typed address, network, port or protocol"),
        };
        if (!TokenText().IsMatch(text))
        {
            throw new TemplateRenderException($"'{Shorten(text)}' is not a safe {language} token");
        }
        return text;
    }

    private static string Shorten(string text)
    {
        var printable = new string([.. text.Take(40).Select(c => char.IsControl(c) ? '?' : c)]);
        return text.Length > 40 ? printable + "…" : printable;
    }
}
