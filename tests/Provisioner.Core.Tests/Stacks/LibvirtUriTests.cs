using Provisioner.Core.Stacks;

namespace Provisioner.Core.Tests.Stacks;

public sealed class LibvirtUriTests
{
    [Theory]
    [InlineData("qemu:///system", "qemu", null)]
    [InlineData("qemu:///session", "qemu", null)]
    [InlineData("qemu+unix:///system", "qemu+unix", null)]
    [InlineData("test:///default", "test", null)]
    [InlineData("test:///etc/libvirt/test-node.xml", "test", null)]
    [InlineData("qemu+ssh://provisioner@osl-kvm-1.example.net/system?keyfile=/etc/provisioner/ssh/id_ed25519", "qemu+ssh", "osl-kvm-1.example.net")]
    [InlineData("qemu+ssh://osl-kvm-1.example.net:2222/system?keyfile=/k&known_hosts=/kh&known_hosts_verify=normal&no_tty=1", "qemu+ssh", "osl-kvm-1.example.net")]
    [InlineData("qemu+tls://10.0.0.5/system?pkipath=/etc/pki/libvirt", "qemu+tls", "10.0.0.5")]
    [InlineData("qemu+libssh2://u@[fd00::1]/system", "qemu+libssh2", "[fd00::1]")]
    public void TryParse_Accepted(string text, string scheme, string? host)
    {
        Assert.True(LibvirtUri.TryParse(text, out var uri, out var error), error);
        Assert.Equal(scheme, uri!.Scheme);
        Assert.Equal(host, uri.Host);
        Assert.Equal(host is not null, uri.IsRemote);
        Assert.Equal(text, uri.ToString());
    }

    [Theory]
    [InlineData("qemu+shh://h/system", "scheme 'qemu+shh' is not one of")]
    [InlineData("qemu+tcp://h/system", "unencrypted")]
    [InlineData("xen:///system", "scheme 'xen'")]
    [InlineData("qemu://h/system", "local 'qemu' URI but names a host")]
    [InlineData("qemu+ssh:///system", "without a host")]
    [InlineData("qemu:///", "ends in /system or /session")]
    [InlineData("qemu:///system/../x", "ends in /system or /session")]
    [InlineData("qemu+ssh://h/system?no_verify=1", "no_verify")]
    [InlineData("qemu+ssh://h/system?known_hosts_verify=ignore", "accepts unknown host keys")]
    [InlineData("qemu+ssh://h/system?command=/bin/sh", "URI parameter 'command'")]
    [InlineData("qemu+ssh://h/system?keyfile=relative", "not an absolute path")]
    [InlineData("qemu+ssh://h/system?keyfile=/a/../b", "not an absolute path")]
    [InlineData("qemu+ssh://h/system?keyfile=/a&keyfile=/b", "repeats URI parameter")]
    [InlineData("qemu+ssh://h:0/system", "port outside 1-65535")]
    [InlineData("qemu+ssh://h:70000/system", "port outside 1-65535")]
    [InlineData("qemu+ssh://h/system;reboot", "is not a libvirt URI")]
    [InlineData("qemu+ssh://$(id)/system", "is not a libvirt URI")]
    [InlineData("qemu+ssh://h/system\n", "control or non-ASCII")]
    [InlineData("qemu+ssh://h/sys tem", "spaces")]
    [InlineData("", "empty")]
    [InlineData("test:///../etc/x", "test URI")]
    public void TryParse_Refused(string text, string fragment)
    {
        Assert.False(LibvirtUri.TryParse(text, out var uri, out var error));
        Assert.Null(uri);
        Assert.Contains(fragment, error, StringComparison.Ordinal);
    }
}
