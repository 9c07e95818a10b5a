using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using LibvirtSharp.Interop;

namespace LibvirtSharp;

public sealed partial class Connection
{
    private const int LifecycleEventId = 0; // VIR_DOMAIN_EVENT_ID_LIFECYCLE

    private readonly Lock _eventGate = new();
    private readonly List<ChannelWriter<DomainLifecycleEventArgs>> _watchers = [];
    private EventHandler<DomainLifecycleEventArgs>? _lifecycleChanged;
    private Channel<DomainLifecycleEventArgs>? _pump;
    private int _callbackId = -1;
    private bool _eventsStopped;

    /// <summary>
    /// Raised for every domain lifecycle event on this connection (defined, started, suspended, stopped, …),
    /// where the driver supports events (qemu, test). Handlers run one at a time, in event order, on a
    /// thread-pool thread, never on libvirt's event-loop thread; an exception in a handler is swallowed so that
    /// it cannot stop delivery. Subscribing registers a libvirt callback that stays until <see cref="Dispose"/>.
    /// </summary>
    /// <exception cref="LibvirtException">When subscribing, if the driver does not support events.</exception>
    public event EventHandler<DomainLifecycleEventArgs>? DomainLifecycleChanged
    {
        add
        {
            lock (_eventGate)
            {
                EnsureLifecycleRegistered();
                _lifecycleChanged += value;
            }
        }

        remove
        {
            lock (_eventGate)
            {
                _lifecycleChanged -= value;
            }
        }
    }

    /// <summary>
    /// Streams domain lifecycle events. The subscription starts when this method is called (so events that
    /// happen before enumeration begins are not lost) and ends when <paramref name="ct"/> is cancelled, the
    /// enumeration is abandoned, or the connection is disposed (then the sequence simply ends).
    /// </summary>
    /// <exception cref="LibvirtException">If the driver does not support events.</exception>
    public IAsyncEnumerable<DomainLifecycleEventArgs> WatchDomainLifecycleAsync(CancellationToken ct)
    {
        var channel = Channel.CreateUnbounded<DomainLifecycleEventArgs>(new UnboundedChannelOptions { SingleReader = true });
        lock (_eventGate)
        {
            EnsureLifecycleRegistered();
            _watchers.Add(channel.Writer);
        }

        var cancellation = ct.Register(() => RemoveWatcher(channel.Writer));
        return ReadWatcher(channel, cancellation, ct);
    }

    private async IAsyncEnumerable<DomainLifecycleEventArgs> ReadWatcher(
        Channel<DomainLifecycleEventArgs> channel,
        CancellationTokenRegistration cancellation,
        [EnumeratorCancellation] CancellationToken ct)
    {
        try
        {
            while (await channel.Reader.WaitToReadAsync(ct).ConfigureAwait(false))
            {
                while (channel.Reader.TryRead(out var item))
                {
                    yield return item;
                }
            }
        }
        finally
        {
            await cancellation.DisposeAsync().ConfigureAwait(false);
            RemoveWatcher(channel.Writer);
        }
    }

    private void RemoveWatcher(ChannelWriter<DomainLifecycleEventArgs> writer)
    {
        lock (_eventGate)
        {
            _watchers.Remove(writer);
        }

        writer.TryComplete();
    }

    private unsafe void EnsureLifecycleRegistered()
    {
        ObjectDisposedException.ThrowIf(_eventsStopped || _handle.IsClosed, this);
        if (_callbackId >= 0)
        {
            return;
        }

        var pump = Channel.CreateUnbounded<DomainLifecycleEventArgs>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var opaque = GCHandle.Alloc(pump.Writer);
        var id = EventNative.virConnectDomainEventRegisterAny(
            _handle, 0, LifecycleEventId, &OnLifecycle, GCHandle.ToIntPtr(opaque), &FreeOpaque);
        if (id < 0)
        {
            var error = LibvirtError.Capture("Connection.DomainLifecycleChanged");
            opaque.Free();
            throw error;
        }

        _callbackId = id;
        _pump = pump;
        _ = Task.Run(() => PumpAsync(pump.Reader));
    }

    [SuppressMessage("Design", "CA1031:Do not catch general exception types", Justification = "A faulty subscriber must not stop event delivery to the others.")]
    private async Task PumpAsync(ChannelReader<DomainLifecycleEventArgs> reader)
    {
        await foreach (var args in reader.ReadAllAsync().ConfigureAwait(false))
        {
            EventHandler<DomainLifecycleEventArgs>? handler;
            ChannelWriter<DomainLifecycleEventArgs>[] watchers;
            lock (_eventGate)
            {
                handler = _lifecycleChanged;
                watchers = [.. _watchers];
            }

            foreach (var watcher in watchers)
            {
                watcher.TryWrite(args);
            }

            if (handler is null)
            {
                continue;
            }

            foreach (var single in handler.GetInvocationList())
            {
                try
                {
                    ((EventHandler<DomainLifecycleEventArgs>)single)(this, args);
                }
                catch (Exception)
                {
                    // Swallowed on purpose; see the event's documentation.
                }
            }
        }
    }

    private void StopEvents()
    {
        ChannelWriter<DomainLifecycleEventArgs>[] watchers;
        lock (_eventGate)
        {
            if (_eventsStopped)
            {
                return;
            }

            _eventsStopped = true;
            if (_callbackId >= 0 && !_handle.IsClosed)
            {
                // Best effort: if deregistration fails the native connection is being torn down anyway.
                if (EventNative.virConnectDomainEventDeregisterAny(_handle, _callbackId) < 0)
                {
                    ErrorNative.virResetLastError();
                }
            }

            _callbackId = -1;
            _pump?.Writer.TryComplete();
            watchers = [.. _watchers];
            _watchers.Clear();
        }

        foreach (var watcher in watchers)
        {
            watcher.TryComplete();
        }
    }

    // Runs on libvirt's event-loop thread: copy what is needed and hand it off, never block here.
    [UnmanagedCallersOnly]
    [SuppressMessage("Design", "CA1031:Do not catch general exception types", Justification = "Exceptions must not unwind into native code.")]
    private static unsafe int OnLifecycle(nint conn, nint dom, int eventType, int detail, nint opaque)
    {
        try
        {
            if (GCHandle.FromIntPtr(opaque).Target is not ChannelWriter<DomainLifecycleEventArgs> writer)
            {
                return 0;
            }

            var name = Native.BorrowString(DomainNative.virDomainGetNameRaw(dom)) ?? string.Empty;
            byte* raw = stackalloc byte[Native.UuidLength];
            var uuid = DomainNative.virDomainGetUUIDRaw(dom, raw) == 0
                ? Native.ToGuid(new ReadOnlySpan<byte>(raw, Native.UuidLength))
                : Guid.Empty;
            writer.TryWrite(new DomainLifecycleEventArgs(name, uuid, (DomainEventType)eventType, detail));
        }
        catch (Exception)
        {
            // Nothing sensible to do on the event-loop thread.
        }

        return 0;
    }

    // libvirt calls this once the callback is deregistered (or the connection is gone).
    [UnmanagedCallersOnly]
    private static void FreeOpaque(nint opaque)
    {
        var handle = GCHandle.FromIntPtr(opaque);
        if (handle.Target is ChannelWriter<DomainLifecycleEventArgs> writer)
        {
            writer.TryComplete();
        }

        handle.Free();
    }
}
