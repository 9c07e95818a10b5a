using Microsoft.Extensions.Logging;

namespace Provisioner.Cli;

/// <summary>
/// What the CLI takes from its surroundings. <see cref="FromConsole"/> is the real process; tests build one with
/// string writers, a temp working directory and their own <see cref="EngineFactory"/> (e.g. an engine on libvirt's
/// test driver that keeps one connection per host across invocations).
/// </summary>
public sealed record CliEnvironment
{
    /// <summary>Standard output: results only (tables, or the one JSON document with --json).</summary>
    public required TextWriter Out { get; init; }

    /// <summary>Standard error: progress, warnings, errors and logs.</summary>
    public required TextWriter Error { get; init; }

    /// <summary>Where stacks/ is looked for.</summary>
    public required string WorkingDirectory { get; init; }

    /// <summary>Whether stdout is a terminal (live progress and colours); plain lines otherwise.</summary>
    public bool Interactive { get; init; }

    /// <summary>Creates the engine; production by default.</summary>
    public Func<ILoggerFactory, EngineContext> EngineFactory { get; init; } = Cli.EngineFactory.Create;

    /// <summary>Logging provider setup; logs go to stderr.</summary>
    public Func<LogLevel, ILoggerFactory> LoggerFactory { get; init; } = DefaultLoggerFactory;

    /// <summary>Random source for generated names.</summary>
    public Func<int, string> RandomHex { get; init; } = length => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes((length + 1) / 2))[..length];

    /// <summary>Where the reap lock lives; null: the tool's state directory (tests use a temp folder).</summary>
    public string? StateDirectory { get; init; }

    /// <summary>Whether Ctrl+C is hooked (the real process only).</summary>
    public bool HandleProcessTermination { get; init; }

    /// <summary>The real console process.</summary>
    public static CliEnvironment FromConsole() => new()
    {
        Out = Console.Out,
        Error = Console.Error,
        WorkingDirectory = Environment.CurrentDirectory,
        Interactive = !Console.IsOutputRedirected && !Console.IsErrorRedirected,
        HandleProcessTermination = true,
    };

    private static ILoggerFactory DefaultLoggerFactory(LogLevel level) => Microsoft.Extensions.Logging.LoggerFactory.Create(builder =>
    {
        builder.SetMinimumLevel(level);
        builder.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });
        builder.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
    });
}
