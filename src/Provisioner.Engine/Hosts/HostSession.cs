using LibvirtSharp;
using Provisioner.Core.Placement;
using Provisioner.Core.Stacks;

namespace Provisioner.Engine.Hosts;

/// <summary>
/// One open libvirt connection to one of the stack's hosts, with what was learnt about it.
/// </summary>
/// <remarks>
/// libvirt connections are thread-safe, so the steps for different nodes on the same host share
/// this session concurrently.
/// </remarks>
public sealed class HostSession : IDisposable
{
    private readonly bool _ownsConnection;

    private HostSession(HostDefinition definition, Connection connection, bool ownsConnection, HostCapabilities capabilities, NodeInfo nodeInfo, ulong freeMemoryBytes)
    {
        _ownsConnection = ownsConnection;
        Definition = definition;
        Connection = connection;
        Capabilities = capabilities;
        NodeInfo = nodeInfo;
        FreeMemoryBytes = freeMemoryBytes;
    }

    /// <summary>The host as the stack declares it.</summary>
    public HostDefinition Definition { get; }

    /// <summary>The host's name in the stack.</summary>
    public string Name => Definition.Name;

    /// <summary>The open connection.</summary>
    public Connection Connection { get; }

    /// <summary>What libvirt on this host can do.</summary>
    public HostCapabilities Capabilities { get; }

    /// <summary>CPUs and memory of the host.</summary>
    public NodeInfo NodeInfo { get; }

    /// <summary>Free memory when the session was opened.</summary>
    public ulong FreeMemoryBytes { get; }

    /// <summary>Opens a connection to <paramref name="definition"/> and reads its facts.</summary>
    /// <exception cref="LibvirtException">The host cannot be reached; the message is libvirt's.</exception>
    public static HostSession Open(HostDefinition definition, IHostConnector connector)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(connector);
        var (connection, owned) = connector.Connect(definition);
        try
        {
            if (!connection.Uri.StartsWith("test:", StringComparison.Ordinal))
            {
                // Detect a dead remote host within a minute instead of hanging on a TCP timeout.
                connection.SetKeepAlive(10, 6);
            }

            var capabilitiesXml = connection.GetCapabilities();
            string? domainCapabilitiesXml = null;
            try
            {
                domainCapabilitiesXml = connection.GetDomainCapabilities(null, "x86_64", null, null);
            }
            catch (LibvirtException ex) when (ex.Code is ErrorCode.NoSupport or ErrorCode.InvalidArg or ErrorCode.OperationInvalid or ErrorCode.OperationUnsupported)
            {
                // The test driver has no domain capabilities; NVMe support then counts as absent.
            }

            var nodeInfo = connection.GetNodeInfo();
            return new HostSession(
                definition,
                connection,
                owned,
                HostCapabilities.Parse(capabilitiesXml, domainCapabilitiesXml),
                nodeInfo,
                FreeMemory(connection, nodeInfo));
        }
        catch
        {
            if (owned)
            {
                connection.Dispose();
            }

            throw;
        }
    }

    /// <summary>
    /// The host's free memory as libvirt reports it; for drivers that cannot report it (libvirt's
    /// test driver with a custom node file), total memory minus what running domains were given.
    /// </summary>
    private static ulong FreeMemory(Connection connection, NodeInfo nodeInfo)
    {
        try
        {
            return connection.GetFreeMemoryBytes();
        }
        catch (LibvirtException ex) when (ex.Code is ErrorCode.InternalError or ErrorCode.NoSupport or ErrorCode.OperationUnsupported or ErrorCode.None)
        {
            ulong used = 0;
            foreach (var domain in connection.ListDomains(DomainListFilter.Active))
            {
                using (domain)
                {
                    used += domain.GetInfo().MemoryBytes;
                }
            }

            return nodeInfo.MemoryBytes > used ? nodeInfo.MemoryBytes - used : 0;
        }
    }

    /// <summary>The facts placement needs about this host.</summary>
    /// <remarks>
    /// vCPUs of other domains are not subtracted: CPU time is shared and overcommitted by design,
    /// while memory is not, so memory is the hard limit and CPUs only bound a single node's size.
    /// </remarks>
    public HostFacts Facts() => new(Name, FreeMemoryBytes, (int)NodeInfo.Cpus);

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsConnection)
        {
            Connection.Dispose();
        }
    }
}
