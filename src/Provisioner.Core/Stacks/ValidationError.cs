using System.Globalization;

namespace Provisioner.Core.Stacks;

/// <summary>Where in a source file a value was written (1-based line and column).</summary>
/// <param name="Source">The file name or other description of the source, e.g. <c>stacks/Pulumi.dev.yaml</c>.</param>
/// <param name="Line">1-based line.</param>
/// <param name="Column">1-based column.</param>
public sealed record SourceLocation(string Source, int Line, int Column)
{
    /// <summary><c>source:line:col</c>, the form editors and terminals turn into links.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Source}:{Line}:{Column}");
}

/// <summary>
/// One problem in a stack definition.
/// </summary>
/// <param name="Path">
/// Machine-usable path of the offending value: the config key with its namespace, then
/// <c>.field</c> and <c>[index]</c> steps, e.g. <c>provisioner:hosts[2].uri</c>. The same path is
/// produced whether the definition came from YAML or from Pulumi's JSON config. Indexes refer to
/// the list as written (before node pool expansion). An empty path means the document itself.
/// </param>
/// <param name="Message">What is wrong, quoting the bad value, e.g. <c>'qemu+shh://h/system' is not a libvirt URI: …</c>.</param>
public sealed record ValidationError(string Path, string Message)
{
    /// <summary>Where the value was written, when the definition came from a file.</summary>
    public SourceLocation? Location { get; init; }

    /// <summary>
    /// <see cref="Path"/> without the <c>provisioner:</c> namespace (<c>hosts[2].uri</c>): the
    /// property path of Pulumi's provider config, which carries keys without their namespace.
    /// </summary>
    public string PropertyPath => Path.StartsWith(StackLoader.Namespace + ":", StringComparison.Ordinal)
        ? Path[(StackLoader.Namespace.Length + 1)..]
        : Path;

    /// <summary><c>[source:line:col: ]path: message</c>.</summary>
    public override string ToString()
    {
        var where = Location is null ? string.Empty : Location + ": ";
        return Path.Length == 0 ? where + Message : $"{where}{Path}: {Message}";
    }
}

/// <summary>
/// A stack definition failed validation. <see cref="Errors"/> holds every problem found, not just
/// the first, so an author can fix them in one pass.
/// </summary>
public sealed class StackValidationException : Exception
{
    /// <summary>Creates the exception for <paramref name="errors"/> (at least one).</summary>
    public StackValidationException(string stackName, IReadOnlyList<ValidationError> errors)
        : base(BuildMessage(stackName, errors))
    {
        StackName = stackName;
        Errors = errors;
    }

    /// <summary>Not meant to be used; present for the standard exception constructor set.</summary>
    public StackValidationException()
        : this("(unknown)", [new ValidationError(string.Empty, "invalid stack definition")])
    {
    }

    /// <summary>Not meant to be used; present for the standard exception constructor set.</summary>
    public StackValidationException(string message)
        : this("(unknown)", [new ValidationError(string.Empty, message)])
    {
    }

    /// <summary>Not meant to be used; present for the standard exception constructor set.</summary>
    public StackValidationException(string message, Exception innerException)
        : base(message, innerException)
    {
        StackName = "(unknown)";
        Errors = [new ValidationError(string.Empty, message)];
    }

    /// <summary>The stack whose definition is invalid.</summary>
    public string StackName { get; } = "(unknown)";

    /// <summary>All problems, in document order as far as they have one.</summary>
    public IReadOnlyList<ValidationError> Errors { get; } = [];

    private static string BuildMessage(string stackName, IReadOnlyList<ValidationError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        var lines = errors.Select(e => "  " + e);
        return $"stack {Naming.ResourceName.Quote(stackName)} has {errors.Count} error{(errors.Count == 1 ? string.Empty : "s")}:{Environment.NewLine}"
            + string.Join(Environment.NewLine, lines);
    }
}
