using Provisioner.Core.Audit;
using Provisioner.Core.Stacks;
using Provisioner.Engine.Audit;
using Provisioner.Engine.Phases;
using System.CommandLine;
using System.Globalization;
using System.Text.RegularExpressions;
using Provisioner.Cli.Output;
using Provisioner.Engine.Sandboxes;
using Provisioner.Remote.Keys;
using Provisioner.Remote.Sessions;
using Provisioner.Remote.Shell;
using Spectre.Console;

namespace Provisioner.Cli.Commands;

/// <summary><c>sandbox up|list|extend|destroy|reap|run</c>: disposable hardened VMs on the local libvirt.</summary>
internal static partial class SandboxCommands
{
    /// <summary>Environment variable: 1 forces software emulation (like --emulation).</summary>
    internal const string EmulationVariable = "PROVISIONER_EMULATION";

    /// <summary>Environment variable: the sandbox host's libvirt URI (like --host-uri).</summary>
    internal const string HostUriVariable = "PROVISIONER_SANDBOX_URI";

    private static readonly Option<string?> HostUri = new("--host-uri")
    {
        Description = $"libvirt URI of the sandbox host (default qemu:///system, or ${HostUriVariable})",
        Recursive = true,
    };

    private static readonly Option<bool> Emulation = new("--emulation")
    {
        Description = $"Always use software emulation (TCG, domain type qemu), for hosts whose KVM cannot run guests (or {EmulationVariable}=1)",
        Recursive = true,
    };

    private static readonly Option<bool> AllowEmulation = new("--allow-emulation")
    {
        Description = "Use KVM when the host offers it and software emulation only when it does not",
        Recursive = true,
    };

    public static void AddTo(RootCommand root, CliEnvironment environment)
    {
        var sandbox = new Command("sandbox", "Disposable hardened VMs on this machine's libvirt that remove themselves when their time runs out")
        {
            HostUri, Emulation, AllowEmulation,
        };
        sandbox.Subcommands.Add(Up(environment));
        sandbox.Subcommands.Add(List(environment));
        sandbox.Subcommands.Add(Extend(environment));
        sandbox.Subcommands.Add(Destroy(environment));
        sandbox.Subcommands.Add(Reap(environment));
        sandbox.Subcommands.Add(Run(environment));
        sandbox.Subcommands.Add(Audit(environment));
        root.Subcommands.Add(sandbox);
    }

