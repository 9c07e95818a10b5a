using Provisioner.Engine.LocalHost;

namespace Provisioner.Engine.Tests.LocalHost;

/// <summary>A scripted machine: which sockets answer, which files exist, what commands do.</summary>
internal sealed class FakeLocalSystem : ILocalSystem
{
    private readonly Lock _gate = new();

    public bool IsRoot { get; set; } = true;

    public HashSet<string> ExistingPaths { get; } = [];

    public HashSet<string> AnsweringSockets { get; } = [];

    public Dictionary<string, string> Files { get; } = [];

    public Dictionary<string, string> Executables { get; } = new()
    {
        ["libvirtd"] = "/usr/sbin/libvirtd",
        ["virtlogd"] = "/usr/sbin/virtlogd",
        ["apt-get"] = "/usr/bin/apt-get",
        ["systemctl"] = "/usr/bin/systemctl",
    };

    /// <summary>What running a command does: returns the exit code; may change the fake's state.</summary>
    public Dictionary<string, Func<IReadOnlyList<string>, int>> Commands { get; } = [];

    /// <summary>Running processes by pid and command name.</summary>
    public Dictionary<int, string> Processes { get; } = [];

    /// <summary>Processes that ignore SIGTERM.</summary>
    public HashSet<int> IgnoresTerm { get; } = [];

    public List<string> Ran { get; } = [];

    public List<(int Pid, string Signal)> Signals { get; } = [];

    public int SocketProbes { get; private set; }

    public bool PathExists(string path) => ExistingPaths.Contains(path) || Files.ContainsKey(path);

    public string? FindExecutable(string name) => Executables.GetValueOrDefault(name);

    public Task<bool> SocketAnswersAsync(string socketPath, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            SocketProbes++;
            return Task.FromResult(AnsweringSockets.Contains(socketPath));
        }
    }

    public Task<string?> ReadFileAsync(string path, CancellationToken cancellationToken) =>
        Task.FromResult(Files.GetValueOrDefault(path));

    public Task<ChildProcessResult> RunAsync(string fileName, IReadOnlyList<string> arguments, IProgress<string>? output, CancellationToken cancellationToken)
    {
        Ran.Add(string.Join(' ', [fileName, .. arguments]));
        var name = Path.GetFileName(fileName);
        var exitCode = Commands.TryGetValue(name, out var behaviour) ? behaviour(arguments) : 0;
        return Task.FromResult(new ChildProcessResult(exitCode, exitCode == 0 ? [] : [$"{name}: failed"]));
    }

    public bool IsProcessRunning(int pid, string expectedName) =>
        Processes.TryGetValue(pid, out var name) && name == expectedName;

    public Task SignalAsync(int pid, string signal, CancellationToken cancellationToken)
    {
        Signals.Add((pid, signal));
        if (signal == "KILL" || !IgnoresTerm.Contains(pid))
        {
            Processes.Remove(pid);
        }

        return Task.CompletedTask;
    }

    /// <summary>Makes <c>name -d</c> start a daemon: its pid file, process and socket appear.</summary>
    public void DaemonStarts(string name, int pid, string pidFile, string socket)
    {
        Commands[name] = _ =>
        {
            Files[pidFile] = $"{pid}\n";
            Processes[pid] = name;
            AnsweringSockets.Add(socket);
            return 0;
        };
    }
}
