using Provisioner.Core.Naming;

namespace Provisioner.Cli;

/// <summary>Finds <c>stacks/Pulumi.&lt;name&gt;.yaml</c> the way Pulumi's <c>stackConfigDir: stacks</c> lays it out.</summary>
public static class StackLocator
{
    /// <summary>
    /// The stack file for <paramref name="stack"/>: in <paramref name="stacksDirectory"/> when given, else in the first
    /// <c>stacks/</c> folder found from <paramref name="workingDirectory"/> upward.
    /// </summary>
    /// <exception cref="CliException">The name is not a stack name, or no such file exists (exit code 2).</exception>
    public static string Find(string stack, string? stacksDirectory, string workingDirectory)
    {
        // Validated before it becomes part of a path, so '../x' cannot walk out of the stacks folder.
        if (ResourceName.ExplainStack(stack) is { } problem)
        {
            throw new CliException($"--stack: '{stack}' is not a stack name: {problem}");
        }

        var fileName = $"Pulumi.{stack}.yaml";
        if (stacksDirectory is not null)
        {
            var dir = Path.GetFullPath(stacksDirectory, workingDirectory);
            var path = Path.Combine(dir, fileName);
            return File.Exists(path)
                ? path
                : throw new CliException($"--stack: no stack '{stack}': {path} does not exist{Available(dir)}");
        }

        for (var dir = new DirectoryInfo(workingDirectory); dir is not null; dir = dir.Parent)
        {
            var stacks = Path.Combine(dir.FullName, "stacks");
            if (!Directory.Exists(stacks))
            {
                continue;
            }

            var path = Path.Combine(stacks, fileName);
            return File.Exists(path)
                ? path
                : throw new CliException($"--stack: no stack '{stack}': {path} does not exist{Available(stacks)}");
        }

        throw new CliException($"--stack: no stacks/ folder in {workingDirectory} or above it; pass --stacks-dir");
    }

    private static string Available(string dir)
    {
        if (!Directory.Exists(dir))
        {
            return string.Empty;
        }

        var names = Directory.EnumerateFiles(dir, "Pulumi.*.yaml")
            .Select(Core.Stacks.StackLoader.StackNameFromPath)
            .OfType<string>()
            .Order(StringComparer.Ordinal)
            .ToList();
        return names.Count == 0 ? " (the folder has no stack files)" : $" (stacks there: {string.Join(", ", names)})";
    }
}
