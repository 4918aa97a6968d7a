using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Aigc.MLNet.Onnx.Proto;

/// <summary>
/// A constant tensor (<c>TensorProto</c>) stored as little-endian <c>raw_data</c>: a graph initializer or the
/// value of a tensor attribute. Create with <see cref="Create{T}(string, ReadOnlySpan{T}, ReadOnlySpan{long})"/>
/// (copies) or <see cref="Wrap{T}(string, T[], long[])"/> (keeps the array: large weights are not duplicated).
/// </summary>
public sealed class OnnxTensor
{
    private readonly Array _array;
    private readonly int _byteLength;
    private readonly long[] _dims;

    private OnnxTensor(string name, OnnxElementType type, Array array, int byteLength, long[] dims)
    {
        Name = name;
        ElementType = type;
        _array = array;
        _byteLength = byteLength;
        _dims = dims;
    }

    /// <summary>Tensor name (the initializer name); may be empty for attribute values.</summary>
    public string Name { get; }

    /// <summary>Element type.</summary>
    public OnnxElementType ElementType { get; }

    /// <summary>Shape; empty for a scalar.</summary>
    public IReadOnlyList<long> Dims => _dims;

    /// <summary>Number of elements (product of <see cref="Dims"/>).</summary>
    public long ElementCount => Product(_dims);

    /// <summary>Size of the data in bytes.</summary>
    public long ByteLength => _byteLength;

    /// <summary>The raw little-endian bytes.</summary>
    public ReadOnlySpan<byte> RawData =>
        MemoryMarshal.CreateReadOnlySpan(ref MemoryMarshal.GetArrayDataReference(_array), _byteLength);

    /// <summary>Copies <paramref name="data"/> into a new tensor of shape <paramref name="dims"/>.</summary>
    /// <typeparam name="T">float, double, Half, long, int, short, sbyte, ulong, uint, ushort, byte or bool.</typeparam>
    public static OnnxTensor Create<T>(string name, ReadOnlySpan<T> data, ReadOnlySpan<long> dims) where T : unmanaged
        => Wrap(name, data.ToArray(), dims.ToArray());

