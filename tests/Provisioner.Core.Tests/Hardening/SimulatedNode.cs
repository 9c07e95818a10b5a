using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using Provisioner.Core.Hardening;
using Provisioner.Core.Stacks;

namespace Provisioner.Core.Tests.Hardening;

/// <summary>
/// A node simulated with three network namespaces in 10.234.0.0/16:
/// <c>out</c> (clients, two source addresses: an admin/allowed one and a stranger) — <c>node</c> (the host
/// under test, with a <c>docker0</c> bridge, IP forwarding, and Docker 20.10's own iptables rules written
/// by <see cref="StartDockerAsync"/>) — <c>ct</c> (a "container" on docker0 listening on port 80, published
/// by Docker's DNAT as 8080 and, without any policy, as 7070). The node also listens on 22 like sshd.
/// </summary>
internal sealed class SimulatedNode : IAsyncDisposable
{
    public const int PublishedWithPolicy = 8080;
    public const int PublishedWithoutPolicy = 7070;

    private readonly List<IDisposable> _servers = [];
    private string? _files;

    private SimulatedNode(Netns node, Netns outside, Netns container, int subnet)
    {
        Node = node;
        Outside = outside;
        Container = container;
        NodeAddress = IPAddress.Parse($"10.234.{subnet}.1");
        Admin = IPAddress.Parse($"10.234.{subnet}.2");
        Stranger = IPAddress.Parse($"10.234.{subnet}.3");
        Bridge = IPAddress.Parse($"10.234.{subnet + 1}.1");
        ContainerAddress = IPAddress.Parse($"10.234.{subnet + 1}.2");
    }

    public Netns Node { get; }

    public Netns Outside { get; }

    public Netns Container { get; }

    public IPAddress NodeAddress { get; }

    /// <summary>The admin network's (and the 8080 policy's only) source address.</summary>
    public IPAddress Admin { get; }

    /// <summary>A source no policy allows.</summary>
    public IPAddress Stranger { get; }

    public IPAddress Bridge { get; }

    public IPAddress ContainerAddress { get; }

    public static async Task<SimulatedNode> CreateAsync()
    {
        Netns.RequirePrerequisites();
        var tag = Netns.NewTag();
        // Two adjacent /24s inside 10.234.0.0/16; the random pair keeps parallel tests apart.
        var subnet = 2 * RandomNumberGenerator.GetInt32(0, 127);
        var node = await Netns.CreateAsync($"hd-{tag}-node");
        var outside = await Netns.CreateAsync($"hd-{tag}-out");
        var container = await Netns.CreateAsync($"hd-{tag}-ct");
        var sim = new SimulatedNode(node, outside, container, subnet);
        try
        {
            await sim.WireAsync(subnet);
        }
        catch
        {
            await sim.DisposeAsync();
            throw;
        }
        return sim;
    }

    private async Task WireAsync(int subnet)
    {
        var outNet = $"10.234.{subnet}";
        var ctNet = $"10.234.{subnet + 1}";
        await Node.ExecAsync("ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", Outside.Name);
        await Node.ExecAsync("ip", "link", "add", "vethct", "type", "veth", "peer", "name", "eth0", "netns", Container.Name);
        await Node.ShAsync($"""
            ip addr add {outNet}.1/24 dev eth0
            ip link set eth0 up
            ip link add docker0 type bridge
            ip addr add {ctNet}.1/24 dev docker0
            ip link set docker0 up
            ip link set vethct master docker0
            ip link set vethct up
            sysctl -qw net.ipv4.ip_forward=1
            """);
        await Outside.ShAsync($"""
            ip addr add {outNet}.2/24 dev eth0
            ip addr add {outNet}.3/24 dev eth0
            ip link set eth0 up
            ip route add {ctNet}.0/24 via {outNet}.1
            """);
        await Container.ShAsync($"""
            ip addr add {ctNet}.2/24 dev eth0
            ip link set eth0 up
            ip route add default via {ctNet}.1
            """);
        _servers.Add(Container.Listen(ContainerAddress, 80, "container"));
        _servers.Add(Node.Listen(IPAddress.Any, 22, "ssh"));
    }

    /// <summary>The stack this node belongs to: SSH from <see cref="Admin"/> only, 8080/tcp from <see cref="Admin"/> only.</summary>
    public StackDefinition Stack()
    {
        var stack = HardeningSamples.Sandbox();
        var admin = Ipv4Cidr.Parse(Admin + "/32");
        return stack with
        {
            Access = stack.Access with { AdminCidrs = [admin] },
            Firewall = new FirewallSettings
            {
                PublishedPorts = [new PublishedPortPolicy { Port = PublishedWithPolicy, Protocol = TransportProtocol.Tcp, From = [admin] }],
            },
        };
    }

    /// <summary>Writes the rendered bundle's firewall files into a temporary folder and returns it.</summary>
    public string WriteFiles()
    {
        if (_files is not null)
        {
            return _files;
        }
        var bundle = HardeningSamples.Render(Stack(), "box");
        _files = Directory.CreateTempSubdirectory("hd-files-").FullName;
        foreach (var path in new[] { HardeningPaths.Ruleset, HardeningPaths.DockerUserRules, HardeningPaths.DockerUserPolicy })
        {
            File.WriteAllText(Path.Combine(_files, Path.GetFileName(path)), bundle.FindFile(path)!.Content);
        }
        return _files;
    }