    private static Command Up(CliEnvironment environment)
    {
        var name = new Option<string?>("--name") { Description = "Sandbox name (default sb-<4 random hex>)" };
        var ttl = new Option<string>("--ttl") { Description = "Lifetime: 90m, 2h, 1h30m, 1d (5m..7d)", DefaultValueFactory = _ => "2h" };
        var memory = new Option<long>("--memory") { Description = "Memory in MiB", DefaultValueFactory = _ => SandboxSpec.DefaultMemoryMiB };
        var cpus = new Option<int>("--cpus") { Description = "vCPUs", DefaultValueFactory = _ => SandboxSpec.DefaultCpus };
        var disk = new Option<int>("--disk") { Description = "Root disk in GiB", DefaultValueFactory = _ => SandboxSpec.DefaultDiskGiB };
        var keepFailed = new Option<bool>("--keep-failed") { Description = "Keep a sandbox whose boot failed, for inspection" };
        var command = new Command("up", "Create a sandbox (other sandboxes are not touched)") { name, ttl, memory, cpus, disk, keepFailed };
        command.SetAction((parse, ct) => CliApp.ExecuteAsync(environment, parse, async (output, loggers, token) =>
        {
            // Every input is checked before an engine (or a connection) exists.
            var lifetime = SandboxTtl.Parse(parse.GetValue(ttl), "--ttl");
            var spec = new SandboxSpec
            {
                Name = parse.GetValue(name) ?? SandboxNames.Generate(environment.RandomHex(4)),
                Cpus = parse.GetValue(cpus),
                MemoryMiB = parse.GetValue(memory),
                DiskGiB = parse.GetValue(disk),
            };
            spec.Validate();
            var (context, service) = await OpenAsync(environment, parse, loggers, output, token).ConfigureAwait(false);
            output.Info($"creating sandbox {spec.Name} ({spec.Cpus} vCPU, {spec.MemoryMiB} MiB, {spec.DiskGiB} GiB, {Describe(service.Host.Emulation)}), expires in {SandboxTtl.Format(lifetime)}");
            var created = await service.UpAsync(new SandboxRequest { Spec = spec, Ttl = lifetime, KeepFailed = parse.GetValue(keepFailed) }, token).ConfigureAwait(false);
            var result = ToOutput(created, context, service, context.Time.GetUtcNow());
            if (output.Json)
            {
                output.WriteJson(new SandboxUpOutput(result, [.. created.Phases.Select(PhaseOutput.From)]), CliJsonContext.Default.SandboxUpOutput);
                return AuditExit(created);
            }

            output.Line($"sandbox {result.Name} is up at {result.Address ?? "(no address)"}");
            output.Line($"host key: {created.HostKeyFingerprint} (pinned)");
            output.Line($"expires: {result.Expires:u} (in {SandboxTtl.Format(lifetime)}); extend with: provisioner sandbox extend {result.Name} --ttl 1h");
            if (result.SshCommand is not null)
            {
                output.Line($"login: {result.SshCommand}");
            }

            output.Phases(created.Phases);
            if (AuditExit(created) != ExitCodes.Ok)
            {
                output.Line($"the sandbox is up but its audit failed; repair with: provisioner sandbox audit {result.Name} --repair");
            }
            return AuditExit(created);
        }, ct));
        return command;
    }

    private static int AuditExit(Sandbox sandbox) => sandbox.Phases.Any(p => p.Failed) ? ExitCodes.Failed : ExitCodes.Ok;

    private static Command List(CliEnvironment environment)
    {
        var command = new Command("list", "List sandboxes with address, age and time left");
        command.SetAction((parse, ct) => CliApp.ExecuteAsync(environment, parse, async (output, loggers, token) =>
        {
            var (context, service) = await OpenAsync(environment, parse, loggers, output, token).ConfigureAwait(false);
            var now = context.Time.GetUtcNow();
            var sandboxes = (await service.ListAsync(token).ConfigureAwait(false)).Select(s => ToOutput(s, context, service, now)).ToList();
            if (output.Json)
            {
                output.WriteJson(new SandboxListOutput(sandboxes), CliJsonContext.Default.SandboxListOutput);
                return ExitCodes.Ok;
            }

            if (sandboxes.Count == 0)
            {
                output.Line("no sandboxes");
                return ExitCodes.Ok;
            }

            var table = new Table().AddColumns("name", "address", "age", "expires in", "state", "open ports");
            foreach (var s in sandboxes)
            {
                table.AddRow(
                    Markup.Escape(s.Name),
                    Markup.Escape(s.Address ?? "-"),
                    SandboxTtl.Format(now - s.Created),
                    s.Expires is { } e ? SandboxTtl.Format(e - now) : "never",
                    Markup.Escape(s.State),
                    s.PublishedPorts.Count == 0 ? "-" : Markup.Escape(string.Join("\n", s.PublishedPorts.Select(p => $"{p.Port}/{p.Protocol} from {string.Join(", ", p.From)}"))));
            }

            output.Out.Write(table);
            return ExitCodes.Ok;
        }, ct));
        return command;
    }

