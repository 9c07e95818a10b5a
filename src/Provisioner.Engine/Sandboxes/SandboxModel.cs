using System.Globalization;
using System.Text.RegularExpressions;
using Provisioner.Core.Naming;

namespace Provisioner.Engine.Sandboxes;

/// <summary>Bad sandbox input (name, TTL, size): reported before anything is created.</summary>
public sealed class SandboxInputException : Exception
{
    /// <summary>Creates the exception.</summary>
    public SandboxInputException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public SandboxInputException() { }

    /// <summary>Creates the exception.</summary>
    public SandboxInputException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>A sandbox operation that failed after input was accepted (boot failure, missing sandbox).</summary>
public sealed class SandboxOperationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public SandboxOperationException(string message, Exception? inner = null) : base(message, inner) { }

    /// <summary>Creates the exception.</summary>
    public SandboxOperationException() { }

    /// <summary>Creates the exception.</summary>
    public SandboxOperationException(string message) : base(message) { }

    /// <summary>Where the failed guest's console output is, when known.</summary>
    public string? ConsoleLogPath { get; init; }
}

/// <summary>How sandboxes choose between KVM and software emulation.</summary>
public enum SandboxEmulation
{
    /// <summary>Hardware virtualization only (<c>type: auto</c>, no emulation): the production default.</summary>
    Off,

    /// <summary><c>type: auto</c> with <c>allowEmulation: true</c>: KVM when the host offers it, TCG only when it does not.</summary>
    Allow,

    /// <summary><c>type: qemu</c> with <c>allowEmulation: true</c>: always TCG, for hosts whose advertised KVM cannot run guests.</summary>
    Force,
}

/// <summary>Where sandboxes live: the one <c>sandbox</c> stack on one libvirt host.</summary>
public sealed record SandboxHost
{
    /// <summary>The stack every sandbox belongs to.</summary>
    public const string StackName = "sandbox";

    /// <summary>The local system libvirt.</summary>
    public static readonly SandboxHost Local = new();

    /// <summary>libvirt URI of the host (tests point it at a <c>test:///</c> node file).</summary>
    public string Uri { get; init; } = "qemu:///system";

    /// <summary>Host name in the stack.</summary>
    public string HostName { get; init; } = "localhost";

    /// <summary>Pool directory.</summary>
    public string PoolPath { get; init; } = "/var/lib/provisioner/pools/sandbox";

    /// <summary>NAT network of the sandboxes.</summary>
    public string Cidr { get; init; } = "10.78.0.0/24";

    /// <summary>Golden image name.</summary>
    public string Image { get; init; } = "debian-12";

    /// <summary>KVM or emulation.</summary>
    public SandboxEmulation Emulation { get; init; } = SandboxEmulation.Off;

    /// <summary>Login user on the sandboxes.</summary>
    public string User { get; init; } = "ops";
}

/// <summary>One sandbox's size, as declared in the sandbox stack.</summary>
public sealed record SandboxSpec
{
    /// <summary>Default vCPUs.</summary>
    public const int DefaultCpus = 2;

    /// <summary>Default memory.</summary>
    public const long DefaultMemoryMiB = 2048;

    /// <summary>Default disk.</summary>
    public const int DefaultDiskGiB = 10;

    /// <summary>Sandbox (node) name.</summary>
    public required string Name { get; init; }

    /// <summary>vCPUs.</summary>
    public int Cpus { get; init; } = DefaultCpus;

    /// <summary>Memory in MiB.</summary>
    public long MemoryMiB { get; init; } = DefaultMemoryMiB;

    /// <summary>Root disk in GiB.</summary>
    public int DiskGiB { get; init; } = DefaultDiskGiB;

    /// <summary>Disk bus as observed (kept so existing sandboxes are not replaced).</summary>
    public Core.Stacks.DiskBus DiskBus { get; init; } = Core.Stacks.DiskBus.Virtio;

    /// <summary>
    /// The sandbox's published ports and who may reach them, as recorded in its libvirt metadata; emitted as the
    /// node's <c>publishedPorts</c>, so its firewall opens exactly these. Empty: every published port is dropped.
    /// </summary>
    public IReadOnlyList<Core.Stacks.PublishedPortPolicy> PublishedPorts { get; init; } = [];

