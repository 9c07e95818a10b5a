using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Provisioner.Core.Stacks;

/// <summary>
/// The definition hash of a node: SHA-256 over a canonical serialization of the fields that define
/// the VM. Stored in the VM's libvirt metadata; a different hash on the next run means the
/// definition changed.
/// </summary>
/// <remarks>
/// <para>Covered (version <see cref="Version"/>): stack, node name, pool, role, cpus, memoryMiB,
/// diskGiB, diskBus, network name and CIDR, image name and recipe.</para>
/// <para>Not covered, on purpose: placement inputs (host pin, region), because existing VMs never
/// move and a changed pin must not look like a changed VM; and guest configuration applied over SSH
/// (access, runtime, firewall, kubernetes), which is updated in place without touching the VM.
/// Derived values (MAC, IP, libvirt names) follow from the covered names.</para>
/// </remarks>
public static class NodeDefinitionHash
{
    /// <summary>Version of the canonical form; bump it when the covered fields change.</summary>
    public const int Version = 1;

    /// <summary>The hash as 64 lower-case hex digits.</summary>
    public static string Compute(StackDefinition stack, NodeDefinition node) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(CanonicalForm(stack, node))));

    /// <summary>The canonical serialization that is hashed: compact JSON, fixed field order.</summary>
    public static string CanonicalForm(StackDefinition stack, NodeDefinition node)
    {
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentNullException.ThrowIfNull(node);
        var network = stack.FindNetwork(node.Network)
            ?? throw new ArgumentException($"node network '{node.Network}' is not in stack '{stack.Name}'", nameof(node));
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("v", Version);
            writer.WriteString("stack", stack.Name);
            writer.WriteString("node", node.Name);
            writer.WriteString("pool", node.Pool);
            writer.WriteString("role", node.Role switch
            {
                NodeRole.ControlPlane => "control-plane",
                NodeRole.Worker => "worker",
                _ => "sandbox",
            });
            writer.WriteNumber("cpus", node.Cpus);
            writer.WriteNumber("memoryMiB", node.MemoryMiB);
            writer.WriteNumber("diskGiB", node.DiskGiB);
            writer.WriteString("diskBus", node.DiskBus == DiskBus.Nvme ? "nvme" : "virtio");
            writer.WriteString("network", network.Name);
            writer.WriteString("cidr", network.Cidr.ToString());
            writer.WriteString("image", stack.Image.Name);
            writer.WriteString("recipe", stack.Image.Recipe);
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
