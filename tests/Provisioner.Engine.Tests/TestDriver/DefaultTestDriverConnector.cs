using LibvirtSharp;
using Provisioner.Core.Stacks;
using Provisioner.Engine.Hosts;

namespace Provisioner.Engine.Tests.TestDriver;

/// <summary>Connects every host to libvirt's shared <c>test:///default</c> (its one running domain is named <c>test</c>).</summary>
internal sealed class DefaultTestDriverConnector : IHostConnector
{
    public HostConnection Connect(HostDefinition host) => new(Connection.Open("test:///default"), Owned: true);
}
