using System.Runtime.InteropServices;

namespace LibvirtSharp.Interop;

/// <summary>Layout of libvirt's <c>virError</c> (virterror.h); field order and types must match exactly.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct VirError
{
    public int Code;
    public int Domain;
    public nint Message;
    public int Level;
    public nint Conn;
    public nint Dom;
    public nint Str1;
    public nint Str2;
    public nint Str3;
    public int Int1;
    public int Int2;
    public nint Net;
}

/// <summary>libvirt library set-up and error reporting (virterror.h, libvirt-host.h).</summary>
internal static unsafe partial class ErrorNative
{
    [LibraryImport(Native.Library)]
    public static partial int virInitialize();

    [LibraryImport(Native.Library)]
    public static partial VirError* virGetLastError();

    [LibraryImport(Native.Library)]
    public static partial void virResetLastError();

    [LibraryImport(Native.Library)]
    public static partial void virSetErrorFunc(nint userData, delegate* unmanaged<nint, VirError*, void> handler);

    [LibraryImport(Native.Library)]
    public static partial int virGetVersion(out CULong libVer, nint type, nint typeVer);
}
