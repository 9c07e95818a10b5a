namespace Provisioner.Core.Templates;

/// <summary>
/// A render model holds a value its target cannot take. The message names the field path and the
/// bad value, e.g. <c>domain.interfaces[0].mac: 'zz' is not a MAC address</c>.
/// </summary>
public sealed class RenderModelException : ArgumentException
{
    /// <summary>Creates the exception for <paramref name="path"/>.</summary>
    public RenderModelException(string path, string message)
        : base($"{path}: {message}") => FieldPath = path;

    /// <summary>Creates the exception.</summary>
    public RenderModelException()
    {
        FieldPath = string.Empty;
    }

    /// <summary>Creates the exception.</summary>
    public RenderModelException(string message)
        : base(message) => FieldPath = string.Empty;

    /// <summary>Creates the exception.</summary>
    public RenderModelException(string message, Exception innerException)
        : base(message, innerException) => FieldPath = string.Empty;

    /// <summary>The path of the offending field, e.g. <c>domain.rootDisk.serial</c>.</summary>
    public string FieldPath { get; }
}
