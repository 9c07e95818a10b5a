using System.Collections.Concurrent;
using LibvirtSharp;
using Provisioner.Engine;
using Provisioner.Engine.Execution;
using Provisioner.Engine.Hosts;
using Provisioner.Engine.Planning;
using Provisioner.Engine.Readiness;
using Provisioner.Remote.Keys;

namespace Provisioner.Pulumi.Composition;

/// <summary>
/// Test composition only: libvirt's test driver has no volume streams, so bytes for <c>test://</c> hosts are kept
/// in memory; every other host gets libvirt's real streams.
/// </summary>
internal sealed class TestDriverVolumeContent : IVolumeContent
{
    private readonly ConcurrentDictionary<(string Host, string Volume), byte[]> _volumes = new();

    public async Task UploadAsync(HostSession host, StorageVolume volume, Stream source, ulong length, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        if (host.Definition.Uri.Scheme != "test")
        {
            await LibvirtVolumeContent.Instance.UploadAsync(host, volume, source, length, progress, cancellationToken).ConfigureAwait(false);
            return;
        }

        using var copy = new MemoryStream();
        await source.CopyToAsync(copy, cancellationToken).ConfigureAwait(false);
        _volumes[(host.Name, volume.Name)] = copy.ToArray()[..(int)length];
    }

    public Task DownloadAsync(HostSession host, StorageVolume volume, Stream destination, ulong length, CancellationToken cancellationToken)
    {
        if (host.Definition.Uri.Scheme != "test")
        {
            return LibvirtVolumeContent.Instance.DownloadAsync(host, volume, destination, length, cancellationToken);
        }

        var bytes = _volumes[(host.Name, volume.Name)];
        return destination.WriteAsync(bytes.AsMemory(0, (int)Math.Min(length, (ulong)bytes.Length)), cancellationToken).AsTask();
    }
}

/// <summary>Test composition only: no guest OS boots on the test driver, so a node is ready once its domain runs.</summary>
internal sealed class DomainRunningReadiness : INodeReadiness
{
    public Task WaitReadyAsync(HostSession host, DesiredNode node, PinnedHostKey hostKey, StackRunContext context, CancellationToken cancellationToken)
    {
        using var domain = host.Connection.LookupDomain(node.DomainName);
        var state = domain.GetState();
        return state == DomainState.Running
            ? Task.CompletedTask
            : throw new NodeNotReadyException(node.Name, $"domain is {state}");
    }
}
