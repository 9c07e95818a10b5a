using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Provisioner.Core.Security;
using Provisioner.Core.Templates;
using YamlDotNet.RepresentationModel;
using static Provisioner.Core.CloudInit.YamlDocumentBuilder;

namespace Provisioner.Core.CloudInit;

/// <summary>
/// Renders a <see cref="CloudInitSpec"/> into the NoCloud documents <c>meta-data</c>, <c>user-data</c>
/// (<c>#cloud-config</c>) and <c>network-config</c> (version 2).
/// These are built as YAML node graphs and serialised by YamlDotNet rather than written from text
/// templates: see <see cref="YamlDocumentBuilder"/> for why that makes injection structurally impossible.
/// The engine learns that cloud-init has finished by SSH (with the pinned host key) and
/// <c>cloud-init status --wait</c>, so no completion marker is written.
/// </summary>
public static partial class CloudInitRenderer
{
    private const string Path = "cloudInit";

    /// <summary>Passwordless sudo for the admin user; its password is locked and SSH takes keys only.</summary>
    public const string AdminSudoRule = "ALL=(ALL) NOPASSWD:ALL";

    /// <summary>Renders the three documents and derives the instance id from their content.</summary>
    /// <exception cref="RenderModelException">A value in <paramref name="spec"/> is invalid.</exception>
    public static CloudInitDocuments Render(CloudInitSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Validate(spec);

        var userData = Serialize(UserData(spec), "#cloud-config");
        var networkConfig = Serialize(NetworkConfig(spec.Network));
        var localHostName = Str(spec.HostName);
        // The instance id covers everything else in the seed: cloud-init re-runs its once-per-instance
        // modules exactly when the configuration changed, and an unchanged seed keeps its id.
        var instanceId = InstanceId(Serialize(Map(("local-hostname", localHostName))), userData, networkConfig);
        var metaData = Serialize(Map(("instance-id", Str(instanceId)), ("local-hostname", Str(spec.HostName))));
        return new CloudInitDocuments
        {
            InstanceId = instanceId,
            MetaData = metaData,
            UserData = new Secret(userData),
            NetworkConfig = networkConfig,
        };
    }

