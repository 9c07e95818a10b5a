using System.Diagnostics;

namespace Provisioner.Core.Tests.Templates;

/// <summary>Runs a real command-line tool from a test, or says which Debian package would provide it.</summary>
internal static class ExternalTool
{
    public static string? Find(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':').Append("/usr/sbin").Append("/sbin"))
        {
            var path = Path.Combine(dir, name);
            if (File.Exists(path))
            {
                return path;
            }
        }
        return null;
    }

    /// <summary>Skips the test unless <paramref name="name"/> is installed.</summary>
    public static string Require(string name, string debianPackage)
    {
        var path = Find(name);
        Assert.SkipUnless(path is not null, $"'{name}' is not installed (Debian package {debianPackage})");
        return path!;
    }

    public static async Task<(int ExitCode, string StdOut, string StdErr)> RunAsync(string file, IEnumerable<string> args, TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        using var process = Process.Start(info)!;
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        var stdout = process.StandardOutput.ReadToEndAsync(cts.Token);
        var stderr = process.StandardError.ReadToEndAsync(cts.Token);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', info.ArgumentList)} did not finish in time");
        }
        return (process.ExitCode, await stdout, await stderr);
    }
}
