using System.CommandLine;
using System.Globalization;
using System.Text.Json.Serialization;
using k8s;
using Microsoft.Extensions.Logging;
using Provisioner.Cli.Output;
using Provisioner.Core.Kubernetes;
using Provisioner.Core.Stacks;
using Provisioner.Engine.Forensics;
using Provisioner.Engine.Replacement;

namespace Provisioner.Cli.Commands;

/// <summary>
/// <c>node quarantine|capture|verify-evidence|replace|reprovision</c>: re-provisioning a compromised node. The engine's
/// forensics and replacement types do the work; this is the thin command-line layer over them.
/// </summary>
internal static class NodeCommands
{
    /// <summary>Environment variable naming the evidence root (like --evidence-dir).</summary>
    internal const string EvidenceDirVariable = "PROVISIONER_EVIDENCE_DIR";

    private static readonly Option<string> StackOption = new("--stack", "-s")
    {
        Description = "Stack name: stacks/Pulumi.<NAME>.yaml, found from the current directory upward",
        Required = true,
    };

    private static readonly Option<string?> StacksDirOption = new("--stacks-dir")
    {
        Description = "Folder holding Pulumi.<NAME>.yaml (instead of searching for stacks/)",
    };

    private static readonly Option<string?> OperatorOption = new("--operator")
    {
        Description = "Who is acting (default: $SUDO_USER, else $USER)",
        Recursive = true,
    };

    private static readonly Option<string?> EvidenceDirOption = new("--evidence-dir")
    {
        Description = $"Evidence root on the host (default {ForensicsOptions.DefaultEvidenceRoot}, or ${EvidenceDirVariable})",
        Recursive = true,
    };

    private static readonly Option<string?> KubeconfigOption = new("--kubeconfig")
    {
        Description = "Kubeconfig of the stack's cluster, for the drain and the Node deletion (without it those steps are skipped, saying so)",
    };

    private static readonly Option<int> DrainTimeoutOption = new("--drain-timeout")
    {
        Description = "Seconds the drain may take before the replacement stops (nothing destroyed)",
        DefaultValueFactory = _ => 300,
    };

    private static readonly Argument<string> NodeArgument = new("NAME") { Description = "Node name" };

    public static void AddTo(RootCommand root, CliEnvironment environment)
    {
        var node = new Command("node", "Re-provision a compromised node: isolate it, keep the evidence, replace it, rejoin it, audit it")
        {
            OperatorOption, EvidenceDirOption,
        };
        node.Subcommands.Add(Quarantine(environment));
        node.Subcommands.Add(Capture(environment));
        node.Subcommands.Add(VerifyEvidence(environment));
        node.Subcommands.Add(Replace(environment));
        node.Subcommands.Add(Reprovision(environment));
        root.Subcommands.Add(node);
    }

    private static Command Quarantine(CliEnvironment environment)
    {
        var reason = new Option<string>("--reason") { Description = "Why (recorded in the node's metadata)", Required = true };
        var pause = new Option<bool>("--pause") { Description = "Also pause the guest" };
        var command = new Command("quarantine", "Cut the node off the network from the host side at once (and optionally pause it); idempotent")
        {
            NodeArgument, StackOption, StacksDirOption, reason, pause,
        };
        command.SetAction((parse, ct) => Run(environment, parse, async (s, output) =>
        {
            var result = await new NodeQuarantine(s.Forensics).QuarantineAsync(
                s.Stack, s.Node, new QuarantineRequest { Reason = Required(parse.GetValue(reason), "--reason"), Operator = s.Operator, Pause = parse.GetValue(pause) }, s.Token).ConfigureAwait(false);
            if (output.Json)
            {
                output.WriteJson(new QuarantineOutput(result.Node, result.Domain, result.Host, result.AlreadyQuarantined, result.CutNow, result.PausedNow, result.State.ToString(), result.Record.Reason, result.Record.Operator, result.Record.Since, result.Record.Paused),
                    NodeJsonContext.Default.QuarantineOutput);
                return ExitCodes.Ok;
            }

            output.Line(result.AlreadyQuarantined
                ? $"node {result.Node} was already quarantined (since {result.Record.Since:u} by {result.Record.Operator}: {result.Record.Reason})"
                : $"node {result.Node} quarantined: {result.CutNow.Count} interface(s) cut from the host side");
            if (result.PausedNow)
            {
                output.Line("guest paused");
            }

            output.Line($"domain {result.Domain} on {result.Host}: {result.State.ToString().ToLowerInvariant()}, links down: {string.Join(", ", result.Record.Interfaces)}");
            return ExitCodes.Ok;
        }, ct));
        return command;
    }

