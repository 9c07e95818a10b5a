using Grpc.Core;
using Microsoft.Extensions.Logging;
using Provisioner.Core.Stacks;
using Provisioner.Pulumi.Composition;

namespace Provisioner.Pulumi;

/// <summary>
/// What one plugin process knows across calls: its configuration, the engine (built at Configure), the gate that
/// keeps engine runs one at a time, and the cancellation <c>Cancel</c> triggers.
/// </summary>
public sealed partial class ProviderSession : IDisposable
{
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _cancel = new();
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Lock _lock = new();
    private ProviderEngine? _engine;
    private StackConfiguration? _config;

    /// <summary>Creates the session.</summary>
    public ProviderSession(ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<ProviderSession>();
    }

    /// <summary>The stack name learned from the provider's own URN (Configure with URN, or CheckConfig).</summary>
    public string? StackName { get; set; }

    /// <summary>Set by <c>Cancel</c>: every running and later operation stops.</summary>
    public CancellationToken Cancellation => _cancel.Token;

    /// <summary>Stores the configuration and builds the engine (once).</summary>
    public void Configure(StackConfiguration config)
    {
        lock (_lock)
        {
            _config = config;
            if (_engine is null)
            {
                _engine = ProviderEngine.Create(_loggerFactory);
                LogConfigured(_logger, _engine.Description);
            }
        }
    }

    /// <summary>The engine; fails the call when Configure has not run.</summary>
    public ProviderEngine Engine =>
        _engine ?? throw new RpcException(new Status(StatusCode.FailedPrecondition, "the provider is not configured yet (Configure was not called)"));

    /// <summary>The configured stack, named after the stack in <paramref name="urn"/> (or the provider's).</summary>
    public StackDefinition Stack(string? urn)
    {
        var config = _config ?? throw new RpcException(new Status(StatusCode.FailedPrecondition, "the provider is not configured yet (Configure was not called)"));
        var name = Protocol.PropertyValues.StackOfUrn(urn) ?? StackName
            ?? throw new RpcException(new Status(StatusCode.FailedPrecondition, "no stack name: neither the request nor the provider carried a URN"));
        try
        {
            return config.Stack(name);
        }
        catch (StackValidationException e)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, string.Join("; ", e.Errors.Select(x => x.ToString()))));
        }
    }

    /// <summary>The configuration, when set.</summary>
    public StackConfiguration? Config => _config;

    /// <summary>Runs engine work one at a time (Pulumi calls resources in parallel; each run plans from what exists).</summary>
    public async Task<T> RunAsync<T>(string what, Func<CancellationToken, Task<T>> work, CancellationToken callCancellation)
    {
        ArgumentNullException.ThrowIfNull(work);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(_cancel.Token, callCancellation);
        try
        {
            await _gate.WaitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            throw new RpcException(new Status(StatusCode.Cancelled, $"{what}: cancelled"));
        }

        try
        {
            LogOperation(_logger, what);
            return await work(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (linked.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Cancelled, $"{what}: cancelled"));
        }
        catch (Exception e) when (e is not RpcException)
        {
            LogFailed(_logger, what, e.Message);
            throw new RpcException(new Status(StatusCode.Unknown, $"{what}: {e.Message}"));
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Stops every running and later operation.</summary>
    public void Cancel()
    {
        LogCancel(_logger);
        _cancel.Cancel();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _cancel.Dispose();
        _gate.Dispose();
    }

    [LoggerMessage(EventId = 6001, Level = LogLevel.Information, Message = "Configured: engine {Description}")]
    private static partial void LogConfigured(ILogger logger, string description);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Information, Message = "{Operation}")]
    private static partial void LogOperation(ILogger logger, string operation);

    [LoggerMessage(EventId = 6003, Level = LogLevel.Warning, Message = "{Operation} failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string operation, string reason);

    /// <summary>Logs that a node's first boot is waited for again.</summary>
    public void LogRetry(string node, string reason) => LogWaitAgain(_logger, node, reason);

    [LoggerMessage(EventId = 6005, Level = LogLevel.Warning, Message = "Node {Node} not ready yet ({Reason}); waiting again within the operation's timeout")]
    private static partial void LogWaitAgain(ILogger logger, string node, string reason);

    [LoggerMessage(EventId = 6004, Level = LogLevel.Warning, Message = "Cancel requested: stopping running operations")]
    private static partial void LogCancel(ILogger logger);
}
