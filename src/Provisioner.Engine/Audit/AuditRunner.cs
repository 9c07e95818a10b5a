using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Provisioner.Core.Audit;
using Provisioner.Core.Hardening;
using Provisioner.Remote.Sessions;
using Provisioner.Remote.Shell;

namespace Provisioner.Engine.Audit;

/// <summary>
/// Runs audit checks on a real node over an <see cref="IRemoteSession"/>: every distinct probe once
/// (through <c>sudo -n</c>, the probes are read-only), then each check's pure evaluator on the outputs.
/// </summary>
public sealed partial class AuditRunner
{
    private readonly ILogger _logger;

    /// <summary>Creates a runner.</summary>
    /// <param name="logger">Where progress goes; no probe output is logged.</param>
    /// <param name="useSudo">Run probes through <c>sudo -n</c> (needed unless the login user is root).</param>
    public AuditRunner(ILogger<AuditRunner>? logger = null, bool useSudo = true)
    {
        _logger = logger ?? NullLogger<AuditRunner>.Instance;
        UseSudo = useSudo;
    }

    /// <summary>Whether probes run through <c>sudo -n</c>.</summary>
    public bool UseSudo { get; }

    /// <summary>Audits the node <paramref name="bundle"/> was rendered for, against what it installs.</summary>
    public Task<AuditReport> RunAsync(IRemoteSession session, HardeningBundle bundle, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        return RunAsync(session, bundle.Node, AuditChecks.For(bundle), cancellationToken);
    }

    /// <summary>Runs <paramref name="checks"/> on the node behind <paramref name="session"/>.</summary>
    /// <exception cref="SshConnectionLostException">The node went away; no partial report is returned.</exception>
    public async Task<AuditReport> RunAsync(IRemoteSession session, string node, IReadOnlyList<AuditCheck> checks, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(checks);
        LogAuditStarting(_logger, node, checks.Count);

        var outputs = new Dictionary<AuditProbe, ProbeOutput>();
        foreach (var probe in checks.SelectMany(c => c.Probes).Distinct())
        {
            outputs[probe] = await ProbeAsync(session, node, probe, cancellationToken).ConfigureAwait(false);
        }

        var results = checks.Select(c => c.Run(c.Probes.Select(p => outputs[p]).ToList())).ToList();
        var report = new AuditReport { Node = node, Results = results.AsReadOnly() };
        foreach (var failure in results.Where(r => r.IsFailure))
        {
            LogCheckFailed(_logger, node, failure.Id, failure.Status, failure.Expected, failure.Found);
        }
        int pass = report.Count(AuditStatus.Pass), waived = report.Count(AuditStatus.Waived), fail = report.Count(AuditStatus.Fail), error = report.Count(AuditStatus.Error);
        LogAuditFinished(_logger, node, pass, waived, fail, error);
        return report;
    }

    private async Task<ProbeOutput> ProbeAsync(IRemoteSession session, string node, AuditProbe probe, CancellationToken cancellationToken)
    {
        var command = ShellCommand.Create(probe.Argv[0], probe.Argv.Skip(1));
        if (UseSudo)
        {
            command = command.WithSudo();
        }
        try
        {
            var result = await session.RunAsync(command, cancellationToken).ConfigureAwait(false);
            return new ProbeOutput(result.ExitCode, result.StdOut, result.StdErr);
        }
        catch (SshTimeoutException e)
        {
            // One hung probe makes its checks errors; the rest of the audit still runs.
            LogProbeTimedOut(_logger, node, probe.ToString(), e.Timeout);
            return new ProbeOutput(-1, "", $"timed out after {e.Timeout}");
        }
    }

    [LoggerMessage(EventId = 3501, Level = LogLevel.Information, Message = "Auditing node {Node}: {Checks} checks")]
    private static partial void LogAuditStarting(ILogger logger, string node, int checks);

    [LoggerMessage(EventId = 3502, Level = LogLevel.Warning, Message = "Node {Node}: check {Check} {Status}: expected {Expected}, found {Found}")]
    private static partial void LogCheckFailed(ILogger logger, string node, string check, AuditStatus status, string expected, string found);

    [LoggerMessage(EventId = 3503, Level = LogLevel.Information, Message = "Audit of node {Node} done: {Pass} pass, {Waived} waived, {Fail} fail, {Error} error")]
    private static partial void LogAuditFinished(ILogger logger, string node, int pass, int waived, int fail, int error);

    [LoggerMessage(EventId = 3504, Level = LogLevel.Warning, Message = "Node {Node}: probe '{Probe}' timed out after {Timeout}")]
    private static partial void LogProbeTimedOut(ILogger logger, string node, string probe, TimeSpan timeout);
}
