using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json;
using Provisioner.Core.Stacks;
using Provisioner.Core.Templates;
using Provisioner.Engine;
using Provisioner.Engine.Images;
using Provisioner.Engine.Keys;
using Provisioner.Engine.Readiness;

namespace Provisioner.Pulumi.Tests;

/// <summary>
/// The gate for tests on the real daemon (qemu:///system), as tests/Provisioner.Live.Tests does it: root and a
/// libvirt daemon answering; missing pieces skip with a reason naming them, except under CI, where they fail.
/// </summary>
public static class SystemLibvirt
{
    public const string Socket = "/run/libvirt/libvirt-sock";

    public static void Require()
    {
        var missing = Missing();
        if (missing is null)
        {
            return;
        }

        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            Assert.Fail($"prerequisite missing in CI: {missing}");
        }

        Assert.Skip($"prerequisite missing: {missing}");
    }

    /// <summary>A unique stack name for this area (stack names take no '-').</summary>
    public static string UniqueStack(string prefix) => prefix + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3));

    /// <summary>
    /// Removes everything the stack owns on its hosts with the engine's own destroy, whatever state a failed test
    /// left (used in DisposeAsync, also on failure).
    /// </summary>
    public static async Task DestroyAsync(string stackName, JsonElement config, string stateDirectory)
    {
        var stack = StackLoader.FromJson(stackName, config);
        var engine = new StackEngine(new StackEngineOptions
        {
            Templates = TemplateRenderer.CreateDefault(),
            Images = new FileImageSource("/nonexistent"),
            Readiness = new SshNodeReadiness(new Provisioner.Remote.Sessions.SshConnector(null, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, TimeProvider.System), TimeProvider.System, TimeSpan.FromSeconds(1), Microsoft.Extensions.Logging.Abstractions.NullLogger<SshNodeReadiness>.Instance),
            Keys = new StackKeyStore(Path.Combine(stateDirectory, "keys")),
        });
        await engine.DestroyAsync(stack, CancellationToken.None);
    }

    public static void CreateQcow2(string path, int gib)
    {
        using var process = Process.Start(new ProcessStartInfo("qemu-img", ["create", "-q", "-f", "qcow2", path, $"{gib}G"]) { RedirectStandardError = true })!;
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, "qemu-img create failed: " + process.StandardError.ReadToEnd());
    }

    private static string? Missing()
    {
        if (Environment.UserName != "root")
        {
            return "root (the test defines libvirt networks and pools on qemu:///system)";
        }

        if (!File.Exists("/usr/bin/qemu-img"))
        {
            return "qemu-img (apt-get install qemu-utils)";
        }

        try
        {
            using var socket = new System.Net.Sockets.Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            socket.Connect(new UnixDomainSocketEndPoint(Socket));
        }
        catch (SocketException ex)
        {
            return $"no libvirt daemon at {Socket} ({ex.SocketErrorCode}); start it with `virtlogd -d && libvirtd -d` or run .ci/run";
        }

        return null;
    }
}