    private static Command Extend(CliEnvironment environment)
    {
        var name = new Argument<string>("NAME") { Description = "Sandbox name" };
        var ttl = new Option<string>("--ttl") { Description = "How much longer: 30m, 1h, 1d (added to the later of now and the current expiry)", Required = true };
        var command = new Command("extend", "Give a sandbox more time") { name, ttl };
        command.SetAction((parse, ct) => CliApp.ExecuteAsync(environment, parse, async (output, loggers, token) =>
        {
            var more = SandboxTtl.Parse(parse.GetValue(ttl), "--ttl");
            var sandboxName = parse.GetRequiredValue(name);
            SandboxNames.ThrowIfInvalid(sandboxName);
            var (context, service) = await OpenAsync(environment, parse, loggers, output, token).ConfigureAwait(false);
            var expires = await service.ExtendAsync(sandboxName, more, token).ConfigureAwait(false);
            if (output.Json)
            {
                var s = (await service.ListAsync(token).ConfigureAwait(false)).First(x => x.Name == sandboxName);
                output.WriteJson(ToOutput(s, context, service, context.Time.GetUtcNow()), CliJsonContext.Default.SandboxOutput);
                return ExitCodes.Ok;
            }

            output.Line($"sandbox {sandboxName} now expires {expires:u} (in {SandboxTtl.Format(expires - context.Time.GetUtcNow())})");
            return ExitCodes.Ok;
        }, ct));
        return command;
    }

    private static Command Destroy(CliEnvironment environment)
    {
        var name = new Argument<string>("NAME") { Description = "Sandbox name" };
        var command = new Command("destroy", "Remove a sandbox and everything it owns") { name };
        command.SetAction((parse, ct) => CliApp.ExecuteAsync(environment, parse, async (output, loggers, token) =>
        {
            var sandboxName = parse.GetRequiredValue(name);
            SandboxNames.ThrowIfInvalid(sandboxName);
            var (_, service) = await OpenAsync(environment, parse, loggers, output, token).ConfigureAwait(false);
            await service.DestroyAsync(sandboxName, token).ConfigureAwait(false);
            if (output.Json)
            {
                output.WriteJson(new SandboxRemovedOutput([sandboxName]), CliJsonContext.Default.SandboxRemovedOutput);
            }
            else
            {
                output.Line($"removed sandbox {sandboxName} (domain, disk, seed; the network and pool go with the last sandbox)");
            }

            return ExitCodes.Ok;
        }, ct));
        return command;
    }

    private static Command Audit(CliEnvironment environment)
    {
        var name = new Argument<string>("NAME") { Description = "Sandbox name" };
        var repair = new Option<bool>("--repair") { Description = "Re-apply the runtime and firewall hardening over SSH first (idempotent)" };
        var command = new Command("audit", "Check the sandbox's Docker runtime and firewall; exit 1 when a check fails") { name, repair };
        command.SetAction((parse, ct) => CliApp.ExecuteAsync(environment, parse, async (output, loggers, token) =>
        {
            var sandboxName = parse.GetRequiredValue(name);
            SandboxNames.ThrowIfInvalid(sandboxName);
            var (context, service) = await OpenAsync(environment, parse, loggers, output, token).ConfigureAwait(false);
            IReadOnlyList<IStackPhase> phases = parse.GetValue(repair) ? [context.Repair, context.Audit] : [context.Audit];
            var results = await service.RunPhasesAsync(sandboxName, phases, token).ConfigureAwait(false);
            var audit = results.OfType<AuditPhaseResult>().Single();
            if (output.Json)
            {
                output.Environment.Out.Write(AuditReportFormatter.ToJson(audit.Reports));
                output.Environment.Out.Flush();
            }
            else
            {
                output.Phases([.. results.Where(r => r is not AuditPhaseResult)]);
                output.Line(AuditReportFormatter.ToTable(audit.Reports));
                output.Line(audit.Summary);
            }

            return audit.Failed ? ExitCodes.Failed : ExitCodes.Ok;
        }, ct));
        return command;
    }

