using k8s;
using k8s.Models;
using Provisioner.Engine.Replacement;

namespace Provisioner.Live.Tests;

/// <summary>
/// The drain against a real cluster, where one exists: <c>PROVISIONER_TEST_KUBECONFIG</c> names its kubeconfig and
/// <c>PROVISIONER_TEST_KUBE_NODE</c> a worker that may be drained (it is uncordoned again afterwards).
/// </summary>
public sealed class KubernetesDrainLiveTests
{
    public const string KubeconfigVariable = "PROVISIONER_TEST_KUBECONFIG";
    public const string NodeVariable = "PROVISIONER_TEST_KUBE_NODE";

    [Fact]
    public async Task DrainAsync_RealCluster_CordonsAndEmptiesTheNode()
    {
        var kubeconfig = Environment.GetEnvironmentVariable(KubeconfigVariable);
        var node = Environment.GetEnvironmentVariable(NodeVariable);
        Assert.SkipWhen(string.IsNullOrEmpty(kubeconfig) || string.IsNullOrEmpty(node),
            $"no Kubernetes cluster can run on these machines (packages unreachable); set {KubeconfigVariable} and {NodeVariable} to run it against one");
        var ct = TestContext.Current.CancellationToken;
        using var client = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig));
        var drainer = new KubernetesNodeDrainer(client, TimeProvider.System) { Timeout = TimeSpan.FromMinutes(5) };
        try
        {
            Assert.True(await drainer.NodeExistsAsync(node!, ct));
            await drainer.DrainAsync(node!, ct);

            var read = await client.CoreV1.ReadNodeAsync(node!, cancellationToken: ct);
            Assert.True(read.Spec.Unschedulable);
            var pods = await client.CoreV1.ListPodForAllNamespacesAsync(fieldSelector: $"spec.nodeName={node}", cancellationToken: ct);
            Assert.All(pods.Items, p => Assert.True(
                p.Metadata.OwnerReferences?.Any(o => o.Kind == "DaemonSet") == true || p.Metadata.Annotations?.ContainsKey("kubernetes.io/config.mirror") == true,
                $"{p.Metadata.NamespaceProperty}/{p.Metadata.Name} still on the node"));
        }
        finally
        {
            await client.CoreV1.PatchNodeAsync(new V1Patch("""{"spec":{"unschedulable":false}}""", V1Patch.PatchType.StrategicMergePatch), node!, cancellationToken: CancellationToken.None);
        }
    }
}
