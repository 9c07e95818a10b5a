using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Provisioner.Core.Kubernetes;
using Provisioner.Core.Stacks;
using Provisioner.Engine.Access;
using Provisioner.Engine.Kubernetes;
using Provisioner.Remote.Sessions;

namespace Provisioner.Engine.Replacement;

/// <summary>
/// Rejoins a re-created node by converging the cluster with <see cref="ClusterBootstrapExecutor"/>: it inspects every
/// node, finds the new one not joined and joins it with a join token created right before the join (15-minute TTL)
/// and deleted after it.
/// </summary>
public sealed class BootstrapClusterRejoin : IClusterRejoin
{
    /// <summary>Why the rejoin is skipped where no package source exists.</summary>
    public const string PackagesUnreachable = "no Kubernetes cluster can run on these machines (packages unreachable)";

    private readonly StackEngine _engine;
    private readonly INodeAccess _access;
    private readonly KubernetesTemplates _templates;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <summary>Creates the rejoin.</summary>
    public BootstrapClusterRejoin(StackEngine engine, INodeAccess access, KubernetesTemplates templates, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(access);
        ArgumentNullException.ThrowIfNull(templates);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _engine = engine;
        _access = access;
        _templates = templates;
        _time = time;
        _logger = logger;
    }

    /// <inheritdoc />
    public string? WhyNot(StackDefinition stack)
    {
        ArgumentNullException.ThrowIfNull(stack);
        if (stack.Kubernetes is null)
        {
            return "the stack has no Kubernetes cluster";
        }

        return KubernetesClusterSpec.From(stack).PackageRepositoryConfigured ? null : PackagesUnreachable;
    }

    /// <inheritdoc />
    public async Task<string> RejoinAsync(StackDefinition stack, NodeStatus node, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentNullException.ThrowIfNull(node);
        var spec = KubernetesClusterSpec.From(stack);
        var (_, nodes) = await _engine.StatusAsync(stack, cancellationToken).ConfigureAwait(false);
        var sessions = new NodeSessions(_access, stack, nodes);
        await using (sessions.ConfigureAwait(false))
        {
            var executor = new ClusterBootstrapExecutor(sessions, _templates, _time, _logger);
            var result = await executor.UpAsync(spec, null, cancellationToken).ConfigureAwait(false);
            var forNode = result.Completed.Count(s => s.Node == node.Name);
            return $"cluster converged: {result.Completed.Count} step(s), {forNode} on {node.Name}";
        }
    }

    private sealed class NodeSessions(INodeAccess access, StackDefinition stack, IReadOnlyList<NodeStatus> nodes) : IKubernetesNodeSessions, IAsyncDisposable
    {
        private readonly ConcurrentDictionary<string, Lazy<Task<IRemoteSession>>> _open = new(StringComparer.Ordinal);

        public Task<IRemoteSession> GetAsync(string node, CancellationToken cancellationToken)
        {
            var status = nodes.FirstOrDefault(n => n.Name == node) ?? throw new NodeAccessException($"stack '{stack.Name}' has no node '{node}' that exists");
            return _open.GetOrAdd(node, _ => new Lazy<Task<IRemoteSession>>(() => access.OpenAsync(stack, status, cancellationToken))).Value;
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var session in _open.Values.Where(s => s.IsValueCreated && s.Value.IsCompletedSuccessfully))
            {
                await session.Value.Result.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