    private static Command Reap(CliEnvironment environment)
    {
        var command = new Command("reap", "Remove every expired sandbox (idempotent; safe to run from a timer)");
        command.SetAction((parse, ct) => CliApp.ExecuteAsync(environment, parse, async (output, loggers, token) =>
        {
            var (_, service) = await OpenAsync(environment, parse, loggers, output, token).ConfigureAwait(false);
            var removed = await service.ReapAsync(environment.StateDirectory ?? SandboxService.DefaultLockDirectory(), token).ConfigureAwait(false);
            if (output.Json)
            {
                output.WriteJson(new SandboxRemovedOutput(removed), CliJsonContext.Default.SandboxRemovedOutput);
            }
            else
            {
                output.Line(removed.Count == 0 ? "nothing to reap" : $"reaped {string.Join(", ", removed)}");
            }

            return ExitCodes.Ok;
        }, ct));
        return command;
    }

    private static Command Run(CliEnvironment environment)
    {
        var name = new Argument<string>("NAME") { Description = "Sandbox name" };
        var image = new Argument<string>("IMAGE") { Description = "Image in the sandbox, or a local image tarball (docker save) to upload and load" };
        var publish = new Option<string[]>("--publish", "-p") { Description = "HOSTPORT:CONTAINERPORT[/udp]; bound to 127.0.0.1 unless --allow-from", AllowMultipleArgumentsPerToken = false };
        var capAdd = new Option<string[]>("--cap-add") { Description = "Grant one capability (repeatable); all others stay dropped" };
        var allowFrom = new Option<string[]>("--allow-from") { Description = "Let this source CIDR reach the -p ports (repeatable): recorded with the sandbox, its firewall opened to it, ports published on 0.0.0.0" };
        var writableRoot = new Option<bool>("--writable-root") { Description = "Writable root filesystem (default read-only with tmpfs /run and /tmp)" };
        var asRoot = new Option<bool>("--root") { Description = "Run as root in the container (default uid/gid 65534)" };
        var command = new Command("run", "Run a container in a sandbox with the hardened run profile") { name, image, publish, capAdd, allowFrom, writableRoot, asRoot };
        command.SetAction((parse, ct) => CliApp.ExecuteAsync(environment, parse, async (output, loggers, token) =>
        {
            var sandboxName = parse.GetRequiredValue(name);
            SandboxNames.ThrowIfInvalid(sandboxName);
            var imageArg = parse.GetRequiredValue(image);
            var tarball = Path.GetFullPath(imageArg, environment.WorkingDirectory);
            var isTarball = File.Exists(tarball);
            var profile = new ContainerRunProfile
            {
                // A tarball's image name is known only after 'docker load'; validated with a placeholder until then.
                Image = isTarball ? "placeholder" : imageArg,
                Ports = [.. (parse.GetValue(publish) ?? []).Select(PublishedPort.Parse)],
                CapAdd = parse.GetValue(capAdd) ?? [],
                AllowFrom = parse.GetValue(allowFrom) ?? [],
                WritableRoot = parse.GetValue(writableRoot),
                Root = parse.GetValue(asRoot),
            };
            profile.Validate();
            foreach (var relaxation in profile.Relaxations())
            {
                output.Info("relaxed: " + relaxation);
            }

            // A port the firewall can never open (SSH's) is refused here, before anything is connected to or changed.
            var sources = profile.AllowedSources;
            SandboxPortPolicy.CheckOpenable(profile.HostPorts);
            var (context, service) = await OpenAsync(environment, parse, loggers, output, token).ConfigureAwait(false);
            var stack = service.StackWith([]);
            var node = (await context.Engine.InventoryAsync(stack, token).ConfigureAwait(false)).FirstOrDefault(n => n.Name == sandboxName)
                ?? throw new CliException($"NAME: no sandbox named '{sandboxName}'");
            await AllowAsync(output, service, context, sandboxName, profile, sources, token).ConfigureAwait(false);
            var sandbox = (await service.ListAsync(token).ConfigureAwait(false)).First(s => s.Name == sandboxName);
            var hostKeyLine = node.Metadata.HostPublicKey ?? throw new CliException($"sandbox {sandboxName} has no pinned host key", ExitCodes.Failed);
            var address = sandbox.Address ?? throw new CliException($"sandbox {sandboxName} has no address", ExitCodes.Failed);
            var key = await context.Keys.GetOrCreateAsync(stack.Name, token).ConfigureAwait(false);
            var session = await context.Ssh.ConnectAsync(
                new SshEndpoint(address, stack.Access.User), PinnedHostKey.FromPublicKeyLine(hostKeyLine), key.PrivateKey, TimeSpan.FromSeconds(30), token).ConfigureAwait(false);
            await using (session.ConfigureAwait(false))
            {
                if (isTarball)
                {
                    var remote = "/tmp/provisioner-image-" + environment.RandomHex(8) + ".tar";
                    output.Info($"uploading {tarball} to {sandboxName}:{remote}");
                    var file = File.OpenRead(tarball);
                    await using (file.ConfigureAwait(false))
                    {
                        await session.UploadAsync(file, remote, UnixFileMode.UserRead | UnixFileMode.UserWrite, null, token).ConfigureAwait(false);
                    }

                    var load = await session.RunAsync(ShellCommand.Create("docker", "load", "-i", remote).WithSudo(), token).ConfigureAwait(false);
                    await session.RunAsync(ShellCommand.Create("rm", "-f", "--", remote), token).ConfigureAwait(false);
                    load.EnsureSuccess();
                    var loaded = LoadedImage().Match(load.StdOut);
                    if (!loaded.Success)
                    {
                        throw new CliException($"docker load did not name the image it loaded: {load.StdOut.Trim()}", ExitCodes.Failed);
                    }

                    profile = profile with { Image = loaded.Groups["ref"].Value.Trim() };
                    output.Info($"loaded image {profile.Image}");
                }

                var argv = profile.Argv();
                output.Info("running: " + ShellCommand.Create(argv[0], argv.Skip(1)).CommandLine);
                var result = await session.RunAsync(ShellCommand.Create(argv[0], argv.Skip(1)).WithSudo(), token).ConfigureAwait(false);
                if (output.Json)
                {
                    output.WriteJson(new SandboxRunOutput(sandboxName, argv, profile.Relaxations(), result.ExitCode, result.StdOut), CliJsonContext.Default.SandboxRunOutput);
                }
                else
                {
                    output.Line(result.StdOut.Trim());
                }

                if (!result.Succeeded)
                {
                    output.Info(result.StdErr.Trim());
                    throw new CliException(string.Create(CultureInfo.InvariantCulture, $"docker run failed with exit code {result.ExitCode}"), ExitCodes.Failed);
                }

            }

            return ExitCodes.Ok;
        }, ct));
        return command;
    }

