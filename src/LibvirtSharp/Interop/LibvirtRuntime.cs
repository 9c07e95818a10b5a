using System.Runtime.InteropServices;

namespace LibvirtSharp.Interop;

/// <summary>
/// One-time, process-wide libvirt set-up: virInitialize, a silent error handler, and libvirt's default event
/// loop driven by one dedicated background thread (needed for keep-alive and events, and it has to be registered
/// before connections are opened).
/// </summary>
internal static unsafe class LibvirtRuntime
{
    private static readonly Lock s_gate = new();
    private static bool s_initialized;
    private static Thread? s_eventThread;

    /// <summary>Runs the set-up on first use; cheap afterwards.</summary>
    public static void EnsureInitialized()
    {
        if (Volatile.Read(ref s_initialized))
        {
            return;
        }

        lock (s_gate)
        {
            if (s_initialized)
            {
                return;
            }

            if (ErrorNative.virInitialize() < 0)
            {
                throw LibvirtError.Capture("virInitialize");
            }

            // Without a handler libvirt prints every error to stderr; errors reach callers as exceptions instead.
            ErrorNative.virSetErrorFunc(0, &IgnoreError);

            if (EventNative.virEventRegisterDefaultImpl() < 0)
            {
                throw LibvirtError.Capture("virEventRegisterDefaultImpl");
            }

            s_eventThread = new Thread(RunEventLoop)
            {
                IsBackground = true,
                Name = "libvirt-event-loop",
            };
            s_eventThread.Start();
            Volatile.Write(ref s_initialized, true);
        }
    }

    [UnmanagedCallersOnly]
    private static void IgnoreError(nint userData, VirError* error)
    {
    }

    private static void RunEventLoop()
    {
        while (true)
        {
            if (EventNative.virEventRunDefaultImpl() < 0)
            {
                // The default loop only fails on poll() errors; clear the error and keep serving the others.
                ErrorNative.virResetLastError();
                Thread.Sleep(100);
            }
        }
    }

    /// <summary>True once the event-loop thread runs (diagnostics).</summary>
    internal static bool EventLoopRunning => s_eventThread?.IsAlive == true;
}
