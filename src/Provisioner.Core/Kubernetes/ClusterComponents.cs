using Provisioner.Core.Kubernetes.Check;

namespace Provisioner.Core.Kubernetes;

/// <summary>A workload the project itself installs into the cluster, and the privileges it cannot run without.</summary>
/// <param name="Name">Component name, e.g. <c>calico-node</c>.</param>
/// <param name="Namespace">Namespace it runs in.</param>
/// <param name="Privileges">What it needs that <c>restricted</c> forbids; empty when it runs restricted.</param>
public sealed record ClusterComponent(string Name, string Namespace, IReadOnlyList<string> Privileges);

/// <summary>
/// The workloads the bootstrap installs, from which the Pod Security exemptions are computed: a namespace is exempt
/// exactly when some component installed there needs privileges, and each exemption names them.
/// Host-level parts (kubelet, containerd, keepalived for the API endpoint) are not pods and need no exemption.
/// </summary>
public static class ClusterComponents
{
    /// <summary>The components for a cluster using <paramref name="cni"/>.</summary>
    public static IReadOnlyList<ClusterComponent> For(CniPlugin cni)
    {
        ArgumentNullException.ThrowIfNull(cni);
        return
        [
            new("kube-apiserver, kube-controller-manager, kube-scheduler, etcd (kubeadm static pods)", "kube-system",
                ["hostNetwork", "hostPath volumes (certificates, etcd data, /etc/kubernetes/provisioner)", "run as root"]),
            new("kube-proxy (kubeadm DaemonSet)", "kube-system", ["privileged", "hostNetwork", "hostPath volumes (/lib/modules, xtables lock)"]),
            new("coredns (kubeadm Deployment)", "kube-system", []),
            .. cni.Components,
        ];
    }

    /// <summary>The exempt namespaces for <paramref name="components"/>, each with one reason per privileged component.</summary>
    public static IReadOnlyList<NamespaceExemption> Exemptions(IEnumerable<ClusterComponent> components)
    {
        ArgumentNullException.ThrowIfNull(components);
        return components
            .Where(c => c.Privileges.Count > 0)
            .GroupBy(c => c.Namespace, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new NamespaceExemption(g.Key, g.Select(c => $"{c.Name} needs {string.Join(", ", c.Privileges)}").ToList()))
            .ToList();
    }
}
