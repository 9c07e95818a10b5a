using Provisioner.Core.Stacks;
using Provisioner.Engine.Keys;
using Provisioner.Remote.Keys;
using Provisioner.Remote.Sessions;

namespace Provisioner.Engine.Access;

/// <summary>
/// Opens administrative SSH sessions to a stack's nodes. The one seam every feature above the core
/// (hardening, audit, Kubernetes, node replacement, sandboxes) uses to reach a guest, so how guests are
/// reached (directly, or through the KVM host on remote sites) is decided in one place.
/// </summary>
public interface INodeAccess
{
    /// <summary>
    /// Opens a session to <paramref name="node"/> as the stack's admin user, authenticated with the stack's
    /// admin key and verifying the host key pinned in the node's libvirt metadata.
    /// </summary>
    /// <exception cref="NodeAccessException">The node has no address or no pinned host key.</exception>
    Task<IRemoteSession> OpenAsync(StackDefinition stack, NodeStatus node, CancellationToken cancellationToken);
}

/// <summary>A node cannot be reached: the message says what is missing.</summary>
public sealed class NodeAccessException : Exception
{
    /// <summary>Creates the exception.</summary>
    public NodeAccessException() { }

    /// <summary>Creates the exception.</summary>
    public NodeAccessException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public NodeAccessException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>Direct SSH to the node's reserved address (the tool runs where the guests' network is routed).</summary>
public sealed class SshNodeAccess : INodeAccess
{
    private readonly ISshConnector _ssh;
    private readonly StackKeyStore _keys;
    private readonly TimeSpan _connectTimeout;

    /// <summary>Creates the access path.</summary>
    public SshNodeAccess(ISshConnector ssh, StackKeyStore keys, TimeSpan? connectTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(ssh);
        ArgumentNullException.ThrowIfNull(keys);
        _ssh = ssh;
        _keys = keys;
        _connectTimeout = connectTimeout ?? TimeSpan.FromSeconds(30);
    }

    /// <inheritdoc />
    public async Task<IRemoteSession> OpenAsync(StackDefinition stack, NodeStatus node, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentNullException.ThrowIfNull(node);
        var address = node.Address ?? throw new NodeAccessException($"node '{node.Name}' of stack '{stack.Name}' has no reserved address");
        var hostKey = node.HostPublicKey ?? throw new NodeAccessException($"node '{node.Name}' of stack '{stack.Name}' has no pinned host key in its metadata");
        var admin = await _keys.GetOrCreateAsync(stack.Name, cancellationToken).ConfigureAwait(false);
        return await _ssh.ConnectAsync(
            new SshEndpoint(address, stack.Access.User), PinnedHostKey.FromPublicKeyLine(hostKey), admin.PrivateKey, _connectTimeout, cancellationToken).ConfigureAwait(false);
    }
}
