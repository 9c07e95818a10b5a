using System.Diagnostics;
using Grpc.Net.Client;
using Pulumirpc;

namespace Provisioner.Pulumi.Tests;

/// <summary>
/// The built plugin started the way the Pulumi engine starts it: the engine's address as its argument, the port
/// read from the first line of stdout, gRPC over plain HTTP/2 on loopback. Stderr is collected for failure messages.
/// </summary>
public sealed class PluginProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly System.Text.StringBuilder _stderr = new();

    private PluginProcess(Process process, int port)
    {
        _process = process;
        Port = port;
        Channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}", new GrpcChannelOptions { MaxReceiveMessageSize = 64 * 1024 * 1024 });
        Client = new ResourceProvider.ResourceProviderClient(Channel);
    }

    public int Port { get; }

    public GrpcChannel Channel { get; }

    public ResourceProvider.ResourceProviderClient Client { get; }

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public bool HasExited => _process.HasExited;

    /// <summary>Where the build puts the plugin: src/Provisioner.Pulumi/bin/&lt;configuration&gt;/net10.0/.</summary>
    public static string PluginPath
    {
        get
        {
            var configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
            return Path.Combine(RepoRoot, "src", "Provisioner.Pulumi", "bin", configuration, "net10.0", "pulumi-resource-provisioner");
        }
    }

    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Provisioner.sln")))
            {
                dir = dir.Parent;
            }

            return dir?.FullName ?? throw new InvalidOperationException("repository root (Provisioner.sln) not found above " + AppContext.BaseDirectory);
        }
    }

    public static async Task<PluginProcess> StartAsync(IReadOnlyDictionary<string, string?> environment, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(PluginPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // The engine passes its own gRPC address; the plugin must accept it (it does not need to call back).
        info.ArgumentList.Add("127.0.0.1:1");
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start " + PluginPath);
        var stderr = new System.Text.StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            lock (stderr)
            {
                stderr.AppendLine(e.Data);
            }
        };
        process.BeginErrorReadLine();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        var line = await process.StandardOutput.ReadLineAsync(timeout.Token);
        if (line is null || !int.TryParse(line, out var port))
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"the plugin's first stdout line is not a port: '{line}'; stderr: {stderr}");
        }

        var plugin = new PluginProcess(process, port);
        lock (stderr)
        {
            plugin._stderr.Append(stderr);
        }

        process.ErrorDataReceived += (_, e) =>
        {
            lock (plugin._stderr)
            {
                plugin._stderr.AppendLine(e.Data);
            }
        };
        return plugin;
    }

    /// <summary>What stdout carried after the port line (must be nothing: logs go to stderr).</summary>
    public async Task<string> RestOfStdoutAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
        return await _process.StandardOutput.ReadToEndAsync();
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
