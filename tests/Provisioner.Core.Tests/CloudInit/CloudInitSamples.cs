using System.Net;
using Provisioner.Core.CloudInit;
using Provisioner.Core.Security;

namespace Provisioner.Core.Tests.CloudInit;

internal static class CloudInitSamples
{
    // Not a real key: the renderer treats the text as opaque.
    public const string PrivateKey = """
        -----BEGIN OPENSSH PRIVATE KEY-----
        b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
        QyNTUxOQAAACBmYWtlZmFrZWZha2VmYWtlZmFrZWZha2VmYWtlZmFrZQAAAJhmYWtlZmFr
        -----END OPENSSH PRIVATE KEY-----

        """;

    public const string HostPublicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGZha2VmYWtlZmFrZWZha2VmYWtlZmFrZWZha2VmYWtl web-1";

    public const string AdminKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHRlc3R0ZXN0dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0 ops@example";

    public static readonly DateTimeOffset Timestamp = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    public static CloudInitSpec Spec() => new()
    {
        HostName = "web-1",
        Fqdn = "web-1.dev.internal",
        AdminUser = new CloudInitUser { Name = "admin", SshAuthorizedKeys = [AdminKey], Groups = ["sudo"] },
        HostKeys = [new SshHostKey { Type = SshHostKeyType.Ed25519, PrivateKey = new Secret(PrivateKey), PublicKey = HostPublicKey }],
        WriteFiles =
        [
            new CloudInitFile
            {
                Path = "/etc/docker/daemon.json",
                Content = "{\n  \"userns-remap\": \"default\",\n  \"no-new-privileges\": true\n}\n",
                Permissions = "0644",
            },
            new CloudInitFile { Path = "/etc/provisioner/role", Content = "docker", Permissions = "0600", Owner = "root:root", Defer = true },
        ],
        RunCommands =
        [
            ["systemctl", "enable", "--now", "nftables.service"],
            ["sh", "-c", "echo 'quoted; $(not expanded)' > /dev/null"],
        ],
        Network = new CloudInitNetwork { MacAddress = "52:54:00:12:34:56" },
    };

    public static CloudInitSpec StaticSpec() => Spec() with
    {
        Network = new CloudInitNetwork
        {
            MacAddress = "52:54:00:12:34:56",
            Static = new StaticIpv4
            {
                Address = IPAddress.Parse("10.77.0.11"),
                PrefixLength = 24,
                Gateway = IPAddress.Parse("10.77.0.1"),
                DnsServers = [IPAddress.Parse("10.77.0.1")],
                SearchDomains = ["dev.internal"],
            },
        },
    };
}
