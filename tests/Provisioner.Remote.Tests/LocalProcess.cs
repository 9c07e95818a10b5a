using System.Diagnostics;

namespace Provisioner.Remote.Tests;

/// <summary>Runs a local program with an argument vector (no shell in between) and captures its output as bytes.</summary>
internal static class LocalProcess
{
    public sealed record Result(int ExitCode, byte[] StdOut, string StdErr)
    {
        public string StdOutText => System.Text.Encoding.UTF8.GetString(StdOut);
    }

    public static string? Find(string program, params string[] extraDirectories)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var dir in path.Split(':').Concat(extraDirectories).Concat(["/usr/sbin", "/sbin", "/usr/bin", "/bin"]))
        {
            if (dir.Length == 0)
            {
                continue;
            }

            var candidate = Path.Combine(dir, program);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    public static async Task<Result> RunAsync(string program, IEnumerable<string> arguments, byte[]? stdin = null)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        var cancellationToken = TestContext.Current.CancellationToken;
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {program}");
        using var stdout = new MemoryStream();
        var copyOut = process.StandardOutput.BaseStream.CopyToAsync(stdout, cancellationToken);
        var readErr = process.StandardError.ReadToEndAsync(cancellationToken);
        if (stdin is not null)
        {
            await process.StandardInput.BaseStream.WriteAsync(stdin, cancellationToken);
        }

        process.StandardInput.Close();
        await copyOut;
        var stderr = await readErr;
        await process.WaitForExitAsync(cancellationToken);
        return new Result(process.ExitCode, stdout.ToArray(), stderr);
    }
}
