using System.Collections.Immutable;
using System.Text;
using System.Text.RegularExpressions;
using Provisioner.Core.Security;

namespace Provisioner.Remote.Shell;

/// <summary>
/// A command to run on a remote host, built from an argument vector so that callers never concatenate
/// values into command text. Immutable: each <c>With…</c> method returns a new instance, so a command can
/// be retried as often as needed.
/// </summary>
/// <remarks>
/// <para>The command line sent to the server (<see cref="CommandLine"/>) is interpreted by the remote
/// user's login shell, which must be POSIX-compatible (sh, dash, bash). Every element of the argument
/// vector is quoted by <see cref="ShellQuote"/>.</para>
/// <para>Secret environment values never appear on the command line (where any local user could read them
/// from <c>/proc/*/cmdline</c>): they are written to the command's standard input ahead of any other input
/// and read back into the environment by a small constant wrapper script. The command line and
/// <see cref="ToString"/> therefore never contain a secret.</para>
/// </remarks>
public sealed partial class ShellCommand
{
    // Constant wrapper that runs the command given as "$@" with an exit status no program uses for itself
    // when the secret values are missing from standard input.
    private const int MissingSecretExitCode = 125;

    private readonly ImmutableArray<string> _argv;
    private readonly string? _rawScript;

    private ShellCommand(
        ImmutableArray<string> argv,
        string? rawScript,
        bool sudo,
        string? sudoUser,
        ImmutableArray<KeyValuePair<string, string>> environment,
        ImmutableArray<KeyValuePair<string, Secret>> secretEnvironment,
        ReadOnlyMemory<byte>? standardInput,
        bool standardInputIsSecret)
    {
        _argv = argv;
        _rawScript = rawScript;
        UsesSudo = sudo;
        SudoUser = sudoUser;
        Environment = environment;
        SecretEnvironment = secretEnvironment;
        StandardInput = standardInput;
        StandardInputIsSecret = standardInputIsSecret;
    }

    /// <summary>
    /// A command that runs <paramref name="program"/> with <paramref name="arguments"/>, each passed as exactly
    /// one argument whatever characters it holds.
    /// </summary>
    /// <param name="program">The program, found on the remote <c>PATH</c> or given as a path. Must not be empty,
    /// begin with <c>-</c> or contain <c>=</c> (it would be read as an option or an assignment).</param>
    /// <param name="arguments">The arguments; any string without NUL is allowed, user input included.</param>
    public static ShellCommand Create(string program, params IEnumerable<string> arguments)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(arguments);
        if (program.Length == 0 || program[0] == '-' || program.Contains('=', StringComparison.Ordinal))
        {
            throw new ArgumentException(
                $"program '{program}' is not a program name: it must be non-empty, must not begin with '-' and must not contain '='.",
                nameof(program));
        }

        ShellQuote.Validate(program, nameof(program));
        var builder = ImmutableArray.CreateBuilder<string>();
        builder.Add(program);
        var index = 0;
        foreach (var argument in arguments)
        {
            if (argument is null)
            {
                throw new ArgumentException($"arguments[{index}] is null.", nameof(arguments));
            }

            ShellQuote.Validate(argument, $"arguments[{index}]");
            builder.Add(argument);
            index++;
        }

