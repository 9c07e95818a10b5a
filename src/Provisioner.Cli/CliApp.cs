using System.CommandLine;
using LibvirtSharp;
using Microsoft.Extensions.Logging;
using Provisioner.Cli.Commands;
using Provisioner.Cli.Output;
using Provisioner.Core.Stacks;
using Provisioner.Engine;
using Provisioner.Engine.Graph;

namespace Provisioner.Cli;

/// <summary>The <c>provisioner</c> command line: parsing, dispatch and the mapping of failures to exit codes.</summary>
public static class CliApp
{
    /// <summary>Runs the CLI with <paramref name="args"/> in <paramref name="environment"/>; returns the exit code.</summary>
    public static async Task<int> RunAsync(string[] args, CliEnvironment environment, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(environment);
        var root = BuildRoot(environment);
        var parsed = root.Parse(args);
        var configuration = new InvocationConfiguration
        {
            Output = environment.Out,
            Error = environment.Error,
            // Our actions map every failure to an exit code themselves.
            EnableDefaultExceptionHandler = false,
            ProcessTerminationTimeout = environment.HandleProcessTermination ? TimeSpan.FromSeconds(30) : null,
        };
        if (parsed.Errors.Count > 0 && !IsHelp(args))
        {
            foreach (var error in parsed.Errors)
            {
                await environment.Error.WriteLineAsync("error: " + error.Message).ConfigureAwait(false);
            }

            await environment.Error.WriteLineAsync("run 'provisioner --help' for usage").ConfigureAwait(false);
            return ExitCodes.BadInput;
        }

        return await parsed.InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Builds the command tree.</summary>
    public static RootCommand BuildRoot(CliEnvironment environment)
    {
        var root = new RootCommand("provisioner: hardened VMs on libvirt/KVM, from a stack definition (stacks/Pulumi.<stack>.yaml).");
        root.Options.Add(GlobalOptions.Json);
        root.Options.Add(GlobalOptions.Verbose);
        StackCommands.AddTo(root, environment);
        SandboxCommands.AddTo(root, environment);
        AuditCommands.AddTo(root, environment);
        NodeCommands.AddTo(root, environment);
        KubernetesCommands.AddTo(root, environment);
        return root;
    }

    /// <summary>
    /// Runs one command body with the shared plumbing: output streams, logging, and the mapping of every
    /// failure to a message and an exit code.
    /// </summary>
    internal static async Task<int> ExecuteAsync(
        CliEnvironment environment,
        ParseResult parse,
        Func<CliOutput, ILoggerFactory, CancellationToken, Task<int>> body,
        CancellationToken cancellationToken)
    {
        var output = new CliOutput(environment, parse.GetValue(GlobalOptions.Json));
        var level = parse.GetValue(GlobalOptions.Verbose) ? LogLevel.Debug : LogLevel.Warning;
        using var loggers = environment.LoggerFactory(level);
        try
        {
            return await body(output, loggers, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return Report(output, "cancelled; running the same command again continues where it stopped", ExitCodes.Cancelled);
        }
        catch (StepFailedException e) when (e.InnerException is OperationCanceledException && cancellationToken.IsCancellationRequested)
        {
            return Report(output, "cancelled; running the same command again continues where it stopped", ExitCodes.Cancelled);
        }
        catch (Engine.Sandboxes.SandboxInputException e)
        {
            return Report(output, e.Message, ExitCodes.BadInput);
        }
        catch (Engine.Sandboxes.SandboxOperationException e)
        {
            return Report(output, e.Message, ExitCodes.Failed);
        }
        catch (CliException e)
        {
            return Report(output, e.Message, e.ExitCode);
        }
        catch (StackValidationException e)
        {
            foreach (var error in e.Errors)
            {
                output.Info(error.ToString());
            }

            var message = $"stack '{e.StackName}' is invalid ({e.Errors.Count} problem{(e.Errors.Count == 1 ? string.Empty : "s")})";
            output.Fail(message);
            if (output.Json)
            {
                output.WriteJson(
                    new ErrorOutput(message, ExitCodes.BadInput, [.. e.Errors.Select(v => new ValidationErrorOutput(v.Path, v.Message, v.Location?.ToString()))]),
                    CliJsonContext.Default.ErrorOutput);
            }

            return ExitCodes.BadInput;
        }
        catch (PlanRejectedException e)
        {
            foreach (var u in e.Plan?.Unplaced ?? [])
            {
                output.Info($"cannot place node {u.Node}: {u.Reason}");
            }

            var message = $"plan rejected, nothing was changed: {e.Message}";
            output.Fail(message);
            if (output.Json)
            {
                output.WriteJson(new ErrorOutput(message, ExitCodes.PlanRejected, Unplaced: e.Plan?.Unplaced), CliJsonContext.Default.ErrorOutput);
            }

            return ExitCodes.PlanRejected;
        }
        catch (StepFailedException e)
        {
            var message = $"step {e.StepId} failed: {e.InnerException?.Message ?? e.Message}; running the same command again continues";
            return Report(output, message, ExitCodes.Failed);
        }
        catch (LibvirtException e)
        {
            return Report(output, $"libvirt: {e.Message}", ExitCodes.Failed);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or TimeoutException
                                      or KeyNotFoundException or ArgumentException or Remote.Sessions.RemoteException)
        {
            return Report(output, e.Message, ExitCodes.Failed);
        }
    }

    private static int Report(CliOutput output, string message, int exitCode)
    {
        output.Fail(message);
        if (output.Json)
        {
            output.WriteJson(new ErrorOutput(message, exitCode), CliJsonContext.Default.ErrorOutput);
        }

        return exitCode;
    }

    private static bool IsHelp(string[] args) => args.Any(a => a is "-h" or "--help" or "-?" or "--version");
}

/// <summary>Options shared by every command.</summary>
internal static class GlobalOptions
{
    public static readonly Option<bool> Json = new("--json")
    {
        Description = "Print one JSON document on stdout and nothing else there",
        Recursive = true,
    };

    public static readonly Option<bool> Verbose = new("--verbose", "-v")
    {
        Description = "Log engine details to stderr",
        Recursive = true,
    };
}
