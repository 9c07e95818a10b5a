using Provisioner.Core.Kubernetes;
using Provisioner.Core.Kubernetes.Check;
using Provisioner.Core.Security;
using Provisioner.Core.Stacks;
using YamlDotNet.RepresentationModel;

namespace Provisioner.Core.Tests.Kubernetes;

/// <summary>A three-control-plane, two-worker cluster with a virtual IP, and fixed secrets for golden files.</summary>
internal static class KubernetesSamples
{
    public const string Token = "abcdef.0123456789abcdef";
    public const string CertificateKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    public const string EncryptionKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    public const string CniSha256 = "0f3e9d1c2b4a5968778695a4b3c2d1e0f0e1d2c3b4a5968778695a4b3c2d1e0f";

    public const string StackYaml = """
        config:
          provisioner:hosts:
            - name: kvm-1
              uri: qemu:///system
              region: oslo
              pool: {name: p, path: /srv/p, media: nvme}
          provisioner:networks:
            - name: cluster
              cidr: 10.20.0.0/24
              mode: nat
          provisioner:image:
            name: debian-12
          provisioner:nodes:
            - name: cp
              role: control-plane
              count: 3
              cpus: 2
              memoryMiB: 4096
              diskGiB: 20
              diskBus: virtio
              network: cluster
            - name: worker
              role: worker
              count: 2
              cpus: 2
              memoryMiB: 4096
              diskGiB: 20
              diskBus: virtio
              network: cluster
          provisioner:placement:
            region: oslo
            controlPlaneAntiAffinity: false
          provisioner:access:
            user: ops
            sshPublicKeys: []
            adminCidrs: [192.0.2.0/24]
          provisioner:kubernetes:
            version: 1.34.2
            controlPlaneEndpoint: 10.20.0.10
            cni:
              sha256: 0f3e9d1c2b4a5968778695a4b3c2d1e0f0e1d2c3b4a5968778695a4b3c2d1e0f
        """;

    public static StackDefinition Stack(string? replaceVersion = null, string? extraKubernetes = null)
    {
        var yaml = StackYaml;
        if (replaceVersion is not null)
        {
            yaml = yaml.Replace("version: 1.34.2", "version: " + replaceVersion, StringComparison.Ordinal);
        }

        if (extraKubernetes is not null)
        {
            yaml += "\n    " + extraKubernetes;
        }

        return StackLoader.Parse(yaml, "lab", "test");
    }

    public static KubernetesClusterSpec Spec(string? version = null) => KubernetesClusterSpec.From(Stack(version));

    public static UserNamespaceCapability NoUserNamespaces =>
        new(false, "hostUsers: false is NOT required: the nodes cannot honour it (node cp-1: kernel 6.1.0-28-cloud-amd64 is older than 6.3)");

    public static UserNamespaceCapability UserNamespaces =>
        new(true, "tenant pods must run in their own user namespace (hostUsers: false): every node supports it");

    public static PodSecurityRuleSet Rules(string? version = null, bool userNamespaces = false) =>
        Spec(version).PodSecurity(userNamespaces ? UserNamespaces : NoUserNamespaces);

    public static KubernetesTemplates KubeTemplates { get; } = KubernetesTemplates.CreateDefault();

    public static Secret EncryptionConfiguration => KubernetesDocuments.EncryptionConfiguration(new Secret(EncryptionKey));

    public static NodeFacts DebianFacts => new() { KernelRelease = "6.1.0-28-cloud-amd64", ContainerdVersion = "1.6.20~ds1", ClusterInterface = "enp1s0" };

    public static YamlMappingNode Load(string yaml) => LoadAll(yaml).Single();

    public static List<YamlMappingNode> LoadAll(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return stream.Documents.Select(d => (YamlMappingNode)d.RootNode).ToList();
    }

    public static YamlNode At(YamlNode node, string path)
    {
        foreach (var part in path.Split('.'))
        {
            node = ((YamlMappingNode)node)[part];
        }

        return node;
    }

    public static string Scalar(YamlNode node, string path) => ((YamlScalarNode)At(node, path)).Value!;

    /// <summary>The value of <c>name</c> in a v1beta4 extraArgs list.</summary>
    public static string? Arg(YamlNode component, string name) =>
        ((YamlSequenceNode)At(component, "extraArgs")).Cast<YamlMappingNode>()
            .Where(a => ((YamlScalarNode)a["name"]).Value == name)
            .Select(a => ((YamlScalarNode)a["value"]).Value)
            .SingleOrDefault();
}