    /// <summary>
    /// Opens the sandbox's firewall to <paramref name="sources"/> for the published ports (recorded with the sandbox,
    /// hardening re-applied) and prints what was opened; a no-op when the recorded policy allows them already.
    /// </summary>
    private static async Task AllowAsync(
        CliOutput output, SandboxService service, EngineContext context, string sandboxName, ContainerRunProfile profile, IReadOnlyList<Core.Stacks.Ipv4Cidr> sources, CancellationToken cancellationToken)
    {
        if (sources.Count == 0)
        {
            return;
        }

        if (profile.Ports.Count == 0)
        {
            output.Info("--allow-from without -p: no port is published, so nothing is opened");
            return;
        }

        var allowed = await service.AllowAsync(sandboxName, profile.HostPorts, sources, context.Repair, cancellationToken).ConfigureAwait(false);
        if (allowed.Opened.Count == 0)
        {
            output.Info($"sandbox {sandboxName} already allows {string.Join(", ", profile.HostPorts.Select(p => SandboxPortPolicy.Describe(p.Port, p.Protocol)))} from {string.Join(", ", sources)}; firewall unchanged");
            return;
        }

        output.Phases(allowed.Phases);
        if (allowed.Phases.Any(p => p.Failed))
        {
            throw new CliException($"recorded the new port policy of sandbox {sandboxName}, but re-applying its firewall failed; repair with: provisioner sandbox audit {sandboxName} --repair", ExitCodes.Failed);
        }

        foreach (var opening in allowed.Opened)
        {
            var line = $"opened {opening} on sandbox {sandboxName}";
            if (output.Json)
            {
                output.Info(line);
            }
            else
            {
                output.Line(line);
            }
        }
    }