    /// <summary>Loads table inet provisioner the way provisioner-firewall.service does.</summary>
    public Task LoadTableAsync() => Node.ExecAsync("nft", "-f", Path.Combine(WriteFiles(), "provisioner.nft"));

    /// <summary>Runs docker-user-policy the way both units do.</summary>
    public Task ApplyDockerUserAsync() => Node.ExecAsync("sh", Path.Combine(WriteFiles(), "docker-user-policy"), Path.Combine(WriteFiles(), "docker-user.rules"));

    /// <summary>
    /// What Docker 20.10 (iptables-nft) does at start for one container on docker0 with 80 published as
    /// 8080 and 7070: it keeps an existing DOCKER-USER chain, makes sure it ends in RETURN and that FORWARD
    /// jumps to it first, and accepts forwarded traffic to the container's published port.
    /// </summary>
    public Task StartDockerAsync() => Node.ShAsync(string.Create(CultureInfo.InvariantCulture, $"""
        iptables -w -n -L DOCKER-USER >/dev/null 2>&1 || iptables -w -N DOCKER-USER
        iptables -w -C DOCKER-USER -j RETURN 2>/dev/null || iptables -w -A DOCKER-USER -j RETURN
        iptables -w -N DOCKER
        iptables -w -N DOCKER-ISOLATION-STAGE-1
        iptables -w -A DOCKER-ISOLATION-STAGE-1 -j RETURN
        iptables -w -P FORWARD DROP
        iptables -w -A FORWARD -j DOCKER-USER
        iptables -w -A FORWARD -j DOCKER-ISOLATION-STAGE-1
        iptables -w -A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
        iptables -w -A FORWARD -o docker0 -j DOCKER
        iptables -w -A FORWARD -i docker0 ! -o docker0 -j ACCEPT
        iptables -w -A FORWARD -i docker0 -o docker0 -j DROP
        iptables -w -A DOCKER -d {ContainerAddress}/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT
        iptables -w -t nat -N DOCKER
        iptables -w -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
        iptables -w -t nat -A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
        iptables -w -t nat -A POSTROUTING -s {ContainerAddress}/24 ! -o docker0 -j MASQUERADE
        iptables -w -t nat -A DOCKER -i docker0 -j RETURN
        iptables -w -t nat -A DOCKER ! -i docker0 -p tcp -m tcp --dport {PublishedWithPolicy} -j DNAT --to-destination {ContainerAddress}:80
        iptables -w -t nat -A DOCKER ! -i docker0 -p tcp -m tcp --dport {PublishedWithoutPolicy} -j DNAT --to-destination {ContainerAddress}:80
        """));

    /// <summary>
    /// The worst a Docker restart can do to iptables: every chain of its filter and nat tables flushed and
    /// deleted (DOCKER-USER and our chain with them), then set up again by <see cref="StartDockerAsync"/>.
    /// </summary>
    public async Task RestartDockerAsync()
    {
        await Node.ShAsync("""
            iptables -w -F
            iptables -w -X
            iptables -w -t nat -F
            iptables -w -t nat -X
            iptables -w -P FORWARD ACCEPT
            """);
        await StartDockerAsync();
    }

    /// <summary>iptables-save of one table without counters, comments and our own chain.</summary>
    public async Task<string> DockerRulesAsync(string table)
    {
        var save = await Node.ExecAsync("iptables-save", "-t", table);
        return string.Join('\n', save.Split('\n').Where(l => !l.StartsWith('#') && !l.Contains("PROVISIONER-PUBLISHED", StringComparison.Ordinal))
            .Select(l => l.StartsWith(':') ? l[..l.IndexOf('[', StringComparison.Ordinal)] : l));
    }

    // A connection the firewall drops is only seen as the absence of an answer, so a probe expected to be dropped
    // waits briefly (an allowed one answers in milliseconds), while a probe expected to answer gets time for a lost
    // first ARP exchange or SYN and a test process starved by a loaded machine: it returns as soon as it connects.
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan DropTimeout = TimeSpan.FromSeconds(2);

    /// <summary>The banner of the service at <paramref name="port"/>, for a connection expected to be answered.</summary>
    public Task<string?> ConnectAsync(IPAddress source, int port) => Outside.TryConnectAsync(source, new IPEndPoint(NodeAddress, port), AnswerTimeout);

    /// <summary>Like <see cref="ConnectAsync"/> for a connection expected to be dropped: null when it is.</summary>
    public Task<string?> ConnectExpectingDropAsync(IPAddress source, int port) => Outside.TryConnectAsync(source, new IPEndPoint(NodeAddress, port), DropTimeout);

    public Task<string?> ConnectToContainerAsync(IPAddress source) => Outside.TryConnectAsync(source, new IPEndPoint(ContainerAddress, 80), AnswerTimeout);

    public Task<string?> ConnectToContainerExpectingDropAsync(IPAddress source) => Outside.TryConnectAsync(source, new IPEndPoint(ContainerAddress, 80), DropTimeout);

    public async ValueTask DisposeAsync()
    {
        foreach (var server in _servers)
        {
            server.Dispose();
        }
        await Container.DisposeAsync();
        await Outside.DisposeAsync();
        await Node.DisposeAsync();
        if (_files is not null)
        {
            Directory.Delete(_files, recursive: true);
        }
    }
}
