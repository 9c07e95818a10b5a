using System.Diagnostics;
using Provisioner.Core.Hardening;
using Provisioner.Core.Stacks;
using Provisioner.Core.Templates;

namespace Provisioner.Engine.Tests.Hardening;

/// <summary>A sandbox node's hardening bundle, and the same bundle moved under a temporary root for local tests.</summary>
internal static class EngineHardeningSamples
{
    public const string SandboxYaml = """
        config:
          provisioner:hosts:
            - name: h1
              uri: test:///default
              region: oslo
              pool: {name: p, path: /srv/pool, media: nvme}
          provisioner:networks:
            - name: net
              cidr: 10.77.0.0/24
              mode: nat
          provisioner:image:
            name: debian-12
          provisioner:nodes:
            - name: box
              role: sandbox
              cpus: 1
              memoryMiB: 1024
              diskGiB: 4
              network: net
          provisioner:placement:
            region: oslo
          provisioner:access:
            user: ops
            sshPublicKeys: []
            adminCidrs: [10.77.0.0/24]
          provisioner:firewall:
            publishedPorts:
              - port: 8080
                from: [10.0.0.0/8]
        """;

    public static StackDefinition Sandbox() => StackLoader.Parse(SandboxYaml, "dev", "sandbox.yaml");

    public static HardeningBundle Render(StackDefinition? stack = null)
    {
        stack ??= Sandbox();
        return new HardeningRenderer(TemplateRenderer.CreateDefault()).Render(HardeningTarget.For(stack, "box", NodeAddressing.Assign(stack)));
    }

    /// <summary>The bundle with every file under <paramref name="root"/> and the given activation commands.</summary>
    public static HardeningBundle Rebase(HardeningBundle bundle, string root, IReadOnlyList<ActivationCommand> activation) => bundle with
    {
        Files = [.. bundle.Files.Select(f => f with { Path = root + f.Path })],
        Activation = activation,
    };

    /// <summary>An activation command that appends <paramref name="name"/> to <paramref name="log"/>.</summary>
    public static ActivationCommand Marker(string name, string log, params string[] whenChanged) => new()
    {
        Argv = ["sh", "-c", "echo \"$0\" >>\"$1\"", name, log],
        Purpose = $"record {name}",
        WhenChanged = whenChanged,
    };

    public static bool IsRoot => Environment.UserName == "root";

    public static bool HasProgram(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':').Append("/usr/sbin").Append("/sbin").Any(d => File.Exists(Path.Combine(d, name)));

    public static async Task<string> RunAsync(string program, params string[] args)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0 ? await stdout : throw new InvalidOperationException($"{program} {string.Join(' ', args)}: {await stderr}");
    }
}
