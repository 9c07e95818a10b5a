using System.Globalization;
using System.Text;
using Provisioner.Core.Stacks;
using Provisioner.Engine.Inventory;

namespace Provisioner.Engine.Sandboxes;

/// <summary>
/// The <c>sandbox</c> stack, written as the same YAML a user would write and validated by <see cref="StackLoader"/>,
/// so sandboxes get exactly the checks any stack gets.
/// </summary>
public static class SandboxStackBuilder
{
    /// <summary>The stack holding <paramref name="sandboxes"/> on <paramref name="host"/>.</summary>
    /// <exception cref="StackValidationException">A value is invalid (names are checked earlier, so this is a bug guard).</exception>
    public static StackDefinition Build(SandboxHost host, IEnumerable<SandboxSpec> sandboxes)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(sandboxes);
        var inv = CultureInfo.InvariantCulture;
        var yaml = new StringBuilder();
        yaml.AppendLine("config:");
        yaml.AppendLine("  provisioner:hosts:");
        yaml.AppendLine(inv, $"    - name: {Quote(host.HostName)}");
        yaml.AppendLine(inv, $"      uri: {Quote(host.Uri)}");
        yaml.AppendLine("      region: local");
        yaml.AppendLine("      zone: local");
        yaml.AppendLine(inv, $"      pool: {{ name: sandbox, path: {Quote(host.PoolPath)}, media: ssd }}");
        yaml.AppendLine("  provisioner:networks:");
        yaml.AppendLine(inv, $"    - {{ name: sandbox, cidr: {Quote(host.Cidr)}, mode: nat }}");
        yaml.AppendLine(inv, $"  provisioner:image: {{ name: {Quote(host.Image)} }}");
        var specs = sandboxes.OrderBy(s => s.Name, StringComparer.Ordinal).ToList();
        if (specs.Count == 0)
        {
            yaml.AppendLine("  provisioner:nodes: []");
        }
        else
        {
            yaml.AppendLine("  provisioner:nodes:");
            foreach (var s in specs)
            {
                yaml.AppendLine(inv, $"    - {{ name: {Quote(s.Name)}, role: sandbox, cpus: {s.Cpus}, memoryMiB: {s.MemoryMiB}, diskGiB: {s.DiskGiB}, diskBus: {s.DiskBus.ToString().ToLowerInvariant()}, network: sandbox{PublishedPorts(s.PublishedPorts)} }}");
            }
        }

        yaml.AppendLine("  provisioner:placement: { region: local, controlPlaneAntiAffinity: false }");
        yaml.AppendLine("  provisioner:access:");
        yaml.AppendLine(inv, $"    user: {Quote(host.User)}");
        yaml.AppendLine("    sshPublicKeys: []");
        // The host reaches its sandboxes from the NAT network's gateway address.
        yaml.AppendLine(inv, $"    adminCidrs: [{Quote(host.Cidr)}, '127.0.0.0/8']");
        yaml.AppendLine("  provisioner:virtualization:");
        yaml.AppendLine(inv, $"    allowEmulation: {(host.Emulation == SandboxEmulation.Off ? "false" : "true")}");
        yaml.AppendLine(inv, $"    type: {(host.Emulation == SandboxEmulation.Force ? "qemu" : "auto")}");
        return StackLoader.Parse(yaml.ToString(), SandboxHost.StackName, "(sandbox stack)");
    }

    /// <summary>The stack's sandboxes as they exist, sized as observed, so rebuilding the stack changes nothing for them.</summary>
    public static IReadOnlyList<SandboxSpec> FromInventory(IEnumerable<ObservedNode> nodes)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        return [.. nodes.Select(n => new SandboxSpec
        {
            Name = n.Name,
            Cpus = n.Cpus,
            MemoryMiB = n.MemoryMiB,
            DiskGiB = n.RootDiskCapacityBytes is { } bytes ? (int)(bytes / (1024UL * 1024 * 1024)) : SandboxSpec.DefaultDiskGiB,
            DiskBus = n.DiskBus ?? DiskBus.Virtio,
            PublishedPorts = n.Metadata.PublishedPorts,
        })];
    }

    // The node's own ports as a flow sequence; ports and CIDRs are typed values, quoted anyway like every other value.
    private static string PublishedPorts(IReadOnlyList<PublishedPortPolicy> ports)
    {
        if (ports.Count == 0)
        {
            return string.Empty;
        }

        var items = ports.Select(p => string.Create(
            CultureInfo.InvariantCulture,
            $"{{ port: {p.Port}, protocol: {(p.Protocol == TransportProtocol.Udp ? "udp" : "tcp")}, from: [{string.Join(", ", p.From.Select(c => Quote(c.ToString())))}] }}"));
        return $", publishedPorts: [{string.Join(", ", items)}]";
    }

    // Single-quoted YAML scalar: the only escape is doubling the quote.
    private static string Quote(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";
}
