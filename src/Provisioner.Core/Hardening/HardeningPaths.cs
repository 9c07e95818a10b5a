namespace Provisioner.Core.Hardening;

/// <summary>Where the hardening files live on a node, and the units that load them.</summary>
public static class HardeningPaths
{
    /// <summary>Docker's configuration.</summary>
    public const string DaemonJson = DaemonConfiguration.InstallPath;

    /// <summary>Drop-in for docker.service: Unix socket only, dockremap before dockerd, firewall first.</summary>
    public const string DockerDropIn = "/etc/systemd/system/docker.service.d/10-provisioner.conf";

    /// <summary>Creates the dockremap account and its subordinate ID ranges.</summary>
    public const string EnsureDockremap = "/usr/local/lib/provisioner/ensure-dockremap";

    /// <summary>Installs the DOCKER-USER policy (iptables backend).</summary>
    public const string DockerUserPolicy = "/usr/local/lib/provisioner/docker-user-policy";

    /// <summary>Our nftables table.</summary>
    public const string Ruleset = "/etc/provisioner/firewall/provisioner.nft";

    /// <summary>The DOCKER-USER rules in iptables-restore format.</summary>
    public const string DockerUserRules = "/etc/provisioner/firewall/docker-user.rules";

    /// <summary>Loads <see cref="Ruleset"/> and the DOCKER-USER policy at boot.</summary>
    public const string FirewallUnit = "/etc/systemd/system/" + FirewallUnitName;

    /// <summary>Re-applies the DOCKER-USER policy after each Docker (re)start.</summary>
    public const string DockerUserUnit = "/etc/systemd/system/" + DockerUserUnitName;

    /// <summary>Name of the firewall unit.</summary>
    public const string FirewallUnitName = "provisioner-firewall.service";

    /// <summary>Name of the DOCKER-USER unit.</summary>
    public const string DockerUserUnitName = "provisioner-docker-user.service";

    /// <summary>Our nftables table, as <c>family name</c>.</summary>
    public const string NftTable = "inet provisioner";

    /// <summary>Our chain in Docker's iptables filter table, jumped to first from DOCKER-USER.</summary>
    public const string DockerUserChain = "PROVISIONER-PUBLISHED";

    /// <summary>The account Docker's <c>userns-remap: default</c> maps container root to.</summary>
    public const string RemapUser = "dockremap";

    /// <summary>First subordinate UID/GID of <see cref="RemapUser"/> (as set by ensure-dockremap).</summary>
    public const long RemapFirstId = 1_000_000_000;

    /// <summary>Number of subordinate IDs of <see cref="RemapUser"/>.</summary>
    public const long RemapIdCount = 65536;
}
