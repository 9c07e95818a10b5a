using System.Diagnostics;

namespace Provisioner.Pulumi.Tests;

/// <summary>
/// The independent check: tests/pulumi-node installs @pulumi/pulumi from npm and drives the built plugin with
/// Pulumi's own generated gRPC stubs (provider_grpc_pb.js, provider_pb.js). A name or field number of ours that
/// differs from Pulumi's makes a step fail there.
/// </summary>
public sealed class NodeStubConformanceTests
{
    [Fact]
    public async Task PulumiNodeStubs_DriveTheLifecycle_EveryStepPasses()
    {
        var ct = TestContext.Current.CancellationToken;
        var dir = Path.Combine(PluginProcess.RepoRoot, "tests", "pulumi-node");
        if (!OnPath("node") || !OnPath("npm"))
        {
            Assert.Skip("node and npm are needed for the @pulumi/pulumi stub check (Node 20+)");
        }

        if (!File.Exists(Path.Combine(dir, "node_modules", "@pulumi", "pulumi", "proto", "provider_grpc_pb.js")))
        {
            var install = await RunAsync("npm", ["ci", "--no-audit", "--no-fund"], dir, new Dictionary<string, string?>(), TimeSpan.FromMinutes(10), ct);
            if (install.ExitCode != 0)
            {
                Assert.Skip($"npm registry unreachable or npm ci failed (exit {install.ExitCode}): {Tail(install.Output)}");
            }
        }

        await using var lab = new PulumiLab("nodeconf");
        var environment = lab.Environment;
        environment["PLUGIN_PATH"] = PluginProcess.PluginPath;
        environment["HOST_FILE"] = lab.HostFile;
        environment["STACK"] = lab.StackName;
        var run = await RunAsync("node", ["conformance.js"], dir, environment, TimeSpan.FromMinutes(5), ct);
        Assert.True(run.ExitCode == 0, $"node conformance.js failed (exit {run.ExitCode}):\n{run.Output}");
        Assert.Contains("all 13 steps passed", run.Output, StringComparison.Ordinal);
    }

    private static bool OnPath(string command) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':').Any(p => File.Exists(Path.Combine(p, command)));

    private static string Tail(string text) => text.Length <= 2000 ? text : text[^2000..];

    private static async Task<(int ExitCode, string Output)> RunAsync(
        string command, string[] args, string directory, IReadOnlyDictionary<string, string?> environment, TimeSpan timeout, CancellationToken ct)
    {
        var info = new ProcessStartInfo(command) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info)!;
        var output = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{command} {string.Join(' ', args)} did not finish within {timeout}: {Tail(output.ToString())}");
        }

        process.WaitForExit();
        lock (output)
        {
            return (process.ExitCode, output.ToString());
        }
    }
}
