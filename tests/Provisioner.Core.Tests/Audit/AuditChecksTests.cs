using System.Text.Json;
using System.Text.Json.Nodes;
using Provisioner.Core.Audit;
using Provisioner.Core.Hardening;
using Provisioner.Core.Kubernetes.Audit;
using Provisioner.Core.Stacks;
using Provisioner.Core.Tests.Hardening;

namespace Provisioner.Core.Tests.Audit;

public sealed class AuditChecksTests
{
    private static AuditFixture Sandbox() => new(HardeningSamples.Render(HardeningSamples.Sandbox(), "box"));

    [Fact]
    public void For_HardenedNodeAsRecorded_EveryCheckPasses()
    {
        var results = Sandbox().Run();

        Assert.All(results.Values, r => Assert.True(r.Status == AuditStatus.Pass, $"{r.Id}: {r.Status} found '{r.Found}' expected '{r.Expected}' {r.Note}"));
    }

    [Fact]
    public void For_Checks_HaveUniqueIdsAndTheCisIdsOfTheBenchmark()
    {
        var checks = Sandbox().Checks;

        Assert.Equal(checks.Count, checks.Select(c => c.Id).Distinct().Count());
        var cis = checks.Where(c => c.CisId is not null).ToDictionary(c => c.Id, c => c.CisId);
        Assert.Equal("2.2", cis["docker.icc"]);
        Assert.Equal("2.4", cis["docker.iptables"]);
        Assert.Equal("2.5", cis["docker.insecure-registries"]);
        Assert.Equal("2.9", cis["docker.userns"]);
        Assert.Equal("2.14", cis["docker.no-new-privileges"]);
        Assert.Equal("2.15", cis["docker.live-restore"]);
        Assert.Equal("2.16", cis["docker.userland-proxy"]);
        Assert.Equal("3.18", cis["docker.daemon-json-mode"]);
        Assert.All(checks.SelectMany(c => c.Probes).SelectMany(p => p.Argv), a => Assert.DoesNotContain('\n', a));
    }

    [Fact]
    public void DataRoot_MovedUnderUsernsRemap_IsTheKnownFalsePositiveAndPasses()
    {
        var result = Sandbox().Run("docker.data-root");

        Assert.Equal(AuditStatus.Pass, result.Status);
        Assert.Equal("/var/lib/docker/1000000000.1000000000", result.Found);
        Assert.NotNull(Sandbox().Checks.Single(c => c.Id == "docker.data-root").KnownFalsePositive);
    }

    [Fact]
    public void DataRoot_RangeDockerdChoseItself_PassesWithNote()
    {
        var info = AuditFixture.Recorded("docker-info-20.10-userns.json").Replace("/tmp/hd-dk/root/1000000000.1000000000", "/var/lib/docker/165536.165536", StringComparison.Ordinal);

        var result = Sandbox().Set("docker info", info).Run("docker.data-root");

        Assert.Equal(AuditStatus.Pass, result.Status);
        Assert.Contains("dockerd chose itself", result.Note, StringComparison.Ordinal);
    }

    [Fact]
    public void DataRoot_NotRemappedThoughUsernsIsOn_Fails()
    {
        var info = AuditFixture.Recorded("docker-info-20.10-userns.json").Replace("/tmp/hd-dk/root/1000000000.1000000000", "/var/lib/docker", StringComparison.Ordinal);

        Assert.Equal(AuditStatus.Fail, Sandbox().Set("docker info", info).Run("docker.data-root").Status);
    }

    [Fact]
    public void InsecureRegistries_OnlyDockersBuiltInLoopbackDefault_Passes()
    {
        var result = Sandbox().Run("docker.insecure-registries");

        Assert.Equal(AuditStatus.Pass, result.Status);
        Assert.Equal("none", result.Found);
    }

    [Fact]
    public void InsecureRegistries_Configured_Fails()
    {
        var info = JsonNode.Parse(AuditFixture.Recorded("docker-info-20.10-userns.json"))!;
        info["RegistryConfig"]!["InsecureRegistryCIDRs"]!.AsArray().Add("10.9.0.0/16");

        var result = Sandbox().Set("docker info", info.ToJsonString()).Run("docker.insecure-registries");

        Assert.Equal(AuditStatus.Fail, result.Status);
        Assert.Equal("10.9.0.0/16", result.Found);
    }

