using System.CommandLine;
using Provisioner.Cli.Output;
using Provisioner.Core.Stacks;
using Provisioner.Engine;
using Provisioner.Engine.Keys;
using Provisioner.Remote.Keys;
using Provisioner.Remote.Sessions;

namespace Provisioner.Cli.Commands;

/// <summary><c>preview</c>, <c>up</c>, <c>destroy</c> and <c>status</c> over a stack file.</summary>
internal static class StackCommands
{
    internal static readonly Option<string> StackOption = new("--stack", "-s")
    {
        Description = "Stack name: stacks/Pulumi.<NAME>.yaml, found from the current directory upward",
        Required = true,
    };

    internal static readonly Option<string?> StacksDirOption = new("--stacks-dir")
    {
        Description = "Folder holding Pulumi.<NAME>.yaml (instead of searching for stacks/)",
    };

    public static void AddTo(RootCommand root, CliEnvironment environment)
    {
        root.Subcommands.Add(Make("preview", "Show what 'up' would change, without changing anything", environment, PreviewAsync));
        root.Subcommands.Add(Make("up", "Create or update the stack's resources until they match the definition", environment, UpAsync));
        root.Subcommands.Add(Make("destroy", "Remove everything the stack owns", environment, DestroyAsync));
        root.Subcommands.Add(Make("status", "Show the stack's nodes and whether they match the definition", environment, StatusAsync));
    }

    /// <summary>The ssh command for a node, or null when it has no address (or the paths cannot be quoted safely).</summary>
    internal static string? SshCommand(StackKeyStore keys, StackDefinition stack, string? address)
    {
        if (address is null)
        {
            return null;
        }

        try
        {
            return KnownHostsFile.FormatSshCommand(
                new SshEndpoint(address, stack.Access.User),
                Path.GetFullPath(keys.PrivateKeyPath(stack.Name)),
                Path.GetFullPath(keys.KnownHostsPath(stack.Name)));
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    internal static NodeOutput ToOutput(NodeStatus n, StackKeyStore keys, StackDefinition stack) => new()
    {
        Name = n.Name,
        Host = n.Host,
        Role = n.Role,
        Address = n.Address,
        State = n.State,
        Ready = n.Ready,
        HostKeyFingerprint = n.HostKeyFingerprint,
        Created = n.Created,
        Expires = n.Expires,
        SshCommand = SshCommand(keys, stack, n.Address),
    };

    private static Command Make(
        string name,
        string description,
        CliEnvironment environment,
        Func<StackDefinition, EngineContext, CliOutput, CancellationToken, Task<int>> body)
    {
        var command = new Command(name, description) { StackOption, StacksDirOption };
        command.SetAction((parse, ct) => CliApp.ExecuteAsync(environment, parse, async (output, loggers, token) =>
        {
            var path = StackLocator.Find(parse.GetRequiredValue(StackOption), parse.GetValue(StacksDirOption), environment.WorkingDirectory);
            var stack = await StackLoader.LoadFileAsync(path, token).ConfigureAwait(false);
            var context = environment.EngineFactory(loggers);
            context.Engine.StepChanged += (_, e) => output.Step(e);
            return await body(stack, context, output, token).ConfigureAwait(false);
        }, ct));
        return command;
    }

    private static async Task<int> PreviewAsync(StackDefinition stack, EngineContext context, CliOutput output, CancellationToken ct)
    {
        var plan = await context.Engine.PreviewAsync(stack, ct).ConfigureAwait(false);
        if (output.Json)
        {
            output.WriteJson(new PreviewOutput(stack.Name, plan.HasChanges, plan), CliJsonContext.Default.PreviewOutput);
        }
        else
        {
            output.Plan(plan, includeUnchanged: true);
        }

        return plan.Unplaced.Count > 0 ? ExitCodes.PlanRejected : ExitCodes.Ok;
    }

    private static async Task<int> UpAsync(StackDefinition stack, EngineContext context, CliOutput output, CancellationToken ct)
    {
        var result = await context.Engine.UpAsync(stack, UpOptions.Default, ct).ConfigureAwait(false);
        var nodes = result.Nodes.Select(n => ToOutput(n, context.Keys, stack)).ToList();
        // Everything exists either way; a failed phase (an audit finding) still fails the run so pipelines notice.
        var exit = result.Phases.Any(p => p.Failed) ? ExitCodes.Failed : ExitCodes.Ok;
        foreach (var kubeconfig in result.Phases.Select(p => p.Secrets.GetValueOrDefault("kubeconfig")).OfType<Core.Security.Secret>())
        {
            // Written 0600 next to the stack's admin key, never printed.
            var path = Path.Combine(context.Keys.StackDirectory(stack.Name), "admin.kubeconfig");
            await KubernetesCommands.WriteSecretFileAsync(path, kubeconfig, ct).ConfigureAwait(false);
            output.Info($"admin kubeconfig written to {path} (mode 0600)");
        }
        if (output.Json)
        {
            output.WriteJson(new UpOutput(stack.Name, result.Changed, result.Plan, nodes, [.. result.Phases.Select(PhaseOutput.From)]), CliJsonContext.Default.UpOutput);
            return exit;
        }

        if (!result.Changed)
        {
            output.Line($"stack {stack.Name} matches its definition: nothing to do");
        }
        else
        {
            output.Plan(result.Plan, includeUnchanged: false);
        }

        output.Nodes(nodes);
        output.Phases(result.Phases);
        return exit;
    }

    private static async Task<int> DestroyAsync(StackDefinition stack, EngineContext context, CliOutput output, CancellationToken ct)
    {
        var plan = await context.Engine.DestroyAsync(stack, ct).ConfigureAwait(false);
        if (output.Json)
        {
            output.WriteJson(new DestroyOutput(stack.Name, plan.Resources), CliJsonContext.Default.DestroyOutput);
            return ExitCodes.Ok;
        }

        if (plan.Resources.Count == 0)
        {
            output.Line($"stack {stack.Name} had nothing to remove");
            return ExitCodes.Ok;
        }

        foreach (var r in plan.Resources)
        {
            output.Line($"removed {r.Kind.ToString().ToLowerInvariant()} {r.Name} on {r.Host}");
        }

        output.Line($"stack {stack.Name} destroyed ({plan.Resources.Count} resources)");
        return ExitCodes.Ok;
    }

    private static async Task<int> StatusAsync(StackDefinition stack, EngineContext context, CliOutput output, CancellationToken ct)
    {
        var (plan, status) = await context.Engine.StatusAsync(stack, ct).ConfigureAwait(false);
        var nodes = status.Select(n => ToOutput(n, context.Keys, stack)).ToList();
        if (output.Json)
        {
            output.WriteJson(new StatusOutput(stack.Name, !plan.HasChanges, plan, nodes), CliJsonContext.Default.StatusOutput);
            return ExitCodes.Ok;
        }

        output.Nodes(nodes);
        if (plan.HasChanges)
        {
            output.Line($"stack {stack.Name} differs from its definition; 'provisioner up --stack {stack.Name}' would:");
            output.Plan(plan, includeUnchanged: false);
        }
        else
        {
            output.Line($"stack {stack.Name} matches its definition");
        }

        return ExitCodes.Ok;
    }
}
