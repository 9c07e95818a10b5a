using LibvirtSharp;
using Provisioner.Core.Naming;
using Provisioner.Core.Stacks;
using Provisioner.Core.Templates;
using Provisioner.Engine.Hosts;
using Provisioner.Engine.Inventory;

namespace Provisioner.Engine.Forensics;

/// <summary>
/// The node named on the command line is not one of the stack's nodes (unknown, or it belongs to another stack).
/// Nothing was changed.
/// </summary>
public sealed class NodeLookupException : Exception
{
    /// <summary>Creates the exception.</summary>
    public NodeLookupException() { }

    /// <summary>Creates the exception.</summary>
    public NodeLookupException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public NodeLookupException(string message, Exception inner) : base(message, inner) { }

    /// <summary>The stack that really owns a node of that name, when another stack does.</summary>
    public string? OwningStack { get; init; }
}

/// <summary>The open hosts of a stack, and where one of its nodes runs.</summary>
internal sealed class StackHosts : IDisposable
{
    private StackHosts(StackDefinition stack, IReadOnlyDictionary<string, HostSession> sessions)
    {
        Stack = stack;
        Sessions = sessions;
    }

    public StackDefinition Stack { get; }

    public IReadOnlyDictionary<string, HostSession> Sessions { get; }

    public static StackHosts Open(StackDefinition stack, IHostConnector connector)
    {
        var sessions = new Dictionary<string, HostSession>(StringComparer.Ordinal);
        try
        {
            foreach (var host in stack.Hosts)
            {
                sessions[host.Name] = HostSession.Open(host, connector);
            }
        }
        catch
        {
            foreach (var session in sessions.Values)
            {
                session.Dispose();
            }

            throw;
        }

        return new StackHosts(stack, sessions);
    }

    /// <summary>The node's observed state and its host, or null when no host has it (it may be gone mid-replacement).</summary>
    public (ObservedNode Node, HostSession Host)? TryFind(string node)
    {
        foreach (var host in Sessions.Values)
        {
            var observed = InventoryReader.Read(Stack, host);
            if (observed.Nodes.TryGetValue(node, out var found))
            {
                return (found, host);
            }
        }

        return null;
    }

    /// <summary>The node's observed state and its host.</summary>
    /// <exception cref="NodeLookupException">Unknown node, invalid name, or a node of another stack.</exception>
    public (ObservedNode Node, HostSession Host) Find(string node) => TryFind(node) ?? throw NotFound(node);

    /// <summary>The error for a node this stack does not have, naming the stack that does when there is one.</summary>
    public NodeLookupException NotFound(string node)
    {
        if (ResourceName.Explain(node) is { } problem)
        {
            return new NodeLookupException($"node: '{node}' is not a node name: {problem}");
        }

        foreach (var host in Sessions.Values)
        {
            foreach (var domain in host.Connection.ListDomains())
            {
                using (domain)
                {
                    var owner = OwnerOf(domain);
                    if (owner is not null && owner.Node == node && owner.Stack != Stack.Name)
                    {
                        return new NodeLookupException(
                            $"node '{node}' belongs to stack '{owner.Stack}' (domain '{domain.Name}' on host '{host.Name}'), not to stack '{Stack.Name}'; nothing was changed")
                        {
                            OwningStack = owner.Stack,
                        };
                    }
                }
            }
        }

        var known = Stack.Nodes.Select(n => n.Name).Order(StringComparer.Ordinal).ToList();
        return new NodeLookupException(
            $"stack '{Stack.Name}' has no node '{node}' that exists" + (known.Count > 0 ? $" (its nodes: {string.Join(", ", known)})" : string.Empty));
    }

    public void Dispose()
    {
        foreach (var session in Sessions.Values)
        {
            session.Dispose();
        }
    }

    private static NodeMetadata? OwnerOf(Domain domain)
    {
        try
        {
            var xml = domain.GetMetadata(ProvisionerXml.NodeNamespace);
            return xml is null ? null : NodeMetadata.Parse(xml);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
