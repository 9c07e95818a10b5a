using Microsoft.Extensions.Time.Testing;
using Provisioner.Engine.LocalHost;
using Provisioner.Engine.Tests.Images;

namespace Provisioner.Engine.Tests.LocalHost;

public sealed class LocalLibvirtDaemonTests : IDisposable
{
    private const string Socket = LocalLibvirtDaemon.DefaultSocketPath;
    private readonly TempDirectory _temp = new();
    private readonly FakeLocalSystem _system = new();
    private readonly FakeTimeProvider _time = new() { AutoAdvanceAmount = TimeSpan.FromSeconds(1) };

    public void Dispose() => _temp.Dispose();

    private LocalLibvirtDaemon NewDaemon() => new(_system, _time)
    {
        LockPath = _temp.Combine("libvirtd.lock"),
        PollInterval = TimeSpan.Zero,
        StartTimeout = TimeSpan.FromSeconds(30),
        StopTimeout = TimeSpan.FromSeconds(10),
    };

    private void BothDaemonsStart()
    {
        _system.DaemonStarts("virtlogd", 501, "/run/virtlogd.pid", "/run/libvirt/virtlogd-sock");
        _system.DaemonStarts("libvirtd", 502, "/run/libvirtd.pid", Socket);
    }

    [Fact]
    public async Task EnsureRunningAsync_SocketAnswers_StartsNothing()
    {
        _system.AnsweringSockets.Add(Socket);
        _system.ExistingPaths.Add("/run/systemd/system");

        var handle = await NewDaemon().EnsureRunningAsync(TestContext.Current.CancellationToken);

        Assert.Equal(LibvirtDaemonOutcome.AlreadyRunning, handle.Outcome);
        Assert.True(handle.IsRunning);
        Assert.Empty(handle.StartedDaemons);
        Assert.Empty(_system.Ran);
    }

    [Fact]
    public async Task EnsureRunningAsync_SystemdAndNotRoot_ReturnsSystemctlCommand()
    {
        _system.ExistingPaths.Add("/run/systemd/system");
        _system.IsRoot = false;

        var handle = await NewDaemon().EnsureRunningAsync(TestContext.Current.CancellationToken);

        Assert.Equal(LibvirtDaemonOutcome.ActionRequired, handle.Outcome);
        Assert.False(handle.IsRunning);
        Assert.Equal("sudo systemctl start libvirtd.service", handle.RequiredCommand);
        Assert.Empty(_system.Ran);
    }

    [Fact]
    public async Task EnsureRunningAsync_SystemdAndRoot_AsksSystemdAndOwnsNothing()
    {
        _system.ExistingPaths.Add("/run/systemd/system");
        _system.Commands["systemctl"] = _ =>
        {
            _system.AnsweringSockets.Add(Socket);
            _system.Processes[700] = "libvirtd";
            return 0;
        };

        var handle = await NewDaemon().EnsureRunningAsync(TestContext.Current.CancellationToken);
        await handle.StopStartedAsync(TestContext.Current.CancellationToken);

        Assert.Equal(LibvirtDaemonOutcome.StartedByServiceManager, handle.Outcome);
        Assert.Equal(["/usr/bin/systemctl start libvirtd.service"], _system.Ran);
        Assert.Empty(handle.StartedDaemons);
        Assert.Empty(_system.Signals);
    }

    [Fact]
    public async Task EnsureRunningAsync_NoServiceManagerAndNotRoot_ReturnsDaemonCommand()
    {
        _system.IsRoot = false;

        var handle = await NewDaemon().EnsureRunningAsync(TestContext.Current.CancellationToken);

        Assert.Equal(LibvirtDaemonOutcome.ActionRequired, handle.Outcome);
        Assert.Equal("sudo sh -c 'virtlogd -d && libvirtd -d'", handle.RequiredCommand);
        Assert.Empty(_system.Ran);
    }

    [Fact]
    public async Task EnsureRunningAsync_NoServiceManagerAndRoot_StartsVirtlogdThenLibvirtdAndRecordsPids()
    {
        BothDaemonsStart();

        var handle = await NewDaemon().EnsureRunningAsync(TestContext.Current.CancellationToken);

        Assert.Equal(LibvirtDaemonOutcome.Started, handle.Outcome);
        Assert.Equal(["/usr/sbin/virtlogd -d", "/usr/sbin/libvirtd -d"], _system.Ran);
        Assert.Equal([new StartedDaemon("virtlogd", 501), new StartedDaemon("libvirtd", 502)], handle.StartedDaemons);
    }

    [Fact]
    public async Task EnsureRunningAsync_NoServiceManagerWithKvmDevice_GivesItToGroupKvmBeforeStarting()
    {
        BothDaemonsStart();
        _system.ExistingPaths.Add("/dev/kvm");

        await NewDaemon().EnsureRunningAsync(TestContext.Current.CancellationToken);

        Assert.Equal(["chown root:kvm /dev/kvm", "chmod 0660 /dev/kvm", "/usr/sbin/virtlogd -d", "/usr/sbin/libvirtd -d"], _system.Ran);
    }

    [Fact]
    public async Task EnsureRunningAsync_KvmDeviceCannotBeChanged_StillStartsTheDaemons()
    {
        BothDaemonsStart();
        _system.ExistingPaths.Add("/dev/kvm");
        _system.Commands["chown"] = _ => 1;

        var handle = await NewDaemon().EnsureRunningAsync(TestContext.Current.CancellationToken);

        Assert.Equal(LibvirtDaemonOutcome.Started, handle.Outcome);
        Assert.Equal(["chown root:kvm /dev/kvm", "/usr/sbin/virtlogd -d", "/usr/sbin/libvirtd -d"], _system.Ran);
    }

