using Scriban;
using Scriban.Parsing;

namespace Provisioner.Core.Templates;

/// <summary>
/// A Scriban context that escapes every <c>{{ value }}</c> for the template's target language.
/// Scriban writes literal template text through <see cref="TemplateContext.Write(string, int, int)"/>
/// and the result of every output expression through <see cref="Write(SourceSpan, object)"/>, so
/// overriding the latter puts the escaping on the one path all values take. Templates cannot opt
/// out: there is no "raw" pipe, and the only unescaped values are <see cref="XmlFragment"/>s, which
/// only our own renderers create.
/// </summary>
internal sealed class EscapingTemplateContext : TemplateContext
{
    private readonly TemplateLanguage _language;

    public EscapingTemplateContext(TemplateLanguage language)
    {
        _language = language;
        // A misspelt variable is a template bug: fail instead of rendering an empty attribute.
        StrictVariables = true;
        // No include/import: templates are self-contained and cannot pull in other files.
        TemplateLoader = null;
        EnableRelaxedMemberAccess = false;
        NewLine = "\n";
        // A multi-line value (only ever one of our XML fragments: escaped values have no raw line breaks)
        // takes the indentation of the line it is written on, so nested blocks stay readable.
        AutoIndent = true;
        LoopLimit = 10_000;
    }

    public override TemplateContext Write(SourceSpan span, object? textAsObject) =>
        base.Write(span, OutputEscaping.Escape(_language, textAsObject));

    public override ValueTask<TemplateContext> WriteAsync(SourceSpan span, object? textAsObject) =>
        base.WriteAsync(span, OutputEscaping.Escape(_language, textAsObject));
}
