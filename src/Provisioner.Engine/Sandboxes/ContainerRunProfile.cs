using System.Globalization;
using System.Text.RegularExpressions;

namespace Provisioner.Engine.Sandboxes;

/// <summary>One published port: <c>[hostPort:]containerPort[/tcp|udp]</c>.</summary>
public sealed partial record PublishedPort(int HostPort, int ContainerPort, string Protocol)
{
    /// <summary>Parses <c>-p</c>'s value.</summary>
    /// <exception cref="SandboxInputException">Not a port mapping.</exception>
    public static PublishedPort Parse(string text)
    {
        var m = text is null ? null : Pattern().Match(text);
        if (m is null || !m.Success)
        {
            throw new SandboxInputException($"-p: '{text}' is not a port mapping; use HOSTPORT:CONTAINERPORT[/tcp|/udp], e.g. 8080:80");
        }

        var container = Port(m.Groups["c"].Value, text!);
        var host = m.Groups["h"].Success ? Port(m.Groups["h"].Value, text!) : container;
        return new PublishedPort(host, container, m.Groups["p"].Success ? m.Groups["p"].Value : "tcp");
    }

    private static int Port(string digits, string text)
    {
        var value = int.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
        return value is >= 1 and <= 65535 ? value : throw new SandboxInputException($"-p: '{text}': {value} is not a port (1-65535)");
    }

