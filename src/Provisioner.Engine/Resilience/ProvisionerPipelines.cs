using LibvirtSharp;
using Polly;
using Polly.Retry;
using Provisioner.Remote.Sessions;

namespace Provisioner.Engine.Resilience;

/// <summary>
/// Every retry policy the engine uses, defined in one place. Only transient faults are retried:
/// a libvirt RPC that timed out, a connection that dropped, SSH refused while a VM boots.
/// Bad input (invalid XML, a missing object, a wrong host key) fails at once.
/// </summary>
public static class ProvisionerPipelines
{
    /// <summary>For libvirt calls: a few quick retries of timeouts and dropped connections.</summary>
    public static ResiliencePipeline Libvirt(TimeProvider timeProvider) =>
        new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                Name = "libvirt",
                ShouldHandle = new PredicateBuilder().Handle<LibvirtException>(IsTransientLibvirt),
                MaxRetryAttempts = 4,
                Delay = TimeSpan.FromMilliseconds(500),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
            })
            .Build();

    /// <summary>
    /// For reaching a node over SSH while it boots: refused, reset or silent connections are
    /// retried until <paramref name="budget"/> runs out; a host key mismatch never is.
    /// </summary>
    public static ResiliencePipeline SshWhileBooting(TimeProvider timeProvider, TimeSpan budget) =>
        new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddTimeout(new Polly.Timeout.TimeoutStrategyOptions { Name = "ssh-boot-budget", Timeout = budget })
            .AddRetry(new RetryStrategyOptions
            {
                Name = "ssh-boot",
                ShouldHandle = new PredicateBuilder().Handle<Exception>(SshErrors.IsTransient),
                MaxRetryAttempts = int.MaxValue,
                Delay = TimeSpan.FromSeconds(2),
                BackoffType = DelayBackoffType.Constant,
            })
            .Build();

    /// <summary>Whether a libvirt error is worth retrying.</summary>
    public static bool IsTransientLibvirt(LibvirtException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception.Code is ErrorCode.OperationTimeout or ErrorCode.NoConnect or ErrorCode.Rpc
            || (exception.Code == ErrorCode.SystemError && exception.Domain == ErrorDomain.Rpc);
    }
}
