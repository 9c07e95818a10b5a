using System.Text.Json;
using Provisioner.Core.Kubernetes;
using Provisioner.Core.Stacks;
using static Provisioner.Core.Tests.Stacks.StackYaml;

namespace Provisioner.Core.Tests.Stacks;

public sealed class StackLoaderTests
{
    private const string Host = """
        - name: h1
          uri: test:///default
          region: oslo
          pool: {name: p, path: /srv/pool, media: nvme}
        """;

    [Fact]
    public void Parse_DefaultTestStack_IsValid()
    {
        var stack = Load();
        Assert.Equal(["cp-1", "cp-2", "box"], stack.Nodes.Select(n => n.Name));
        Assert.Equal("debian-12", stack.Image.Recipe);
        Assert.True(stack.Placement.ControlPlaneAntiAffinity);
        Assert.False(stack.Virtualization.AllowEmulation);
    }

    [Fact]
    public void Parse_BadUri_NamesPathValueAndLocation()
    {
        var errors = Errors(("hosts", """
            - name: h1
              uri: test:///default
              region: oslo
              pool: {name: p, path: /srv/pool, media: nvme}
            - name: h2
              uri: test:///default
              region: oslo
              pool: {name: p, path: /srv/pool, media: nvme}
            - name: h3
              uri: qemu+shh://h3.example.net/system
              region: oslo
              pool: {name: p, path: /srv/pool, media: nvme}
            """));

        var error = Single(errors, "provisioner:hosts[2].uri", "'qemu+shh://h3.example.net/system' is not a libvirt URI");
        Assert.Equal("hosts[2].uri", error.PropertyPath);
        Assert.Equal(new SourceLocation("Pulumi.test.yaml", 12, 12), error.Location);
        Assert.StartsWith("Pulumi.test.yaml:12:12: provisioner:hosts[2].uri: 'qemu+shh://", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ManyProblems_ReportsAllOfThem()
    {
        var errors = Errors(
            ("hosts", """
                - name: H1
                  uri: qemu+tcp://h1/system
                  region: oslo
                  pool: {name: p, path: relative/dir, media: tape}
                """),
            ("networks", """
                - name: net
                  cidr: 10.1.0.1/24
                  mode: nat
                """),
            ("image", "name: debian-12\nrecipie: x"));

        Single(errors, "provisioner:hosts[0].name", "'H1' is not a valid name");
        Single(errors, "provisioner:hosts[0].uri", "qemu+tcp");
        Single(errors, "provisioner:hosts[0].pool.path", "'relative/dir' is not an absolute directory");
        Single(errors, "provisioner:hosts[0].pool.media", "'tape' is not one of nvme, ssd, hdd");
        Single(errors, "provisioner:networks[0].cidr", "did you mean 10.1.0.0/24?");
        Single(errors, "provisioner:image.recipie", "did you mean 'recipe'?");
        Assert.Equal(errors.OrderBy(e => e.Location!.Line).ThenBy(e => e.Location!.Column), errors);
        var ex = Assert.Throws<StackValidationException>(() => Load(("image", "name: debian-12\nrecipie: x")));
        Assert.Contains("provisioner:image.recipie", ex.Message, StringComparison.Ordinal);
        Assert.Equal("test", ex.StackName);
    }

    [Fact]
    public void Parse_QemuTcp_RefusedAsUnencrypted()
    {
        var errors = Errors(("hosts", Host.Replace("test:///default", "qemu+tcp://h1.example.net/system")));
        Single(errors, "provisioner:hosts[0].uri", "unencrypted");
    }

    [Fact]
    public void Parse_UnknownKeyInNamespace_IsError()
    {
        var yaml = Build() + "  provisioner:hostz: []\n";
        var errors = ErrorsOf(yaml);
        Single(errors, "provisioner:hostz", "unknown key 'provisioner:hostz'");
    }

    [Fact]
    public void Parse_KeysOfOtherNamespacesAndPulumiFileKeys_Ignored()
    {
        var yaml = "encryptionsalt: v1:abc\nsecretsprovider: passphrase\n"
            + Build()
            + "  aws:region: eu-north-1\n  kubernetes:context: x\n  other:password:\n    secure: AAABAKl6\n  plainProjectKey: 3\n";
        var stack = StackLoader.Parse(yaml, "test", "x");
        Assert.Equal(3, stack.Nodes.Count);
    }

    [Fact]
    public void Parse_SecureValueInOurNamespace_IsError()
    {
        var errors = Errors(("image", "name:\n  secure: AAABAKl6"));
        Single(errors, "provisioner:image.name", "Pulumi secret");
    }

    [Fact]
    public void Parse_UnknownTopLevelKey_IsError()
    {
        var errors = ErrorsOf("confg: {}\n");
        Single(errors, "confg", "unknown top-level key");
        Single(errors, "config", "is required");
    }

    [Fact]
    public void Parse_MissingRequiredSections_EachReported()
    {
        var errors = Errors(("hosts", null), ("access", null));
        Single(errors, "provisioner:hosts", "is required");
        Single(errors, "provisioner:access", "is required");
    }

    [Fact]
    public void Parse_SectionWithoutNamespace_HintedAtInRequiredError()
    {
        var yaml = Build(("image", null)) + "  provisioner.image:\n    name: debian-12\n";
        Single(ErrorsOf(yaml), "provisioner:image", "is required (found 'provisioner.image', which is not in the 'provisioner:' namespace)");
    }

    [Fact]
    public void Parse_LegacyConfigKeyForm_Accepted()
    {
        var yaml = Build().Replace("provisioner:image:", "provisioner:config:image:", StringComparison.Ordinal);
        Assert.Equal("debian-12", StackLoader.Parse(yaml, "test", "x").Image.Name);
    }

    [Fact]
    public void Parse_SameLocalUriTwice_IsErrorExceptTestDriver()
    {
        var twice = Host.Replace("test:///default", "qemu:///system") + "\n" + Host.Replace("h1", "h2").Replace("test:///default", "qemu:///system");
        Single(Errors(("hosts", twice)), "provisioner:hosts[1].uri", "is the same host as provisioner:hosts[0]");
        Assert.Equal(2, Load().Hosts.Count(h => h.Uri.Value == "test:///default"));
    }

    [Fact]
    public void Parse_MissingRequiredField_IsRequired()
    {
        var errors = Errors(("hosts", """
            - name: h1
              region: oslo
              pool: {name: p, media: nvme}
            """));
        Single(errors, "provisioner:hosts[0].uri", "is required");
        Single(errors, "provisioner:hosts[0].pool.path", "is required");
    }

    [Fact]
    public void Parse_WrongType_SaysExpectedAndGot()
    {
        var errors = Errors(("networks", "name: net"));
        Single(errors, "provisioner:networks", "expected a list, got a mapping");
    }

    [Fact]
    public void Parse_InvalidYaml_ReportsLocation()
    {
        var errors = ErrorsOf("config:\n  provisioner:hosts: [\n");
        var error = Assert.Single(errors);
        Assert.Equal(string.Empty, error.Path);
        Assert.Contains("not valid YAML", error.Message, StringComparison.Ordinal);
        Assert.NotNull(error.Location);
    }

    [Fact]
    public void Parse_DuplicateYamlKey_IsError()
    {
        var errors = Errors(("image", "name: debian-12\nname: debian-13"));
        Single(errors, "provisioner:image.name", "is given twice (first at line");
    }

    [Fact]
    public void Parse_YamlAlias_IsRefused()
    {
        var errors = Errors(("image", "name: &n debian-12\nrecipe: *n"));
        Single(errors, "provisioner:image.recipe", "alias");
    }

    [Fact]
    public void Parse_CustomTag_IsRefused()
    {
        var errors = Errors(("image", "name: !shell debian-12"));
        Single(errors, "provisioner:image.name", "tag");
    }

    [Fact]
    public void Parse_TwoDocuments_IsRefused()
    {
        var errors = ErrorsOf(Build() + "---\nconfig: {}\n");
        Assert.Contains(errors, e => e.Message.Contains("more than one YAML document", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_EmptyFile_IsError()
    {
        var error = Assert.Single(ErrorsOf(string.Empty));
        Assert.Contains("empty", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Prod")]
    [InlineData("../etc")]
    [InlineData("averyverylongstackname")]
    [InlineData("oslo-2")]
    public void Parse_BadStackName_IsError(string name)
    {
        var errors = ErrorsOf(Build(), name);
        Assert.Contains(errors, e => e.Path.Length == 0 && e.Message.StartsWith("stack name", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_DuplicateHostNames_IsError()
    {
        var errors = Errors(("hosts", Host + "\n" + Host.Replace("test:///default", "test:///default")));
        Single(errors, "provisioner:hosts[1].name", "'h1' is declared twice (also provisioner:hosts[0])");
    }

    [Fact]
    public void Parse_DuplicateRemoteUri_IsError()
    {
        var uri = "qemu+ssh://p@h.example.net/system";
        var errors = Errors(("hosts", Host.Replace("test:///default", uri) + "\n" + Host.Replace("h1", "h2").Replace("test:///default", uri)));
        Single(errors, "provisioner:hosts[1].uri", "is the same host as provisioner:hosts[0]");
    }

    [Fact]
    public void Parse_DuplicateNetworksAndOverlappingCidrs_AreErrors()
    {
        var errors = Errors(("networks", """
            - {name: net, cidr: 10.1.0.0/24, mode: nat}
            - {name: net, cidr: 10.2.0.0/24, mode: nat}
            - {name: big, cidr: 10.0.0.0/8, mode: nat}
            """));
        Single(errors, "provisioner:networks[1].name", "'net' is declared twice");
        var overlap = errors.Where(e => e.Path == "provisioner:networks[2].cidr").ToList();
        Assert.Equal(2, overlap.Count);
        Assert.Contains("'10.0.0.0/8' overlaps '10.1.0.0/24' of provisioner:networks[0]", overlap[0].Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("10.1.0.0", "is not a CIDR")]
    [InlineData("10.1.0.0/33", "prefix length above 32")]
    [InlineData("10.1.0.0/30", "networks must be /8 to /29")]
    [InlineData("fd00::/64", "only IPv4")]
    [InlineData("010.1.0.0/24", "is not a CIDR")]
    public void Parse_BadNetworkCidr_IsError(string cidr, string fragment)
    {
        var errors = Errors(("networks", $"- {{name: net, cidr: '{cidr}', mode: nat}}"));
        Single(errors, "provisioner:networks[0].cidr", fragment);
    }

    [Fact]
    public void Parse_BridgeModeRules_Checked()
    {
        var errors = Errors(("networks", """
            - {name: a, cidr: 10.1.0.0/24, mode: bridge}
            - {name: b, cidr: 10.2.0.0/24, mode: nat, bridge: br0}
            - {name: c, cidr: 10.3.0.0/24, mode: bridge, bridge: "br0; reboot"}
            - {name: d, cidr: 10.4.0.0/24, mode: nat, gateway: 10.4.0.200}
            - {name: e, cidr: 10.5.0.0/24, mode: nat, gateway: 10.6.0.1}
            """));
        Single(errors, "provisioner:networks[0].bridge", "is required for mode 'bridge'");
        Single(errors, "provisioner:networks[1].bridge", "only for mode 'bridge'");
        Single(errors, "provisioner:networks[2].bridge", "not a Linux interface name");
        Single(errors, "provisioner:networks[3].gateway", "DHCP range");
        Single(errors, "provisioner:networks[4].gateway", "is not a host address of 10.5.0.0/24");
    }

    [Fact]
    public void Parse_NodeOnUnknownNetwork_IsError()
    {
        var errors = Errors(("nodes", "- {name: n, role: worker, cpus: 1, memoryMiB: 1024, diskGiB: 4, network: nett}"));
        Single(errors, "provisioner:nodes[0].network", "'nett' is not a declared network (declared: net)");
    }

    [Fact]
    public void Parse_BrokenPool_ReferencesStillChecked()
    {
        var errors = Errors(("nodes", "- {name: n, role: worker, cpus: 0, memoryMiB: 1024, diskGiB: 4, network: nett, host: h9, region: bergen}"));
        Single(errors, "provisioner:nodes[0].cpus", "out of range");
        Single(errors, "provisioner:nodes[0].network", "'nett' is not a declared network");
        Single(errors, "provisioner:nodes[0].host", "'h9' is not a declared host");
        Single(errors, "provisioner:nodes[0].region", "'bergen' has no hosts");
    }

    [Fact]
    public void Parse_NodeFieldRanges_Checked()
    {
        var errors = Errors(("nodes", "- {name: n, role: master, cpus: 0, memoryMiB: lots, diskGiB: -1, diskBus: scsi, count: 5000, network: net}"));
        Single(errors, "provisioner:nodes[0].role", "'master' is not one of control-plane, worker, sandbox");
        Single(errors, "provisioner:nodes[0].cpus", "0 is out of range 1-256");
        Single(errors, "provisioner:nodes[0].memoryMiB", "'lots' is not an integer");
        Single(errors, "provisioner:nodes[0].diskGiB", "-1 is out of range");
        Single(errors, "provisioner:nodes[0].diskBus", "'scsi' is not one of virtio, nvme");
        Single(errors, "provisioner:nodes[0].count", "5000 is out of range 0-1000");
    }

    [Fact]
    public void Parse_PoolExpansion_CountAbsentIsSingleNodeCountGivenIsNumbered()
    {
        var stack = Load(("nodes", """
            - {name: web, role: worker, count: 3, cpus: 1, memoryMiB: 1024, diskGiB: 4, network: net}
            - {name: solo, role: worker, cpus: 1, memoryMiB: 1024, diskGiB: 4, network: net}
            - {name: one, role: worker, count: 1, cpus: 1, memoryMiB: 1024, diskGiB: 4, network: net}
            - {name: none, role: worker, count: 0, cpus: 1, memoryMiB: 1024, diskGiB: 4, network: net}
            """));
        Assert.Equal(["web-1", "web-2", "web-3", "solo", "one-1"], stack.Nodes.Select(n => n.Name));
        Assert.All(stack.Nodes.Take(3), n => Assert.Equal("web", n.Pool));
        Assert.Equal(4, stack.NodePools.Count);
    }

    [Fact]
    public void Parse_DuplicateNodeNamesAfterExpansion_IsError()
    {
        var errors = Errors(("nodes", """
            - {name: web, role: worker, count: 2, cpus: 1, memoryMiB: 1024, diskGiB: 4, network: net}
            - {name: web-2, role: worker, cpus: 1, memoryMiB: 1024, diskGiB: 4, network: net}
            """));
        Single(errors, "provisioner:nodes[1].name", "node 'web-2' is already defined by provisioner:nodes[0]");
    }

    [Fact]
    public void Parse_PoolNameTooLongForExpansion_IsError()
    {
        var name = new string('a', 36);
        var errors = Errors(("nodes", $"- {{name: {name}, role: worker, count: 2, cpus: 1, memoryMiB: 1024, diskGiB: 4, network: net}}"));
        Single(errors, "provisioner:nodes[0].name", "at most 35 allowed");
    }

    [Fact]
    public void Parse_RegionWithoutHosts_IsError()
    {
        var errors = Errors(
            ("placement", "region: bergen"),
            ("nodes", "- {name: n, role: worker, cpus: 1, memoryMiB: 1024, diskGiB: 4, network: net, region: trondheim}"));
        Single(errors, "provisioner:placement.region", "'bergen' has no hosts (regions with hosts: oslo)");
        Single(errors, "provisioner:nodes[0].region", "'trondheim' has no hosts");
    }

    [Fact]
    public void Parse_PinnedToUnknownHostOrWrongRegion_IsError()
    {
        var hosts = Host + "\n" + Host.Replace("h1", "fra").Replace("region: oslo", "region: frankfurt");
        var errors = Errors(
            ("hosts", hosts),
            ("nodes", """
                - {name: a, role: worker, cpus: 1, memoryMiB: 1024, diskGiB: 4, network: net, host: h9}
                - {name: b, role: worker, cpus: 1, memoryMiB: 1024, diskGiB: 4, network: net, host: fra}
                """));
        Single(errors, "provisioner:nodes[0].host", "'h9' is not a declared host");
        Single(errors, "provisioner:nodes[1].host", "'fra' is in region 'frankfurt', but the node must stay in region 'oslo'");
    }

    [Fact]
    public void Parse_MoreControlPlanesThanHostsWithAntiAffinity_IsError()
    {
        var nodes = "- {name: cp, role: control-plane, count: 3, cpus: 1, memoryMiB: 1024, diskGiB: 4, network: net}";
        var errors = Errors(("nodes", nodes));
        Single(errors, "provisioner:placement.controlPlaneAntiAffinity", "3 control-plane nodes in region 'oslo' need 3 distinct hosts, but the region has 2");

        var relaxed = Load(("nodes", nodes), ("placement", "region: oslo\ncontrolPlaneAntiAffinity: false"));
        Assert.False(relaxed.Placement.ControlPlaneAntiAffinity);
    }

    [Fact]
    public void Parse_ControlPlanePoolPinnedToOneHost_IsError()
    {
        var errors = Errors(("nodes", "- {name: cp, role: control-plane, count: 2, cpus: 1, memoryMiB: 1024, diskGiB: 4, network: net, host: h1}"));
        Single(errors, "provisioner:nodes[0].host", "anti-affinity");
    }

    [Fact]
    public void Parse_NvmeNodeWithoutNvmeHostInRegion_IsError()
    {
        var errors = Errors(
            ("hosts", Host.Replace("media: nvme", "media: ssd")),
            ("nodes", "- {name: n, role: worker, cpus: 1, memoryMiB: 1024, diskGiB: 4, diskBus: nvme, network: net}"));
        Single(errors, "provisioner:nodes[0].diskBus", "region 'oslo' has none (h1: ssd)");
    }

    [Fact]
    public void Parse_NvmeNodePinnedToSsdHost_IsError()
    {
        var errors = Errors(("nodes", "- {name: n, role: worker, cpus: 1, memoryMiB: 1024, diskGiB: 4, diskBus: nvme, network: net, host: h2}"));
        Single(errors, "provisioner:nodes[0].host", "'h2' has a ssd pool, but the node has an nvme disk");
    }

    [Fact]
    public void Parse_CapacityOverDeclaredLimits_IsError()
    {
        var hosts = Host.Replace("media: nvme}", "media: nvme}\n  limits: {cpus: 4, memoryMiB: 4096}");
        var errors = Errors(
            ("hosts", hosts),
            ("nodes", """
                - {name: a, role: worker, count: 3, cpus: 2, memoryMiB: 2048, diskGiB: 4, network: net}
                - {name: big, role: worker, cpus: 8, memoryMiB: 8192, diskGiB: 4, network: net}
                """));
        Single(errors, "provisioner:nodes[1].memoryMiB", "8192 MiB is more than any host in region 'oslo' allows (largest limit 4096 MiB)");
        Single(errors, "provisioner:nodes[1].cpus", "8 CPUs is more than any host");
        var totals = errors.Where(e => e.Path == "provisioner:nodes").Select(e => e.Message).ToList();
        Assert.Contains("nodes in region 'oslo' request 14336 MiB of memory, but its hosts' limits allow 4096 MiB", totals);
        Assert.Contains("nodes in region 'oslo' request 14 CPUs, but its hosts' limits allow 4", totals);
    }

    [Fact]
    public void Parse_PinnedNodesOverHostLimit_IsError()
    {
        var hosts = Host.Replace("media: nvme}", "media: nvme}\n  limits: {memoryMiB: 3000}")
            + "\n" + Host.Replace("h1", "h2");
        var errors = Errors(
            ("hosts", hosts),
            ("nodes", "- {name: a, role: worker, count: 2, cpus: 1, memoryMiB: 2048, diskGiB: 4, network: net, host: h1}"));
        Single(errors, "provisioner:hosts[0].limits.memoryMiB", "3000 MiB is less than the 4096 MiB of the nodes pinned to 'h1'");
    }

    [Fact]
    public void Parse_TooManyNodesForNetwork_IsError()
    {
        var errors = Errors(
            ("networks", "- {name: net, cidr: 10.1.0.0/29, mode: nat}"),
            ("nodes", "- {name: w, role: worker, count: 3, cpus: 1, memoryMiB: 1024, diskGiB: 4, network: net}"));
        Single(errors, "provisioner:networks[0].cidr", "has room for 2 node addresses (10.1.0.2-10.1.0.3), but 3 nodes use it");
    }

    [Theory]
    [InlineData("root", "system account")]
    [InlineData("dockremap", "system account")]
    [InlineData("Ops", "not a Linux user name")]
    [InlineData("ops;id", "not a Linux user name")]
    public void Parse_BadAdminUser_IsError(string user, string fragment)
    {
        var errors = Errors(("access", $"user: '{user}'\nadminCidrs: [10.1.0.0/24]"));
        Single(errors, "provisioner:access.user", fragment);
    }

    [Fact]
    public void Parse_SshKeysAbsentOrEmpty_Allowed()
    {
        Assert.Empty(Load(("access", "user: ops\nadminCidrs: [10.1.0.0/24]")).Access.SshPublicKeys);
        Assert.Empty(Load(("access", "user: ops\nsshPublicKeys: []\nadminCidrs: [10.1.0.0/24]")).Access.SshPublicKeys);
    }

    [Fact]
    public void Parse_BadSshKeys_EachReportedWithoutEchoingTheKey()
    {
        var errors = Errors(("access", $"""
            user: ops
            sshPublicKeys:
              - "{Ed25519Key}"
              - ssh-dss AAAAB3NzaC1kc3MAAACBAP
              - ssh-ed25519 not!base64
              - "{Ed25519Key}"
              - -----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
            adminCidrs: [10.1.0.0/24]
            """));
        Single(errors, "provisioner:access.sshPublicKeys[1]", "has key type 'ssh-dss'");
        Single(errors, "provisioner:access.sshPublicKeys[2]", "not valid base64");
        Single(errors, "provisioner:access.sshPublicKeys[3]", "is listed twice");
        var privateKey = Single(errors, "provisioner:access.sshPublicKeys[4]", "has key type");
        Assert.DoesNotContain("b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAE", privateKey.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_AdminCidrs_MustBeCanonicalNonEmptyUnique()
    {
        Single(Errors(("access", "user: ops\nadminCidrs: []")), "provisioner:access.adminCidrs", "at least one is required");
        Single(Errors(("access", "user: ops\nadminCidrs: [10.1.0.5/24]")), "provisioner:access.adminCidrs[0]", "host bits are set");
        Single(Errors(("access", "user: ops\nadminCidrs: [10.1.0.0/24, 10.1.0.0/24]")), "provisioner:access.adminCidrs[1]", "listed twice");
    }

    [Fact]
    public void Parse_Virtualization_DefaultFalseAndBooleanOnly()
    {
        Assert.False(Load().Virtualization.AllowEmulation);
        Assert.True(Load(("virtualization", "allowEmulation: true")).Virtualization.AllowEmulation);
        Single(Errors(("virtualization", "allowEmulation: yes")), "provisioner:virtualization.allowEmulation", "'yes' is not a boolean");
        Single(Errors(("virtualization", "allowEmulaton: true")), "provisioner:virtualization.allowEmulaton", "did you mean 'allowEmulation'?");
    }

    [Fact]
    public void Parse_FirewallPolicies_Checked()
    {
        var errors = Errors(("firewall", """
            publishedPorts:
              - {port: 0, from: [10.0.0.0/8]}
              - {port: 70000, from: [10.0.0.0/8]}
              - {port: 8080, protocol: sctp, from: [10.0.0.0/8]}
              - {port: 8081, from: []}
              - {port: 22, from: [10.0.0.0/8]}
              - {port: 443, from: [10.0.0.1/8]}
              - {port: 53, protocol: udp, from: [0.0.0.0/0]}
              - {port: 53, protocol: udp, from: [10.0.0.0/8]}
            """));
        Single(errors, "provisioner:firewall.publishedPorts[0].port", "0 is out of range 1-65535");
        Single(errors, "provisioner:firewall.publishedPorts[1].port", "70000 is out of range 1-65535");
        Single(errors, "provisioner:firewall.publishedPorts[2].protocol", "'sctp' is not one of tcp, udp");
        Single(errors, "provisioner:firewall.publishedPorts[3].from", "is empty");
        Single(errors, "provisioner:firewall.publishedPorts[4].port", "22/tcp is SSH");
        Single(errors, "provisioner:firewall.publishedPorts[5].from[0]", "host bits are set");
        Single(errors, "provisioner:firewall.publishedPorts[7].port", "53/udp has a policy already");
    }

    [Fact]
    public void Parse_FirewallPolicy_DefaultsToTcp()
    {
        var policy = Load(("firewall", "publishedPorts: [{port: 8080, from: [10.0.0.0/8, 192.168.1.0/24]}]")).Firewall.PublishedPorts.Single();
        Assert.Equal(TransportProtocol.Tcp, policy.Protocol);
        Assert.Equal(2, policy.From.Count);
    }

    private const string TwoPools = """
        - name: web
          role: worker
          cpus: 1
          memoryMiB: 1024
          diskGiB: 4
          network: net
        - name: edge
          role: worker
          count: 2
          cpus: 1
          memoryMiB: 1024
          diskGiB: 4
          network: net
          publishedPorts: PORTS
        """;

    [Fact]
    public void Parse_NodePublishedPorts_GoToEveryNodeOfThePoolOnly()
    {
        var stack = Load(("nodes", TwoPools.Replace("PORTS", "[{port: 443, from: [0.0.0.0/0]}, {port: 5353, protocol: udp, from: [10.9.0.0/16]}]", StringComparison.Ordinal)));

        Assert.Empty(stack.FindNode("web")!.PublishedPorts);
        Assert.All(["edge-1", "edge-2"], name =>
        {
            var ports = stack.FindNode(name)!.PublishedPorts;
            Assert.Equal([443, 5353], ports.Select(p => p.Port));
            Assert.Equal(TransportProtocol.Tcp, ports[0].Protocol);
            Assert.Equal(TransportProtocol.Udp, ports[1].Protocol);
            Assert.Equal([Ipv4Cidr.Parse("10.9.0.0/16")], ports[1].From);
        });
        Assert.Empty(stack.Firewall.PublishedPorts);
    }

    [Fact]
    public void Parse_NodePublishedPorts_ValidatedLikeTheStacksWithFullPaths()
    {
        var errors = Errors(("nodes", TwoPools.Replace("PORTS", """

                    - {port: 0, from: [10.0.0.0/8]}
                    - {port: 8080, protocol: sctp, from: [10.0.0.0/8]}
                    - {port: 8081, from: []}
                    - {port: 22, from: [10.0.0.0/8]}
                    - {port: 8082, from: [10.0.0.300/8]}
                    - {port: 8083, from: [10.0.0.1/8]}
                    - {port: 8084, from: [10.0.0.0/8]}
                    - {port: 8084, from: [10.0.0.0/8]}
            """.TrimEnd(), StringComparison.Ordinal)));

        Single(errors, "provisioner:nodes[1].publishedPorts[0].port", "0 is out of range 1-65535");
        Single(errors, "provisioner:nodes[1].publishedPorts[1].protocol", "'sctp' is not one of tcp, udp");
        Single(errors, "provisioner:nodes[1].publishedPorts[2].from", "is empty");
        Single(errors, "provisioner:nodes[1].publishedPorts[3].port", "22/tcp is SSH");
        Single(errors, "provisioner:nodes[1].publishedPorts[4].from[0]", "'10.0.0.300/8'");
        Single(errors, "provisioner:nodes[1].publishedPorts[5].from[0]", "host bits are set");
        Single(errors, "provisioner:nodes[1].publishedPorts[7].port", "8084/tcp has a policy already");
    }

    [Fact]
    public void Parse_PortOnStackAndNode_IsAnErrorNamingBothPaths()
    {
        var errors = Errors(
            ("nodes", TwoPools.Replace("PORTS", "[{port: 8080, from: [10.0.0.0/8]}, {port: 8080, protocol: udp, from: [10.0.0.0/8]}]", StringComparison.Ordinal)),
            ("firewall", "publishedPorts: [{port: 9000, from: [10.0.0.0/8]}, {port: 8080, from: [192.0.2.0/24]}]"));

        var error = Assert.Single(errors);
        Assert.Equal("provisioner:nodes[1].publishedPorts[0].port", error.Path);
        Assert.Contains("8080/tcp is also declared at provisioner:firewall.publishedPorts[1].port", error.Message);
    }

    [Fact]
    public void Parse_RuntimeOverrides_NeedKeyValueAndReason()
    {
        var errors = Errors(("runtime", """
            daemonOverrides:
              - {key: icc, value: true}
              - {key: "Bad Key", value: 1, reason: because}
              - {key: live-restore, value: false, reason: "  "}
              - {key: debug, value: null, reason: troubleshooting}
              - {key: log-level, value: warn, reason: quieter, extra: 1}
            """));
        Single(errors, "provisioner:runtime.daemonOverrides[0].reason", "is required");
        Single(errors, "provisioner:runtime.daemonOverrides[1].key", "not a daemon.json key");
        Single(errors, "provisioner:runtime.daemonOverrides[2].reason", "is blank");
        Single(errors, "provisioner:runtime.daemonOverrides[3].value", "is required");
        Single(errors, "provisioner:runtime.daemonOverrides[4].extra", "unknown field");
    }

    [Fact]
    public void Parse_RuntimeOverrideValues_KeepYamlTypes()
    {
        var overrides = Load(("runtime", """
            daemonOverrides:
              - {key: icc, value: true, reason: legacy app talks container to container}
              - {key: max-concurrent-downloads, value: 6, reason: faster pulls}
              - {key: log-level, value: "10", reason: quoted stays a string}
              - {key: dns, value: [10.1.0.1], reason: internal resolver}
            """)).Runtime.DaemonOverrides;
        Assert.Equal(["true", "6", "\"10\"", "[\"10.1.0.1\"]"], overrides.Select(o => o.Value.GetRawText()));
    }

    [Fact]
    public void Parse_Kubernetes_DefaultsAndChecks()
    {
        var k = Load(("kubernetes", "version: 1.33.4")).Kubernetes!;
        Assert.Equal(new KubernetesVersion(1, 33, 4), k.Version);
        Assert.Equal("10.244.0.0/16", k.PodCidr.ToString());
        Assert.Equal("10.96.0.0/12", k.ServiceCidr.ToString());
        Assert.Null(k.PackageSource);
        Assert.Null(k.PackageKeySha256);
        Assert.Null(k.CniManifestUrl);
        Assert.Null(k.CniManifestSha256);
        Assert.Equal(4096, k.PodPidsLimit);
        Assert.Null(k.ImageRepository);
        Assert.Null(k.ControlPlaneEndpoint);

        var errors = Errors(("kubernetes", """
            version: v1.31
            packageSource: ftp://mirror/k8s
            podCidr: 10.1.0.0/16
            serviceCidr: 10.0.0.0/8
            controlPlaneEndpoint: 10.9.0.1
            """));
        Single(errors, "provisioner:kubernetes.version", "'v1.31' names no patch release");
        Single(errors, "provisioner:kubernetes.packageSource", "not an http, https or file URL");
        Single(errors, "provisioner:kubernetes.podCidr", "overlaps network 'net'");
        Single(errors, "provisioner:kubernetes.serviceCidr", "must be /12 to /28");
    }

    [Theory]
    [InlineData("1.33", "'1.33' names no patch release")]
    [InlineData("1.31.9", "'1.31.9' is older than 1.32")]
    [InlineData("2.0.0", "'2.0.0' is not a Kubernetes version")]
    [InlineData("latest", "'latest' is not a Kubernetes version")]
    public void Parse_KubernetesVersion_ExactPatchOf132OrNewer(string version, string message) =>
        Single(Errors(("kubernetes", $"version: '{version}'")), "provisioner:kubernetes.version", message);

    [Fact]
    public void Parse_KubernetesFullSection_CarriesEverythingTheBootstrapNeeds()
    {
        const string keySha = "1D6C8E2F1F0AE6A5D51E3F0DB9C5D5A1A8A6F0E8C3B2A19D7F6E5D4C3B2A1908";
        const string cniSha = "0f3e9d1c2b4a5968778695a4b3c2d1e0f0e1d2c3b4a5968778695a4b3c2d1e0f";
        var k = Load(("kubernetes", $"""
            version: v1.34.2
            packageSource: http://mirror.osl.example.net/kubernetes/v1.34/deb/
            packageKeySha256: {keySha}
            cni:
              manifestUrl: https://mirror.osl.example.net/calico/v3.29.0/calico-vxlan.yaml
              sha256: {cniSha}
            podPidsLimit: 2048
            imageRepository: registry.osl.example.net:5000/k8s
            controlPlaneEndpoint: 10.1.0.5
            """)).Kubernetes!;

        Assert.Equal(new KubernetesVersion(1, 34, 2), k.Version);
        Assert.Equal("http://mirror.osl.example.net/kubernetes/v1.34/deb/", k.PackageSource!.AbsoluteUri);
        Assert.Equal(keySha.ToLowerInvariant(), k.PackageKeySha256);
        Assert.Equal("https://mirror.osl.example.net/calico/v3.29.0/calico-vxlan.yaml", k.CniManifestUrl!.AbsoluteUri);
        Assert.Equal(cniSha, k.CniManifestSha256);
        Assert.Equal(2048, k.PodPidsLimit);
        Assert.Equal("registry.osl.example.net:5000/k8s", k.ImageRepository);
    }

    [Fact]
    public void Parse_KubernetesBadSettings_EachNamedWithFieldAndValue()
    {
        var errors = Errors(("kubernetes", """
            version: 1.33.4
            packageKeySha256: abc
            cni:
              manifestUrl: https://user:pw@mirror/calico.yaml
              sha256: xyz
              checksum: 1
            podPidsLimit: 10
            imageRepository: "registry.example.net/k8s # x"
            """));

        Single(errors, "provisioner:kubernetes.packageKeySha256", "'abc' is not a SHA-256 in hex");
        Single(errors, "provisioner:kubernetes.cni.manifestUrl", "without credentials");
        Single(errors, "provisioner:kubernetes.cni.sha256", "'xyz' is not a SHA-256 in hex");
        Single(errors, "provisioner:kubernetes.cni.checksum", "unknown field 'checksum'");
        Single(errors, "provisioner:kubernetes.podPidsLimit", "10");
        Single(errors, "provisioner:kubernetes.imageRepository", "is not a registry path");
    }

    [Fact]
    public void Parse_KubernetesPlainHttpMirrorWithoutKeyChecksum_IsError() =>
        Single(Errors(("kubernetes", "version: 1.33.4\npackageSource: http://mirror.osl.example.net/k8s/")),
            "provisioner:kubernetes.packageSource", "plain http: pin the signing key with packageKeySha256");

    [Fact]
    public void Parse_KubernetesVip_MustBeInStaticRangeOfControlPlaneNetwork()
    {
        Single(Errors(("kubernetes", "version: 1.33.4\ncontrolPlaneEndpoint: 10.9.0.1")), "provisioner:kubernetes.controlPlaneEndpoint", "not in a network of the control-plane nodes");
        Single(Errors(("kubernetes", "version: 1.33.4\ncontrolPlaneEndpoint: 10.1.0.200")), "provisioner:kubernetes.controlPlaneEndpoint", "static range 10.1.0.2-10.1.0.127");
        Single(Errors(("kubernetes", "version: 1.33.4\ncontrolPlaneEndpoint: 10.1.0.1")), "provisioner:kubernetes.controlPlaneEndpoint", "not be its gateway");
        Assert.Equal("10.1.0.5", Load(("kubernetes", "version: 1.33.4\ncontrolPlaneEndpoint: 10.1.0.5")).Kubernetes!.ControlPlaneEndpoint.ToString());
    }

    [Fact]
    public void Parse_KubernetesWithoutControlPlane_IsError()
    {
        var errors = Errors(
            ("kubernetes", "version: 1.33.4"),
            ("nodes", "- {name: w, role: worker, cpus: 1, memoryMiB: 1024, diskGiB: 4, network: net}"));
        Single(errors, "provisioner:kubernetes", "no node has role 'control-plane'");
    }

    [Fact]
    public void Parse_PoolPath_RejectsTraversal()
    {
        var errors = Errors(("hosts", Host.Replace("/srv/pool", "/srv/../etc")));
        Single(errors, "provisioner:hosts[0].pool.path", "'/srv/../etc' is not an absolute directory");
    }

    [Fact]
    public void Parse_HostileValuesInMessages_AreEscaped()
    {
        var errors = Errors(("image", "name: \"x\\n\\u001b[31mFAKE ERROR\""));
        var error = Single(errors, "provisioner:image.name", "is not a valid name");
        Assert.DoesNotContain('\n', error.Message);
        Assert.DoesNotContain('\u001b', error.Message);
        Assert.Contains("\\n", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_UnknownFieldInObject_NamesPathAndSuggestion()
    {
        var errors = Errors(("nodes", "- {name: n, role: worker, cpus: 1, memoryMib: 1024, diskGiB: 4, network: net}"));
        Single(errors, "provisioner:nodes[0].memoryMib", "did you mean 'memoryMiB'?");
        Single(errors, "provisioner:nodes[0].memoryMiB", "is required");
    }

    [Fact]
    public void LoadFile_FileNameNotPulumiStack_IsError()
    {
        var dir = Directory.CreateTempSubdirectory("provisioner-model-");
        try
        {
            var path = Path.Combine(dir.FullName, "dev.yaml");
            File.WriteAllText(path, Build());
            var ex = Assert.Throws<StackValidationException>(() => StackLoader.LoadFile(path));
            Assert.Contains("expected Pulumi.<stack>.yaml", ex.Errors.Single().Message, StringComparison.Ordinal);

            var good = Path.Combine(dir.FullName, "Pulumi.qa.yaml");
            File.WriteAllText(good, Build());
            Assert.Equal("qa", StackLoader.LoadFile(good).Name);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("stacks/Pulumi.dev.yaml", "dev")]
    [InlineData("/x/Pulumi.oslo-2.yaml", "oslo-2")]
    [InlineData("Pulumi.yaml", null)]
    [InlineData("Pulumi.dev.yml", null)]
    [InlineData("dev.yaml", null)]
    public void StackNameFromPath_ParsesPulumiStackFileNames(string path, string? expected) =>
        Assert.Equal(expected, StackLoader.StackNameFromPath(path));

    [Fact]
    public void FromJson_SameDefinitionWithAndWithoutNamespace_SameModel()
    {
        var fromYaml = Load();
        var withNamespace = StackLoader.FromJson("test", ToJson(Build(), stripNamespace: false));
        var withoutNamespace = StackLoader.FromJson("test", ToJson(Build(), stripNamespace: true));

        foreach (var stack in new[] { withNamespace, withoutNamespace })
        {
            Assert.Equal(fromYaml.Nodes, stack.Nodes);
            Assert.Equal(fromYaml.Hosts.Select(h => (h.Name, h.Uri, h.Pool)), stack.Hosts.Select(h => (h.Name, h.Uri, h.Pool)));
            Assert.Equal(fromYaml.Access.SshPublicKeys, stack.Access.SshPublicKeys);
        }
    }

    [Fact]
    public void FromJson_ErrorPaths_SameAsYaml()
    {
        var yaml = Build(("hosts", Host.Replace("test:///default", "qemu+shh://h/system")), ("image", "name: debian-12\nrecipie: x"));
        var yamlErrors = ErrorsOf(yaml);
        var json = ToJson(yaml, stripNamespace: true);
        var jsonErrors = Assert.Throws<StackValidationException>(() => StackLoader.FromJson("test", json)).Errors;

        Assert.Equal(yamlErrors.Select(e => (e.Path, e.Message)).Order(), jsonErrors.Select(e => (e.Path, e.Message)).Order());
        Assert.All(jsonErrors, e => Assert.Null(e.Location));
    }

    [Fact]
    public void FromJson_StringEncodedValues_AsPulumiPassesThem()
    {
        // Pulumi passes structured provider config as JSON text and scalars as strings.
        var config = ToJson(Build(), stripNamespace: true);
        var encoded = new Dictionary<string, object?>();
        foreach (var property in config.EnumerateObject())
        {
            encoded[property.Name] = property.Value.GetRawText();
        }

        encoded["virtualization"] = """{"allowEmulation":"true"}""";
        encoded["version"] = "1.2.3";
        encoded["aws:region"] = "eu-north-1";
        var stack = StackLoader.FromJson("test", JsonSerializer.SerializeToElement(encoded));
        Assert.True(stack.Virtualization.AllowEmulation);
        Assert.Equal(3, stack.Nodes.Count);
    }

    [Fact]
    public void FromJson_PulumiSecretValue_IsError()
    {
        var config = JsonSerializer.SerializeToElement(new Dictionary<string, object>
        {
            ["image"] = new Dictionary<string, object>
            {
                ["name"] = new Dictionary<string, object> { ["4dabf18193072939515e22adb298388d"] = "1b47061264138c4ac30d75fd1eb44270", ["value"] = "debian-12" },
            },
        });
        Assert.False(StackLoader.TryFromJson("test", config, out var stack, out var errors));
        Assert.Null(stack);
        Single(errors, "provisioner:image.name", "Pulumi secret");
    }

    [Fact]
    public void FromJson_UnknownUnnamespacedKey_IsError()
    {
        var config = JsonSerializer.SerializeToElement(new Dictionary<string, object> { ["hostz"] = Array.Empty<object>() });
        Assert.False(StackLoader.TryFromJson("test", config, out _, out var errors));
        Single(errors, "provisioner:hostz", "unknown key");
    }

    [Fact]
    public void FromJson_BothNamespacedAndPlainKey_IsError()
    {
        var config = JsonSerializer.SerializeToElement(new Dictionary<string, object> { ["image"] = new { name = "a" }, ["provisioner:image"] = new { name = "b" } });
        Assert.False(StackLoader.TryFromJson("test", config, out _, out var errors));
        Single(errors, "provisioner:image", "is given twice");
    }

    /// <summary>Converts a test stack file to the JSON object of its provisioner:* keys.</summary>
    private static JsonElement ToJson(string yaml, bool stripNamespace)
    {
        var deserializer = new YamlDotNet.Serialization.DeserializerBuilder().Build();
        var document = deserializer.Deserialize<Dictionary<string, Dictionary<string, object>>>(yaml);
        var config = document["config"].ToDictionary(
            p => stripNamespace ? p.Key["provisioner:".Length..] : p.Key,
            p => Normalize(p.Value));
        return JsonSerializer.SerializeToElement(config);
    }

    /// <summary>YamlDotNet yields every scalar as a string; typed JSON values like Pulumi's are closer to reality.</summary>
    private static object? Normalize(object? value) => value switch
    {
        Dictionary<object, object> map => map.ToDictionary(p => (string)p.Key, p => Normalize(p.Value)),
        List<object> list => list.Select(Normalize).ToList(),
        string s when long.TryParse(s, out var n) => n,
        string s when s is "true" or "false" => s == "true",
        _ => value,
    };
}
