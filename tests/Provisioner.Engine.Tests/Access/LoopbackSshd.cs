using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Provisioner.Remote.Keys;

namespace Provisioner.Engine.Tests.Access;

/// <summary>
/// A private OpenSSH server on a loopback address, with its own host key and authorized keys in a temporary
/// directory, started in the foreground and stopped by its own pid. Acts as a KVM host (the jump) or as a guest.
/// </summary>
internal sealed class LoopbackSshd : IAsyncDisposable
{
    public const string SshdPath = "/usr/sbin/sshd";

    private readonly ConcurrentQueue<string> _log = new();
    private Process? _process;

    private LoopbackSshd(string directory, string address, int port)
    {
        Directory = directory;
        Address = address;
        Port = port;
    }

    public string Directory { get; }

    public string Address { get; }

    public int Port { get; }

    public SshKeyPair HostKey { get; } = SshKeyPair.GenerateEd25519("engtest-host");

    public string Log => string.Join('\n', _log);

    public static string? SkipReason => File.Exists(SshdPath) ? null : $"{SshdPath} is not installed (package openssh-server)";

    /// <summary>Starts sshd on address:port (port 0: a free one), accepting the authorized keys; pathPrefix goes first on PATH of sessions (stand-in commands such as cloud-init).</summary>
    public static async Task<LoopbackSshd> StartAsync(string address, int port, IEnumerable<string> authorizedKeys, string? pathPrefix = null)
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("engtest-sshd-").FullName;
        File.SetUnixFileMode(directory, (UnixFileMode)0b111_101_101);
        var sshd = new LoopbackSshd(directory, address, port == 0 ? FreePort(address) : port);
        await sshd.StartAsync(authorizedKeys, pathPrefix);
        return sshd;
    }

    private async Task StartAsync(IEnumerable<string> authorizedKeys, string? pathPrefix)
    {
        var hostKeyFile = Path.Combine(Directory, "host_key");
        await SshKeyFiles.WriteKeyPairAsync(hostKeyFile, HostKey, CancellationToken.None);
        await File.WriteAllLinesAsync(Path.Combine(Directory, "authorized_keys"), authorizedKeys);
        System.IO.Directory.CreateDirectory("/run/sshd");
        var config = Path.Combine(Directory, "sshd_config");
        var setEnv = pathPrefix is null ? "" : $"SetEnv PATH={pathPrefix}:/usr/local/bin:/usr/bin:/bin";
        await File.WriteAllTextAsync(config, $"""
            Port {Port}
            ListenAddress {Address}
            HostKey {hostKeyFile}
            PidFile {Path.Combine(Directory, "sshd.pid")}
            AuthorizedKeysFile {Path.Combine(Directory, "authorized_keys")}
            UsePAM no
            StrictModes no
            PermitRootLogin prohibit-password
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PubkeyAuthentication yes
            AllowTcpForwarding yes
            LogLevel VERBOSE
            {setEnv}

            """);
        var info = new ProcessStartInfo(SshdPath) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in new[] { "-D", "-e", "-f", config })
        {
            info.ArgumentList.Add(argument);
        }

        _process = Process.Start(info) ?? throw new InvalidOperationException("could not start sshd");
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { _log.Enqueue(e.Data); } };
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) { _log.Enqueue(e.Data); } };
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
        var watch = Stopwatch.StartNew();
        while (!await AnswersAsync())
        {
            if (_process.HasExited || watch.Elapsed > TimeSpan.FromSeconds(20))
            {
                var log = Log;
                await DisposeAsync();
                throw new InvalidOperationException($"sshd on {Address}:{Port} did not start:\n{log}");
            }

            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { } process)
        {
            if (!process.HasExited)
            {
                // Only the server started here, by its own pid (-D keeps it in the foreground as that pid).
                process.Kill();
                await process.WaitForExitAsync();
            }

            process.Dispose();
            _process = null;
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static int FreePort(string address)
    {
        using var listener = new TcpListener(IPAddress.Parse(address), 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private async Task<bool> AnswersAsync()
    {
        try
        {
            using var client = new TcpClient();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await client.ConnectAsync(IPAddress.Parse(Address), Port, timeout.Token);
            var buffer = new byte[64];
            var read = await client.GetStream().ReadAsync(buffer, timeout.Token);
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("SSH-2.0-", StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
        {
            return false;
        }
    }
}
