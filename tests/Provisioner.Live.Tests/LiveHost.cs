using System.Diagnostics;
using System.Net.Sockets;

namespace Provisioner.Live.Tests;

/// <summary>What the live tests do on this machine itself: find the checkout, run programs, probe TCP ports, and make a tiny image.</summary>
public static class LiveHost
{
    /// <summary>The checkout's root (the folder holding Provisioner.sln).</summary>
    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Provisioner.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("repository root (Provisioner.sln) not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Runs a program to its end (killed with its children after <paramref name="timeout"/>), stdin closed.</summary>
    public static async Task<(int ExitCode, string StdOut, string StdErr)> RunAsync(
        string program, IReadOnlyList<string> arguments, CancellationToken ct,
        string? workingDirectory = null, TimeSpan? timeout = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = workingDirectory ?? string.Empty,
        };
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(timeout ?? TimeSpan.FromMinutes(5));
        var stdout = process.StandardOutput.ReadToEndAsync(limit.Token);
        var stderr = process.StandardError.ReadToEndAsync(limit.Token);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Runs a program and fails the test unless it exits 0; returns its stdout.</summary>
    public static async Task<string> CheckedAsync(string program, IReadOnlyList<string> arguments, CancellationToken ct, string? workingDirectory = null)
    {
        var (exit, stdout, stderr) = await RunAsync(program, arguments, ct, workingDirectory);
        Assert.True(exit == 0, $"{program} {string.Join(' ', arguments)} failed ({exit}): {stderr}");
        return stdout;
    }

    /// <summary>Whether a TCP connection from this machine to <paramref name="address"/>:<paramref name="port"/> opens within <paramref name="timeout"/>.</summary>
    public static async Task<bool> TcpConnectsAsync(string address, int port, TimeSpan timeout, CancellationToken ct)
    {
        using var client = new TcpClient();
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(timeout);
        try
        {
            await client.ConnectAsync(address, port, limit.Token);
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>
    /// A root filesystem holding one static busybox, as a tarball in <paramref name="directory"/>, for <c>docker import</c>:
    /// an image without a registry (none is reachable here).
    /// </summary>
    public static async Task<string> BusyboxRootfsAsync(string directory, CancellationToken ct)
    {
        var busybox = new[] { "/bin/busybox", "/usr/bin/busybox" }.FirstOrDefault(File.Exists);
        Assert.True(busybox is not null, "busybox-static is not installed on this host (eng/install-prerequisites.sh installs it)");
        var root = Directory.CreateDirectory(Path.Combine(directory, "rootfs", "bin")).Parent!.FullName;
        File.Copy(busybox, Path.Combine(root, "bin", "busybox"), overwrite: true);
        File.SetUnixFileMode(Path.Combine(root, "bin", "busybox"), (UnixFileMode)0b111_101_101);
        var tarball = Path.Combine(directory, "rootfs.tar");
        await CheckedAsync("tar", ["-C", root, "-cf", tarball, "."], ct);
        return tarball;
    }
}