    [Fact]
    public void UserNamespaces_Missing_Fails()
    {
        var info = JsonNode.Parse(AuditFixture.Recorded("docker-info-20.10-userns.json"))!;
        info["SecurityOptions"] = new JsonArray("name=seccomp,profile=default");

        var results = Sandbox().Set("docker info", info.ToJsonString()).Run();

        Assert.Equal(AuditStatus.Fail, results["docker.userns"].Status);
        Assert.Equal(AuditStatus.Pass, results["docker.seccomp"].Status);
    }

    [Theory]
    [InlineData("name=seccomp,profile=builtin", AuditStatus.Pass)]
    [InlineData("name=seccomp,profile=unconfined", AuditStatus.Fail)]
    public void Seccomp_ProfileName_IsJudged(string option, AuditStatus expected)
    {
        var info = JsonNode.Parse(AuditFixture.Recorded("docker-info-20.10-userns.json"))!;
        info["SecurityOptions"] = new JsonArray(option, "name=userns");

        Assert.Equal(expected, Sandbox().Set("docker info", info.ToJsonString()).Run("docker.seccomp").Status);
    }

    [Fact]
    public void Icc_EnabledOnTheRunningBridge_Fails()
    {
        var options = AuditFixture.Recorded("bridge-options-20.10.json").Replace("\"com.docker.network.bridge.enable_icc\":\"false\"", "\"com.docker.network.bridge.enable_icc\":\"true\"", StringComparison.Ordinal);

        var result = Sandbox().Set("docker network inspect bridge", options).Run("docker.icc");

        Assert.Equal(AuditStatus.Fail, result.Status);
        Assert.Equal("com.docker.network.bridge.enable_icc: true", result.Found);
    }

    [Fact]
    public void DockerDown_DockerChecksAreErrorsNotCrashes()
    {
        var results = Sandbox().Set("docker info", "", 1, "Cannot connect to the Docker daemon at unix:///run/docker.sock. Is the docker daemon running?\n").Run();

        Assert.Equal(AuditStatus.Error, results["docker.userns"].Status);
        Assert.Contains("Cannot connect", results["docker.userns"].Note, StringComparison.Ordinal);
        Assert.Equal(AuditStatus.Pass, results["firewall.input-policy"].Status);
    }

    [Fact]
    public void GarbledOutput_IsAnErrorWithTheParserMessage()
    {
        var result = Sandbox().Set("docker info", "{\"Driver\": ").Run("docker.storage-driver");

        Assert.Equal(AuditStatus.Error, result.Status);
        Assert.Equal("unreadable output", result.Found);
    }

    [Fact]
    public void DaemonJson_Drifted_FailsTheDriftAndKeyChecks()
    {
        var drifted = JsonNode.Parse(Sandbox().Bundle.Daemon.Json)!;
        drifted["no-new-privileges"] = false;

        var results = Sandbox().Set("cat /etc/docker/daemon.json", drifted.ToJsonString()).Run();

        Assert.Equal(AuditStatus.Fail, results["docker.no-new-privileges"].Status);
        Assert.Equal("no-new-privileges: false", results["docker.no-new-privileges"].Found);
        Assert.Equal(AuditStatus.Fail, results["docker.daemon-json"].Status);
        Assert.Equal(AuditStatus.Pass, results["docker.icc"].Status);
    }

    [Fact]
    public void Override_DeclaredInTheStack_IsWaivedWithItsReason()
    {
        var stack = HardeningSamples.Cluster();
        var fixture = new AuditFixture(HardeningSamples.Render(stack, "cp-1"))
            .Set("nft -j list table inet provisioner", AuditFixture.Recorded("nft-table-cluster-cp-1.json"))
            .Set("iptables -w -S PROVISIONER-PUBLISHED", "-N PROVISIONER-PUBLISHED\n-A PROVISIONER-PUBLISHED -p tcp -m conntrack --ctstate DNAT --ctproto 6 --ctorigsrc 192.0.2.0/24 --ctorigdstport 30080 -j RETURN\n");

        var results = fixture.Run();

        var logs = results["docker.log-driver"];
        Assert.Equal(AuditStatus.Waived, logs.Status);
        Assert.Contains("incident review", logs.Note, StringComparison.Ordinal);
        Assert.True(new AuditReport { Node = "cp-1", Results = [.. results.Values] }.Passed, string.Join("\n", results.Values.Where(r => r.IsFailure).Select(r => $"{r.Id}: {r.Found} / {r.Expected}")));
    }

