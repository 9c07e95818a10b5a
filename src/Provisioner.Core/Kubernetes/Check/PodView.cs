using YamlDotNet.RepresentationModel;

namespace Provisioner.Core.Kubernetes.Check;

/// <summary>Which container list a container came from.</summary>
public enum ContainerKind
{
    /// <summary><c>initContainers</c> (including native sidecars: Pod Security treats them alike).</summary>
    Init,

    /// <summary><c>containers</c>.</summary>
    Regular,

    /// <summary><c>ephemeralContainers</c>.</summary>
    Ephemeral,
}

/// <summary>A container of a pod spec with the field path that leads to it.</summary>
/// <param name="Node">The container mapping.</param>
/// <param name="Path">E.g. <c>spec.template.spec.containers[0]</c>.</param>
/// <param name="Name">The container's name (or <c>#index</c> when it has none).</param>
/// <param name="Kind">Its list.</param>
internal sealed record ContainerView(YamlMappingNode Node, string Path, string Name, ContainerKind Kind)
{
    public YamlMappingNode? SecurityContext => Yaml.Map(Node, "securityContext");

    public string SecurityContextPath => Path + ".securityContext";
}

/// <summary>A pod spec inside some manifest (a Pod, or the template of a workload), with its paths.</summary>
internal sealed class PodView(YamlMappingNode spec, string specPath, YamlMappingNode? metadata, string metadataPath)
{
    public YamlMappingNode Spec { get; } = spec;

    /// <summary>E.g. <c>spec</c> for a Pod, <c>spec.jobTemplate.spec.template.spec</c> for a CronJob.</summary>
    public string SpecPath { get; } = specPath;

    public YamlMappingNode? Metadata { get; } = metadata;

    public string MetadataPath { get; } = metadataPath;

    public YamlMappingNode? SecurityContext => Yaml.Map(Spec, "securityContext");

    public string SecurityContextPath => SpecPath + ".securityContext";

    /// <summary>Whether the pod runs in its own user namespace (<c>hostUsers: false</c>).</summary>
    public bool UserNamespace => Yaml.Bool(Spec, "hostUsers") == false;

    /// <summary>Whether the pod declares Windows (Pod Security exempts such pods from some Linux-only checks since 1.25).</summary>
    public bool IsWindows => string.Equals(Yaml.Str(Yaml.Map(Spec, "os"), "name"), "windows", StringComparison.Ordinal);

    /// <summary>Init, regular and ephemeral containers, in the order Pod Security visits them.</summary>
    public IEnumerable<ContainerView> Containers()
    {
        foreach (var (key, kind) in new[] { ("initContainers", ContainerKind.Init), ("containers", ContainerKind.Regular), ("ephemeralContainers", ContainerKind.Ephemeral) })
        {
            if (Yaml.Seq(Spec, key) is not { } list)
            {
                continue;
            }

            var index = 0;
            foreach (var item in list)
            {
                if (item is YamlMappingNode container)
                {
                    yield return new ContainerView(container, $"{SpecPath}.{key}[{index}]", Yaml.Str(container, "name") ?? $"#{index}", kind);
                }

                index++;
            }
        }
    }
}
