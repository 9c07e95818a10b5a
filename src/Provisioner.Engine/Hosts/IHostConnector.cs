using LibvirtSharp;
using Provisioner.Core.Stacks;

namespace Provisioner.Engine.Hosts;

/// <summary>Opens libvirt connections to a stack's hosts.</summary>
public interface IHostConnector
{
    /// <summary>
    /// A connection to <paramref name="host"/>. When <see cref="HostConnection.Owned"/> is true the caller
    /// closes it when done; otherwise the connector keeps it open for later runs.
    /// </summary>
    HostConnection Connect(HostDefinition host);
}

/// <summary>A connection and whether its user must close it.</summary>
public sealed record HostConnection(Connection Connection, bool Owned);

/// <summary>A new connection per run, closed at the end of the run: what the CLI and Pulumi use.</summary>
public sealed class LibvirtHostConnector : IHostConnector
{
    /// <summary>The shared instance.</summary>
    public static readonly LibvirtHostConnector Instance = new();

    /// <inheritdoc />
    public HostConnection Connect(HostDefinition host)
    {
        ArgumentNullException.ThrowIfNull(host);
        return new HostConnection(Connection.Open(host.Uri.ToString()), Owned: true);
    }
}

/// <summary>
/// Keeps one connection per host open across runs. libvirt's test driver keeps its state per
/// connection, so a mock host lives exactly as long as this connector; for real hosts it saves
/// the connection set-up of each run (e.g. in a long-running Pulumi provider).
/// </summary>
public sealed class CachingHostConnector : IHostConnector, IDisposable
{
    private readonly Dictionary<string, Connection> _connections = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <inheritdoc />
    public HostConnection Connect(HostDefinition host)
    {
        ArgumentNullException.ThrowIfNull(host);
        lock (_gate)
        {
            if (!_connections.TryGetValue(host.Name, out var connection))
            {
                connection = Connection.Open(host.Uri.ToString());
                _connections[host.Name] = connection;
            }

            return new HostConnection(connection, Owned: false);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var connection in _connections.Values)
            {
                connection.Dispose();
            }

            _connections.Clear();
        }
    }
}
