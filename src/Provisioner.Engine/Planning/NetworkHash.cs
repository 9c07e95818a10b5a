using System.Security.Cryptography;
using System.Text;
using Provisioner.Core.Stacks;

namespace Provisioner.Engine.Planning;

/// <summary>Hash of the network fields that cannot change in place (stored in the network's metadata).</summary>
public static class NetworkHash
{
    /// <summary>SHA-256 (hex) over the stack, name, CIDR, mode and bridge of <paramref name="network"/>.</summary>
    public static string Compute(string stack, NetworkDefinition network)
    {
        ArgumentNullException.ThrowIfNull(network);
        var canonical = $"v1\n{stack}\n{network.Name}\n{network.Cidr}\n{network.Mode}\n{network.Bridge}";
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
    }
}