    private static Command Capture(CliEnvironment environment)
    {
        var command = new Command("capture", "Preserve the node's memory, disks, domain XML, metadata and console log with a SHA-256 manifest")
        {
            NodeArgument, StackOption, StacksDirOption,
        };
        command.SetAction((parse, ct) => Run(environment, parse, async (s, output) =>
        {
            var progress = new Progress<string>(line => output.Info(line));
            var result = await new EvidenceCapture(s.Forensics).CaptureAsync(s.Stack, s.Node, new CaptureRequest { Operator = s.Operator }, progress, s.Token).ConfigureAwait(false);
            if (output.Json)
            {
                output.WriteJson(new CaptureOutput(result.Directory, result.Manifest), NodeJsonContext.Default.CaptureOutput);
                return ExitCodes.Ok;
            }

            PrintManifest(output, result.Directory, result.Manifest);
            output.Line($"verify later with: provisioner node verify-evidence {result.Directory}");
            return ExitCodes.Ok;
        }, ct));
        return command;
    }

    private static Command VerifyEvidence(CliEnvironment environment)
    {
        var path = new Argument<string>("PATH") { Description = "Evidence directory (or its manifest.json)" };
        var command = new Command("verify-evidence", "Re-check every file of an evidence set against its manifest") { path };
        command.SetAction((parse, ct) => CliApp.ExecuteAsync(environment, parse, async (output, _, token) =>
        {
            EvidenceVerification result;
            try
            {
                result = await EvidenceVerifier.VerifyAsync(Path.GetFullPath(parse.GetRequiredValue(path), environment.WorkingDirectory), token).ConfigureAwait(false);
            }
            catch (EvidenceManifestException e)
            {
                throw new CliException(e.Message, ExitCodes.Failed);
            }

            if (output.Json)
            {
                output.WriteJson(new VerifyOutput(result.Directory, result.Intact, [.. result.Files.Select(f => new VerifyFileOutput(f.Name, f.Status.ToString().ToLowerInvariant(), f.ExpectedSha256, f.ActualSha256))], result.Problems),
                    NodeJsonContext.Default.VerifyOutput);
            }
            else
            {
                foreach (var file in result.Files)
                {
                    output.Line($"{file.Status.ToString().ToLowerInvariant(),-9} {file.Name}");
                }
            }

            if (!result.Intact)
            {
                output.Fail($"evidence in {result.Directory} does NOT match its manifest: {string.Join("; ", result.Failures)}");
                return ExitCodes.Failed;
            }

            output.Line($"evidence intact: {result.Files.Count} file(s) match the manifest of {result.Manifest.Stack}/{result.Manifest.Node} captured {result.Manifest.Completed:u} by {result.Manifest.Operator}");
            return ExitCodes.Ok;
        }, ct));
        return command;
    }

    private static Command Replace(CliEnvironment environment)
    {
        var command = new Command("replace", "Drain the node, destroy it and re-create it from the golden image (same name and address, fresh identity), harden, rejoin, audit")
        {
            NodeArgument, StackOption, StacksDirOption, KubeconfigOption, DrainTimeoutOption,
        };
        command.SetAction((parse, ct) => Run(environment, parse, async (s, output) =>
        {
            var timeline = NewTimeline(s, output);
            var result = await Replacer(s, parse).ReplaceAsync(s.Stack, s.Node, s.Operator, timeline, s.Token).ConfigureAwait(false);
            return PrintReplacement(output, s, result, null, null);
        }, ct));
        return command;
    }

    private static Command Reprovision(CliEnvironment environment)
    {
        var reason = new Option<string>("--reason") { Description = "Why (recorded in the node's metadata)", Required = true };
        var pause = new Option<bool>("--pause") { Description = "Pause the guest as soon as it is cut off" };
        var command = new Command("reprovision", "Quarantine, capture and replace in one go (stops before replacing if the capture fails); a re-run continues")
        {
            NodeArgument, StackOption, StacksDirOption, reason, pause, KubeconfigOption, DrainTimeoutOption,
        };
        command.SetAction((parse, ct) => Run(environment, parse, async (s, output) =>
        {
            var timeline = NewTimeline(s, output);
            var reprovisioner = new NodeReprovisioner(new NodeQuarantine(s.Forensics), new EvidenceCapture(s.Forensics), Replacer(s, parse), s.Context.Time);
            var result = await reprovisioner.ReprovisionAsync(
                s.Stack, s.Node, new ReprovisionRequest { Reason = Required(parse.GetValue(reason), "--reason"), Operator = s.Operator, Pause = parse.GetValue(pause) },
                timeline, new Progress<string>(line => output.Info(line)), s.Token).ConfigureAwait(false);
            return PrintReplacement(output, s, result.Replacement, result.EvidenceDirectory, result.Quarantine?.Record.Reason);
        }, ct));
        return command;
    }

