using System.Security.Cryptography;
using System.Text;
using Provisioner.Core.Audit;
using Provisioner.Core.Hardening;
using Provisioner.Core.Tests.Templates;

namespace Provisioner.Core.Tests.Audit;

/// <summary>
/// Probe outputs for the audit evaluators. The defaults are recordings (TestFiles/hardening/audit/):
/// <c>docker info</c> and <c>docker network inspect bridge</c> of a real Debian 12 dockerd 20.10.24 started
/// with the rendered daemon.json in a network namespace, and nft/iptables listings of the rendered sandbox
/// firewall loaded into real nftables 1.0.6 / iptables-nft 1.8.9. Each test replaces what it needs.
/// </summary>
internal sealed class AuditFixture
{
    private readonly Dictionary<string, ProbeOutput> _outputs = new(StringComparer.Ordinal);

    public AuditFixture(HardeningBundle bundle)
    {
        Bundle = bundle;
        Checks = AuditChecks.For(bundle);
        // The recording ran dockerd with --data-root under /tmp; a node uses Docker's default.
        Set("docker info", Recorded("docker-info-20.10-userns.json").Replace("/tmp/hd-dk/root/", "/var/lib/docker/", StringComparison.Ordinal));
        Set("docker network inspect bridge", Recorded("bridge-options-20.10.json"));
        Set("cat /etc/docker/daemon.json", bundle.Daemon.Json);
        Set("ss", "LISTEN 0      128          0.0.0.0:22        0.0.0.0:*    users:((\"sshd\",pid=512,fd=3))\n");
        Set("stat", """
            /lib/systemd/system/docker.service root root 644
            /lib/systemd/system/docker.socket root root 644
            /etc/docker root root 755
            /run/docker.sock root docker 660
            /etc/docker/daemon.json root root 644
            /run/containerd/containerd.sock root root 660

            """);
        Set("grep -H ^dockremap:", "/etc/subuid:dockremap:1000000000:65536\n/etc/subgid:dockremap:1000000000:65536\n");
        Set("nft -j list table inet provisioner", Recorded("nft-table-sandbox.json"));
        Set("nft list tables", Recorded("nft-tables.txt"));
        Set("iptables -w -S DOCKER-USER", Recorded("docker-user.txt"));
        Set("iptables -w -S PROVISIONER-PUBLISHED", Recorded("published-chain-sandbox.txt"));
        Set("systemctl is-enabled provisioner-firewall.service", "enabled\nenabled\n");
        Set("systemctl is-enabled nftables.service", "masked\n", exitCode: 1);
        Set("systemctl is-enabled docker.service", "enabled\n");
        Set("docker ps", string.Empty);
        Set("sha256sum", string.Concat(bundle.Files.Select(f => $"{Sha256(f.Content)}  {f.Path}\n")));
    }

    public HardeningBundle Bundle { get; }

    public IReadOnlyList<AuditCheck> Checks { get; }

    public static string Recorded(string name) => File.ReadAllText(Path.Combine(Golden.TestFilesDirectory(), "hardening", "audit", name));

    public static string Sha256(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>Sets the output of the probe whose command line starts with <paramref name="prefix"/>.</summary>
    public AuditFixture Set(string prefix, string stdout, int exitCode = 0, string stderr = "")
    {
        _outputs[prefix] = new ProbeOutput(exitCode, stdout, stderr);
        return this;
    }

    public ProbeOutput OutputOf(AuditProbe probe)
    {
        var line = string.Join(' ', probe.Argv);
        var match = _outputs.Where(o => line.StartsWith(o.Key, StringComparison.Ordinal)).OrderByDescending(o => o.Key.Length).FirstOrDefault();
        return match.Key is null ? throw new InvalidOperationException($"no output recorded for '{line}'") : match.Value;
    }

    public IReadOnlyDictionary<string, AuditResult> Run() =>
        Checks.Select(c => c.Run(c.Probes.Select(OutputOf).ToList())).ToDictionary(r => r.Id);

    public AuditResult Run(string id) => Run()[id];
}
