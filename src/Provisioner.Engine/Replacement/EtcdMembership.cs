using System.Globalization;
using System.Text.Json;
using Provisioner.Remote.Sessions;
using Provisioner.Remote.Shell;

namespace Provisioner.Engine.Replacement;

/// <summary>A member of the cluster's etcd.</summary>
/// <param name="Id">Member id.</param>
/// <param name="Name">Member name (kubeadm names it after the node).</param>
/// <param name="PeerUrls">Peer URLs.</param>
public sealed record EtcdMember(ulong Id, string Name, IReadOnlyList<string> PeerUrls);

/// <summary>The etcd member list of a cluster, as seen from a surviving control plane.</summary>
public interface IEtcdMembership
{
    /// <summary>The members.</summary>
    Task<IReadOnlyList<EtcdMember>> ListAsync(CancellationToken cancellationToken);

    /// <summary>Removes the member with <paramref name="id"/>.</summary>
    Task RemoveAsync(ulong id, CancellationToken cancellationToken);
}

/// <summary>Removing a node's etcd member is refused (it would lose the cluster) or failed.</summary>
public sealed class EtcdMembershipException : Exception
{
    /// <summary>Creates the exception.</summary>
    public EtcdMembershipException() { }

    /// <summary>Creates the exception.</summary>
    public EtcdMembershipException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public EtcdMembershipException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// The explicit etcd step of replacing a control plane: its member is removed before the machine goes, so the new
/// machine joins as a new member and the cluster never counts a dead member towards its quorum.
/// </summary>
public static class EtcdMemberRemoval
{
    /// <summary>Removes <paramref name="node"/>'s member; returns what was done, for the timeline.</summary>
    /// <exception cref="EtcdMembershipException">The node is the only member: removing it would destroy the cluster's data.</exception>
    public static async Task<string> RemoveAsync(IEtcdMembership membership, string node, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(membership);
        ArgumentException.ThrowIfNullOrEmpty(node);
        var members = await membership.ListAsync(cancellationToken).ConfigureAwait(false);
        var member = members.FirstOrDefault(m => string.Equals(m.Name, node, StringComparison.Ordinal));
        if (member is null)
        {
            return $"no etcd member named '{node}' ({members.Count} member(s)): already removed";
        }

        if (members.Count == 1)
        {
            throw new EtcdMembershipException(
                $"node '{node}' is the cluster's only etcd member: removing it would destroy the cluster's data; restore from a backup instead. Nothing was changed");
        }

        await membership.RemoveAsync(member.Id, cancellationToken).ConfigureAwait(false);
        return $"removed etcd member '{node}' ({member.Id:x16}); {members.Count - 1} member(s) remain";
    }

    /// <summary>Parses <c>etcdctl member list -w json</c>.</summary>
    /// <exception cref="FormatException">Not that output.</exception>
    public static IReadOnlyList<EtcdMember> ParseMemberList(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            if (!document.RootElement.TryGetProperty("members", out var members))
            {
                return [];
            }

            return [.. members.EnumerateArray().Select(m => new EtcdMember(
                m.GetProperty("ID").GetUInt64(),
                m.TryGetProperty("name", out var name) ? name.GetString() ?? string.Empty : string.Empty,
                m.TryGetProperty("peerURLs", out var peers) ? [.. peers.EnumerateArray().Select(p => p.GetString() ?? string.Empty)] : []))];
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException)
        {
            throw new FormatException($"not etcdctl member list JSON: {e.Message}", e);
        }
    }
}

/// <summary>
/// etcd membership through a surviving kubeadm control plane over SSH: <c>etcdctl</c> runs inside that node's etcd
/// static pod (kubeadm installs no etcdctl on the host), with the etcd client certificates kubeadm generated.
/// </summary>
public sealed class KubeadmEtcdMembership : IEtcdMembership, IAsyncDisposable
{
    private readonly IRemoteSession _session;
    private readonly string _survivor;
    private readonly bool _ownsSession;

    /// <summary>Creates the membership view from <paramref name="survivor"/> (a control plane that stays), reached by <paramref name="session"/>.</summary>
    /// <param name="session">SSH session to the survivor.</param>
    /// <param name="survivor">The survivor's node name (its etcd pod is <c>etcd-&lt;name&gt;</c>).</param>
    /// <param name="ownsSession">Dispose the session with this object.</param>
    public KubeadmEtcdMembership(IRemoteSession session, string survivor, bool ownsSession = false)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentException.ThrowIfNullOrEmpty(survivor);
        _session = session;
        _survivor = survivor;
        _ownsSession = ownsSession;
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _ownsSession ? _session.DisposeAsync() : ValueTask.CompletedTask;

    /// <summary>The command that runs etcdctl with <paramref name="arguments"/> on the survivor.</summary>
    public ShellCommand Command(params IEnumerable<string> arguments) => ShellCommand.Create("kubectl",
        [
            "--kubeconfig", "/etc/kubernetes/admin.conf", "-n", "kube-system", "exec", "etcd-" + _survivor, "--",
            "etcdctl", "--endpoints=https://127.0.0.1:2379",
            "--cacert=/etc/kubernetes/pki/etcd/ca.crt", "--cert=/etc/kubernetes/pki/etcd/server.crt", "--key=/etc/kubernetes/pki/etcd/server.key",
            .. arguments,
        ]).WithSudo();

    /// <inheritdoc />
    public async Task<IReadOnlyList<EtcdMember>> ListAsync(CancellationToken cancellationToken)
    {
        var result = await _session.RunAsync(Command("member", "list", "-w", "json"), cancellationToken).ConfigureAwait(false);
        return EtcdMemberRemoval.ParseMemberList(result.EnsureSuccess().StdOut);
    }

    /// <inheritdoc />
    public async Task RemoveAsync(ulong id, CancellationToken cancellationToken)
    {
        var result = await _session.RunAsync(Command("member", "remove", id.ToString("x", CultureInfo.InvariantCulture)), cancellationToken).ConfigureAwait(false);
        result.EnsureSuccess();
    }
}
