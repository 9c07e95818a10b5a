using System.ComponentModel;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Provisioner.Core.Tests.Templates;

namespace Provisioner.Core.Tests.Hardening;

/// <summary>
/// A network namespace created by a test (name prefixed <c>hd-</c>), deleted on dispose together with
/// every interface inside it. Commands run in it through <c>ip netns exec</c>; sockets are created in it
/// in-process by switching one short-lived thread into the namespace, so no netcat is needed.
/// </summary>
internal sealed class Netns : IAsyncDisposable
{
    private const int CloneNewNet = 0x40000000;

    private Netns(string name) => Name = name;

    public string Name { get; }

    /// <summary>Skips the test unless namespaces, nftables and iptables can be used here.</summary>
    public static void RequirePrerequisites()
    {
        Assert.SkipUnless(Environment.UserName == "root" || geteuid() == 0, "network namespace tests need root (ip netns add)");
        ExternalTool.Require("ip", "iproute2");
        ExternalTool.Require("nft", "nftables");
        ExternalTool.Require("iptables", "iptables");
        ExternalTool.Require("iptables-restore", "iptables");
    }

    /// <summary>A random tag for one test's namespaces and interfaces.</summary>
    public static string NewTag() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));

    public static async Task<Netns> CreateAsync(string name)
    {
        Assert.StartsWith("hd-", name, StringComparison.Ordinal);
        await RunAsync("ip", "netns", "add", name);
        var ns = new Netns(name);
        await ns.ExecAsync("ip", "link", "set", "lo", "up");
        return ns;
    }

    public static async Task<string> RunAsync(string program, params string[] args)
    {
        var (code, stdout, stderr) = await ExternalTool.RunAsync(ExternalTool.Find(program) ?? program, args);
        if (code != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} exited {code}: {stderr.Trim()}");
        }
        return stdout;
    }

    public Task<string> ExecAsync(params string[] argv) => RunAsync("ip", ["netns", "exec", Name, .. argv]);

    public async Task<(int ExitCode, string StdOut, string StdErr)> TryExecAsync(params string[] argv) =>
        await ExternalTool.RunAsync(ExternalTool.Find("ip")!, ["netns", "exec", Name, .. argv]);

    /// <summary>Runs a constant test script with <c>sh -eu</c> inside the namespace.</summary>
    public Task<string> ShAsync(string script) => ExecAsync("sh", "-euc", script);

    /// <summary>Creates a socket that lives in this namespace.</summary>
    public Socket CreateSocket(SocketType type, ProtocolType protocol)
    {
        Socket? socket = null;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var handle = File.OpenHandle($"/var/run/netns/{Name}");
                if (setns((int)handle.DangerousGetHandle(), CloneNewNet) != 0)
                {
                    throw new Win32Exception(Marshal.GetLastWin32Error(), $"setns into {Name}");
                }
                socket = new Socket(AddressFamily.InterNetwork, type, protocol);
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        return failure is null ? socket! : throw new InvalidOperationException($"cannot create a socket in {Name}", failure);
    }

    /// <summary>A TCP server in this namespace answering every connection with <paramref name="banner"/>.</summary>
    public TcpServer Listen(IPAddress address, int port, string banner) => new(CreateSocket(SocketType.Stream, ProtocolType.Tcp), new IPEndPoint(address, port), banner);

    /// <summary>
    /// Connects from <paramref name="source"/> (an address of this namespace) to <paramref name="target"/> and
    /// returns the server's banner, or <see langword="null"/> when no connection was made in time
    /// (the firewall drops, so a blocked connection times out rather than being refused).
    /// </summary>
    public async Task<string?> TryConnectAsync(IPAddress source, IPEndPoint target, TimeSpan? timeout = null)
    {
        using var socket = CreateSocket(SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(source, 0));
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(2));
        try
        {
            await socket.ConnectAsync(target, cts.Token);
            var buffer = new byte[256];
            var read = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            return System.Text.Encoding.ASCII.GetString(buffer, 0, read);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.HostUnreachable or SocketError.NetworkUnreachable)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await ExternalTool.RunAsync(ExternalTool.Find("ip")!, ["netns", "del", Name]);
    }

    // DllImport, not LibraryImport: the source generator needs unsafe code, which the test project does not allow.
    [DllImport("libc", SetLastError = true)]
    private static extern int setns(int fd, int nstype);

    [DllImport("libc")]
    private static extern uint geteuid();
}

/// <summary>A TCP server on a socket of a test namespace; answers each connection with a banner and closes it.</summary>
internal sealed class TcpServer : IDisposable
{
    private readonly Socket _socket;
    private readonly CancellationTokenSource _stop = new();

    public TcpServer(Socket socket, IPEndPoint endpoint, string banner)
    {
        _socket = socket;
        _socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _socket.Bind(endpoint);
        _socket.Listen(16);
        _ = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    using var client = await _socket.AcceptAsync(_stop.Token);
                    await client.SendAsync(System.Text.Encoding.ASCII.GetBytes(banner), SocketFlags.None, _stop.Token);
                    client.Shutdown(SocketShutdown.Both);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                catch (SocketException)
                {
                    // A client that went away; keep serving.
                }
                catch (ObjectDisposedException)
                {
                    return;
                }
            }
        });
    }

    public void Dispose()
    {
        _stop.Cancel();
        _socket.Dispose();
        _stop.Dispose();
    }
}