    /// <summary>Checks the name and sizes; every problem names its flag and value.</summary>
    /// <exception cref="SandboxInputException">Something is out of range.</exception>
    public void Validate()
    {
        SandboxNames.ThrowIfInvalid(Name);
        if (Cpus is < 1 or > 16)
        {
            throw new SandboxInputException(string.Create(CultureInfo.InvariantCulture, $"--cpus: {Cpus} is out of range (1..16)"));
        }

        if (MemoryMiB is < 512 or > 65536)
        {
            throw new SandboxInputException(string.Create(CultureInfo.InvariantCulture, $"--memory: {MemoryMiB} MiB is out of range (512..65536)"));
        }

        if (DiskGiB is < 4 or > 200)
        {
            throw new SandboxInputException(string.Create(CultureInfo.InvariantCulture, $"--disk: {DiskGiB} GiB is out of range (4..200)"));
        }
    }
}

/// <summary>A sandbox as it exists.</summary>
public sealed record Sandbox
{
    /// <summary>Name.</summary>
    public required string Name { get; init; }

    /// <summary>IPv4 address.</summary>
    public string? Address { get; init; }

    /// <summary>libvirt run state.</summary>
    public required string State { get; init; }

    /// <summary>Whether first boot finished.</summary>
    public required bool Ready { get; init; }

    /// <summary>Creation time.</summary>
    public required DateTimeOffset Created { get; init; }

    /// <summary>Expiry (null: never, e.g. a sandbox made by hand).</summary>
    public DateTimeOffset? Expires { get; init; }

    /// <summary>Pinned host key fingerprint.</summary>
    public required string HostKeyFingerprint { get; init; }

    /// <summary>The published ports its firewall opens, and to whom (its recorded policy); empty: none.</summary>
    public IReadOnlyList<Core.Stacks.PublishedPortPolicy> PublishedPorts { get; init; } = [];

    /// <summary>Libvirt domain name.</summary>
    public string DomainName => LibvirtNames.Domain(SandboxHost.StackName, Name);

    /// <summary>What the phases after creation found (the audit), when this sandbox was just created.</summary>
    public IReadOnlyList<Phases.StackPhaseResult> Phases { get; init; } = [];

    /// <summary>Whether it has expired at <paramref name="now"/> (expiry instant included).</summary>
    public bool IsExpired(DateTimeOffset now) => Expires is { } e && e <= now;
}

/// <summary>Sandbox names: node names of the sandbox stack, generated as <c>sb-&lt;4 hex&gt;</c> by default.</summary>
public static partial class SandboxNames
{
    /// <summary>Longest accepted name (the domain name adds <c>sandbox-</c>).</summary>
    public const int MaxLength = 40;

    /// <summary>A fresh default name from <paramref name="randomHex4"/> (4 lower-case hex digits).</summary>
    public static string Generate(string randomHex4) => "sb-" + randomHex4;

    /// <summary>Throws when <paramref name="name"/> is not a valid sandbox name.</summary>
    /// <exception cref="SandboxInputException">The name is invalid.</exception>
    public static void ThrowIfInvalid(string? name)
    {
        if (ResourceName.Explain(name, MaxLength) is { } problem)
        {
            throw new SandboxInputException($"--name: '{name}' is not a valid sandbox name ({ResourceName.Pattern}, at most {MaxLength} characters): {problem}");
        }
    }
}

/// <summary>Sandbox lifetimes: <c>90m</c>, <c>2h</c>, <c>1h30m</c>, <c>1d</c>, within <see cref="Min"/>..<see cref="Max"/>.</summary>
public static partial class SandboxTtl
{
    /// <summary>Shortest lifetime.</summary>
    public static readonly TimeSpan Min = TimeSpan.FromMinutes(5);

    /// <summary>Longest lifetime (also the longest an extension may reach from now).</summary>
    public static readonly TimeSpan Max = TimeSpan.FromDays(7);

    /// <summary>Default lifetime.</summary>
    public static readonly TimeSpan Default = TimeSpan.FromHours(2);

