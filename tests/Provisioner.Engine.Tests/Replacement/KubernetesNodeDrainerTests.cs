using k8s;
using Microsoft.Extensions.Time.Testing;
using Provisioner.Engine.Replacement;

namespace Provisioner.Engine.Tests.Replacement;

/// <summary>The drain against a Kubernetes API served on loopback by the test: the real client, real HTTP.</summary>
public sealed class KubernetesNodeDrainerTests : IDisposable
{
    private readonly FakeKubernetesApi _api = new();
    private readonly k8s.Kubernetes _client;

    public KubernetesNodeDrainerTests()
    {
        _client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = _api.Url });
    }

    public void Dispose()
    {
        _client.Dispose();
        _api.Dispose();
    }

    [Fact]
    public async Task DrainAsync_PodsOnNode_CordonsThenEvictsOnlyMovablePods()
    {
        _api.AddPod("shop", "web-1", "w1");
        _api.AddPod("kube-system", "calico-node-x", "w1", ownerKind: "DaemonSet");
        _api.AddPod("kube-system", "kube-proxy-static", "w1", mirror: true);
        _api.AddPod("shop", "web-2", "w2");
        var drainer = new KubernetesNodeDrainer(_client, TimeProvider.System) { Timeout = TimeSpan.FromSeconds(20), PollInterval = TimeSpan.FromMilliseconds(20) };

        var result = await drainer.DrainAsync("w1", TestContext.Current.CancellationToken);

        Assert.Equal(["shop/web-1"], result.Evicted);
        Assert.Equal(["kube-system/calico-node-x", "kube-system/kube-proxy-static"], result.Ignored);
        Assert.True(_api.Unschedulable);
        Assert.Contains("\"unschedulable\":true", _api.Patches.Single(), StringComparison.Ordinal);
        Assert.Contains("shop/web-2", _api.Pods);
        var calls = _api.Calls.ToList();
        Assert.Equal("PATCH /api/v1/nodes/w1", calls[0]);
        Assert.StartsWith("GET /api/v1/pods?fieldSelector=spec.nodeName=w1", calls[1], StringComparison.Ordinal);
        Assert.Equal("POST /api/v1/namespaces/shop/pods/web-1/eviction", calls[2]);
        Assert.StartsWith("GET /api/v1/pods?fieldSelector=spec.nodeName=w1", calls[3], StringComparison.Ordinal);
        Assert.Equal(4, calls.Count);
        Assert.DoesNotContain(calls, c => c.Contains("calico", StringComparison.Ordinal) || c.Contains("kube-proxy", StringComparison.Ordinal));
    }

    [Fact]
    public async Task DrainAsync_EvictionsRefusedPastTimeout_ThrowsNamingRemainingPods()
    {
        _api.AddPod("shop", "db-0", "w1");
        _api.RefuseEvictions = true;
        // Time moves a minute each time the drainer reads it, whatever the machine's load: the deadline falls after a
        // fixed number of eviction rounds (wall-clock deadlines failed here when the client's first call was slow).
        var time = new FakeTimeProvider { AutoAdvanceAmount = TimeSpan.FromMinutes(1) };
        var drainer = new KubernetesNodeDrainer(_client, time) { Timeout = TimeSpan.FromMinutes(3), PollInterval = TimeSpan.Zero };

        var error = await Assert.ThrowsAsync<DrainTimeoutException>(() => drainer.DrainAsync("w1", TestContext.Current.CancellationToken));

        Assert.Equal(["shop/db-0"], error.Remaining);
        Assert.Contains("shop/db-0", error.Message, StringComparison.Ordinal);
        Assert.Contains("nothing was destroyed", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(_api.Calls, c => c.StartsWith("DELETE", StringComparison.Ordinal));
        Assert.True(_api.Calls.Count(c => c.EndsWith("/eviction", StringComparison.Ordinal)) >= 2, "evictions are retried until the deadline");
    }

    [Fact]
    public async Task DeleteNodeAsync_ExistingThenGone_DeletesOnceThenReportsGone()
    {
        var drainer = new KubernetesNodeDrainer(_client, TimeProvider.System);

        Assert.True(await drainer.NodeExistsAsync("w1", TestContext.Current.CancellationToken));
        Assert.True(await drainer.DeleteNodeAsync("w1", TestContext.Current.CancellationToken));
        Assert.False(await drainer.DeleteNodeAsync("w1", TestContext.Current.CancellationToken));
        Assert.False(await drainer.NodeExistsAsync("w1", TestContext.Current.CancellationToken));
        Assert.Equal(["GET /api/v1/nodes/w1", "DELETE /api/v1/nodes/w1", "DELETE /api/v1/nodes/w1", "GET /api/v1/nodes/w1"], _api.Calls);
    }
}
