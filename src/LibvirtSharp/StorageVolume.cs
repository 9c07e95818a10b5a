using System.Buffers;
using LibvirtSharp.Handles;
using LibvirtSharp.Interop;

namespace LibvirtSharp;

/// <summary>A storage volume (<c>virStorageVolPtr</c>), for example a disk image file. Thread-safe; dispose when done.</summary>
/// <remarks>Holds its own reference on the libvirt connection, so it outlives its <see cref="Connection"/> object.</remarks>
public sealed class StorageVolume : IDisposable
{
    private const int ChunkSize = 256 * 1024;

    private readonly StorageVolumeHandle _handle;
    private string? _name;
    private string? _key;

    internal StorageVolume(StorageVolumeHandle handle) => _handle = handle;

    internal StorageVolumeHandle Handle => _handle;

    /// <summary>The volume's name within its pool.</summary>
    public string Name => _name ??= LibvirtError.BorrowString(StorageNative.virStorageVolGetName(_handle), "StorageVolume.Name");

    /// <summary>The volume's globally unique key (for file volumes, the path).</summary>
    public string Key => _key ??= LibvirtError.BorrowString(StorageNative.virStorageVolGetKey(_handle), "StorageVolume.Key");

    /// <summary>The volume's path on the host.</summary>
    public string Path => LibvirtError.TakeString(StorageNative.virStorageVolGetPath(_handle), "StorageVolume.Path");

    /// <summary>Type, capacity and allocation.</summary>
    public unsafe StorageVolumeInfo GetInfo()
    {
        VirStorageVolInfo info;
        LibvirtError.Check(StorageNative.virStorageVolGetInfo(_handle, &info), "StorageVolume.GetInfo");
        return new StorageVolumeInfo((StorageVolumeType)info.Type, info.Capacity, info.Allocation);
    }

    /// <summary>The volume XML, as libvirt returns it.</summary>
    public string GetXml() => LibvirtError.TakeString(StorageNative.virStorageVolGetXMLDesc(_handle, 0), "StorageVolume.GetXml");

    /// <summary>The pool that holds this volume; dispose it when done.</summary>
    public StoragePool GetPool() =>
        new(LibvirtError.Check(StorageNative.virStoragePoolLookupByVolume(_handle), "StorageVolume.GetPool"));

    /// <summary>Deletes the volume and its data.</summary>
    public void Delete(VolumeDeleteFlags flags = VolumeDeleteFlags.None) =>
        LibvirtError.Check(StorageNative.virStorageVolDelete(_handle, (uint)flags), "StorageVolume.Delete");

    /// <summary>Overwrites the volume's data with zeros.</summary>
    public void Wipe() => LibvirtError.Check(StorageNative.virStorageVolWipe(_handle, 0), "StorageVolume.Wipe");

    /// <summary>Changes the volume's capacity.</summary>
    public void Resize(ulong capacityBytes, VolumeResizeFlags flags = VolumeResizeFlags.None) =>
        LibvirtError.Check(StorageNative.virStorageVolResize(_handle, capacityBytes, (uint)flags), "StorageVolume.Resize");

    /// <summary>
    /// Writes <paramref name="length"/> bytes from <paramref name="source"/> into the volume at
    /// <paramref name="offset"/> through a libvirt stream (works over remote connections). Blocks until done.
    /// </summary>
    /// <param name="source">Readable stream with at least <paramref name="length"/> bytes.</param>
    /// <param name="offset">Byte offset in the volume.</param>
    /// <param name="length">Bytes to write; 0 writes whatever <paramref name="source"/> holds (up to the volume's end).</param>
    /// <param name="progress">Receives the total bytes sent after each chunk.</param>
    /// <param name="ct">Checked between chunks; on cancellation the libvirt stream is aborted.</param>
    /// <exception cref="OperationCanceledException">Cancelled; the volume holds partial data.</exception>
    /// <exception cref="EndOfStreamException"><paramref name="source"/> ended before <paramref name="length"/> bytes.</exception>
    public unsafe void Upload(Stream source, ulong offset, ulong length, IProgress<long>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        var untilEnd = length == 0;
        ct.ThrowIfCancellationRequested();
        using var stream = NewStream("StorageVolume.Upload");
        LibvirtError.Check(StorageNative.virStorageVolUpload(_handle, stream, offset, length, 0), "StorageVolume.Upload");
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        var finished = false;
        try
        {
            ulong sent = 0;
            while (untilEnd || sent < length)
            {
                ct.ThrowIfCancellationRequested();
                var want = untilEnd ? ChunkSize : (int)Math.Min((ulong)ChunkSize, length - sent);
                var read = source.Read(buffer, 0, want);
                if (read == 0 && untilEnd)
                {
                    break;
                }

                if (read == 0)
                {
                    throw new EndOfStreamException(
                        $"source stream ended after {sent} of {length} bytes for volume '{Name}'");
                }

                fixed (byte* data = buffer)
                {
                    var done = 0;
                    while (done < read)
                    {
                        done += LibvirtError.Check(
                            StreamNative.virStreamSend(stream, data + done, (nuint)(read - done)), "StorageVolume.Upload");
                    }
                }

                sent += (ulong)read;
                progress?.Report((long)sent);
            }

            LibvirtError.Check(StreamNative.virStreamFinish(stream), "StorageVolume.Upload");
            finished = true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            if (!finished)
            {
                Abort(stream);
            }
        }
    }

