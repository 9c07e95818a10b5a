using LibvirtSharp;
using Provisioner.Core.Stacks;

namespace Provisioner.Engine.Forensics;

/// <summary>What the operator asks for when quarantining a node.</summary>
public sealed record QuarantineRequest
{
    /// <summary>Why (recorded in the node's metadata).</summary>
    public required string Reason { get; init; }

    /// <summary>Who (recorded in the node's metadata).</summary>
    public required string Operator { get; init; }

    /// <summary>Also pause the guest (its memory stays as it is for the capture).</summary>
    public bool Pause { get; init; }
}

/// <summary>The outcome of a quarantine.</summary>
/// <param name="Node">The node.</param>
/// <param name="Domain">Its libvirt domain.</param>
/// <param name="Host">The host it runs on.</param>
/// <param name="Record">The record now in the node's metadata.</param>
/// <param name="AlreadyQuarantined">True when the node was already quarantined (the first record is kept).</param>
/// <param name="CutNow">Interfaces whose link was cut by this call (empty when all were cut already).</param>
/// <param name="PausedNow">True when this call paused the guest.</param>
/// <param name="State">The domain's state afterwards.</param>
public sealed record QuarantineResult(
    string Node, string Domain, string Host, QuarantineRecord Record, bool AlreadyQuarantined, IReadOnlyList<string> CutNow, bool PausedNow, DomainState State);

/// <summary>A node could not be cut off; its record was not written, so it is not reported as quarantined.</summary>
public sealed class QuarantineException : Exception
{
    /// <summary>Creates the exception.</summary>
    public QuarantineException() { }

    /// <summary>Creates the exception.</summary>
    public QuarantineException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public QuarantineException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// Cuts a node off the network from the host side at once, optionally pauses it, and records who, when and why in
/// its domain metadata. Idempotent: a second call keeps the first record and only completes what is missing.
/// </summary>
public sealed class NodeQuarantine
{
    private readonly ForensicsOptions _options;

    /// <summary>Creates the service.</summary>
    public NodeQuarantine(ForensicsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
    }

    /// <summary>Quarantines <paramref name="node"/> of <paramref name="stack"/>.</summary>
    /// <exception cref="NodeLookupException">Unknown node, or a node of another stack; nothing was changed.</exception>
    /// <exception cref="QuarantineException">The link could not be cut (for example a driver without device update).</exception>
    public Task<QuarantineResult> QuarantineAsync(StackDefinition stack, string node, QuarantineRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrWhiteSpace(request.Reason);
        ArgumentException.ThrowIfNullOrWhiteSpace(request.Operator);
        cancellationToken.ThrowIfCancellationRequested();
        using var hosts = StackHosts.Open(stack, _options.Connector);
        var (observed, host) = hosts.Find(node);
        using var domain = host.Connection.LookupDomain(observed.DomainName);
        var existing = Read(domain);

        // Cut first, record after: a node is never reported as quarantined while it can still talk.
        var macs = Interfaces.MacAddresses(domain.GetXml(DomainXmlFlags.Inactive)).Union(
            domain.IsActive ? Interfaces.MacAddresses(domain.GetXml()) : [], StringComparer.OrdinalIgnoreCase).ToList();
        var cut = new List<string>();
        foreach (var mac in macs)
        {
            if (_options.Isolation.IsCut(domain, mac))
            {
                continue;
            }

            try
            {
                _options.Isolation.Cut(domain, mac);
            }
            catch (LibvirtException e)
            {
                throw new QuarantineException(
                    $"cannot cut node '{node}' (domain '{observed.DomainName}' on host '{host.Name}') off its network: interface {mac}: {e.Message}; the node was NOT quarantined", e);
            }

            cut.Add(mac);
        }

        var stillUp = macs.Where(m => !_options.Isolation.IsCut(domain, m)).ToList();
        if (stillUp.Count > 0)
        {
            throw new QuarantineException(
                $"node '{node}': interface(s) {string.Join(", ", stillUp)} still have their link up after cutting; the node was NOT quarantined");
        }

        var pausedNow = false;
        if (request.Pause && domain.IsActive && domain.GetState() == DomainState.Running)
        {
            domain.Suspend();
            pausedNow = true;
        }

        var record = existing is null
            ? new QuarantineRecord
            {
                Reason = request.Reason,
                Operator = request.Operator,
                Since = _options.Time.GetUtcNow(),
                Paused = domain.IsActive && domain.GetState() == DomainState.Paused,
                Interfaces = macs,
                Step = ReprovisionStep.Quarantined,
            }
            : existing with
            {
                Paused = existing.Paused || pausedNow,
                Interfaces = [.. existing.Interfaces.Union(macs, StringComparer.OrdinalIgnoreCase)],
            };
        if (existing is null || record != existing)
        {
            Write(domain, record);
        }

        return Task.FromResult(new QuarantineResult(node, observed.DomainName, host.Name, record, existing is not null, cut, pausedNow, domain.GetState()));
    }

    /// <summary>The node's quarantine record, or null when it is not quarantined.</summary>
    /// <exception cref="NodeLookupException">Unknown node, or a node of another stack.</exception>
    public Task<QuarantineRecord?> GetAsync(StackDefinition stack, string node, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stack);
        cancellationToken.ThrowIfCancellationRequested();
        using var hosts = StackHosts.Open(stack, _options.Connector);
        var (observed, host) = hosts.Find(node);
        using var domain = host.Connection.LookupDomain(observed.DomainName);
        return Task.FromResult(Read(domain));
    }

    /// <summary>Reads a domain's quarantine record, or null.</summary>
    public static QuarantineRecord? Read(Domain domain)
    {
        ArgumentNullException.ThrowIfNull(domain);
        var xml = domain.GetMetadata(QuarantineRecord.Namespace);
        return xml is null ? null : QuarantineRecord.Parse(xml);
    }

    /// <summary>Writes a domain's quarantine record, live and persistent.</summary>
    public static void Write(Domain domain, QuarantineRecord record)
    {
        ArgumentNullException.ThrowIfNull(domain);
        ArgumentNullException.ThrowIfNull(record);
        var impact = domain.IsActive ? DomainModificationImpact.Live | DomainModificationImpact.Config : DomainModificationImpact.Config;
        domain.SetMetadata(QuarantineRecord.Namespace, QuarantineRecord.Prefix, record.ToXml(), impact);
    }
}