    [Fact]
    public async Task EnsureRunningAsync_VirtlogdAlreadyAnswers_StartsOnlyLibvirtd()
    {
        BothDaemonsStart();
        _system.AnsweringSockets.Add("/run/libvirt/virtlogd-sock");

        var handle = await NewDaemon().EnsureRunningAsync(TestContext.Current.CancellationToken);

        Assert.Equal(["/usr/sbin/libvirtd -d"], _system.Ran);
        Assert.Equal([new StartedDaemon("libvirtd", 502)], handle.StartedDaemons);
    }

    [Fact]
    public async Task EnsureRunningAsync_SocketNeverAnswers_ThrowsTimeoutAndStopsWhatItStarted()
    {
        BothDaemonsStart();
        _system.Commands["libvirtd"] = _ =>
        {
            _system.Files["/run/libvirtd.pid"] = "502";
            _system.Processes[502] = "libvirtd";
            return 0; // but the socket never appears
        };

        var error = await Assert.ThrowsAsync<LibvirtDaemonTimeoutException>(() => NewDaemon().EnsureRunningAsync(TestContext.Current.CancellationToken));

        Assert.Equal(Socket, error.SocketPath);
        Assert.Contains(Socket, error.Message);
        Assert.Equal([(502, "TERM"), (501, "TERM")], _system.Signals);
    }

    [Fact]
    public async Task EnsureRunningAsync_DaemonCommandFails_ThrowsWithItsOutput()
    {
        BothDaemonsStart();
        _system.Commands["libvirtd"] = _ => 1;

        var error = await Assert.ThrowsAsync<LibvirtDaemonException>(() => NewDaemon().EnsureRunningAsync(TestContext.Current.CancellationToken));

        Assert.Contains("libvirtd -d", error.Message);
        Assert.Contains("libvirtd: failed", error.Message);
        Assert.Equal([(501, "TERM")], _system.Signals);
    }

    [Fact]
    public async Task EnsureRunningAsync_LibvirtdNotInstalled_ThrowsNamingPackage()
    {
        BothDaemonsStart();
        _system.Executables.Remove("libvirtd");

        var error = await Assert.ThrowsAsync<LibvirtDaemonException>(() => NewDaemon().EnsureRunningAsync(TestContext.Current.CancellationToken));

        Assert.Contains("libvirt-daemon-system", error.Message);
    }

    [Fact]
    public async Task EnsureRunningAsync_OtherProcessStartsItWhileWeWaitForLock_StartsNothing()
    {
        BothDaemonsStart();
        var daemon = new LocalLibvirtDaemon(_system, TimeProvider.System)
        {
            LockPath = _temp.Combine("libvirtd.lock"),
            PollInterval = TimeSpan.FromMilliseconds(10),
        };
        var otherProcess = new FileStream(daemon.LockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);

        var ensure = daemon.EnsureRunningAsync(TestContext.Current.CancellationToken);
        await Task.Delay(100, TestContext.Current.CancellationToken);
        Assert.False(ensure.IsCompleted);
        _system.AnsweringSockets.Add(Socket);
        await otherProcess.DisposeAsync();
        var handle = await ensure;

        Assert.Equal(LibvirtDaemonOutcome.AlreadyRunning, handle.Outcome);
        Assert.Empty(_system.Ran);
    }

    [Fact]
    public async Task StopStartedAsync_StartedBoth_TerminatesNewestFirstByPid()
    {
        BothDaemonsStart();
        var handle = await NewDaemon().EnsureRunningAsync(TestContext.Current.CancellationToken);

        await handle.StopStartedAsync(TestContext.Current.CancellationToken);

        Assert.Equal([(502, "TERM"), (501, "TERM")], _system.Signals);
        Assert.Empty(_system.Processes);
    }

    [Fact]
    public async Task StopStartedAsync_PidNowBelongsToAnotherProgram_LeavesItAlone()
    {
        BothDaemonsStart();
        var handle = await NewDaemon().EnsureRunningAsync(TestContext.Current.CancellationToken);
        _system.Processes[502] = "bash";
        _system.Processes.Remove(501);

        await handle.StopStartedAsync(TestContext.Current.CancellationToken);

        Assert.Empty(_system.Signals);
        Assert.Equal("bash", _system.Processes[502]);
    }

    [Fact]
    public async Task StopStartedAsync_DaemonIgnoresTerm_KilledAfterTimeout()
    {
        BothDaemonsStart();
        var handle = await NewDaemon().EnsureRunningAsync(TestContext.Current.CancellationToken);
        _system.IgnoresTerm.Add(502);

        await handle.StopStartedAsync(TestContext.Current.CancellationToken);

        Assert.Equal([(502, "TERM"), (502, "KILL"), (501, "TERM")], _system.Signals);
    }

    [Fact]
    public async Task StopStartedAsync_CalledTwice_SignalsOnce()
    {
        BothDaemonsStart();
        var handle = await NewDaemon().EnsureRunningAsync(TestContext.Current.CancellationToken);

        await handle.StopStartedAsync(TestContext.Current.CancellationToken);
        BothDaemonsStart();
        _system.Processes[501] = "virtlogd";
        _system.Processes[502] = "libvirtd";
        await handle.StopStartedAsync(TestContext.Current.CancellationToken);

        Assert.Equal(2, _system.Signals.Count);
    }
}
