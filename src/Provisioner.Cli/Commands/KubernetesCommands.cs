using System.CommandLine;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Provisioner.Cli.Output;
using Provisioner.Core.Kubernetes;
using Provisioner.Core.Kubernetes.Check;
using Provisioner.Core.Security;
using Provisioner.Core.Stacks;
using Provisioner.Engine.Kubernetes;

namespace Provisioner.Cli.Commands;

/// <summary><c>k8s check</c> (workload manifests against the cluster's admission rules, offline) and <c>k8s kubeconfig</c>.</summary>
internal static class KubernetesCommands
{
    private static readonly Argument<string[]> FilesArgument = new("FILE")
    {
        Description = "Manifest files (multi-document YAML): Pods, Deployments, StatefulSets, DaemonSets, Jobs, CronJobs, Namespaces",
        Arity = ArgumentArity.OneOrMore,
    };

    private static readonly Option<string?> CheckStackOption = new("--stack", "-s")
    {
        Description = "Check against the rules of this stack's cluster (its version and exemptions); default: the project's defaults at the newest modelled release",
    };

    private static readonly Option<string?> KubernetesVersionOption = new("--kubernetes-version")
    {
        Description = "Without --stack: check against a cluster at this release (e.g. 1.34.2); default: the newest release modelled",
    };

    private static readonly Option<string> StackOption = new("--stack", "-s")
    {
        Description = "Stack name: stacks/Pulumi.<NAME>.yaml, found from the current directory upward",
        Required = true,
    };

    private static readonly Option<string?> StacksDirOption = new("--stacks-dir")
    {
        Description = "Folder holding Pulumi.<NAME>.yaml (instead of searching for stacks/)",
    };

    private static readonly Option<string?> OutOption = new("--out", "-o")
    {
        Description = "Where to write the kubeconfig (mode 0600); default: <STACK>.kubeconfig in the current directory",
    };

    /// <summary>Mode of a written kubeconfig: it holds the cluster's admin credentials.</summary>
    internal const UnixFileMode KubeconfigMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public static void AddTo(RootCommand root, CliEnvironment environment)
    {
        var k8s = new Command("k8s", "Kubernetes: check workloads offline, fetch the admin kubeconfig");

        var check = new Command("check", "Check workload manifests offline against exactly what the cluster enforces (Pod Security restricted and the project's admission policies); exit 0 clean, 1 violations, 2 unreadable input")
        {
            FilesArgument, CheckStackOption, KubernetesVersionOption, StacksDirOption,
        };
        check.SetAction((parse, ct) => CliApp.ExecuteAsync(environment, parse, (output, _, token) => CheckAsync(environment, parse, output, token), ct));
        k8s.Subcommands.Add(check);

        var kubeconfig = new Command("kubeconfig", "Write the cluster's admin kubeconfig to a file with mode 0600 (it is never printed)")
        {
            StackOption, StacksDirOption, OutOption,
        };
        kubeconfig.SetAction((parse, ct) => CliApp.ExecuteAsync(environment, parse, (output, loggers, token) => KubeconfigAsync(environment, parse, output, loggers, token), ct));
        k8s.Subcommands.Add(kubeconfig);

        root.Subcommands.Add(k8s);
    }

