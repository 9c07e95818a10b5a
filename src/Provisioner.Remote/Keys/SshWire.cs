using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Provisioner.Remote.Keys;

/// <summary>Writer for the SSH wire encoding (RFC 4251 section 5): big-endian uint32 and length-prefixed strings.</summary>
internal sealed class SshWireWriter
{
    private readonly ArrayBufferWriter<byte> _buffer = new(1024); // room for a whole Ed25519 key file, so no outgrown copy of key material is left behind

    public int Length => _buffer.WrittenCount;

    public SshWireWriter UInt32(uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        _buffer.Write((ReadOnlySpan<byte>)bytes);
        return this;
    }

    public SshWireWriter String(ReadOnlySpan<byte> value)
    {
        UInt32((uint)value.Length);
        _buffer.Write(value);
        return this;
    }

    public SshWireWriter String(string value) => String(Encoding.UTF8.GetBytes(value));

    public SshWireWriter Raw(ReadOnlySpan<byte> value)
    {
        _buffer.Write(value);
        return this;
    }

    public byte[] ToArray() => _buffer.WrittenSpan.ToArray();

    /// <summary>Overwrites the buffer with zeros, for buffers that held private key material.</summary>
    public void Clear()
    {
        // ArrayBufferWriter.Clear zeroes the written part of its buffer; earlier buffers it outgrew are not reachable.
        _buffer.Clear();
    }
}

/// <summary>Reader for the SSH wire encoding; every read is bounds-checked and fails with a <see cref="FormatException"/>.</summary>
internal ref struct SshWireReader
{
    private ReadOnlySpan<byte> _remaining;

    public SshWireReader(ReadOnlySpan<byte> data) => _remaining = data;

    public readonly bool AtEnd => _remaining.IsEmpty;

    public readonly ReadOnlySpan<byte> Remaining => _remaining;

    public uint UInt32()
    {
        if (_remaining.Length < 4)
        {
            throw new FormatException("truncated SSH data: expected a uint32");
        }

        var value = BinaryPrimitives.ReadUInt32BigEndian(_remaining);
        _remaining = _remaining[4..];
        return value;
    }

    public ReadOnlySpan<byte> String()
    {
        var length = UInt32();
        if (length > (uint)_remaining.Length)
        {
            throw new FormatException($"truncated SSH data: a string claims {length} bytes, {_remaining.Length} remain");
        }

        var value = _remaining[..(int)length];
        _remaining = _remaining[(int)length..];
        return value;
    }

    public string Utf8String() => Encoding.UTF8.GetString(String());

    public ReadOnlySpan<byte> Raw(int count)
    {
        if (count > _remaining.Length)
        {
            throw new FormatException($"truncated SSH data: expected {count} bytes, {_remaining.Length} remain");
        }

        var value = _remaining[..count];
        _remaining = _remaining[count..];
        return value;
    }
}
