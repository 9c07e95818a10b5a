namespace LibvirtSharp.Tests.TestDriver;

internal static class TestDriverConnection
{
    public const string DefaultUri = "test:///default";

    /// <summary>A fresh, private mock host (each test:///default connection has its own state).</summary>
    public static Connection Open() => Connection.Open(DefaultUri);
}
