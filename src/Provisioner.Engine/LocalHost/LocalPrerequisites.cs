using System.Globalization;
using System.Text.RegularExpressions;

namespace Provisioner.Engine.LocalHost;

/// <summary>The outcome of <see cref="LocalPrerequisites.InstallAsync"/>.</summary>
/// <param name="Installed">Whether the packages were installed by this call.</param>
/// <param name="Packages">The packages that were (or must be) installed.</param>
/// <param name="RequiredCommand">When not installed: the exact command to run; otherwise null.</param>
public sealed record PrerequisiteInstallResult(bool Installed, IReadOnlyList<string> Packages, string? RequiredCommand);

/// <summary>
/// The Debian packages a machine needs to run guests locally, build golden images and run the
/// tests: which are missing, and installing them (as root, with apt) or saying how to.
/// The list is the one <c>eng/install-prerequisites.sh</c> installs.
/// </summary>
public sealed partial class LocalPrerequisites
{
    /// <summary>dpkg's database of installed packages.</summary>
    public const string DefaultDpkgStatusPath = "/var/lib/dpkg/status";

    private readonly ILocalSystem _system;

    /// <summary>Creates the checker for the real machine, or for <paramref name="system"/> in tests.</summary>
    public LocalPrerequisites(ILocalSystem? system = null)
    {
        _system = system ?? LinuxLocalSystem.Instance;
    }

    /// <summary>Every package required, in the order of eng/install-prerequisites.sh.</summary>
    public static IReadOnlyList<string> RequiredPackages { get; } =
    [
        // libvirt host and guests under qemu
        "libvirt-daemon-system", "libvirt-clients", "libvirt0", "qemu-system-x86", "qemu-utils", "dnsmasq-base",
        // golden image build
        "debootstrap", "e2fsprogs", "fdisk", "grub-pc-bin", "util-linux", "coreutils",
        // cloud-init seed images and test fixtures
        "genisoimage", "xorriso", "dosfstools", "mtools",
        // host firewall, networking and SSH used by live tests
        "nftables", "iproute2", "iptables", "openssh-server", "openssh-client",
        "ca-certificates",
    ];

    /// <summary>Where dpkg's status database is read from.</summary>
    public string DpkgStatusPath { get; init; } = DefaultDpkgStatusPath;

    /// <summary>The required packages that are not installed, in <see cref="RequiredPackages"/> order.</summary>
    /// <exception cref="InvalidOperationException">There is no dpkg database (not a Debian system).</exception>
    public async Task<IReadOnlyList<string>> FindMissingAsync(CancellationToken cancellationToken = default)
    {
        var status = await _system.ReadFileAsync(DpkgStatusPath, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"no dpkg database at {DpkgStatusPath}: the local host must run Debian 12");
        var installed = ParseInstalledPackages(status);
        return [.. RequiredPackages.Where(p => !installed.Contains(p))];
    }

    /// <summary>
    /// Installs <paramref name="packages"/> with <c>apt-get install -y --no-install-recommends</c>
    /// when this process is root and apt exists; otherwise returns the command to run.
    /// </summary>
    /// <exception cref="InvalidOperationException">apt-get failed; the message carries its output tail.</exception>
    public async Task<PrerequisiteInstallResult> InstallAsync(
        IReadOnlyList<string> packages, IProgress<string>? output = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(packages);
        foreach (var package in packages)
        {
            if (!PackageName().IsMatch(package))
            {
                throw new ArgumentException($"packages: '{package}' is not a Debian package name", nameof(packages));
            }
        }

        if (packages.Count == 0)
        {
            return new PrerequisiteInstallResult(false, packages, null);
        }

        var apt = _system.FindExecutable("apt-get");
        if (!_system.IsRoot || apt is null)
        {
            var command = InstallCommand(packages);
            return new PrerequisiteInstallResult(false, packages, _system.IsRoot ? command : "sudo sh -c '" + command + "'");
        }

        // Waits for a concurrent apt run instead of failing on dpkg's lock.
        string[] lockWait = ["-o", "DPkg::Lock::Timeout=600"];
        await RunAptAsync(apt, [.. lockWait, "update", "-q"], output, cancellationToken).ConfigureAwait(false);
        await RunAptAsync(apt, [.. lockWait, "install", "-y", "-q", "--no-install-recommends", .. packages], output, cancellationToken)
            .ConfigureAwait(false);
        return new PrerequisiteInstallResult(true, packages, null);
    }

    /// <summary>The shell command that installs <paramref name="packages"/> (names already validated).</summary>
    public static string InstallCommand(IEnumerable<string> packages) =>
        "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends " + string.Join(' ', packages);

    /// <summary>Names of the packages dpkg's status database lists as installed.</summary>
    public static IReadOnlySet<string> ParseInstalledPackages(string dpkgStatus)
    {
        ArgumentNullException.ThrowIfNull(dpkgStatus);
        var installed = new HashSet<string>(StringComparer.Ordinal);
        string? package = null;
        string? state = null;
        foreach (var rawLine in dpkgStatus.Split('\n'))
        {
            var line = rawLine.TrimEnd('\r');
            if (line.Length == 0)
            {
                Flush();
                continue;
            }

            if (line.StartsWith("Package:", StringComparison.Ordinal))
            {
                package = line["Package:".Length..].Trim();
            }
            else if (line.StartsWith("Status:", StringComparison.Ordinal))
            {
                // "want flag state", e.g. "install ok installed" or "hold ok installed".
                state = line["Status:".Length..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries).LastOrDefault();
            }
        }

        Flush();
        return installed;

        void Flush()
        {
            if (package is not null && string.Equals(state, "installed", StringComparison.Ordinal))
            {
                installed.Add(package);
            }

            package = null;
            state = null;
        }
    }

    private async Task RunAptAsync(string apt, IReadOnlyList<string> arguments, IProgress<string>? output, CancellationToken cancellationToken)
    {
        var result = await _system.RunAsync(apt, arguments, output, cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"'apt-get {string.Join(' ', arguments)}' exited with {result.ExitCode.ToString(CultureInfo.InvariantCulture)}:"
                + Environment.NewLine + string.Join(Environment.NewLine, result.OutputTail));
        }
    }

    // Debian policy 5.6.1: lower case letters, digits, '+', '-', '.'; at least two characters.
    [GeneratedRegex("^[a-z0-9][a-z0-9+.-]+$", RegexOptions.CultureInvariant)]
    private static partial Regex PackageName();
}
