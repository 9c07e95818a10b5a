using Provisioner.Core.Stacks;
using Provisioner.Engine.Access;
using Provisioner.Remote.Sessions;

namespace Provisioner.Engine.Kubernetes;

/// <summary>
/// The bootstrap's node sessions opened through the one node-access seam (<see cref="INodeAccess"/>): one session
/// per node for the whole run, opened on first use and closed by <see cref="DisposeAsync"/>.
/// </summary>
public sealed class NodeAccessSessions : IKubernetesNodeSessions, IAsyncDisposable
{
    private readonly StackDefinition _stack;
    private readonly Dictionary<string, NodeStatus> _nodes;
    private readonly INodeAccess _access;
    private readonly Dictionary<string, Task<IRemoteSession>> _open = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>Sessions to <paramref name="nodes"/> of <paramref name="stack"/> through <paramref name="access"/>.</summary>
    public NodeAccessSessions(StackDefinition stack, IEnumerable<NodeStatus> nodes, INodeAccess access)
    {
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentNullException.ThrowIfNull(nodes);
        ArgumentNullException.ThrowIfNull(access);
        _stack = stack;
        _nodes = nodes.ToDictionary(n => n.Name, StringComparer.Ordinal);
        _access = access;
    }

    /// <inheritdoc />
    /// <exception cref="NodeAccessException">The node does not exist (yet) or cannot be reached.</exception>
    public Task<IRemoteSession> GetAsync(string node, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_open.TryGetValue(node, out var existing) && !existing.IsFaulted && !existing.IsCanceled)
            {
                return existing;
            }

            if (!_nodes.TryGetValue(node, out var status))
            {
                throw new NodeAccessException($"node '{node}' of stack '{_stack.Name}' does not exist; run up first");
            }

            // The session outlives the call that opened it; only this call's token may cancel opening it.
            var opening = _access.OpenAsync(_stack, status, cancellationToken);
            _open[node] = opening;
            return opening;
        }
    }

    /// <summary>Closes every session opened.</summary>
    public async ValueTask DisposeAsync()
    {
        List<Task<IRemoteSession>> open;
        lock (_gate)
        {
            open = [.. _open.Values];
            _open.Clear();
        }

        foreach (var task in open.Where(t => t.IsCompletedSuccessfully))
        {
            var session = await task.ConfigureAwait(false);
            await session.DisposeAsync().ConfigureAwait(false);
        }
    }
}
