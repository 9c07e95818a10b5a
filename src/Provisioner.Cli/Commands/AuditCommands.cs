using System.CommandLine;
using Provisioner.Core.Audit;
using Provisioner.Core.Stacks;
using Provisioner.Engine;
using Provisioner.Engine.Audit;
using Provisioner.Engine.Phases;

namespace Provisioner.Cli.Commands;

/// <summary><c>provisioner audit</c>: the hardening checks on a stack's real nodes over SSH, and their repair.</summary>
internal static class AuditCommands
{
    public static void AddTo(RootCommand root, CliEnvironment environment)
    {
        var nodes = new Option<string[]>("--node", "-n")
        {
            Description = "Audit only this node (repeatable; default: every node of the stack)",
            AllowMultipleArgumentsPerToken = false,
        };
        var repair = new Option<bool>("--repair")
        {
            Description = "Re-apply the runtime and firewall hardening over SSH first (idempotent), then audit",
        };
        var command = new Command("audit", "Check the nodes' Docker runtime, firewall (and Kubernetes) settings; exit 1 when a check fails")
        {
            StackCommands.StackOption, StackCommands.StacksDirOption, nodes, repair,
        };
        command.SetAction((parse, ct) => CliApp.ExecuteAsync(environment, parse, async (output, loggers, token) =>
        {
            var path = StackLocator.Find(parse.GetRequiredValue(StackCommands.StackOption), parse.GetValue(StackCommands.StacksDirOption), environment.WorkingDirectory);
            var stack = await StackLoader.LoadFileAsync(path, token).ConfigureAwait(false);
            var only = parse.GetValue(nodes) ?? [];
            foreach (var name in only.Where(n => stack.FindNode(n) is null))
            {
                throw new CliException($"--node: '{name}' is not a node of stack '{stack.Name}'");
            }

            var context = environment.EngineFactory(loggers);
            context.Engine.StepChanged += (_, e) => output.Step(e);
            IReadOnlyList<IStackPhase> phases = parse.GetValue(repair) ? [context.Repair, context.Audit] : [context.Audit];
            IReadOnlyList<StackPhaseResult> results;
            try
            {
                results = await context.Engine.RunPhasesAsync(stack, phases, only, token).ConfigureAwait(false);
            }
            catch (UnknownNodeException e)
            {
                throw new CliException("--node: " + e.Message, ExitCodes.Failed);
            }

            var audit = results.OfType<AuditPhaseResult>().Single();
            if (output.Json)
            {
                output.Environment.Out.Write(AuditReportFormatter.ToJson(audit.Reports));
                output.Environment.Out.Flush();
            }
            else
            {
                foreach (var repaired in results.Where(r => r is not AuditPhaseResult))
                {
                    output.Line($"{repaired.Phase}: {repaired.Summary}");
                    foreach (var detail in repaired.Details)
                    {
                        output.Line("  " + detail);
                    }
                }

                output.Line(AuditReportFormatter.ToTable(audit.Reports));
                output.Line(audit.Summary);
            }

            return audit.Failed ? ExitCodes.Failed : ExitCodes.Ok;
        }, ct));
        root.Subcommands.Add(command);
    }
}