    private static async Task<(EngineContext Context, SandboxService Service)> OpenAsync(
        CliEnvironment environment, ParseResult parse, Microsoft.Extensions.Logging.ILoggerFactory loggers, CliOutput output, CancellationToken cancellationToken)
    {
        var uri = parse.GetValue(HostUri) ?? Environment.GetEnvironmentVariable(HostUriVariable) ?? SandboxHost.Local.Uri;
        if (uri == SandboxHost.Local.Uri)
        {
            // A fresh machine: install libvirt, qemu and the image tools first, or say exactly how to.
            var prerequisites = new Engine.LocalHost.LocalPrerequisites();
            var missing = await prerequisites.FindMissingAsync(cancellationToken).ConfigureAwait(false);
            if (missing.Count > 0)
            {
                output.Info($"installing missing Debian packages: {string.Join(' ', missing)}");
                var installed = await prerequisites.InstallAsync(missing, new Progress<string>(output.Info), cancellationToken).ConfigureAwait(false);
                if (!installed.Installed)
                {
                    throw new CliException($"missing Debian packages {string.Join(' ', missing)}; run: {installed.RequiredCommand}", ExitCodes.Failed);
                }
            }

            // The local system daemon: start it when nothing answers (systemd is not always there to do it).
            var daemon = new Engine.LocalHost.LocalLibvirtDaemon(null, TimeProvider.System, Microsoft.Extensions.Logging.LoggerFactoryExtensions.CreateLogger<Engine.LocalHost.LocalLibvirtDaemon>(loggers));
            var handle = await daemon.EnsureRunningAsync(cancellationToken).ConfigureAwait(false);
            if (!handle.IsRunning)
            {
                throw new CliException($"libvirt is not running on this machine; run: {handle.RequiredCommand}", ExitCodes.Failed);
            }

            foreach (var started in handle.StartedDaemons)
            {
                output.Info($"started {started.Name} (pid {started.Pid}); it keeps running for the sandboxes");
            }
        }

        var emulation = parse.GetValue(Emulation) || Environment.GetEnvironmentVariable(EmulationVariable) == "1"
            ? SandboxEmulation.Force
            : parse.GetValue(AllowEmulation) ? SandboxEmulation.Allow : SandboxEmulation.Off;
        var context = environment.EngineFactory(loggers);
        context.Engine.StepChanged += (_, e) => output.Step(e);
        var host = SandboxHost.Local with { Uri = uri, Emulation = emulation };
        return (context, new SandboxService(context.Engine, host, context.Time, Microsoft.Extensions.Logging.LoggerFactoryExtensions.CreateLogger<SandboxService>(loggers)));
    }

    private static SandboxOutput ToOutput(Sandbox s, EngineContext context, SandboxService service, DateTimeOffset now) => new()
    {
        Name = s.Name,
        Address = s.Address,
        State = s.Ready ? s.State : s.State + " (not ready)",
        Created = s.Created,
        Expires = s.Expires,
        Expired = s.IsExpired(now),
        SshCommand = StackCommands.SshCommand(context.Keys, service.StackWith([]), s.Address),
        PublishedPorts = [.. s.PublishedPorts.Select(p => new SandboxPortOutput(p.Port, TransportProtocols.Name(p.Protocol), [.. p.From.Select(f => f.ToString())]))],
    };

    private static string Describe(SandboxEmulation emulation) => emulation switch
    {
        SandboxEmulation.Force => "software emulation (TCG)",
        SandboxEmulation.Allow => "KVM, or emulation when the host has none",
        _ => "KVM",
    };

    [GeneratedRegex(@"Loaded image(?: ID)?: (?<ref>\S+)", RegexOptions.CultureInvariant)]
    private static partial Regex LoadedImage();
}
