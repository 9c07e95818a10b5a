using System.Text.RegularExpressions;
using Scriban.Runtime;

namespace Provisioner.Core.Templates;

// Kept in the Hardening folder: the hardening renderers' entry points into the shared renderer.
public sealed partial class TemplateRenderer
{
    /// <summary>
    /// Renders a firewall template with a model built by <see cref="Hardening.HardeningRenderer"/>: its values are
    /// <see cref="Hardening.FirewallToken"/>s, which the public <see cref="Render"/> cannot carry, so a model of
    /// plain strings can never reach an nftables or iptables template.
    /// </summary>
    internal string RenderFirewall(string templateName, ScriptObject model)
    {
        var language = OutputEscaping.LanguageOf(templateName);
        if (language is not (TemplateLanguage.Nftables or TemplateLanguage.Iptables))
        {
            throw new TemplateRenderException($"template '{templateName}' is not a firewall template (*.nft.sbn or *.rules.sbn)");
        }
        return RenderModel(templateName, model);
    }

    /// <summary>
    /// Reads a file shipped under <c>templates/</c> that has no values to fill in (a systemd unit, a
    /// script, the daemon.json baseline): it is installed exactly as reviewed.
    /// </summary>
    /// <param name="fileName">Path relative to the templates folder with '/' separators, e.g. <c>firewall/provisioner-firewall.service</c>.</param>
    /// <exception cref="TemplateRenderException">The name is not a relative path inside the folder, or the file is missing.</exception>
    public string ReadStaticFile(string fileName)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        if (!StaticFileNamePattern().IsMatch(fileName) || fileName.Contains("..", StringComparison.Ordinal) || fileName.EndsWith(".sbn", StringComparison.Ordinal))
        {
            throw new TemplateRenderException($"'{fileName}' is not a static template file name (relative path of lower-case segments, not *.sbn)");
        }
        var path = Path.Combine(TemplatesDirectory, fileName);
        if (!File.Exists(path))
        {
            throw new TemplateRenderException($"template file '{fileName}' not found under '{TemplatesDirectory}'");
        }
        return File.ReadAllText(path);
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*\\z", RegexOptions.CultureInvariant)]
    private static partial Regex StaticFileNamePattern();
}
