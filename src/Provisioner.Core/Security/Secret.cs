namespace Provisioner.Core.Security;

/// <summary>
/// A value that must never be printed or logged: private keys, join tokens, kubeconfigs.
/// <see cref="ToString"/> redacts, so an accidental interpolation into a log line or an
/// exception message leaks nothing; the value is only reachable through <see cref="Reveal"/>,
/// which makes every place that uses it easy to find.
/// </summary>
public sealed class Secret : IEquatable<Secret>
{
    private readonly string _value;

    /// <summary>Wraps <paramref name="value"/>.</summary>
    public Secret(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        _value = value;
    }

    /// <summary>The redaction marker shown instead of a secret value.</summary>
    public const string Redacted = "[redacted]";

    /// <summary>The secret value itself. Call only where the value is needed for real.</summary>
    public string Reveal() => _value;

    /// <inheritdoc />
    public override string ToString() => Redacted;

    /// <inheritdoc />
    public bool Equals(Secret? other) => other is not null && string.Equals(_value, other._value, StringComparison.Ordinal);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as Secret);

    /// <inheritdoc />
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(_value);
}