    [Fact]
    public void Override_NotInEffectOnTheNode_Fails()
    {
        var fixture = new AuditFixture(HardeningSamples.Render(HardeningSamples.Cluster(), "cp-1"));
        // The node still runs the baseline, not the stack's 50m override.
        fixture.Set("cat /etc/docker/daemon.json", Sandbox().Bundle.Daemon.Json);

        Assert.Equal(AuditStatus.Fail, fixture.Run("docker.log-driver").Status);
    }

    [Fact]
    public void TcpListenerOfDockerd_Fails()
    {
        var result = Sandbox().Set("ss", "LISTEN 0 4096 *:2375 *:* users:((\"dockerd\",pid=812,fd=9))\n").Run("docker.tcp-socket");

        Assert.Equal(AuditStatus.Fail, result.Status);
        Assert.Equal("dockerd listens on *:2375", result.Found);
    }

    [Fact]
    public void TcpListenersOfDockerd_ForPublishedPortsOnly_Pass()
    {
        // As seen on a guest after a Docker restart under live-restore, userland proxy off.
        var result = Sandbox()
            .Set("ss", "LISTEN 0 4096 0.0.0.0:8081 0.0.0.0:* users:((\"dockerd\",pid=812,fd=9))\nLISTEN 0 4096 0.0.0.0:8080 0.0.0.0:* users:((\"dockerd\",pid=812,fd=7))\n")
            .Set("docker ps", "0.0.0.0:8080->8000/tcp, 0.0.0.0:8081->8000/tcp\n")
            .Run("docker.tcp-socket");

        Assert.Equal(AuditStatus.Pass, result.Status);
        Assert.Equal("only published container ports: 0.0.0.0:8081, 0.0.0.0:8080", result.Found);
    }

    [Fact]
    public void TcpListenerOfDockerd_BesidePublishedPorts_FailsNamingOnlyTheApi()
    {
        var result = Sandbox()
            .Set("ss", "LISTEN 0 4096 0.0.0.0:8080 0.0.0.0:* users:((\"dockerd\",pid=812,fd=7))\nLISTEN 0 4096 *:2375 *:* users:((\"dockerd\",pid=812,fd=9))\n")
            .Set("docker ps", "0.0.0.0:8080-8081->8000-8001/tcp, :::8080-8081->8000-8001/tcp\n127.0.0.1:9000->9000/udp\n")
            .Run("docker.tcp-socket");

        Assert.Equal(AuditStatus.Fail, result.Status);
        Assert.Equal("dockerd listens on *:2375", result.Found);
    }

    [Fact]
    public void FileModes_TooOpenOrMissing_Fail()
    {
        var results = Sandbox().Set("stat", "/lib/systemd/system/docker.service root root 664\n/run/docker.sock root root 666\n", 1, "stat: cannot statx '/etc/docker': No such file or directory\n").Run();

        Assert.Equal(AuditStatus.Fail, results["docker.service-mode"].Status);
        Assert.Equal("664", results["docker.service-mode"].Found);
        Assert.Equal(AuditStatus.Fail, results["docker.sock-owner"].Status);
        Assert.Equal(AuditStatus.Fail, results["docker.sock-mode"].Status);
        Assert.Equal("missing", results["docker.etc-owner"].Found);
        Assert.Equal(AuditStatus.Pass, results["docker.service-owner"].Status);
    }

    [Fact]
    public void RemapRanges_MissingInSubgid_Fails()
    {
        var result = Sandbox().Set("grep -H ^dockremap:", "/etc/subuid:dockremap:1000000000:65536\n").Run("docker.userns-ranges");

        Assert.Equal(AuditStatus.Fail, result.Status);
    }

    [Fact]
    public void Firewall_TableMissing_FailsEveryTableCheck()
    {
        var results = Sandbox().Set("nft -j list table inet provisioner", "", 1, "Error: No such file or directory\nlist table inet provisioner\n").Run();

        foreach (var id in new[] { "firewall.input-policy", "firewall.forward-policy", "firewall.ssh", "firewall.input-ports", "firewall.published-ports" })
        {
            Assert.Equal(AuditStatus.Fail, results[id].Status);
            Assert.Equal("table inet provisioner is not loaded", results[id].Found);
        }
    }

    [Fact]
    public void Firewall_InputPolicyAccept_Fails()
    {
        var json = AuditFixture.Recorded("nft-table-sandbox.json").Replace("\"hook\": \"input\", \"prio\": -10, \"policy\": \"drop\"", "\"hook\": \"input\", \"prio\": -10, \"policy\": \"accept\"", StringComparison.Ordinal);
        Assert.Contains("\"policy\": \"accept\"", json, StringComparison.Ordinal);

        var result = Sandbox().Set("nft -j list table inet provisioner", json).Run("firewall.input-policy");

        Assert.Equal(AuditStatus.Fail, result.Status);
        Assert.Equal("hook input, priority -10, policy accept", result.Found);
    }

