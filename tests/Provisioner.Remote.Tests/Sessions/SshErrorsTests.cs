using System.Net.Sockets;
using Provisioner.Remote.Sessions;
using Renci.SshNet.Common;
using Renci.SshNet.Messages.Transport;

namespace Provisioner.Remote.Tests.Sessions;

public sealed class SshErrorsTests
{
    private static readonly SshEndpoint Endpoint = new("192.0.2.5", "admin");

    public static TheoryData<SocketError> TransientSocketErrors => new(
        SocketError.ConnectionRefused, SocketError.ConnectionReset, SocketError.TimedOut,
        SocketError.HostUnreachable, SocketError.NetworkUnreachable, SocketError.HostDown);

    [Theory]
    [MemberData(nameof(TransientSocketErrors))]
    public void IsTransient_ConnectFailedWithBootTimeSocketError_True(SocketError error) =>
        Assert.True(SshErrors.IsTransient(new SshConnectException(Endpoint, new SocketException((int)error))));

    [Theory]
    [InlineData(SocketError.AddressNotAvailable)]
    [InlineData(SocketError.AccessDenied)]
    [InlineData(SocketError.HostNotFound)]
    public void IsTransient_ConnectFailedWithConfigurationError_False(SocketError error) =>
        Assert.False(SshErrors.IsTransient(new SshConnectException(Endpoint, new SocketException((int)error))));

    [Fact]
    public void IsTransient_ServerClosedDuringHandshake_True() =>
        Assert.True(SshErrors.IsTransient(new SshConnectException(Endpoint, new SshConnectionException("An established connection was aborted by the server.", DisconnectReason.ConnectionLost))));

    [Theory]
    [InlineData(DisconnectReason.KeyExchangeFailed)]
    [InlineData(DisconnectReason.HostKeyNotVerifiable)]
    [InlineData(DisconnectReason.ProtocolVersionNotSupported)]
    public void IsTransient_NegotiationFailure_False(DisconnectReason reason) =>
        Assert.False(SshErrors.IsTransient(new SshConnectException(Endpoint, new SshConnectionException("no", reason))));

    [Fact]
    public void IsTransient_ConnectTimeout_True() =>
        Assert.True(SshErrors.IsTransient(new SshTimeoutException(Endpoint, SshPhase.Connect, TimeSpan.FromSeconds(5))));

    [Theory]
    [InlineData(SshPhase.Command)]
    [InlineData(SshPhase.Transfer)]
    public void IsTransient_CommandOrTransferTimeout_False(SshPhase phase) =>
        Assert.False(SshErrors.IsTransient(new SshTimeoutException(Endpoint, phase, TimeSpan.FromSeconds(5), "sleep 9")));

    [Fact]
    public void IsTransient_HostKeyMismatch_FalseEvenIfCauseLooksTransient() =>
        Assert.False(SshErrors.IsTransient(new HostKeyMismatchException(Endpoint, "SHA256:a", "ssh-ed25519", "SHA256:b",
            new SshConnectionException("Host key could not be verified.", DisconnectReason.ConnectionLost))));

    [Fact]
    public void IsTransient_AuthenticationFailedOrCommandFailedOrCancelled_False()
    {
        Assert.False(SshErrors.IsTransient(new SshAuthenticationFailedException(Endpoint, new SshAuthenticationException("Permission denied (publickey)."))));
        Assert.False(SshErrors.IsTransient(new RemoteCommandException(Endpoint, "false", 1, null, "")));
        Assert.False(SshErrors.IsTransient(new OperationCanceledException()));
        Assert.False(SshErrors.IsTransient(new ArgumentException("bad")));
    }

    [Fact]
    public void IsTransient_ConnectionLostDuringCommand_True() =>
        Assert.True(SshErrors.IsTransient(new SshConnectionLostException(Endpoint, "apt-get update", new SshConnectionException("Client not connected."))));

    [Fact]
    public void IsTransient_RawSocketRefused_True() =>
        Assert.True(SshErrors.IsTransient(new SocketException((int)SocketError.ConnectionRefused)));

    [Fact]
    public void IsTransient_ForwardingRefusedWhileGuestBoots_True()
    {
        var relay = new SshForwardingException(new SshEndpoint("kvm1", "ops"), Endpoint, new SshConnectionException("closed before identification"));
        Assert.False(relay.Prohibited);
        Assert.True(SshErrors.IsTransient(new SshConnectException(Endpoint, relay)));
    }

    [Fact]
    public void IsTransient_ForwardingAdministrativelyProhibited_False()
    {
        var relay = new SshForwardingException(new SshEndpoint("kvm1", "ops"), Endpoint, new SshException("Channel open failed: administratively prohibited"));
        Assert.True(relay.Prohibited);
        Assert.False(SshErrors.IsTransient(new SshConnectException(Endpoint, relay)));
        Assert.Contains("AllowTcpForwarding", relay.Message);
    }
}