    /// <summary>Parses a TTL; <paramref name="flag"/> names the option in the error.</summary>
    /// <exception cref="SandboxInputException">Not a duration, or out of bounds.</exception>
    public static TimeSpan Parse(string? text, string flag = "--ttl")
    {
        var match = text is null ? null : Pattern().Match(text.Trim());
        if (match is null || !match.Success || match.Groups.Cast<Group>().Skip(1).All(g => !g.Success))
        {
            throw new SandboxInputException($"{flag}: '{text}' is not a duration; use e.g. 90m, 2h, 1h30m or 1d");
        }

        var total = TimeSpan.Zero;
        try
        {
            total += Part(match, "d", TimeSpan.FromDays);
            total += Part(match, "h", TimeSpan.FromHours);
            total += Part(match, "m", TimeSpan.FromMinutes);
        }
        catch (OverflowException)
        {
            throw new SandboxInputException($"{flag}: '{text}' is too long (at most {Format(Max)})");
        }

        if (total < Min || total > Max)
        {
            throw new SandboxInputException($"{flag}: '{text}' is out of range ({Format(Min)}..{Format(Max)})");
        }

        return total;
    }

    /// <summary>The expiry after extending by <paramref name="ttl"/>: from the later of now and the current expiry.</summary>
    /// <exception cref="SandboxInputException">The result would be more than <see cref="Max"/> from now.</exception>
    public static DateTimeOffset Extend(DateTimeOffset? current, DateTimeOffset now, TimeSpan ttl, string flag = "--ttl")
    {
        var from = current is { } c && c > now ? c : now;
        var result = from + ttl;
        return result - now > Max
            ? throw new SandboxInputException($"{flag}: extending to {result:u} would be more than {Format(Max)} from now")
            : result;
    }

    /// <summary>Short form: <c>1d2h</c>, <c>1h30m</c>, <c>45m</c>; negative durations as <c>expired</c>.</summary>
    public static string Format(TimeSpan value)
    {
        if (value < TimeSpan.Zero)
        {
            return "expired";
        }

        var parts = new List<string>();
        if (value.Days > 0)
        {
            parts.Add(value.Days.ToString(CultureInfo.InvariantCulture) + "d");
        }

        if (value.Hours > 0)
        {
            parts.Add(value.Hours.ToString(CultureInfo.InvariantCulture) + "h");
        }

        if (value.Minutes > 0 || parts.Count == 0)
        {
            parts.Add(value.Minutes.ToString(CultureInfo.InvariantCulture) + "m");
        }

        return string.Concat(parts);
    }

    private static TimeSpan Part(Match match, string unit, Func<double, TimeSpan> make) =>
        match.Groups[unit].Success
            ? make(long.Parse(match.Groups[unit].Value, NumberStyles.None, CultureInfo.InvariantCulture))
            : TimeSpan.Zero;