    [Fact]
    public void Firewall_RulesOfAnotherPolicy_FailWithWhatDiffers()
    {
        // The cluster control plane's recorded table evaluated against the sandbox's policy.
        var results = Sandbox().Set("nft -j list table inet provisioner", AuditFixture.Recorded("nft-table-cluster-cp-1.json")).Run();

        Assert.Equal(AuditStatus.Fail, results["firewall.ssh"].Status);
        Assert.Equal("tcp 22 from 192.0.2.0/24", results["firewall.ssh"].Found);
        Assert.Contains("tcp 2379-2380 from", results["firewall.input-ports"].Note, StringComparison.Ordinal);
        Assert.StartsWith("not declared: ", results["firewall.input-ports"].Note, StringComparison.Ordinal);
        Assert.Equal(AuditStatus.Fail, results["firewall.published-ports"].Status);
    }

    [Fact]
    public void Firewall_ClusterPortsIncludingIpProtocols_AreReadFromTheRecordedTable()
    {
        var fixture = new AuditFixture(HardeningSamples.Render(HardeningSamples.ClusterWithVip(), "cp-2"))
            .Set("nft -j list table inet provisioner", AuditFixture.Recorded("nft-table-vip-cp-2.json"));

        var result = fixture.Run("firewall.input-ports");

        Assert.Equal(AuditStatus.Pass, result.Status);
        Assert.Contains("udp 4789 from 10.20.0.", result.Found, StringComparison.Ordinal);
        Assert.Contains("vrrp from 10.20.0.", result.Found, StringComparison.Ordinal);
        Assert.Contains("tcp 2379-2380 from", result.Found, StringComparison.Ordinal);
    }

    [Fact]
    public void Firewall_PublishedAllowances_AreReadFromTheRecordedTable()
    {
        var result = Sandbox().Run("firewall.published-ports");

        Assert.Equal("tcp 8080 from 10.0.0.0/8; tcp 9000 from 192.168.0.0/16,198.51.100.7/32; udp 5353 from any", result.Found);
    }

    [Fact]
    public void DockerUser_JumpNotFirst_Fails()
    {
        var result = Sandbox().Set("iptables -w -S DOCKER-USER", "-N DOCKER-USER\n-A DOCKER-USER -j RETURN\n-A DOCKER-USER -j PROVISIONER-PUBLISHED\n").Run("firewall.docker-user");

        Assert.Equal(AuditStatus.Fail, result.Status);
        Assert.Equal("first rule: -j RETURN", result.Found);
    }

    [Fact]
    public void DockerUser_UnderDockersNftablesBackend_IsNotApplicable()
    {
        var result = Sandbox().Set("nft list tables", "table ip docker-bridges\ntable ip6 docker-bridges\ntable inet provisioner\n")
            .Set("iptables -w -S DOCKER-USER", "", 1, "iptables: No chain/target/match by that name.\n")
            .Run("firewall.docker-user");

        Assert.Equal(AuditStatus.NotApplicable, result.Status);
    }

    [Fact]
    public void DockerDisabled_Fails()
    {
        var result = Sandbox().Set("systemctl is-enabled docker.service", "disabled\n", exitCode: 1).Run("docker.enabled");

        Assert.Equal(AuditStatus.Fail, result.Status);
        Assert.Equal("disabled", result.Found);
    }

    [Fact]
    public void NftablesService_Enabled_Fails()
    {
        Assert.Equal(AuditStatus.Fail, Sandbox().Set("systemctl is-enabled nftables.service", "enabled\n").Run("firewall.no-ruleset-flush").Status);
    }

    [Fact]
    public void HardeningFiles_OneChanged_FailsNamingIt()
    {
        var fixture = Sandbox();
        var lines = fixture.Bundle.Files.Select(f => $"{(f.Path == HardeningPaths.Ruleset ? new string('0', 64) : AuditFixture.Sha256(f.Content))}  {f.Path}\n");

        var result = fixture.Set("sha256sum", string.Concat(lines)).Run("hardening.files");

        Assert.Equal(AuditStatus.Fail, result.Status);
        Assert.Equal($"{HardeningPaths.Ruleset} changed", result.Found);
    }