    /// <summary>
    /// Reads the volume from <paramref name="offset"/> into <paramref name="destination"/> through a libvirt stream.
    /// Blocks until done.
    /// </summary>
    /// <param name="destination">Writable stream.</param>
    /// <param name="offset">Byte offset in the volume.</param>
    /// <param name="length">Bytes to read; 0 reads to the end of the volume.</param>
    /// <param name="progress">Receives the total bytes received after each chunk.</param>
    /// <param name="ct">Checked between chunks; on cancellation the libvirt stream is aborted.</param>
    /// <returns>Bytes written to <paramref name="destination"/>.</returns>
    /// <exception cref="OperationCanceledException">Cancelled; <paramref name="destination"/> holds partial data.</exception>
    public unsafe long Download(Stream destination, ulong offset, ulong length, IProgress<long>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ct.ThrowIfCancellationRequested();
        using var stream = NewStream("StorageVolume.Download");
        LibvirtError.Check(StorageNative.virStorageVolDownload(_handle, stream, offset, length, 0), "StorageVolume.Download");
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        var finished = false;
        try
        {
            long received = 0;
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                int got;
                fixed (byte* data = buffer)
                {
                    got = LibvirtError.Check(StreamNative.virStreamRecv(stream, data, (nuint)ChunkSize), "StorageVolume.Download");
                }

                if (got == 0)
                {
                    break;
                }

                destination.Write(buffer, 0, got);
                received += got;
                progress?.Report(received);
            }

            LibvirtError.Check(StreamNative.virStreamFinish(stream), "StorageVolume.Download");
            finished = true;
            return received;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            if (!finished)
            {
                Abort(stream);
            }
        }
    }

    /// <summary>Runs <see cref="Upload"/> on a thread-pool thread (the transfer itself stays blocking).</summary>
    public Task UploadAsync(Stream source, ulong offset, ulong length, IProgress<long>? progress = null, CancellationToken ct = default) =>
        Task.Run(() => Upload(source, offset, length, progress, ct), ct);

    /// <summary>Runs <see cref="Download"/> on a thread-pool thread (the transfer itself stays blocking).</summary>
    public Task<long> DownloadAsync(Stream destination, ulong offset, ulong length, IProgress<long>? progress = null, CancellationToken ct = default) =>
        Task.Run(() => Download(destination, offset, length, progress, ct), ct);

    private StreamHandle NewStream(string operation)
    {
        // The connection pointer is borrowed from the volume, which keeps it alive; no extra reference needed.
        var added = false;
        _handle.DangerousAddRef(ref added);
        try
        {
            var conn = StorageNative.virStorageVolGetConnect(_handle);
            return conn == 0
                ? throw LibvirtError.Capture(operation)
                : LibvirtError.Check(StreamNative.virStreamNew(conn, 0), operation);
        }
        finally
        {
            if (added)
            {
                _handle.DangerousRelease();
            }
        }
    }

    private static void Abort(StreamHandle stream)
    {
        // Aborting a stream that already failed reports an error of its own; the first error is the one that matters.
        if (StreamNative.virStreamAbort(stream) < 0)
        {
            ErrorNative.virResetLastError();
        }
    }

    /// <summary>Drops this object's libvirt reference, once.</summary>
    public void Dispose() => _handle.Dispose();

    /// <inheritdoc/>
    public override string ToString() => _handle.IsClosed ? "StorageVolume (disposed)" : $"StorageVolume {Name}";
}
