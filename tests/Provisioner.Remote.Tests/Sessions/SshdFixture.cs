using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Provisioner.Remote.Keys;
using Provisioner.Remote.Sessions;

namespace Provisioner.Remote.Tests.Sessions;

/// <summary>
/// A real OpenSSH server on 127.0.0.1 with a host key and client key from our own generator, started from a
/// config in a temporary directory and stopped by its pid.
/// </summary>
public sealed class SshdFixture : IAsyncLifetime
{
    private const string SshdPath = "/usr/sbin/sshd";
    private readonly ConcurrentQueue<string> _log = new();
    private Process? _process;
    private TempDirectory? _directory;

    public string? SkipReason { get; private set; }

    public bool Available => SkipReason is null;

    public SshKeyPair HostKey { get; } = SshKeyPair.GenerateEd25519("rmtest-host");

    public SshKeyPair ClientKey { get; } = SshKeyPair.GenerateEd25519("rmtest-client");

    /// <summary>A key the server does not accept.</summary>
    public SshKeyPair UnauthorizedKey { get; } = SshKeyPair.GenerateEd25519("rmtest-stranger");

    /// <summary>
    /// Public key lines of extra host keys (ECDSA, RSA) made with ssh-keygen, when it is installed: a server with
    /// several host keys, as cloud-init leaves one, must still be verified against the pinned key alone.
    /// </summary>
    public IReadOnlyDictionary<string, string> ExtraHostKeyLines { get; private set; } = new Dictionary<string, string>();

    public int Port { get; private set; }

    public string Directory => _directory?.Path ?? throw new InvalidOperationException("sshd fixture not started");

    public string User { get; } = Environment.UserName;

    public SshEndpoint Endpoint => new("127.0.0.1", Port, User);

    public string AuthorizedKeysFile => Path.Combine(Directory, "authorized_keys");

    public string Log => string.Join('\n', _log);

    public int LogLineCount => _log.Count;

    public IEnumerable<string> LogSince(int lineCount) => _log.Skip(lineCount);

    public async ValueTask InitializeAsync()
    {
        if (!File.Exists(SshdPath))
        {
            SkipReason = $"{SshdPath} is not installed (package openssh-server)";
            return;
        }

        _directory = new TempDirectory("rmtest-sshd-");
        // Other users log in too (SudoUserFixture), and sshd reads authorized_keys as the user who logs in.
        File.SetUnixFileMode(Directory, (UnixFileMode)0b111_101_101);
        var hostKeyFile = Path.Combine(Directory, "ssh_host_ed25519_key");
        await SshKeyFiles.WriteKeyPairAsync(hostKeyFile, HostKey, CancellationToken.None);
        await SshKeyFiles.WritePublicKeyAsync(AuthorizedKeysFile, ClientKey.PublicKeyOpenSsh, CancellationToken.None);

        var hostKeyLines = new List<string> { "HostKey " + hostKeyFile };
        var extraKeys = new Dictionary<string, string>();
        if (LocalProcess.Find("ssh-keygen") is { } keygen)
        {
            foreach (var (type, bits) in new[] { ("ecdsa", "256"), ("rsa", "3072") })
            {
                var file = Path.Combine(Directory, $"ssh_host_{type}_key");
                var made = await LocalProcess.RunAsync(keygen, ["-q", "-t", type, "-b", bits, "-N", "", "-C", "", "-f", file]);
                if (made.ExitCode == 0)
                {
                    // Listed before the Ed25519 key: a client that let the server choose would be offered these.
                    hostKeyLines.Insert(0, "HostKey " + file);
                    extraKeys[type] = (await File.ReadAllTextAsync(file + ".pub")).Trim();
                }
            }
        }

        ExtraHostKeyLines = extraKeys;
        var hostKeyConfig = string.Join('\n', hostKeyLines);

        // sshd refuses to start without its privilege separation directory; on a machine without systemd nobody made it.
        System.IO.Directory.CreateDirectory("/run/sshd");

        Port = FreePort();
        var config = Path.Combine(Directory, "sshd_config");
        await File.WriteAllTextAsync(config, $"""
            Port {Port}
            ListenAddress 127.0.0.1
            {hostKeyConfig}
            PidFile {Path.Combine(Directory, "sshd.pid")}
            AuthorizedKeysFile {AuthorizedKeysFile}
            UsePAM no
            StrictModes no
            PermitRootLogin prohibit-password
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PubkeyAuthentication yes
            LogLevel VERBOSE
            MaxStartups 50
            Subsystem sftp internal-sftp

            """);

        var info = new ProcessStartInfo(SshdPath)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "-D", "-e", "-f", config })
        {
            info.ArgumentList.Add(argument);
        }

        _process = Process.Start(info) ?? throw new InvalidOperationException("could not start sshd");
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { _log.Enqueue(e.Data); } };
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) { _log.Enqueue(e.Data); } };
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();

        var deadline = Stopwatch.StartNew();
        while (!await AnswersWithBannerAsync(Port))
        {
            if (_process.HasExited || deadline.Elapsed > TimeSpan.FromSeconds(60))
            {
                var log = Log;
                await DisposeAsync();
                throw new InvalidOperationException($"sshd did not start (exit code {(_process.HasExited ? _process.ExitCode : -1)}):\n{log}");
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
                // Only the server this fixture started, by its own pid; -D keeps sshd in the foreground as that pid.
                process.Kill();
                await process.WaitForExitAsync();
            }

            process.Dispose();
            _process = null;
        }

        _directory?.Dispose();
    }

    /// <summary>Waits until sshd has logged a line matching <paramref name="predicate"/> after line <paramref name="since"/>.</summary>
    public async Task<bool> WaitForLogAsync(int since, Func<string, bool> predicate, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < timeout)
        {
            if (LogSince(since).Any(predicate))
            {
                return true;
            }

            await Task.Delay(50);
        }

        return false;
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static async Task<bool> AnswersWithBannerAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
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

[CollectionDefinition(Name)]
public sealed class SshdGroup : ICollectionFixture<SshdFixture>
{
    public const string Name = "sshd";
}