    [Fact]
    public void ForNode_KubernetesChecks_JoinByScopeAndKeepTheirBenchmark()
    {
        var bundle = HardeningSamples.Render(HardeningSamples.Cluster(), "cp-1");
        KubernetesAuditCheck[] kubernetes =
        [
            new("1.2.1", "anonymous requests reach only health endpoints", AuditScope.ControlPlane, ["cat", "/etc/kubernetes/manifests/kube-apiserver.yaml"], (o, e) => new AuditVerdict(o.Contains("--anonymous-auth"), "x")),
            new("4.2.1", "kubelet: anonymous auth off", AuditScope.AllNodes, ["cat", "/var/lib/kubelet/config.yaml"], (o, e) => new AuditVerdict(e == 0, e == 0 ? "enabled: false" : "missing")),
            new("4.2.1", "kubelet: second setting under the same id", AuditScope.AllNodes, ["true"], (o, e) => new AuditVerdict(true, "ok")),
        ];

        var controlPlane = AuditChecks.ForNode(bundle, NodeRole.ControlPlane, kubernetes);
        var worker = AuditChecks.ForNode(bundle, NodeRole.Worker, kubernetes);
        var sandbox = AuditChecks.ForNode(bundle, NodeRole.Sandbox, kubernetes);

        Assert.Equal(["kubernetes.1.2.1", "kubernetes.4.2.1", "kubernetes.4.2.1#2"], controlPlane.Where(c => c.Id.StartsWith("kubernetes.", StringComparison.Ordinal)).Select(c => c.Id));
        Assert.Equal(["kubernetes.4.2.1", "kubernetes.4.2.1#2"], worker.Where(c => c.Id.StartsWith("kubernetes.", StringComparison.Ordinal)).Select(c => c.Id));
        Assert.DoesNotContain(sandbox, c => c.Id.StartsWith("kubernetes.", StringComparison.Ordinal));
        var kubelet = worker.Single(c => c.Id == "kubernetes.4.2.1");
        var failed = kubelet.Run([new ProbeOutput(1, "", "No such file")]);
        Assert.Equal(AuditStatus.Fail, failed.Status);
        Assert.Equal("missing", failed.Found);
        Assert.Equal(AuditChecks.KubernetesBenchmark, failed.Benchmark);
        Assert.Equal(AuditChecks.CisBenchmark, Sandbox().Run("docker.icc").Benchmark);
    }

    [Fact]
    public void Report_WaivedAndNotApplicable_DoNotFail_FailAndErrorDo()
    {
        AuditResult R(AuditStatus s) => new() { Id = s.ToString(), Title = "t", Expected = "e", Found = "f", Status = s };

        Assert.True(new AuditReport { Node = "n", Results = [R(AuditStatus.Pass), R(AuditStatus.Waived), R(AuditStatus.NotApplicable)] }.Passed);
        Assert.False(new AuditReport { Node = "n", Results = [R(AuditStatus.Pass), R(AuditStatus.Fail)] }.Passed);
        Assert.False(new AuditReport { Node = "n", Results = [R(AuditStatus.Error)] }.Passed);
    }

    [Fact]
    public void Formatter_JsonAndTable_CarryEveryResult()
    {
        var fixture = Sandbox().Set("cat /etc/docker/daemon.json", "{}");
        var report = new AuditReport { Node = "box", Results = [.. fixture.Run().Values] };

        var json = JsonDocument.Parse(AuditReportFormatter.ToJson([report])).RootElement;
        var table = AuditReportFormatter.ToTable([report]);

        Assert.False(json.GetProperty("passed").GetBoolean());
        Assert.Equal("CIS Docker Benchmark v1.6.0", json.GetProperty("benchmark").GetString());
        var results = json.GetProperty("nodes")[0].GetProperty("results");
        Assert.Equal(report.Results.Count, results.GetArrayLength());
        var icc = results.EnumerateArray().Single(r => r.GetProperty("id").GetString() == "docker.icc");
        Assert.Equal("2.2", icc.GetProperty("cisId").GetString());
        Assert.Equal("pass", icc.GetProperty("status").GetString());
        Assert.Contains(results.EnumerateArray(), r => r.GetProperty("status").GetString() == "fail");
        Assert.All(report.Results, r => Assert.Contains(r.Id, table, StringComparison.Ordinal));
        Assert.Contains("audit FAILED on box", table, StringComparison.Ordinal);
        Assert.Contains("FAIL", table, StringComparison.Ordinal);
    }
}
