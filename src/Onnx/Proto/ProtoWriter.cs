using System.Buffers.Binary;
using System.Text;

namespace Aigc.MLNet.Onnx.Proto;

/// <summary>
/// Minimal protobuf wire-format encoder (varint, 32-bit, length-delimited) writing straight to a stream.
/// Messages are written size-first: callers compute a nested message's length before writing it, so large
/// tensors are copied once, from their array to the stream.
/// </summary>
internal sealed class ProtoWriter : IDisposable
{
    private const int WireVarint = 0;
    private const int WireFixed32 = 5;
    private const int WireLengthDelimited = 2;

    private readonly Stream _stream;
    private readonly byte[] _buffer = new byte[1 << 16];
    private int _used;

    public ProtoWriter(Stream stream) => _stream = stream;

    public long Position { get; private set; }

    // ---- sizes ---------------------------------------------------------------------------------------------

    public static int VarintSize(ulong value)
    {
        int n = 1;
        while (value >= 0x80) { value >>= 7; n++; }
        return n;
    }

    public static int TagSize(int field) => VarintSize((ulong)field << 3);

    public static long Int64FieldSize(int field, long value) => TagSize(field) + VarintSize(unchecked((ulong)value));

    public static long FloatFieldSize(int field) => TagSize(field) + 4;

    public static long BytesFieldSize(int field, long length) => TagSize(field) + VarintSize((ulong)length) + length;

    public static long StringFieldSize(int field, string value) => BytesFieldSize(field, Encoding.UTF8.GetByteCount(value));

    // ---- writes --------------------------------------------------------------------------------------------

    public void WriteInt64Field(int field, long value)
    {
        WriteVarint((ulong)field << 3 | WireVarint);
        WriteVarint(unchecked((ulong)value));
    }

    public void WriteFloatField(int field, float value)
    {
        WriteVarint((ulong)field << 3 | WireFixed32);
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(b, value);
        WriteRaw(b);
    }

    public void WriteStringField(int field, string value)
    {
        int count = Encoding.UTF8.GetByteCount(value);
        WriteLengthHeader(field, count);
        if (count <= 1024)
        {
            Span<byte> b = stackalloc byte[count];
            Encoding.UTF8.GetBytes(value, b);
            WriteRaw(b);
        }
        else
        {
            WriteRaw(Encoding.UTF8.GetBytes(value));
        }
    }

    public void WriteBytesField(int field, ReadOnlySpan<byte> value)
    {
        WriteLengthHeader(field, value.Length);
        WriteRaw(value);
    }

    /// <summary>Writes the tag and length of a length-delimited field (a nested message or bytes).</summary>
    public void WriteLengthHeader(int field, long length)
    {
        WriteVarint((ulong)field << 3 | WireLengthDelimited);
        WriteVarint((ulong)length);
    }

    public void WriteVarint(ulong value)
    {
        if (_buffer.Length - _used < 10) Flush();
        while (value >= 0x80)
        {
            _buffer[_used++] = (byte)(value | 0x80);
            value >>= 7;
        }
        _buffer[_used++] = (byte)value;
    }

    public void WriteRaw(ReadOnlySpan<byte> data)
    {
        if (data.Length <= _buffer.Length - _used)
        {
            data.CopyTo(_buffer.AsSpan(_used));
            _used += data.Length;
            return;
        }
        Flush();
        if (data.Length <= _buffer.Length)
        {
            data.CopyTo(_buffer);
            _used = data.Length;
            return;
        }
        _stream.Write(data);
        Position += data.Length;
    }

    public void Flush()
    {
        if (_used == 0) return;
        _stream.Write(_buffer, 0, _used);
        Position += _used;
        _used = 0;
    }

    public long BytesWritten => Position + _used;

    public void Dispose() => Flush();
}
