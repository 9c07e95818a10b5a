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

/// <summary>
/// SSH to the node's reserved address as its host's URI dictates (<see cref="GuestConnector"/>): directly where the
/// tool runs on the guests' host, through the KVM host for <c>qemu+ssh://</c> hosts.
/// </summary>
public sealed class SshNodeAccess : INodeAccess
{
    private readonly IGuestConnector _guests;
    private readonly StackKeyStore _keys;
    private readonly TimeSpan _connectTimeout;

    /// <summary>Creates the access path over <paramref name="ssh"/> (which also hops when it is an <see cref="ISshJumpConnector"/>, as <see cref="SshConnector"/> is).</summary>
    public SshNodeAccess(ISshConnector ssh, StackKeyStore keys, TimeSpan? connectTimeout = null)
        : this(new GuestConnector(ssh ?? throw new ArgumentNullException(nameof(ssh))), keys, connectTimeout)
    {
    }

    /// <summary>Creates the access path over <paramref name="guests"/>.</summary>
    public SshNodeAccess(IGuestConnector guests, StackKeyStore keys, TimeSpan? connectTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(guests);
        ArgumentNullException.ThrowIfNull(keys);
        _guests = guests;
        _keys = keys;
        _connectTimeout = connectTimeout ?? Readiness.SshNodeReadiness.ConnectTimeout;
    }

    /// <inheritdoc />
    public async Task<IRemoteSession> OpenAsync(StackDefinition stack, NodeStatus node, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentNullException.ThrowIfNull(node);
        var address = node.Address ?? throw new NodeAccessException($"node '{node.Name}' of stack '{stack.Name}' has no reserved address");
        var hostKey = node.HostPublicKey ?? throw new NodeAccessException($"node '{node.Name}' of stack '{stack.Name}' has no pinned host key in its metadata");
        var host = stack.Hosts.FirstOrDefault(h => h.Name == node.Host)
            ?? throw new NodeAccessException($"node '{node.Name}' of stack '{stack.Name}' runs on host '{node.Host}', which the stack does not declare");
        var admin = await _keys.GetOrCreateAsync(stack.Name, cancellationToken).ConfigureAwait(false);
        return await _guests.ConnectAsync(
            host, new SshEndpoint(address, stack.Access.User), PinnedHostKey.FromPublicKeyLine(hostKey), admin.PrivateKey, _connectTimeout, cancellationToken).ConfigureAwait(false);
    }
}
