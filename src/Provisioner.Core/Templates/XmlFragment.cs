namespace Provisioner.Core.Templates;

/// <summary>
/// Well-formed XML markup produced by one of our own renderers. It is the only kind of value an XML
/// template writes without escaping, and only this assembly can create one, so user input can never
/// be smuggled into a template as markup.
/// </summary>
public sealed class XmlFragment
{
    internal XmlFragment(string markup) => Markup = markup;

    /// <summary>The markup itself.</summary>
    public string Markup { get; }

    /// <inheritdoc />
    public override string ToString() => Markup;
}