    private static async Task<int> CheckAsync(CliEnvironment environment, ParseResult parse, CliOutput output, CancellationToken ct)
    {
        PodSecurityRuleSet rules;
        var versionText = parse.GetValue(KubernetesVersionOption);
        if (parse.GetValue(CheckStackOption) is { } stackName)
        {
            if (versionText is not null)
            {
                throw new CliException("--kubernetes-version: not with --stack (the stack pins the version)");
            }

            var stack = await StackLoader.LoadFileAsync(StackLocator.Find(stackName, parse.GetValue(StacksDirOption), environment.WorkingDirectory), ct).ConfigureAwait(false);
            if (stack.Kubernetes is null)
            {
                throw new CliException($"--stack: stack '{stack.Name}' declares no Kubernetes cluster (provisioner:kubernetes)");
            }

            var spec = Spec(stack);
            // Offline the nodes cannot be asked whether they honour hostUsers: false; the statement says so.
            var capability = UserNamespaceCapability.Evaluate(spec.Version, spec.Nodes.ToDictionary(n => n.Name, _ => (NodeFacts?)null, StringComparer.Ordinal));
            rules = spec.PodSecurity(capability);
        }
        else
        {
            var version = KubernetesVersion.NewestModelled;
            if (versionText is not null && !KubernetesVersion.TryParse(versionText, out version, out var error))
            {
                throw new CliException($"--kubernetes-version: '{versionText}' {error}");
            }

            if (version < KubernetesVersion.MinimumSupported)
            {
                throw new CliException($"--kubernetes-version: '{versionText}' is older than 1.32, which this project does not bootstrap");
            }

            rules = PodSecurityRuleSet.ForProjectDefaults(version, requireUserNamespaces: false);
        }

        var checker = new ManifestChecker(rules);
        var results = new List<ManifestCheckResult>();
        foreach (var file in parse.GetValue(FilesArgument) ?? [])
        {
            var path = Path.GetFullPath(file, environment.WorkingDirectory);
            string text;
            try
            {
                text = await File.ReadAllTextAsync(path, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                results.Add(new ManifestCheckResult { File = file, Objects = [], ParseError = "cannot read: " + e.Message });
                continue;
            }

            results.Add(checker.Check(file, text));
        }

        var exitCode = ManifestChecker.ExitCode(results);
        if (output.Json)
        {
            output.WriteJson(new KubernetesCheckOutput(rules.Describe(), results, exitCode), KubernetesJsonContext.Default.KubernetesCheckOutput);
            return exitCode;
        }

        foreach (var line in rules.Describe())
        {
            output.Info(line);
        }

        // Plain text, not markup: manifests are user input.
        output.Environment.Out.Write(ManifestChecker.Format(results));
        await output.Environment.Out.FlushAsync(ct).ConfigureAwait(false);
        return exitCode;
    }

    private static async Task<int> KubeconfigAsync(CliEnvironment environment, ParseResult parse, CliOutput output, Microsoft.Extensions.Logging.ILoggerFactory loggers, CancellationToken ct)
    {
        var stack = await StackLoader.LoadFileAsync(StackLocator.Find(parse.GetRequiredValue(StackOption), parse.GetValue(StacksDirOption), environment.WorkingDirectory), ct).ConfigureAwait(false);
        if (stack.Kubernetes is null)
        {
            throw new CliException($"--stack: stack '{stack.Name}' declares no Kubernetes cluster (provisioner:kubernetes)");
        }

        var target = Path.GetFullPath(parse.GetValue(OutOption) ?? $"{stack.Name}.kubeconfig", environment.WorkingDirectory);
        if (Directory.Exists(target))
        {
            throw new CliException($"--out: {target} is a directory");
        }

        var context = environment.EngineFactory(loggers);
        var (_, nodes) = await context.Engine.StatusAsync(stack, ct).ConfigureAwait(false);
        var kubeconfig = await AdminKubeconfig.ReadAsync(stack, nodes, context.Access, ct).ConfigureAwait(false)
            ?? throw new CliException($"no control plane of stack '{stack.Name}' has an admin kubeconfig: the cluster has not been initialised (run 'provisioner up --stack {stack.Name}')", ExitCodes.Failed);
        await WriteSecretFileAsync(target, kubeconfig, ct).ConfigureAwait(false);
        if (output.Json)
        {
            output.WriteJson(new KubeconfigOutput(stack.Name, target), KubernetesJsonContext.Default.KubeconfigOutput);
        }
        else
        {
            output.Line($"admin kubeconfig of cluster {stack.Name} written to {target} (mode 0600)");
        }

        return ExitCodes.Ok;
    }

    private static KubernetesClusterSpec Spec(StackDefinition stack)
    {
        try
        {
            return KubernetesClusterSpec.From(stack);
        }
        catch (KubernetesConfigurationException e)
        {
            throw new CliException($"stack '{stack.Name}': {e.Message}");
        }
    }

    /// <summary>
    /// Writes <paramref name="content"/> to <paramref name="path"/> so it is never readable by others, not even
    /// briefly: a new file created with mode 0600 next to it, then renamed over it (an existing file's looser
    /// mode is not inherited).
    /// </summary>
    internal static async Task WriteSecretFileAsync(string path, Secret content, CancellationToken ct)
    {
        var directory = Path.GetDirectoryName(path) ?? throw new CliException($"--out: {path} has no directory");
        Directory.CreateDirectory(directory);
        var temporary = Path.Combine(directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = KubeconfigMode;
        }

        try
        {
            var stream = new FileStream(temporary, options);
            await using (stream.ConfigureAwait(false))
            {
                await stream.WriteAsync(Encoding.UTF8.GetBytes(content.Reveal()), ct).ConfigureAwait(false);
            }

            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}

/// <summary><c>k8s check --json</c>: the rules checked against, every file's objects and violations, and the exit code.</summary>
internal sealed record KubernetesCheckOutput(IReadOnlyList<string> Rules, IReadOnlyList<ManifestCheckResult> Files, int ExitCode);

/// <summary><c>k8s kubeconfig --json</c>: where the kubeconfig was written (never its content).</summary>
internal sealed record KubeconfigOutput(string Stack, string Path);

/// <summary>Source-generated serialization for the <c>k8s</c> commands' <c>--json</c> output.</summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    WriteIndented = true,
    UseStringEnumConverter = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(KubernetesCheckOutput))]
[JsonSerializable(typeof(KubeconfigOutput))]
internal sealed partial class KubernetesJsonContext : JsonSerializerContext;
