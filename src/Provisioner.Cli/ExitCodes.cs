namespace Provisioner.Cli;

/// <summary>The process exit codes of <c>provisioner</c>, stable for scripts.</summary>
public static class ExitCodes
{
    /// <summary>Success (also: nothing to do).</summary>
    public const int Ok = 0;

    /// <summary>The operation failed (a step failed, a host could not be reached, ...).</summary>
    public const int Failed = 1;

    /// <summary>Bad input: unknown options, invalid stack file, invalid names, TTLs or sizes.</summary>
    public const int BadInput = 2;

    /// <summary>The plan was rejected: some nodes cannot be placed (not enough room on the hosts).</summary>
    public const int PlanRejected = 3;

    /// <summary>Cancelled (Ctrl+C), as shells report SIGINT.</summary>
    public const int Cancelled = 130;
}
