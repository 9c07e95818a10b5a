using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace LibvirtSharp.Tests.Live;

/// <summary>
/// qemu+ssh:// through a private sshd the test starts on loopback (own host key, own authorized key), reaching
/// the same system libvirtd through virt-ssh-helper. The host key is pinned in a known_hosts file of the test's
/// own (through libvirt's <c>command=</c> URI parameter naming an ssh wrapper), so nothing is trusted on first use
/// and the user's ~/.ssh is left alone.
/// </summary>
[Collection(nameof(LiveLibvirt))]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class LiveSshTests(LiveLibvirtFixture fixture) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("lvtest-ssh-").FullName;
    private Process? _sshd;

    public void Dispose()
    {
        if (_sshd is { HasExited: false })
        {
            _sshd.Kill();
            _sshd.WaitForExit(10_000);
        }

        _sshd?.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private static async Task RunAsync(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        Assert.True(process.ExitCode == 0, $"{file} failed: {await process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken)}");
    }

    private async Task<int> StartSshdAsync()
    {
        Assert.SkipUnless(File.Exists("/usr/sbin/sshd") && File.Exists("/usr/bin/ssh") && File.Exists("/usr/bin/virt-ssh-helper"),
            "sshd, ssh or virt-ssh-helper is not installed");
        await RunAsync("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", Path.Combine(_dir, "host_key"));
        await RunAsync("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", Path.Combine(_dir, "client_key"));
        await RunAsync("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", Path.Combine(_dir, "stranger_key"));
        File.Copy(Path.Combine(_dir, "client_key.pub"), Path.Combine(_dir, "authorized_keys"));

        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        var config = Path.Combine(_dir, "sshd_config");
        await File.WriteAllLinesAsync(config,
        [
            $"Port {port}",
            "ListenAddress 127.0.0.1",
            $"HostKey {_dir}/host_key",
            $"AuthorizedKeysFile {_dir}/authorized_keys",
            "PermitRootLogin prohibit-password",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "StrictModes no", // the key files live under /tmp, which sshd's ownership checks reject
            $"PidFile {_dir}/sshd.pid",
        ], TestContext.Current.CancellationToken);
        Directory.CreateDirectory("/run/sshd");
        _sshd = Process.Start(new ProcessStartInfo("/usr/sbin/sshd", ["-D", "-e", "-f", config]) { RedirectStandardError = true })!;

        for (var i = 0; i < 600; i++)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port, TestContext.Current.CancellationToken);
                return port;
            }
            catch (SocketException)
            {
                await Task.Delay(100, TestContext.Current.CancellationToken);
            }
        }

        throw new InvalidOperationException("private sshd did not start listening");
    }

    /// <summary>A URI that authenticates with <paramref name="key"/> and accepts only the private sshd's host key.</summary>
    private async Task<string> PinnedUriAsync(int port, string key)
    {
        var hostKey = (await File.ReadAllTextAsync(Path.Combine(_dir, "host_key.pub"), TestContext.Current.CancellationToken)).Split(' ');
        await File.WriteAllTextAsync(Path.Combine(_dir, "known_hosts"), $"[127.0.0.1]:{port} {hostKey[0]} {hostKey[1]}\n", TestContext.Current.CancellationToken);
        var wrapper = Path.Combine(_dir, "ssh-pinned");
        await File.WriteAllTextAsync(wrapper,
            $"#!/bin/sh\nexec /usr/bin/ssh -o UserKnownHostsFile={_dir}/known_hosts -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes \"$@\"\n",
            TestContext.Current.CancellationToken);
        File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return $"qemu+ssh://root@127.0.0.1:{port}/system?keyfile={_dir}/{key}&no_tty=1&command={wrapper}";
    }

    [Fact]
    public async Task Open_QemuSshWithKeyfile_ReachesSystemDaemon()
    {
        fixture.SkipIfUnavailable();
        var port = await StartSshdAsync();
        var uri = await PinnedUriAsync(port, "client_key");

        using var conn = Connection.Open(uri);

        Assert.Equal("QEMU", conn.HypervisorType);
        Assert.Equal(fixture.Connection.Hostname, conn.Hostname);
        Assert.True(conn.IsAlive);
        conn.SetKeepAlive(5, 3);
        using var network = conn.LookupNetwork(fixture.Network.Name);
        Assert.Equal(fixture.Network.Uuid, network.Uuid);
        using var pool = conn.LookupStoragePool(fixture.Pool.Name);
        using var volume = pool.CreateVolume(TestXml.Volume($"ssh-{Guid.NewGuid():N}.img"[..16], 1024 * 1024));
        var payload = new byte[1024 * 1024];
        Random.Shared.NextBytes(payload);
        volume.Upload(new MemoryStream(payload), 0, (ulong)payload.Length, ct: TestContext.Current.CancellationToken);
        using var back = new MemoryStream();
        volume.Download(back, 0, 0, ct: TestContext.Current.CancellationToken);
        Assert.Equal(payload, back.ToArray());
        volume.Delete();
    }

    [Fact]
    public async Task Open_QemuSshWithUnauthorizedKey_ThrowsWithLibvirtMessage()
    {
        fixture.SkipIfUnavailable();
        var port = await StartSshdAsync();
        var uri = await PinnedUriAsync(port, "stranger_key");

        var ex = Assert.Throws<LibvirtException>(() => Connection.Open(uri));

        Assert.False(string.IsNullOrWhiteSpace(ex.LibvirtMessage));
        Assert.False(ex.IsNotFound);
    }

    [Fact]
    public async Task Open_QemuSshWithWrongHostKey_ThrowsWithLibvirtMessage()
    {
        fixture.SkipIfUnavailable();
        var port = await StartSshdAsync();
        var uri = await PinnedUriAsync(port, "client_key");
        // Pin a different key than the server's: the connection must be refused, not trusted on first use.
        var impostor = (await File.ReadAllTextAsync(Path.Combine(_dir, "stranger_key.pub"), TestContext.Current.CancellationToken)).Split(' ');
        await File.WriteAllTextAsync(Path.Combine(_dir, "known_hosts"), $"[127.0.0.1]:{port} {impostor[0]} {impostor[1]}\n", TestContext.Current.CancellationToken);

        var ex = Assert.Throws<LibvirtException>(() => Connection.Open(uri));

        Assert.Contains("host key", ex.LibvirtMessage, StringComparison.OrdinalIgnoreCase);
    }
}