    private static Timeline NewTimeline(Session s, CliOutput output)
    {
        var timeline = new Timeline(s.Context.Time);
        timeline.StepRecorded += (_, step) => output.Info($"{step.Outcome.ToString().ToLowerInvariant(),-8} {step.Name} ({Seconds(step.Duration)}): {step.Detail}");
        return timeline;
    }

    private static NodeReplacer Replacer(Session s, ParseResult parse)
    {
        var kubeconfig = parse.GetValue(KubeconfigOption);
        var engine = s.Context.Engine;
        return new NodeReplacer(engine, new NodeReplacerOptions
        {
            Forensics = s.Forensics,
            Repair = s.Context.Repair,
            Audit = s.Context.Audit,
            DrainTimeout = TimeSpan.FromSeconds(Math.Max(1, parse.GetValue(DrainTimeoutOption))),
            Kubernetes = kubeconfig is null ? null : _ => new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig)),
            Etcd = async (stack, leaving, token) =>
            {
                var (_, nodes) = await engine.StatusAsync(stack, token).ConfigureAwait(false);
                var survivor = nodes.FirstOrDefault(n => n.Role == "control-plane" && n.Name != leaving && n.Ready)
                    ?? throw new EtcdMembershipException($"no other ready control-plane node to remove '{leaving}' from etcd through");
                var session = await s.Context.Access.OpenAsync(stack, survivor, token).ConfigureAwait(false);
                return new KubeadmEtcdMembership(session, survivor.Name, ownsSession: true);
            },
            Rejoin = new BootstrapClusterRejoin(engine, s.Context.Access, KubernetesTemplates.CreateDefault(), s.Context.Time, s.Loggers.CreateLogger<BootstrapClusterRejoin>()),
        });
    }

    private static int PrintReplacement(CliOutput output, Session s, ReplacementResult result, string? evidence, string? reason)
    {
        if (output.Json)
        {
            output.WriteJson(new ReplaceOutput(
                result.Node.Name, result.Node.Address, result.OldHostKeyFingerprint, result.Node.HostKeyFingerprint, result.AuditPassed, evidence, reason,
                [.. result.Timeline.Select(t => new TimelineOutput(t.Name, t.Outcome.ToString().ToLowerInvariant(), t.Started, t.Duration.TotalSeconds, t.Detail))],
                result.Notes), NodeJsonContext.Default.ReplaceOutput);
        }
        else
        {
            output.Line($"node {result.Node.Name} replaced at {result.Node.Address ?? "(no address)"}");
            output.Line($"host key: {result.OldHostKeyFingerprint ?? "(unknown)"} -> {result.Node.HostKeyFingerprint}");
            if (evidence is not null)
            {
                output.Line($"evidence kept in {evidence}");
            }

            output.Line("timeline:");
            foreach (var step in result.Timeline)
            {
                output.Line($"  {step.Name,-20} {step.Outcome.ToString().ToLowerInvariant(),-8} {Seconds(step.Duration),8}  {step.Detail}");
            }

            output.Line($"  {"total",-20} {string.Empty,-8} {Seconds(result.Timeline.Count == 0 ? TimeSpan.Zero : result.Timeline[^1].Finished - result.Timeline[0].Started),8}");
            foreach (var note in result.Notes)
            {
                output.Line("note: " + note);
            }

            foreach (var phase in result.Phases)
            {
                output.Line($"{phase.Phase}: {phase.Summary}");
                foreach (var detail in phase.Details)
                {
                    output.Line("  " + detail);
                }
            }
        }

        if (result.AuditPassed == false)
        {
            output.Fail($"node {s.Node} was replaced but its audit fails");
            return ExitCodes.Failed;
        }

        return ExitCodes.Ok;
    }

    private static void PrintManifest(CliOutput output, string directory, EvidenceManifest manifest)
    {
        output.Line($"evidence of {manifest.Stack}/{manifest.Node} captured in {directory}");
        foreach (var file in manifest.Files)
        {
            output.Line($"  {file.Kind,-12} {file.Name,-40} {file.Bytes,14:N0} B  sha256:{file.Sha256}");
        }

        foreach (var note in manifest.Notes)
        {
            output.Line("note: " + note);
        }
    }

    private static Task<int> Run(CliEnvironment environment, ParseResult parse, Func<Session, CliOutput, Task<int>> body, CancellationToken ct) =>
        CliApp.ExecuteAsync(environment, parse, async (output, loggers, token) =>
        {
            var path = StackLocator.Find(parse.GetRequiredValue(StackOption), parse.GetValue(StacksDirOption), environment.WorkingDirectory);
            var stack = await StackLoader.LoadFileAsync(path, token).ConfigureAwait(false);
            var context = environment.EngineFactory(loggers);
            context.Engine.StepChanged += (_, e) => output.Step(e);
            var options = context.Engine.Options;
            var forensics = new ForensicsOptions
            {
                Connector = options.Connector,
                VolumeContent = options.VolumeContent,
                Time = context.Time,
                EvidenceRoot = Path.GetFullPath(
                    parse.GetValue(EvidenceDirOption) ?? System.Environment.GetEnvironmentVariable(EvidenceDirVariable) ?? ForensicsOptions.DefaultEvidenceRoot,
                    environment.WorkingDirectory),
            };
            var session = new Session(stack, parse.GetRequiredValue(NodeArgument), OperatorName(parse), context, forensics, loggers, token);
            try
            {
                return await body(session, output).ConfigureAwait(false);
            }
            catch (NodeLookupException e)
            {
                throw new CliException(e.Message, ExitCodes.BadInput);
            }
            catch (ReplacementException e)
            {
                foreach (var step in e.Timeline)
                {
                    output.Info($"  {step.Name,-20} {step.Outcome.ToString().ToLowerInvariant(),-8} {Seconds(step.Duration),8}  {step.Detail}");
                }

                throw new CliException(e.Message, ExitCodes.Failed);
            }
            catch (Exception e) when (e is QuarantineException or InsufficientEvidenceSpaceException or EvidenceCaptureException or DrainTimeoutException
                                          or EtcdMembershipException or EvidenceManifestException or KubernetesConfigurationException or FormatException)
            {
                throw new CliException(e.Message, ExitCodes.Failed);
            }
        }, ct);

    private static string OperatorName(ParseResult parse)
    {
        var name = parse.GetValue(OperatorOption);
        if (string.IsNullOrWhiteSpace(name))
        {
            name = System.Environment.GetEnvironmentVariable("SUDO_USER");
        }

        if (string.IsNullOrWhiteSpace(name))
        {
            name = System.Environment.GetEnvironmentVariable("USER");
        }

        return string.IsNullOrWhiteSpace(name) ? System.Environment.UserName : name.Trim();
    }

    private static string Required(string? value, string option) =>
        string.IsNullOrWhiteSpace(value) ? throw new CliException($"{option}: must not be empty") : value.Trim();

    private static string Seconds(TimeSpan duration) => duration.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s";

    private sealed record Session(
        StackDefinition Stack, string Node, string Operator, EngineContext Context, ForensicsOptions Forensics, ILoggerFactory Loggers, CancellationToken Token);
}

