using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Provisioner.Core.Templates;

/// <summary>
/// Validation of render-model values. Escaping keeps every value inert in its target language; these
/// checks add what escaping cannot: that a value is something libvirt, QEMU or the guest will accept
/// (an absolute path, a MAC address, an interface name that fits IFNAMSIZ).
/// </summary>
internal static partial class Check
{
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex ObjectNamePattern();

    [GeneratedRegex("^[0-9a-f]{2}(:[0-9a-f]{2}){5}$", RegexOptions.CultureInvariant)]
    private static partial Regex MacPattern();

    [GeneratedRegex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex HostLabelPattern();

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex MachineTypePattern();

    [GeneratedRegex("^[A-Za-z0-9_.-]{1,15}$", RegexOptions.CultureInvariant)]
    private static partial Regex BridgePattern();

    [GeneratedRegex("^[A-Za-z0-9_.-]{1,20}$", RegexOptions.CultureInvariant)]
    private static partial Regex NvmeSerialPattern();

    public static void NotNull(string path, object? value)
    {
        if (value is null)
        {
            throw new RenderModelException(path, "is required");
        }
    }

    /// <summary>A libvirt object name (domain, network, pool, volume): no path separators, no spaces, no markup.</summary>
    public static void ObjectName(string path, string? value)
    {
        if (value is null || !ObjectNamePattern().IsMatch(value))
        {
            throw new RenderModelException(path, $"{Quote(value)} is not a valid name (letters, digits, '.', '_', '-'; starting with a letter or digit; at most 128)");
        }
    }

    /// <summary>Free text that must be present and free of control characters (line breaks only where allowed).</summary>
    public static void Text(string path, string? value, bool allowLineBreaks = false)
    {
        if (string.IsNullOrEmpty(value))
        {
            throw new RenderModelException(path, "is required and must not be empty");
        }
        foreach (var c in value)
        {
            if (char.IsControl(c) && !(allowLineBreaks && c is '\n' or '\r' or '\t'))
            {
                throw new RenderModelException(path, $"{Quote(value)} contains the control character U+{(int)c:X4}");
            }
        }
    }

    public static void AbsolutePath(string path, string? value)
    {
        Text(path, value);
        if (!value!.StartsWith('/'))
        {
            throw new RenderModelException(path, $"{Quote(value)} is not an absolute path");
        }
    }

    public static string MacAddress(string path, string? value)
    {
        var normal = value?.ToLowerInvariant();
        if (normal is null || !MacPattern().IsMatch(normal))
        {
            throw new RenderModelException(path, $"{Quote(value)} is not a MAC address (six hex pairs separated by ':')");
        }
        return normal;
    }

    public static void HostName(string path, string? value)
    {
        if (value is null || !HostLabelPattern().IsMatch(value))
        {
            throw new RenderModelException(path, $"{Quote(value)} is not a host name (one DNS label: lower-case letters, digits, '-')");
        }
    }

    public static void DomainName(string path, string? value)
    {
        if (value is null || value.Length > 253 || value.Split('.').Any(label => !HostLabelPattern().IsMatch(label)))
        {
            throw new RenderModelException(path, $"{Quote(value)} is not a DNS domain name (lower-case labels separated by '.')");
        }
    }

    public static void MachineType(string path, string? value)
    {
        if (value is null || !MachineTypePattern().IsMatch(value))
        {
            throw new RenderModelException(path, $"{Quote(value)} is not a machine type such as 'q35'");
        }
    }

    public static void BridgeName(string path, string? value)
    {
        if (value is null || !BridgePattern().IsMatch(value) || value is "." or "..")
        {
            throw new RenderModelException(path, $"{Quote(value)} is not a bridge name (1-15 of letters, digits, '_', '.', '-')");
        }
    }

    public static void Ipv4(string path, IPAddress? value)
    {
        if (value is null || value.AddressFamily != AddressFamily.InterNetwork)
        {
            throw new RenderModelException(path, $"{Quote(value?.ToString())} is not an IPv4 address");
        }
    }

    public static void Range(string path, long value, long min, long max)
    {
        if (value < min || value > max)
        {
            throw new RenderModelException(path, $"{value.ToString(CultureInfo.InvariantCulture)} is outside {min.ToString(CultureInfo.InvariantCulture)}..{max.ToString(CultureInfo.InvariantCulture)}");
        }
    }

    public static void Defined<TEnum>(string path, TEnum value)
        where TEnum : struct, Enum
    {
        if (!Enum.IsDefined(value))
        {
            throw new RenderModelException(path, $"'{value}' is not a valid {typeof(TEnum).Name}; it must be chosen explicitly ({string.Join(", ", Enum.GetNames<TEnum>())})");
        }
    }

    public static void NotEmpty(string path, Guid value)
    {
        if (value == Guid.Empty)
        {
            throw new RenderModelException(path, "must be a non-empty UUID");
        }
    }

    /// <summary>An NVMe serial: the controller reports at most 20 ASCII characters, and QEMU option syntax forbids ','.</summary>
    public static void NvmeSerial(string path, string? value)
    {
        if (value is null || !NvmeSerialPattern().IsMatch(value))
        {
            throw new RenderModelException(path, $"{Quote(value)} is not a disk serial (1-20 of letters, digits, '_', '.', '-'; required for NVMe)");
        }
    }

    public static string Quote(string? value) => value is null ? "null" : $"'{value}'";
}