    [GeneratedRegex(@"^(?:(?<h>[0-9]{1,5}):)?(?<c>[0-9]{1,5})(?:/(?<p>tcp|udp))?\z", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}

/// <summary>
/// How a container runs in a sandbox: the hardened profile by default (non-root, no capabilities, read-only root,
/// no new privileges, ports on loopback only), with every relaxation an explicit choice that is reported.
/// </summary>
public sealed partial record ContainerRunProfile
{
    /// <summary>The unprivileged user the container runs as by default (nobody:nogroup).</summary>
    public const string UnprivilegedUser = "65534:65534";

    /// <summary>Image reference (already in the sandbox, or loaded from an uploaded tarball).</summary>
    public required string Image { get; init; }

    /// <summary>Ports to publish.</summary>
    public IReadOnlyList<PublishedPort> Ports { get; init; } = [];

    /// <summary>Capabilities asked for with <c>--cap-add</c>.</summary>
    public IReadOnlyList<string> CapAdd { get; init; } = [];

    /// <summary>Source networks allowed to reach published ports; when empty, ports bind to 127.0.0.1 only.</summary>
    public IReadOnlyList<string> AllowFrom { get; init; } = [];

    /// <summary>Writable root filesystem (<c>--writable-root</c>).</summary>
    public bool WritableRoot { get; init; }

    /// <summary>Run as root inside the container (<c>--root</c>).</summary>
    public bool Root { get; init; }

    /// <summary>Container name (optional).</summary>
    public string? Name { get; init; }

    /// <summary>Capabilities actually added: the requested ones plus NET_BIND_SERVICE when a container port is below 1024.</summary>
    public IReadOnlyList<string> EffectiveCapabilities
    {
        get
        {
            var caps = CapAdd.Select(NormalizeCapability).ToList();
            if (NeedsBindService && !caps.Contains("NET_BIND_SERVICE", StringComparer.Ordinal))
            {
                caps.Add("NET_BIND_SERVICE");
            }

            return [.. caps.Distinct(StringComparer.Ordinal)];
        }
    }

    private bool NeedsBindService => !Root && Ports.Any(p => p.ContainerPort < 1024);

    /// <summary>Checks values that go into the argv (image, capabilities, CIDRs, name).</summary>
    /// <exception cref="SandboxInputException">A value is invalid.</exception>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Image) || Image.StartsWith('-') || !ImagePattern().IsMatch(Image))
        {
            throw new SandboxInputException($"IMAGE: '{Image}' is not an image reference");
        }

        foreach (var cap in CapAdd)
        {
            if (!CapabilityPattern().IsMatch(NormalizeCapability(cap)) || string.Equals(NormalizeCapability(cap), "ALL", StringComparison.Ordinal))
            {
                throw new SandboxInputException($"--cap-add: '{cap}' is not a single capability name (e.g. NET_ADMIN)");
            }
        }

        foreach (var cidr in AllowFrom)
        {
            if (!Core.Stacks.Ipv4Cidr.TryParse(cidr, out _, out var error))
            {
                throw new SandboxInputException($"--allow-from: '{cidr}' {error}");
            }
        }

        if (Name is not null && !Core.Naming.ResourceName.IsValid(Name))
        {
            throw new SandboxInputException($"--container-name: '{Name}' is not a valid name ({Core.Naming.ResourceName.Pattern})");
        }
    }

    /// <summary>The ports as published on the sandbox (host port and protocol), which its firewall policy is about.</summary>
    public IReadOnlyList<(int Port, Core.Stacks.TransportProtocol Protocol)> HostPorts =>
        [.. Ports.Select(p => (p.HostPort, p.Protocol == "udp" ? Core.Stacks.TransportProtocol.Udp : Core.Stacks.TransportProtocol.Tcp)).Distinct()];

    /// <summary>The <c>--allow-from</c> sources, parsed (call <see cref="Validate"/> first).</summary>
    /// <exception cref="SandboxInputException">A source is not a canonical IPv4 CIDR.</exception>
    public IReadOnlyList<Core.Stacks.Ipv4Cidr> AllowedSources
    {
        get
        {
            Validate();
            return [.. AllowFrom.Select(Core.Stacks.Ipv4Cidr.Parse).Distinct()];
        }
    }

    /// <summary>The <c>docker run</c> argv (program first), ready for <c>ShellCommand.Create</c>.</summary>
    public IReadOnlyList<string> Argv()
    {
        Validate();
        var argv = new List<string> { "docker", "run", "--detach" };
        if (Name is not null)
        {
            argv.AddRange(["--name", Name]);
        }

        if (!Root)
        {
            argv.AddRange(["--user", UnprivilegedUser]);
        }

        argv.Add("--cap-drop=ALL");
        foreach (var cap in EffectiveCapabilities)
        {
            argv.Add("--cap-add=" + cap);
        }

        if (!WritableRoot)
        {
            argv.AddRange(["--read-only", "--tmpfs", "/run", "--tmpfs", "/tmp"]);
        }

        argv.AddRange(["--security-opt", "no-new-privileges"]);
        var bind = AllowFrom.Count == 0 ? "127.0.0.1" : "0.0.0.0";
        foreach (var p in Ports)
        {
            argv.AddRange(["--publish", string.Create(CultureInfo.InvariantCulture, $"{bind}:{p.HostPort}:{p.ContainerPort}/{p.Protocol}")]);
        }

        // '--' is not understood by docker run; the image is last and was validated not to start with '-'.
        argv.Add(Image);
        return argv;
    }

    /// <summary>Every way this run is less strict than the default profile, in words, for printing.</summary>
    public IReadOnlyList<string> Relaxations()
    {
        var list = new List<string>();
        if (Root)
        {
            list.Add("--root: the container runs as root (uid 0 in the container; userns-remap still maps it to an unprivileged host uid when the hardened runtime is applied)");
        }

        if (WritableRoot)
        {
            list.Add("--writable-root: the container's root filesystem is writable");
        }

        foreach (var cap in CapAdd.Select(NormalizeCapability).Distinct(StringComparer.Ordinal))
        {
            list.Add($"--cap-add {cap}: capability {cap} granted");
        }

        if (NeedsBindService && !CapAdd.Select(NormalizeCapability).Contains("NET_BIND_SERVICE", StringComparer.Ordinal))
        {
            list.Add("NET_BIND_SERVICE granted automatically: a published container port is below 1024");
        }

        if (AllowFrom.Count > 0)
        {
            list.Add($"--allow-from {string.Join(", ", AllowFrom)}: published ports bind to 0.0.0.0, not 127.0.0.1, and the sandbox's firewall lets these sources (only) reach them");
        }

        return list;
    }

    private static string NormalizeCapability(string cap)
    {
        var upper = cap.Trim().ToUpperInvariant();
        return upper.StartsWith("CAP_", StringComparison.Ordinal) ? upper[4..] : upper;
    }

    [GeneratedRegex(@"^[A-Z][A-Z0-9_]{1,30}\z", RegexOptions.CultureInvariant)]
    private static partial Regex CapabilityPattern();

    // Docker reference grammar, loosely: registry/path:tag@digest, no whitespace or shell metacharacters needed.
    [GeneratedRegex(@"^[a-zA-Z0-9][a-zA-Z0-9._/:@-]{0,254}\z", RegexOptions.CultureInvariant)]
    private static partial Regex ImagePattern();
}
