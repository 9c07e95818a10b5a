using System.Globalization;
using System.Text.Json.Serialization.Metadata;
using Provisioner.Engine.Graph;
using Provisioner.Engine.Planning;
using Spectre.Console;

namespace Provisioner.Cli.Output;

/// <summary>
/// The two output streams of one invocation. Results go to stdout (tables, or exactly one JSON document with
/// <c>--json</c>); progress, notes and errors go to stderr, so stdout stays machine-readable.
/// </summary>
public sealed class CliOutput
{
    private readonly object _gate = new();

    /// <summary>Creates the output for <paramref name="environment"/>.</summary>
    public CliOutput(CliEnvironment environment, bool json)
    {
        ArgumentNullException.ThrowIfNull(environment);
        Json = json;
        Environment = environment;
        Out = Create(environment.Out, environment.Interactive);
        Error = Create(environment.Error, environment.Interactive);
    }

    /// <summary>Whether stdout carries JSON only.</summary>
    public bool Json { get; }

    /// <summary>The environment.</summary>
    public CliEnvironment Environment { get; }

    /// <summary>Human-readable results (stdout). Do not use under <see cref="Json"/>.</summary>
    public IAnsiConsole Out { get; }

    /// <summary>Progress and diagnostics (stderr).</summary>
    public IAnsiConsole Error { get; }

    /// <summary>Writes the JSON document to stdout.</summary>
    public void WriteJson<T>(T value, JsonTypeInfo<T> typeInfo)
    {
        Environment.Out.WriteLine(System.Text.Json.JsonSerializer.Serialize(value, typeInfo));
        Environment.Out.Flush();
    }

    /// <summary>A result line on stdout (suppressed under <see cref="Json"/>).</summary>
    public void Line(string text)
    {
        if (!Json)
        {
            Out.WriteLine(text);
        }
    }

    /// <summary>One line per phase run after <c>up</c> (the audit summary), with the failures under it.</summary>
    public void Phases(IReadOnlyList<Provisioner.Engine.Phases.StackPhaseResult> phases)
    {
        ArgumentNullException.ThrowIfNull(phases);
        foreach (var phase in phases)
        {
            Line($"{phase.Phase}: {phase.Summary}");
            foreach (var detail in phase.Failed ? phase.Details : [])
            {
                Line("  " + detail);
            }
        }
    }

    /// <summary>A progress or diagnostic line on stderr.</summary>
    public void Info(string text)
    {
        lock (_gate)
        {
            Error.WriteLine(text);
        }
    }

    /// <summary>An error line on stderr.</summary>
    public void Fail(string text)
    {
        lock (_gate)
        {
            Error.MarkupLine("[red]error:[/] " + Markup.Escape(text));
        }
    }

    /// <summary>Prints one engine step event as a progress line on stderr (safe from parallel steps).</summary>
    public void Step(StepEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var (mark, colour) = e.State switch
        {
            StepState.Started => ("..", "grey"),
            StepState.Succeeded => ("ok", "green"),
            StepState.Failed => ("FAILED", "red"),
            _ => ("cancelled", "yellow"),
        };
        var error = e.Error is null ? string.Empty : ": " + e.Error.Message;
        lock (_gate)
        {
            Error.MarkupLine(string.Create(CultureInfo.InvariantCulture, $"[{colour}]{mark,-9}[/] {Markup.Escape(e.Description + error)}"));
        }
    }

    /// <summary>Prints a plan: per resource its change, per property old -> new, reasons, notes and unplaced nodes.</summary>
    public void Plan(StackPlan plan, bool includeUnchanged)
    {
        ArgumentNullException.ThrowIfNull(plan);
        foreach (var r in plan.Resources.Where(r => includeUnchanged || r.Change != ChangeKind.None))
        {
            Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{Symbol(r.Change),2} {r.Kind.ToString().ToLowerInvariant(),-8} {r.Name} on {r.Host}: {Verb(r.Change)}"));
            foreach (var p in r.Properties)
            {
                Out.WriteLine($"       {p.Property}: {p.Old ?? "(none)"} -> {p.New ?? "(none)"}{(p.ForcesReplacement ? " (forces replacement)" : string.Empty)}");
            }

            if (r.Reason is { Length: > 0 } reason)
            {
                Out.WriteLine($"       reason: {reason}");
            }
        }

        foreach (var note in plan.Notes)
        {
            Out.WriteLine($"note: {note}");
        }

        foreach (var u in plan.Unplaced)
        {
            Out.WriteLine($"cannot place node {u.Node}: {u.Reason}");
        }

        var counts = plan.Resources.GroupBy(r => r.Change).OrderBy(g => g.Key).Select(g => $"{g.Count()} {Verb(g.Key)}");
        Out.WriteLine($"plan for stack {plan.Stack}: {string.Join(", ", counts)}{(plan.HasChanges ? string.Empty : " (nothing to do)")}");
    }

    /// <summary>Prints nodes as a table, then each node's ssh command.</summary>
    public void Nodes(IReadOnlyList<NodeOutput> nodes)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        if (nodes.Count == 0)
        {
            Out.WriteLine("no nodes");
            return;
        }

        var table = new Table().AddColumns("name", "host", "role", "address", "state", "host key");
        foreach (var n in nodes)
        {
            table.AddRow(
                Markup.Escape(n.Name),
                Markup.Escape(n.Host),
                Markup.Escape(n.Role),
                Markup.Escape(n.Address ?? "-"),
                Markup.Escape(n.Ready ? n.State : n.State + " (not ready)"),
                Markup.Escape(n.HostKeyFingerprint));
        }

        Out.Write(table);
        foreach (var n in nodes.Where(n => n.SshCommand is not null))
        {
            Out.WriteLine($"{n.Name}: {n.SshCommand}");
        }
    }

    private static string Symbol(ChangeKind change) => change switch
    {
        ChangeKind.Create => "+",
        ChangeKind.Update => "~",
        ChangeKind.Replace => "+-",
        ChangeKind.Delete => "-",
        _ => " ",
    };

    private static string Verb(ChangeKind change) => change switch
    {
        ChangeKind.Create => "create",
        ChangeKind.Update => "update",
        ChangeKind.Replace => "replace",
        ChangeKind.Delete => "delete",
        _ => "no change",
    };

    private static IAnsiConsole Create(TextWriter writer, bool interactive)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = interactive ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
        });
        if (!interactive)
        {
            // Redirected output has no width; wide enough that fingerprints and ssh commands never wrap.
            console.Profile.Width = 400;
        }

        return console;
    }
}
