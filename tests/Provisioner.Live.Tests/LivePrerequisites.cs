using System.Net.Sockets;

namespace Provisioner.Live.Tests;

/// <summary>
/// What the live tier needs: root, a libvirt daemon answering on qemu:///system and the golden
/// image in the cache. Missing pieces skip a test with a reason that names them, except under CI
/// (CI=true), where .ci/run provides everything and a missing piece is a failure.
/// </summary>
public static class LivePrerequisites
{
    public const string LibvirtSocket = "/run/libvirt/libvirt-sock";

    public static void Require()
    {
        var missing = Missing();
        if (missing is null)
        {
            return;
        }

        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            Assert.Fail($"live prerequisite missing in CI: {missing}");
        }

        Assert.Skip($"live prerequisite missing: {missing}");
    }

    private static string? Missing()
    {
        if (Environment.UserName != "root")
        {
            return "the live tests run as root (they define libvirt networks and pools on qemu:///system)";
        }

        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            socket.Connect(new UnixDomainSocketEndPoint(LibvirtSocket));
        }
        catch (SocketException ex)
        {
            return $"no libvirt daemon at {LibvirtSocket} ({ex.SocketErrorCode}); start it with `virtlogd -d && libvirtd -d` or run .ci/run";
        }

        return null;
    }
}
