namespace Provisioner.Engine.Keys;

/// <summary>Where the tool keeps the little it must keep locally (admin keys, known_hosts files).</summary>
public static class StateDirectory
{
    /// <summary>
    /// <c>$PROVISIONER_STATE_DIR</c>, else <c>$XDG_STATE_HOME/provisioner</c>, else <c>~/.local/state/provisioner</c>.
    /// </summary>
    public static string Resolve()
    {
        var explicitDir = Environment.GetEnvironmentVariable("PROVISIONER_STATE_DIR");
        if (!string.IsNullOrWhiteSpace(explicitDir))
        {
            return explicitDir;
        }

        var xdg = Environment.GetEnvironmentVariable("XDG_STATE_HOME");
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return string.IsNullOrWhiteSpace(xdg)
            ? Path.Combine(home, ".local", "state", "provisioner")
            : Path.Combine(xdg, "provisioner");
    }
}