        return new ShellCommand(builder.ToImmutable(), null, false, null, [], [], null, false);
    }

    /// <summary>
    /// A constant shell script, run by the remote shell as written. NEVER build <paramref name="trustedScript"/>
    /// from user input, configuration values or anything else not written in the source code: pass such values
    /// with <see cref="Script"/> (as positional parameters) or <see cref="WithEnvironment"/> instead.
    /// </summary>
    public static ShellCommand Raw(string trustedScript)
    {
        ArgumentNullException.ThrowIfNull(trustedScript);
        ArgumentException.ThrowIfNullOrWhiteSpace(trustedScript);
        ShellQuote.Validate(trustedScript, nameof(trustedScript));
        return new ShellCommand(["sh", "-c", trustedScript], trustedScript, false, null, [], [], null, false);
    }

    /// <summary>
    /// A constant shell script that receives values as positional parameters: runs
    /// <c>sh -c trustedScript sh arg1 arg2 …</c>, so the script refers to them as <c>"$1"</c>, <c>"$2"</c>, <c>"$@"</c>.
    /// The script itself must be a constant, as for <see cref="Raw"/>; the arguments may be anything.
    /// </summary>
    public static ShellCommand Script(string trustedScript, params IEnumerable<string> arguments)
    {
        ArgumentNullException.ThrowIfNull(trustedScript);
        ArgumentException.ThrowIfNullOrWhiteSpace(trustedScript);
        ShellQuote.Validate(trustedScript, nameof(trustedScript));
        var args = Create("sh", arguments)._argv;
        return new ShellCommand(["sh", "-c", trustedScript, "sh", .. args.Skip(1)], null, false, null, [], [], null, false);
    }

    /// <summary>The argument vector of the command itself, before sudo and environment wrapping.</summary>
    public IReadOnlyList<string> Arguments => _argv;

    /// <summary>Whether the command runs through <c>sudo -n</c>.</summary>
    public bool UsesSudo { get; }

    /// <summary>The user sudo runs the command as; null means root.</summary>
    public string? SudoUser { get; }

    /// <summary>Environment variables set for the command; their values appear on the command line.</summary>
    public ImmutableArray<KeyValuePair<string, string>> Environment { get; }

    /// <summary>Environment variables whose values are secret; passed through standard input, never on the command line.</summary>
    public ImmutableArray<KeyValuePair<string, Secret>> SecretEnvironment { get; }

    /// <summary>Content written to the command's standard input (after any secret environment values).</summary>
    public ReadOnlyMemory<byte>? StandardInput { get; }

    /// <summary>Whether <see cref="StandardInput"/> is a secret. Standard input is never logged either way.</summary>
    public bool StandardInputIsSecret { get; }

    /// <summary>
    /// Runs the command through <c>sudo -n</c> (never prompting for a password: a missing sudo rule fails
    /// instead of hanging) as root or as <paramref name="user"/>.
    /// </summary>
    public ShellCommand WithSudo(string? user = null)
    {
        if (user is not null && !UserNamePattern().IsMatch(user))
        {
            throw new ArgumentException($"sudo user '{user}' is not a valid user name.", nameof(user));
        }

        return new ShellCommand(_argv, _rawScript, true, user, Environment, SecretEnvironment, StandardInput, StandardInputIsSecret);
    }

    /// <summary>Sets environment variable <paramref name="name"/> to <paramref name="value"/> for the command.</summary>
    /// <remarks>The value appears on the command line and in logs; use <see cref="WithSecretEnvironment"/> for secrets.</remarks>
    public ShellCommand WithEnvironment(string name, string value)
    {
        ValidateEnvironmentName(name);
        ArgumentNullException.ThrowIfNull(value);
        ShellQuote.Validate(value, $"environment variable {name}");
        return new ShellCommand(_argv, _rawScript, UsesSudo, SudoUser,
            [.. Environment.Where(e => e.Key != name), new(name, value)],
            [.. SecretEnvironment.Where(e => e.Key != name)], StandardInput, StandardInputIsSecret);
    }

    /// <summary>
    /// Sets environment variable <paramref name="name"/> to a secret value. The value travels on the command's
    /// standard input, so it is never on a command line, in a process listing or in a log.
    /// </summary>
    /// <exception cref="ArgumentException">The value contains a newline or NUL (it is read back as one line).</exception>
    public ShellCommand WithSecretEnvironment(string name, Secret value)
    {
        ValidateEnvironmentName(name);
        ArgumentNullException.ThrowIfNull(value);
        var revealed = value.Reveal();
        if (revealed.Contains('\n', StringComparison.Ordinal) || revealed.Contains('\r', StringComparison.Ordinal))
        {
            throw new ArgumentException(
                $"secret environment variable {name} contains a line break; pass multi-line secrets as standard input.",
                nameof(value));
        }

        ShellQuote.Validate(revealed, $"secret environment variable {name}");
        return new ShellCommand(_argv, _rawScript, UsesSudo, SudoUser,
            [.. Environment.Where(e => e.Key != name)],
            [.. SecretEnvironment.Where(e => e.Key != name), new(name, value)], StandardInput, StandardInputIsSecret);
    }

    /// <summary>Writes <paramref name="content"/> to the command's standard input, then closes it.</summary>
    public ShellCommand WithStandardInput(ReadOnlyMemory<byte> content) =>
        new(_argv, _rawScript, UsesSudo, SudoUser, Environment, SecretEnvironment, content.ToArray(), false);

    /// <summary>Writes <paramref name="text"/> as UTF-8 (no byte order mark) to the command's standard input.</summary>
    public ShellCommand WithStandardInput(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return WithStandardInput(Encoding.UTF8.GetBytes(text));
    }

    /// <summary>Writes a secret as UTF-8 to the command's standard input; it is never logged.</summary>
    public ShellCommand WithStandardInput(Secret secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        return new ShellCommand(_argv, _rawScript, UsesSudo, SudoUser, Environment, SecretEnvironment,
            Encoding.UTF8.GetBytes(secret.Reveal()), true);
    }

    /// <summary>
    /// The exact text sent to the SSH server. Contains no secret values (see the remarks on <see cref="ShellCommand"/>).
    /// </summary>
    public string CommandLine
    {
        get
        {
            if (_rawScript is not null && !UsesSudo && Environment.IsEmpty && SecretEnvironment.IsEmpty)
            {
                return _rawScript;
            }

            return ShellQuote.Join(BuildArgv());
        }
    }

    /// <summary>Whether anything is written to standard input (secret environment values or <see cref="StandardInput"/>).</summary>
    public bool HasStandardInput => StandardInput is not null || !SecretEnvironment.IsEmpty;

    /// <summary>The command line; safe to log because it holds no secret values.</summary>
    public override string ToString() => CommandLine;

    /// <summary>The bytes to write to standard input: one line per secret environment value, then <see cref="StandardInput"/>.</summary>
    internal byte[] BuildStandardInputPrefix()
    {
        if (SecretEnvironment.IsEmpty)
        {
            return StandardInput?.ToArray() ?? [];
        }

        var builder = new StringBuilder();
        foreach (var (_, secret) in SecretEnvironment)
        {
            builder.Append(secret.Reveal()).Append('\n');
        }

        var prefix = Encoding.UTF8.GetBytes(builder.ToString());
        builder.Clear();
        if (StandardInput is not { } input)
        {
            return prefix;
        }

        return [.. prefix, .. input.Span];
    }

    private List<string> BuildArgv()
    {
        var argv = new List<string>();
        if (UsesSudo)
        {
            argv.Add("sudo");
            argv.Add("-n");
            if (SudoUser is not null)
            {
                argv.Add("-u");
                argv.Add(SudoUser);
            }

            argv.Add("--");
        }

        if (!SecretEnvironment.IsEmpty)
        {
            // The names are validated identifiers, so composing them into this constant script is safe.
            var script = new StringBuilder();
            foreach (var (name, _) in SecretEnvironment)
            {
                script.Append("IFS= read -r ").Append(name)
                    .Append(" || { echo 'secret environment value ").Append(name)
                    .Append(" missing on standard input' >&2; exit ").Append(MissingSecretExitCode).Append("; }; export ")
                    .Append(name).Append("; ");
            }

            script.Append("exec \"$@\"");
            argv.Add("sh");
            argv.Add("-c");
            argv.Add(script.ToString());
            argv.Add("sh");
        }

        if (!Environment.IsEmpty)
        {
            argv.Add("env");
            foreach (var (name, value) in Environment)
            {
                argv.Add(name + "=" + value);
            }
        }

        argv.AddRange(_argv);
        return argv;
    }

    private static void ValidateEnvironmentName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!EnvironmentNamePattern().IsMatch(name))
        {
            throw new ArgumentException(
                $"environment variable name '{name}' is invalid: it must match [A-Za-z_][A-Za-z0-9_]*.",
                nameof(name));
        }
    }

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*\z", RegexOptions.CultureInvariant)]
    private static partial Regex EnvironmentNamePattern();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?\z", RegexOptions.CultureInvariant)]
    internal static partial Regex UserNamePattern();
}
