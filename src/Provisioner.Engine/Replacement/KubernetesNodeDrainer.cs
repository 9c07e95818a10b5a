using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Provisioner.Engine.Replacement;

/// <summary>A drain did not finish in time. Nothing was destroyed; the node stays cordoned (and quarantined).</summary>
public sealed class DrainTimeoutException : Exception
{
    /// <summary>Creates the exception.</summary>
    public DrainTimeoutException() { }

    /// <summary>Creates the exception.</summary>
    public DrainTimeoutException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public DrainTimeoutException(string message, Exception inner) : base(message, inner) { }

    /// <summary>The pods still on the node (<c>namespace/name</c>).</summary>
    public IReadOnlyList<string> Remaining { get; init; } = [];
}

/// <summary>What a drain did.</summary>
/// <param name="Evicted">Pods evicted (<c>namespace/name</c>).</param>
/// <param name="Ignored">Pods left alone: DaemonSet pods and static (mirror) pods, which die with the node.</param>
public sealed record DrainResult(IReadOnlyList<string> Evicted, IReadOnlyList<string> Ignored);

/// <summary>
/// Cordons and drains a node through the Kubernetes API the way <c>kubectl drain</c> does (evictions, so
/// PodDisruptionBudgets are honoured; DaemonSet and mirror pods are left), then deletes the Node object.
/// </summary>
public sealed class KubernetesNodeDrainer
{
    private readonly IKubernetes _client;
    private readonly TimeProvider _time;

    /// <summary>Creates the drainer.</summary>
    public KubernetesNodeDrainer(IKubernetes client, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(time);
        _client = client;
        _time = time;
    }

    /// <summary>How long a drain may take before it fails.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How often to look again while pods leave (or evictions are refused by a budget).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Whether the cluster has a Node object of that name.</summary>
    public async Task<bool> NodeExistsAsync(string node, CancellationToken cancellationToken)
    {
        try
        {
            await _client.CoreV1.ReadNodeAsync(node, cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    /// <summary>Marks the node unschedulable.</summary>
    public Task CordonAsync(string node, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(node);
        var patch = new V1Patch("""{"spec":{"unschedulable":true}}""", V1Patch.PatchType.StrategicMergePatch);
        return _client.CoreV1.PatchNodeAsync(patch, node, cancellationToken: cancellationToken);
    }

    /// <summary>Cordons the node and evicts its pods, waiting until they are gone.</summary>
    /// <exception cref="DrainTimeoutException">Pods remain after <see cref="Timeout"/>.</exception>
    public async Task<DrainResult> DrainAsync(string node, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(node);
        await CordonAsync(node, cancellationToken).ConfigureAwait(false);
        var deadline = _time.GetUtcNow() + Timeout;
        var evicted = new HashSet<string>(StringComparer.Ordinal);
        var ignored = new SortedSet<string>(StringComparer.Ordinal);
        while (true)
        {
            var pods = await _client.CoreV1.ListPodForAllNamespacesAsync(fieldSelector: $"spec.nodeName={node}", cancellationToken: cancellationToken).ConfigureAwait(false);
            var pending = new List<V1Pod>();
            foreach (var pod in pods.Items)
            {
                if (IsDaemonSetPod(pod) || IsMirrorPod(pod))
                {
                    ignored.Add(Key(pod));
                }
                else if (pod.Status?.Phase is not ("Succeeded" or "Failed"))
                {
                    pending.Add(pod);
                }
            }

            if (pending.Count == 0)
            {
                return new DrainResult([.. evicted.Order(StringComparer.Ordinal)], [.. ignored]);
            }

            foreach (var pod in pending)
            {
                if (await EvictAsync(pod, cancellationToken).ConfigureAwait(false))
                {
                    evicted.Add(Key(pod));
                }
            }

            if (_time.GetUtcNow() >= deadline)
            {
                var remaining = pending.Select(Key).Order(StringComparer.Ordinal).ToList();
                throw new DrainTimeoutException(
                    $"drain of node '{node}' did not finish within {Timeout.TotalSeconds:0} s: {remaining.Count} pod(s) remain ({string.Join(", ", remaining)}); nothing was destroyed, the node stays cordoned")
                {
                    Remaining = remaining,
                };
            }

            await Task.Delay(PollInterval, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Deletes the Node object; one that is already gone is fine.</summary>
    public async Task<bool> DeleteNodeAsync(string node, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(node);
        try
        {
            await _client.CoreV1.DeleteNodeAsync(node, cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    private async Task<bool> EvictAsync(V1Pod pod, CancellationToken cancellationToken)
    {
        var eviction = new V1Eviction
        {
            ApiVersion = "policy/v1",
            Kind = "Eviction",
            Metadata = new V1ObjectMeta { Name = pod.Metadata.Name, NamespaceProperty = pod.Metadata.NamespaceProperty },
        };
        try
        {
            await _client.CoreV1.CreateNamespacedPodEvictionAsync(eviction, pod.Metadata.Name, pod.Metadata.NamespaceProperty, cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return true;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.TooManyRequests)
        {
            // A PodDisruptionBudget refuses it for now: try again on the next round, until the deadline.
            return false;
        }
    }

    private static bool IsDaemonSetPod(V1Pod pod) =>
        pod.Metadata.OwnerReferences?.Any(o => o.Kind == "DaemonSet" && o.Controller == true) == true;

    private static bool IsMirrorPod(V1Pod pod) =>
        pod.Metadata.Annotations?.ContainsKey("kubernetes.io/config.mirror") == true;

    private static string Key(V1Pod pod) => $"{pod.Metadata.NamespaceProperty}/{pod.Metadata.Name}";
}
