using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;
using Aigc.MLNet.Onnx.Proto;

namespace Aigc.MLNet.Onnx.Gpt2;

/// <summary>
/// Writes a safetensors file from float32 arrays, stored as F32, F16 or BF16. Tensors are written in name order,
/// the header is padded with spaces to a multiple of 8 bytes (as the reference writer does) and the file is written atomically.
/// </summary>
public sealed class SafeTensorsWriter
{
    private readonly SortedDictionary<string, (float[] Data, long[] Shape, string DType)> _tensors = new(StringComparer.Ordinal);

    /// <summary>Header <c>__metadata__</c> entries; defaults to "format": "pt" as PyTorch checkpoints have.</summary>
    public IDictionary<string, string> Metadata { get; } = new Dictionary<string, string>(StringComparer.Ordinal) { ["format"] = "pt" };

    /// <summary>Adds a tensor (the array is kept until <see cref="Save"/>).</summary>
    /// <param name="name">Tensor name.</param>
    /// <param name="data">Values, row-major.</param>
    /// <param name="shape">Shape; its product must equal the length of <paramref name="data"/>.</param>
    /// <param name="dtype">"F32" (default), "F16" or "BF16".</param>
    public void Add(string name, float[] data, IReadOnlyList<long> shape, string dtype = "F32")
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        if (name == "__metadata__") throw new ArgumentException("'__metadata__' is reserved.", nameof(name));
        if (dtype is not ("F32" or "F16" or "BF16")) throw new ArgumentException($"Tensor '{name}': dtype '{dtype}' is not F32, F16 or BF16.", nameof(dtype));
        long count = shape.Aggregate(1L, (a, d) => d < 0 ? throw new ArgumentException($"Tensor '{name}': negative dimension.", nameof(shape)) : a * d);
        if (count != data.LongLength)
            throw new ArgumentException($"Tensor '{name}': shape [{string.Join(", ", shape)}] needs {count} values but {data.LongLength} were given.", nameof(data));
        if (!_tensors.TryAdd(name, (data, shape.ToArray(), dtype)))
            throw new ArgumentException($"Tensor '{name}' was already added.", nameof(name));
    }

    /// <summary>Writes the file.</summary>
    public void Save(string path)
    {
        var offsets = new Dictionary<string, (long, long)>();
        long offset = 0;
        foreach (var (name, t) in _tensors)
        {
            long bytes = t.Data.LongLength * SafeTensorsFile.DTypeSize(t.DType);
            offsets[name] = (offset, offset + bytes);
            offset += bytes;
        }
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            if (Metadata.Count > 0)
            {
                w.WriteStartObject("__metadata__");
                foreach (var (k, v) in Metadata) w.WriteString(k, v);
                w.WriteEndObject();
            }
            foreach (var (name, t) in _tensors)
            {
                w.WriteStartObject(name);
                w.WriteString("dtype", t.DType);
                w.WriteStartArray("shape");
                foreach (long d in t.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offsets[name].Item1);
                w.WriteNumberValue(offsets[name].Item2);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        while (ms.Length % 8 != 0) ms.WriteByte((byte)' ');
        byte[] header = ms.ToArray();

        AtomicFile.Write(path, s =>
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
            s.Write(len);
            s.Write(header);
            byte[] chunk = new byte[1 << 16];
            foreach (var (_, t) in _tensors)
            {
                if (t.DType == "F32" && BitConverter.IsLittleEndian)
                {
                    s.Write(MemoryMarshal.AsBytes(t.Data.AsSpan()));
                    continue;
                }
                int size = SafeTensorsFile.DTypeSize(t.DType);
                int per = chunk.Length / size;
                for (int start = 0; start < t.Data.Length; start += per)
                {
                    int n = Math.Min(per, t.Data.Length - start);
                    for (int i = 0; i < n; i++)
                    {
                        float v = t.Data[start + i];
                        Span<byte> dst = chunk.AsSpan(i * size, size);
                        switch (t.DType)
                        {
                            case "F32": BinaryPrimitives.WriteSingleLittleEndian(dst, v); break;
                            case "F16": BinaryPrimitives.WriteHalfLittleEndian(dst, (Half)v); break;
                            default: BinaryPrimitives.WriteUInt16LittleEndian(dst, ToBFloat16(v)); break;
                        }
                    }
                    s.Write(chunk, 0, n * size);
                }
            }
        });
    }

    // Round to nearest even, as torch does when casting float32 to bfloat16.
    private static ushort ToBFloat16(float v)
    {
        uint bits = (uint)BitConverter.SingleToInt32Bits(v);
        if (float.IsNaN(v)) return (ushort)((bits >> 16) | 0x40);
        uint rounding = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }
}
