using Provisioner.Core.Hardening;
using Provisioner.Core.Stacks;
using Provisioner.Core.Templates;

namespace Provisioner.Core.Tests.Hardening;

/// <summary>Fixed stacks shared by the hardening golden, semantic and netns tests.</summary>
internal static class HardeningSamples
{
    /// <summary>A sandbox stack with published-port policies, including overlapping sources to normalise.</summary>
    public const string SandboxYaml = """
        config:
          provisioner:hosts:
            - name: h1
              uri: test:///default
              region: oslo
              pool: {name: p, path: /srv/pool, media: nvme}
          provisioner:networks:
            - name: net
              cidr: 10.77.0.0/24
              mode: nat
          provisioner:image:
            name: debian-12
          provisioner:nodes:
            - name: box
              role: sandbox
              cpus: 1
              memoryMiB: 1024
              diskGiB: 4
              network: net
          provisioner:placement:
            region: oslo
          provisioner:access:
            user: ops
            sshPublicKeys: []
            adminCidrs: [10.77.0.0/24, 192.0.2.0/24]
          provisioner:firewall:
            publishedPorts:
              - port: 8080
                protocol: tcp
                from: [10.0.0.0/8]
              - port: 9000
                from: [192.168.10.0/24, 192.168.0.0/16, 198.51.100.7/32]
              - port: 5353
                protocol: udp
                from: [0.0.0.0/0]
        """;

    /// <summary>A Kubernetes stack: two control-plane nodes, two workers, one NodePort policy, two daemon.json overrides.</summary>
    public const string ClusterYaml = """
        config:
          provisioner:hosts:
            - name: h1
              uri: test:///default
              region: oslo
              pool: {name: p, path: /srv/pool, media: nvme}
            - name: h2
              uri: test:///default
              region: oslo
              pool: {name: p, path: /srv/pool, media: nvme}
          provisioner:networks:
            - name: cluster
              cidr: 10.20.0.0/24
              mode: nat
          provisioner:image:
            name: debian-12
          provisioner:nodes:
            - name: cp
              role: control-plane
              count: 2
              cpus: 2
              memoryMiB: 2048
              diskGiB: 10
              network: cluster
            - name: worker
              role: worker
              count: 2
              cpus: 2
              memoryMiB: 2048
              diskGiB: 10
              network: cluster
          provisioner:placement:
            region: oslo
          provisioner:access:
            user: ops
            sshPublicKeys: []
            adminCidrs: [192.0.2.0/24]
          provisioner:runtime:
            daemonOverrides:
              - key: log-opts
                value: {max-size: 50m, max-file: "10"}
                reason: keep ten 50 MB files per container for incident review
              - key: registry-mirrors
                value: ["https://mirror.example.net"]
                reason: the cluster pulls through the air-gapped mirror
          provisioner:firewall:
            publishedPorts:
              - port: 30080
                from: [192.0.2.0/24]
          provisioner:kubernetes:
            version: "1.34.2"
        """;

    /// <summary>
    /// The sandbox stack with a second node that opens 443/tcp to everyone and 8080/tcp to one more network on top
    /// of the stack's ports: a node's own ports come after the stack's.
    /// </summary>
    public static StackDefinition SandboxWithNodePorts() => StackLoader.Parse(
        SandboxYaml.Replace("""
              network: net
          provisioner:placement:
        """, """
              network: net
            - name: edge
              role: sandbox
              cpus: 1
              memoryMiB: 1024
              diskGiB: 4
              network: net
              publishedPorts:
                - port: 443
                  from: [0.0.0.0/0]
                - port: 8443
                  from: [10.1.2.0/24, 198.51.100.0/24]
          provisioner:placement:
        """, StringComparison.Ordinal),
        "dev",
        "sandbox.yaml");

    public static TemplateRenderer Templates() => TemplateRenderer.CreateDefault();

    public static HardeningRenderer Renderer() => new(Templates());

    public static StackDefinition Sandbox() => StackLoader.Parse(SandboxYaml, "dev", "sandbox.yaml");

    public static StackDefinition Cluster() => StackLoader.Parse(ClusterYaml, "oslo", "cluster.yaml");

    /// <summary>The cluster with a virtual IP for the API server (keepalived between the control planes).</summary>
    public static StackDefinition ClusterWithVip() => StackLoader.Parse(
        ClusterYaml.Replace("version: \"1.34.2\"", "version: \"1.34.2\"\n    controlPlaneEndpoint: 10.20.0.10", StringComparison.Ordinal), "oslo", "cluster.yaml");

    public static HardeningTarget Target(StackDefinition stack, string node) => HardeningTarget.For(stack, node);

    public static HardeningBundle Render(StackDefinition stack, string node) => Renderer().Render(Target(stack, node));

    /// <summary>A stack built by hand, past the loader's validation, for hostile-value tests.</summary>
    public static StackDefinition WithPublished(StackDefinition stack, params PublishedPortPolicy[] policies) =>
        stack with { Firewall = new FirewallSettings { PublishedPorts = policies } };
}