    private static string InstanceId(string metaDataWithoutId, string userData, string networkConfig)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> length = stackalloc byte[8];
        foreach (var part in new[] { "provisioner-nocloud-1", metaDataWithoutId, userData, networkConfig })
        {
            // Length-prefixed, so moving text from one document to another changes the hash too.
            var bytes = Encoding.UTF8.GetBytes(part);
            System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(length, bytes.Length);
            hash.AppendData(length);
            hash.AppendData(bytes);
        }
        // 128 bits: the id is public, and a truncated SHA-256 reveals nothing of the secret content.
        return "iid-" + Convert.ToHexStringLower(hash.GetHashAndReset().AsSpan(0, 16));
    }

    private static YamlMappingNode UserData(CloudInitSpec spec)
    {
        var admin = spec.AdminUser;
        var user = Map(
            ("name", Str(admin.Name)),
            ("groups", admin.Groups.Count > 0 ? Seq(admin.Groups.Select(Str)) : null),
            ("shell", Str(admin.Shell)),
            ("sudo", Str(AdminSudoRule)),
            ("lock_passwd", Bool(true)),
            ("ssh_authorized_keys", Seq(admin.SshAuthorizedKeys.Select(Str))));

        var hostKeys = new YamlMappingNode();
        foreach (var key in spec.HostKeys)
        {
            var prefix = key.Type switch
            {
                SshHostKeyType.Ed25519 => "ed25519",
                SshHostKeyType.Ecdsa => "ecdsa",
                _ => "rsa",
            };
            hostKeys.Add(prefix + "_private", Str(key.PrivateKey.Reveal()));
            hostKeys.Add(prefix + "_public", Str(key.PublicKey));
        }

        var files = spec.WriteFiles.Select(f => (YamlNode)Map(
            ("path", Str(f.Path)),
            ("content", Str(f.Content)),
            ("owner", Str(f.Owner)),
            ("permissions", Str(f.Permissions)),
            ("defer", f.Defer ? Bool(true) : null))).ToList();

        // cloud-init shell-quotes each element of a list entry itself: an argv is never re-split.
        var commands = spec.RunCommands.Select(argv => (YamlNode)Seq(argv.Select(Str))).ToList();

        return Map(
            ("hostname", Str(spec.HostName)),
            ("fqdn", spec.Fqdn is null ? null : Str(spec.Fqdn)),
            ("manage_etc_hosts", Bool(true)),
            ("users", Seq([user])),
            ("disable_root", Bool(true)),
            ("ssh_pwauth", Bool(false)),
            // Remove the image's host keys; with ssh_keys present cloud-init (cc_ssh) writes those and
            // generates none, so only our pinned keys exist. (An empty ssh_genkeytypes would say the same
            // but fails cloud-init's schema, which wants at least one item.)
            ("ssh_deletekeys", Bool(true)),
            ("ssh_keys", hostKeys),
            ("growpart", Map(("mode", Str(spec.GrowRootFilesystem ? "auto" : "off")), ("devices", Seq([Str("/")])))),
            ("resize_rootfs", Bool(spec.GrowRootFilesystem)),
            // Golden images carry their packages; no first-boot mirror traffic.
            ("package_update", Bool(false)),
            ("package_upgrade", Bool(false)),
            ("write_files", files.Count > 0 ? Seq(files) : null),
            ("runcmd", commands.Count > 0 ? Seq(commands) : null));
    }

    private static YamlMappingNode NetworkConfig(CloudInitNetwork network)
    {
        // Match by MAC and set the name: every cloud-init renderer (ifupdown, networkd, netplan) then
        // agrees on the interface, whatever the kernel called it.
        var ethernet = Map(
            ("match", Map(("macaddress", Str(network.MacAddress.ToLowerInvariant())))),
            ("set-name", Str(network.InterfaceName)),
            ("dhcp4", Bool(network.Static is null)),
            ("dhcp6", Bool(false)));
        if (network.Static is { } s)
        {
            ethernet.Add("addresses", Seq([Str(string.Create(CultureInfo.InvariantCulture, $"{s.Address}/{s.PrefixLength}"))]));
            ethernet.Add("routes", Seq([Map(("to", Str("0.0.0.0/0")), ("via", Str(s.Gateway.ToString())))]));
            if (s.DnsServers.Count > 0 || s.SearchDomains.Count > 0)
            {
                ethernet.Add("nameservers", Map(
                    ("addresses", s.DnsServers.Count > 0 ? Seq(s.DnsServers.Select(a => Str(a.ToString()))) : null),
                    ("search", s.SearchDomains.Count > 0 ? Seq(s.SearchDomains.Select(Str)) : null)));
            }
        }
        var ethernets = new YamlMappingNode { { network.InterfaceName, ethernet } };
        return Map(("version", Int(2)), ("ethernets", ethernets));
    }

    [GeneratedRegex("^[a-z_][a-z0-9_-]{0,31}$", RegexOptions.CultureInvariant)]
    private static partial Regex UnixNamePattern();

    [GeneratedRegex("^[a-z][a-z0-9]{0,14}$", RegexOptions.CultureInvariant)]
    private static partial Regex InterfacePattern();

    [GeneratedRegex("^0?[0-7]{3}$", RegexOptions.CultureInvariant)]
    private static partial Regex ModePattern();

    private static void Validate(CloudInitSpec spec)
    {
        Check.HostName($"{Path}.hostName", spec.HostName);
        if (spec.Fqdn is not null)
        {
            Check.DomainName($"{Path}.fqdn", spec.Fqdn);
            if (!spec.Fqdn.StartsWith(spec.HostName + ".", StringComparison.Ordinal))
            {
                throw new RenderModelException($"{Path}.fqdn", $"'{spec.Fqdn}' does not begin with the host name '{spec.HostName}.'");
            }
        }

        var admin = spec.AdminUser ?? throw new RenderModelException($"{Path}.adminUser", "is required");
        UnixName($"{Path}.adminUser.name", admin.Name);
        if (admin.Name == "root")
        {
            throw new RenderModelException($"{Path}.adminUser.name", "'root' cannot be the admin user: root login stays disabled");
        }
        Check.AbsolutePath($"{Path}.adminUser.shell", admin.Shell);
        Check.NotNull($"{Path}.adminUser.sshAuthorizedKeys", admin.SshAuthorizedKeys);
        if (admin.SshAuthorizedKeys.Count == 0)
        {
            throw new RenderModelException($"{Path}.adminUser.sshAuthorizedKeys", "needs at least one key: password login is off");
        }
        for (var i = 0; i < admin.SshAuthorizedKeys.Count; i++)
        {
            // One key per authorized_keys line: a line break would smuggle in a second key.
            Check.Text($"{Path}.adminUser.sshAuthorizedKeys[{i}]", admin.SshAuthorizedKeys[i]);
        }
        for (var i = 0; i < admin.Groups.Count; i++)
        {
            UnixName($"{Path}.adminUser.groups[{i}]", admin.Groups[i]);
        }

        Check.NotNull($"{Path}.hostKeys", spec.HostKeys);
        if (spec.HostKeys.Count == 0)
        {
            throw new RenderModelException($"{Path}.hostKeys", "needs at least one key: cloud-init generates none, so sshd would have no host key");
        }
        var seen = new HashSet<SshHostKeyType>();
        for (var i = 0; i < spec.HostKeys.Count; i++)
        {
            var key = spec.HostKeys[i];
            var p = $"{Path}.hostKeys[{i}]";
            Check.NotNull(p, key);
            Check.Defined($"{p}.type", key.Type);
            if (!seen.Add(key.Type))
            {
                throw new RenderModelException($"{p}.type", $"'{key.Type}' appears twice");
            }
            Check.NotNull($"{p}.privateKey", key.PrivateKey);
            if (string.IsNullOrWhiteSpace(key.PrivateKey.Reveal()))
            {
                throw new RenderModelException($"{p}.privateKey", "is empty");
            }
            Check.Text($"{p}.publicKey", key.PublicKey);
        }

        Check.NotNull($"{Path}.writeFiles", spec.WriteFiles);
        for (var i = 0; i < spec.WriteFiles.Count; i++)
        {
            var file = spec.WriteFiles[i];
            var p = $"{Path}.writeFiles[{i}]";
            Check.NotNull(p, file);
            Check.AbsolutePath($"{p}.path", file.Path);
            Check.NotNull($"{p}.content", file.Content);
            if (!ModePattern().IsMatch(file.Permissions ?? string.Empty))
            {
                throw new RenderModelException($"{p}.permissions", $"{Check.Quote(file.Permissions)} is not an octal mode such as '0644'");
            }
            var owner = (file.Owner ?? string.Empty).Split(':');
            if (owner.Length != 2 || !owner.All(UnixNamePattern().IsMatch))
            {
                throw new RenderModelException($"{p}.owner", $"{Check.Quote(file.Owner)} is not 'user:group'");
            }
        }

        Check.NotNull($"{Path}.runCommands", spec.RunCommands);
        for (var i = 0; i < spec.RunCommands.Count; i++)
        {
            var argv = spec.RunCommands[i];
            var p = $"{Path}.runCommands[{i}]";
            if (argv is null || argv.Count == 0)
            {
                throw new RenderModelException(p, "must be a non-empty argument vector");
            }
            for (var j = 0; j < argv.Count; j++)
            {
                if (argv[j] is null || argv[j].Contains('\0', StringComparison.Ordinal))
                {
                    throw new RenderModelException($"{p}[{j}]", "must be a string without NUL characters");
                }
            }
        }

        var network = spec.Network ?? throw new RenderModelException($"{Path}.network", "is required");
        Check.MacAddress($"{Path}.network.macAddress", network.MacAddress);
        if (network.InterfaceName is null || !InterfacePattern().IsMatch(network.InterfaceName))
        {
            throw new RenderModelException($"{Path}.network.interfaceName", $"{Check.Quote(network.InterfaceName)} is not an interface name such as 'eth0'");
        }
        if (network.Static is { } s)
        {
            Check.Ipv4($"{Path}.network.static.address", s.Address);
            Check.Range($"{Path}.network.static.prefixLength", s.PrefixLength, 1, 32);
            Check.Ipv4($"{Path}.network.static.gateway", s.Gateway);
            for (var i = 0; i < s.DnsServers.Count; i++)
            {
                Check.Ipv4($"{Path}.network.static.dnsServers[{i}]", s.DnsServers[i]);
            }
            for (var i = 0; i < s.SearchDomains.Count; i++)
            {
                Check.DomainName($"{Path}.network.static.searchDomains[{i}]", s.SearchDomains[i]);
            }
        }
    }

    private static void UnixName(string path, string? value)
    {
        if (value is null || !UnixNamePattern().IsMatch(value))
        {
            throw new RenderModelException(path, $"{Check.Quote(value)} is not a user or group name (lower-case letters, digits, '_', '-'; at most 32)");
        }
    }
}