/// <summary><c>node quarantine</c> as JSON.</summary>
internal sealed record QuarantineOutput(
    string Node, string Domain, string Host, bool AlreadyQuarantined, IReadOnlyList<string> CutNow, bool PausedNow, string State,
    string Reason, string Operator, DateTimeOffset Since, bool Paused);

/// <summary><c>node capture</c> as JSON.</summary>
internal sealed record CaptureOutput(string Directory, EvidenceManifest Manifest);

/// <summary>One file of <c>node verify-evidence</c>.</summary>
internal sealed record VerifyFileOutput(string Name, string Status, string? ExpectedSha256, string? ActualSha256);

/// <summary><c>node verify-evidence</c> as JSON.</summary>
internal sealed record VerifyOutput(string Directory, bool Intact, IReadOnlyList<VerifyFileOutput> Files, IReadOnlyList<string> Problems);

/// <summary>One step of a timeline.</summary>
internal sealed record TimelineOutput(string Step, string Outcome, DateTimeOffset Started, double Seconds, string Detail);

/// <summary><c>node replace</c> and <c>node reprovision</c> as JSON.</summary>
internal sealed record ReplaceOutput(
    string Node, string? Address, string? OldHostKeyFingerprint, string NewHostKeyFingerprint, bool? AuditPassed, string? Evidence, string? Reason,
    IReadOnlyList<TimelineOutput> Timeline, IReadOnlyList<string> Notes);

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(QuarantineOutput))]
[JsonSerializable(typeof(CaptureOutput))]
[JsonSerializable(typeof(VerifyOutput))]
[JsonSerializable(typeof(ReplaceOutput))]
internal sealed partial class NodeJsonContext : JsonSerializerContext;