    [GeneratedRegex(@"^(?:(?<d>[0-9]{1,6})d)?(?:(?<h>[0-9]{1,6})h)?(?:(?<m>[0-9]{1,6})m)?\z", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}

/// <summary>One source newly allowed to reach one published port of a sandbox.</summary>
/// <param name="Port">The port as published on the sandbox.</param>
/// <param name="Protocol">Its protocol.</param>
/// <param name="Source">The source network now allowed.</param>
public sealed record PortOpening(int Port, Core.Stacks.TransportProtocol Protocol, Core.Stacks.Ipv4Cidr Source)
{
    /// <summary><c>8080/tcp from 10.1.2.0/24</c>.</summary>
    public override string ToString() => $"{SandboxPortPolicy.Describe(Port, Protocol)} from {Source}";
}

/// <summary>What <see cref="SandboxService.AllowAsync"/> did.</summary>
public sealed record SandboxAllowResult
{
    /// <summary>Sources newly allowed, per port (empty: the recorded policy allowed everything already, nothing changed).</summary>
    public required IReadOnlyList<PortOpening> Opened { get; init; }

    /// <summary>The sandbox's whole recorded policy afterwards.</summary>
    public required IReadOnlyList<Core.Stacks.PublishedPortPolicy> Policy { get; init; }

    /// <summary>What re-applying the hardening did (empty when nothing was opened).</summary>
    public IReadOnlyList<Phases.StackPhaseResult> Phases { get; init; } = [];
}

/// <summary>Sandbox port policies: what <c>sandbox run -p … --allow-from …</c> adds to the recorded ones.</summary>
public static class SandboxPortPolicy
{
    /// <summary>
    /// The union of <paramref name="current"/> and every (port, source) pair asked for. Sources already allowed,
    /// also by a wider network, are kept as they are; nothing recorded is ever dropped.
    /// </summary>
    /// <param name="current">The recorded policy.</param>
    /// <param name="ports">Ports as published on the sandbox (<c>-p</c>'s host port and protocol).</param>
    /// <param name="sources">Sources to allow (<c>--allow-from</c>).</param>
    /// <returns>The new policy and what it opens beyond <paramref name="current"/>.</returns>
    /// <exception cref="SandboxInputException">A port is SSH's 22/tcp, which only the admin networks may reach.</exception>
    public static (IReadOnlyList<Core.Stacks.PublishedPortPolicy> Policy, IReadOnlyList<PortOpening> Opened) Union(
        IReadOnlyList<Core.Stacks.PublishedPortPolicy> current,
        IReadOnlyList<(int Port, Core.Stacks.TransportProtocol Protocol)> ports,
        IReadOnlyList<Core.Stacks.Ipv4Cidr> sources)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(sources);
        CheckOpenable(ports);
        var policy = current.ToList();
        var opened = new List<PortOpening>();
        foreach (var (port, protocol) in ports.Distinct())
        {
            var index = policy.FindIndex(p => p.Port == port && p.Protocol == protocol);
            var from = index >= 0 ? policy[index].From.ToList() : [];
            foreach (var source in sources.Distinct())
            {
                if (!from.Any(f => Covers(f, source)))
                {
                    from.Add(source);
                    opened.Add(new PortOpening(port, protocol, source));
                }
            }

            var updated = new Core.Stacks.PublishedPortPolicy { Port = port, Protocol = protocol, From = from.AsReadOnly() };
            if (index >= 0)
            {
                policy[index] = updated;
            }
            else if (from.Count > 0)
            {
                policy.Add(updated);
            }
        }

        return (opened.Count == 0 ? current : policy.AsReadOnly(), opened.AsReadOnly());
    }

    /// <summary>Refuses ports a sandbox's firewall can never open to a source: out of range, or SSH's 22/tcp.</summary>
    /// <exception cref="SandboxInputException">Such a port, named.</exception>
    public static void CheckOpenable(IReadOnlyList<(int Port, Core.Stacks.TransportProtocol Protocol)> ports)
    {
        ArgumentNullException.ThrowIfNull(ports);
        foreach (var (port, protocol) in ports)
        {
            if (port is < 1 or > 65535)
            {
                throw new SandboxInputException(string.Create(CultureInfo.InvariantCulture, $"-p: {port} is not a port (1-65535)"));
            }

            if (port == 22 && protocol == Core.Stacks.TransportProtocol.Tcp)
            {
                throw new SandboxInputException("-p: 22/tcp is the sandbox's SSH port, which only its admin networks may reach; publish the container on another port");
            }
        }
    }

    /// <summary><c>8080/tcp</c>.</summary>
    public static string Describe(int port, Core.Stacks.TransportProtocol protocol) =>
        string.Create(CultureInfo.InvariantCulture, $"{port}/{Core.Stacks.TransportProtocols.Name(protocol)}");

    private static bool Covers(Core.Stacks.Ipv4Cidr wide, Core.Stacks.Ipv4Cidr narrow) =>
        wide.PrefixLength <= narrow.PrefixLength && wide.Contains(narrow.Network);
}

/// <summary>Which sandboxes are due for removal.</summary>
public static class SandboxReaping
{
    /// <summary>The sandboxes expired at <paramref name="now"/>, by name; sandboxes without an expiry are never reaped.</summary>
    public static IReadOnlyList<Sandbox> Expired(IEnumerable<Sandbox> sandboxes, DateTimeOffset now) =>
        [.. sandboxes.Where(s => s.IsExpired(now)).OrderBy(s => s.Name, StringComparer.Ordinal)];
}
