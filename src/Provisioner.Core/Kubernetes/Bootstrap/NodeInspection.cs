using System.Globalization;

namespace Provisioner.Core.Kubernetes.Bootstrap;

/// <summary>Reads the output of <see cref="NodeScripts.Inspect"/> into an <see cref="ObservedNode"/>.</summary>
public static class NodeInspection
{
    /// <summary>The paths inspection reports on a node: the managed files and the kubeadm files whose presence or mode matters.</summary>
    public static IReadOnlyList<string> PathsFor(IEnumerable<ManagedFile> managed) =>
        managed.Select(f => f.Path)
            .Concat(KubernetesPaths.ModeRequirements.Select(r => r.Path))
            .Concat([KubernetesPaths.AptKeyring, KubernetesPaths.KubeletKubeconfig, KubernetesPaths.ApiServerManifest, KubernetesPaths.AdmissionPolicies, KubernetesPaths.CniManifest])
            .Distinct(StringComparer.Ordinal)
            .ToList();

    /// <summary>Parses the inspection output; unknown lines are ignored.</summary>
    public static ObservedNode Parse(string output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var facts = new NodeFacts();
        var files = new Dictionary<string, ObservedFile>(StringComparer.Ordinal);
        var packages = new Dictionary<string, string>(StringComparer.Ordinal);
        var held = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.TrimEnd('\r').Split('\t');
            switch (parts[0])
            {
                case "kernel" when parts.Length >= 2:
                    facts = facts with { KernelRelease = parts[1] };
                    break;
                case "containerd" when parts.Length >= 2 && parts[1].Length > 0:
                    facts = facts with { ContainerdVersion = parts[1] };
                    break;
                case "interface" when parts.Length >= 2:
                    facts = facts with { ClusterInterface = parts[1] };
                    break;
                case "swap":
                    facts = facts with { SwapEnabled = true };
                    break;
                case "package" when parts.Length >= 4 && parts[3].StartsWith("ii", StringComparison.Ordinal):
                    packages[parts[1]] = parts[2];
                    break;
                case "held" when parts.Length >= 2:
                    held.Add(parts[1]);
                    break;
                case "file" when parts.Length >= 5 && int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out _):
                    files[parts[1]] = new ObservedFile(parts[4], (UnixFileMode)Convert.ToInt32(parts[2], 8), parts[3]);
                    break;
            }
        }

        return new ObservedNode { Facts = facts, Files = files, Packages = packages, HeldPackages = held };
    }
}
