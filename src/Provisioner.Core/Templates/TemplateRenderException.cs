namespace Provisioner.Core.Templates;

/// <summary>A template could not be found, parsed or rendered, or a value could not be written safely.</summary>
public sealed class TemplateRenderException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TemplateRenderException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public TemplateRenderException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    public TemplateRenderException()
    {
    }
}
