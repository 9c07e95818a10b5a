using Provisioner.Engine.LocalHost;
using Provisioner.Engine.Tests.Images;

namespace Provisioner.Engine.Tests.LocalHost;

/// <summary>LocalLibvirtDaemon against this machine's real libvirt daemon.</summary>
public sealed class LocalLibvirtDaemonLiveTests
{
    [Fact]
    public async Task EnsureRunningAsync_RealMachine_DaemonAnswersAndOnlyOwnStartIsStopped()
    {
        var system = LinuxLocalSystem.Instance;
        var answeredBefore = await system.SocketAnswersAsync(LocalLibvirtDaemon.DefaultSocketPath, TestContext.Current.CancellationToken);
        if (!answeredBefore)
        {
            Repository.Require(system.IsRoot && system.FindExecutable("libvirtd") is not null,
                "no libvirt daemon answers on /run/libvirt/libvirt-sock and this process cannot start one (needs root and libvirt-daemon-system)");
            Repository.Require(!system.PathExists("/run/systemd/system"), "systemd manages libvirtd here; this test starts daemons only without a service manager");
        }

        var handle = await new LocalLibvirtDaemon().EnsureRunningAsync(TestContext.Current.CancellationToken);
        try
        {
            Assert.True(await system.SocketAnswersAsync(LocalLibvirtDaemon.DefaultSocketPath, TestContext.Current.CancellationToken));
            if (answeredBefore)
            {
                // The coordinator's (or CI's) daemon: detected, and nothing of ours to stop.
                Assert.Equal(LibvirtDaemonOutcome.AlreadyRunning, handle.Outcome);
                Assert.Empty(handle.StartedDaemons);
            }
            else
            {
                Assert.Equal(LibvirtDaemonOutcome.Started, handle.Outcome);
                Assert.Contains(handle.StartedDaemons, d => d.Name == "libvirtd" && system.IsProcessRunning(d.Pid, "libvirtd"));
            }
        }
        finally
        {
            await handle.StopStartedAsync(TestContext.Current.CancellationToken);
        }

        Assert.Equal(answeredBefore, await system.SocketAnswersAsync(LocalLibvirtDaemon.DefaultSocketPath, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task SocketAnswersAsync_ListenerThenNothingListening_TrueThenFalse()
    {
        using var temp = new TempDirectory();
        var path = temp.Combine("daemon.sock");
        using (var listener = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified))
        {
            listener.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(path));
            listener.Listen();
            Assert.True(await LinuxLocalSystem.Instance.SocketAnswersAsync(path, TestContext.Current.CancellationToken));
        }

        // A path that exists but where nothing listens, as a socket file left by a crashed daemon.
        File.WriteAllText(path, string.Empty);
        Assert.False(await LinuxLocalSystem.Instance.SocketAnswersAsync(path, TestContext.Current.CancellationToken));
        Assert.False(await LinuxLocalSystem.Instance.SocketAnswersAsync(temp.Combine("absent.sock"), TestContext.Current.CancellationToken));
    }

    [Fact]
    public void IsProcessRunning_OwnPid_MatchesOnlyOwnName()
    {
        var own = Environment.ProcessId;
        var name = File.ReadAllText($"/proc/{own}/comm").TrimEnd('\n');

        Assert.True(LinuxLocalSystem.Instance.IsProcessRunning(own, name));
        Assert.False(LinuxLocalSystem.Instance.IsProcessRunning(own, "libvirtd"));
    }
}
