using System.CommandLine;

namespace Provisioner.Cli.Commands;

/// <summary><c>sandbox up|list|extend|destroy|reap|run</c>.</summary>
internal static class SandboxCommands
{
    public static void AddTo(RootCommand root, CliEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(environment);
    }
}