    /// <summary>Wraps <paramref name="data"/> without copying; the array must not change until the model is saved.</summary>
    /// <typeparam name="T">float, double, Half, long, int, short, sbyte, ulong, uint, ushort, byte or bool.</typeparam>
    public static OnnxTensor Wrap<T>(string name, T[] data, long[] dims) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(dims);
        OnnxElementType type = ElementTypeOf<T>();
        CheckCount(name, data.LongLength, dims);
        long bytes = data.LongLength * Unsafe.SizeOf<T>();
        if (bytes > int.MaxValue)
            throw new ArgumentException($"Tensor '{name}' has {bytes} bytes; a single tensor is limited to 2 GB.", nameof(data));
        return new OnnxTensor(name, type, data, (int)bytes, (long[])dims.Clone());
    }

    /// <summary>A tensor from raw little-endian bytes of element type <paramref name="type"/> (e.g. BFloat16).</summary>
    public static OnnxTensor FromBytes(string name, OnnxElementType type, ReadOnlySpan<byte> rawData, ReadOnlySpan<long> dims)
    {
        ArgumentNullException.ThrowIfNull(name);
        int size = type.ElementSize();
        if (size == 0)
            throw new ArgumentException($"Tensor '{name}': element type {type} cannot be stored as raw data.", nameof(type));
        if (rawData.Length % size != 0)
            throw new ArgumentException($"Tensor '{name}': {rawData.Length} bytes is not a whole number of {type} elements.", nameof(rawData));
        long[] d = dims.ToArray();
        CheckCount(name, rawData.Length / size, d);
        return new OnnxTensor(name, type, rawData.ToArray(), rawData.Length, d);
    }

    /// <summary>A scalar tensor (shape []).</summary>
    public static OnnxTensor Scalar<T>(string name, T value) where T : unmanaged => Wrap(name, new[] { value }, []);

    /// <summary>The ONNX element type matching the .NET type <typeparamref name="T"/>.</summary>
    public static OnnxElementType ElementTypeOf<T>() where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return OnnxElementType.Float;
        if (typeof(T) == typeof(long)) return OnnxElementType.Int64;
        if (typeof(T) == typeof(int)) return OnnxElementType.Int32;
        if (typeof(T) == typeof(bool)) return OnnxElementType.Bool;
        if (typeof(T) == typeof(Half)) return OnnxElementType.Float16;
        if (typeof(T) == typeof(double)) return OnnxElementType.Double;
        if (typeof(T) == typeof(byte)) return OnnxElementType.UInt8;
        if (typeof(T) == typeof(sbyte)) return OnnxElementType.Int8;
        if (typeof(T) == typeof(short)) return OnnxElementType.Int16;
        if (typeof(T) == typeof(ushort)) return OnnxElementType.UInt16;
        if (typeof(T) == typeof(uint)) return OnnxElementType.UInt32;
        if (typeof(T) == typeof(ulong)) return OnnxElementType.UInt64;
        throw new NotSupportedException($"No ONNX element type for .NET type {typeof(T).Name}.");
    }

    internal static long Product(IReadOnlyList<long> dims)
    {
        long n = 1;
        foreach (long d in dims) n = checked(n * d);
        return n;
    }

    private static void CheckCount(string name, long count, long[] dims)
    {
        foreach (long d in dims)
            if (d < 0) throw new ArgumentException($"Tensor '{name}': dimension {d} is negative in shape [{string.Join(", ", dims)}].", nameof(dims));
        long expected = Product(dims);
        if (expected != count)
            throw new ArgumentException(
                $"Tensor '{name}': shape [{string.Join(", ", dims)}] needs {expected} elements but {count} were given.", nameof(dims));
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("ONNX raw_data is little-endian; big-endian hosts are not supported.");
    }

    // ---- TensorProto encoding: dims=1, data_type=2, name=8, raw_data=9, external_data=13, data_location=14 ----

    internal long ComputeSize(OnnxSerializationPlan plan)
    {
        long size = 0;
        foreach (long d in _dims) size += ProtoWriter.Int64FieldSize(1, d);
        size += ProtoWriter.Int64FieldSize(2, (long)ElementType);
        if (Name.Length > 0) size += ProtoWriter.StringFieldSize(8, Name);
        if (plan.TryGetExternal(this, out long offset))
        {
            foreach (var (k, v) in ExternalEntries(plan, offset))
                size += ProtoWriter.BytesFieldSize(13, EntrySize(k, v));
            size += ProtoWriter.Int64FieldSize(14, 1);
        }
        else
        {
            size += ProtoWriter.BytesFieldSize(9, _byteLength);
        }
        return size;
    }

    internal void WriteTo(ProtoWriter w, OnnxSerializationPlan plan)
    {
        foreach (long d in _dims) w.WriteInt64Field(1, d);
        w.WriteInt64Field(2, (long)ElementType);
        if (Name.Length > 0) w.WriteStringField(8, Name);
        if (plan.TryGetExternal(this, out long offset))
        {
            foreach (var (k, v) in ExternalEntries(plan, offset))
            {
                w.WriteLengthHeader(13, EntrySize(k, v));
                w.WriteStringField(1, k);
                w.WriteStringField(2, v);
            }
            w.WriteInt64Field(14, 1);
        }
        else
        {
            w.WriteBytesField(9, RawData);
        }
    }

    private (string, string)[] ExternalEntries(OnnxSerializationPlan plan, long offset) =>
    [
        ("location", plan.ExternalFileName!),
        ("offset", offset.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ("length", _byteLength.ToString(System.Globalization.CultureInfo.InvariantCulture)),
    ];

    private static long EntrySize(string key, string value) =>
        ProtoWriter.StringFieldSize(1, key) + ProtoWriter.StringFieldSize(2, value);
}
