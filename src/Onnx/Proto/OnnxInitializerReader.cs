using System.Buffers.Binary;
using System.Text;

namespace Aigc.MLNet.Onnx.Proto;

/// <summary>
/// Reads what a re-export needs from an .onnx file: the main graph's fp32 initializers (inline <c>raw_data</c> or
/// <c>float_data</c>, or ONNX external data beside the file) and the model's metadata properties. Nothing else of the
/// graph is interpreted; other initializer types are listed by name only.
/// </summary>
/// <remarks>
/// Protocol-buffer fields read (onnx.proto): ModelProto graph = 7, metadata_props = 14; GraphProto initializer = 5;
/// TensorProto dims = 1, data_type = 2, float_data = 4, name = 8, raw_data = 9, external_data = 13, data_location = 14;
/// StringStringEntryProto key = 1, value = 2. Unknown fields are skipped by wire type.
/// </remarks>
public sealed class OnnxInitializerReader
{
    private readonly Dictionary<string, (long[] Dims, float[] Data)> _floats = new(StringComparer.Ordinal);
    private readonly List<string> _others = [];
    private readonly Dictionary<string, string> _metadata = new(StringComparer.Ordinal);

    private OnnxInitializerReader()
    {
    }

    /// <summary>fp32 initializers by name: dims and values.</summary>
    public IReadOnlyDictionary<string, (long[] Dims, float[] Data)> FloatInitializers => _floats;

    /// <summary>Names of initializers of other element types (not read).</summary>
    public IReadOnlyList<string> OtherInitializers => _others;

    /// <summary>The model's metadata properties.</summary>
    public IReadOnlyDictionary<string, string> Metadata => _metadata;

    /// <summary>Reads <paramref name="modelPath"/>.</summary>
    /// <exception cref="FileNotFoundException">The file (or an external data file it names) does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a well-formed ONNX model.</exception>
    public static OnnxInitializerReader Read(string modelPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        if (!File.Exists(modelPath)) throw new FileNotFoundException($"ONNX model '{modelPath}' does not exist.", modelPath);
        byte[] bytes = File.ReadAllBytes(modelPath);
        var reader = new OnnxInitializerReader();
        try
        {
            var model = new Span(bytes, 0, bytes.Length);
            while (model.More)
            {
                var (field, wire) = model.Tag();
                if (field == 7 && wire == 2) reader.ReadGraph(model.Sub(), modelPath);
                else if (field == 14 && wire == 2)
                {
                    var (key, value) = ReadEntry(model.Sub());
                    reader._metadata[key] = value;
                }
                else model.Skip(wire);
            }
        }
        catch (Exception e) when (e is IndexOutOfRangeException or ArgumentOutOfRangeException or OverflowException)
        {
            throw new InvalidDataException($"'{modelPath}' is not a well-formed ONNX model (truncated or corrupt protocol buffer).", e);
        }
        return reader;
    }

    private void ReadGraph(Span graph, string modelPath)
    {
        while (graph.More)
        {
            var (field, wire) = graph.Tag();
            if (field == 5 && wire == 2) ReadTensor(graph.Sub(), modelPath);
            else graph.Skip(wire);
        }
    }

    private void ReadTensor(Span tensor, string modelPath)
    {
        var dims = new List<long>();
        long type = 0, location = 0;
        string name = "";
        Span? raw = null;
        var floats = new List<float>();
        var external = new Dictionary<string, string>(StringComparer.Ordinal);
        while (tensor.More)
        {
            var (field, wire) = tensor.Tag();
            switch (field)
            {
                case 1 when wire == 0: dims.Add((long)tensor.Varint()); break;
                case 1 when wire == 2: { var packed = tensor.Sub(); while (packed.More) dims.Add((long)packed.Varint()); break; }
                case 2 when wire == 0: type = (long)tensor.Varint(); break;
                case 4 when wire == 2: { var packed = tensor.Sub(); while (packed.More) floats.Add(packed.Float()); break; }
                case 4 when wire == 5: floats.Add(tensor.Float()); break;
                case 8 when wire == 2: name = tensor.Sub().Text(); break;
                case 9 when wire == 2: raw = tensor.Sub(); break;
                case 13 when wire == 2: { var (k, v) = ReadEntry(tensor.Sub()); external[k] = v; break; }
                case 14 when wire == 0: location = (long)tensor.Varint(); break;
                default: tensor.Skip(wire); break;
            }
        }
        if (type != (long)OnnxElementType.Float)
        {
            _others.Add(name);
            return;
        }
        long count = dims.Aggregate(1L, (a, d) => a * d);
        float[] data;
        if (location == 1)
        {
            // External data: "location" (relative to the model file), optional "offset" and "length" in bytes.
            if (!external.TryGetValue("location", out string? file))
                throw new InvalidDataException($"'{modelPath}': initializer '{name}' is external but names no location.");
            string path = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(modelPath))!, file);
            if (!File.Exists(path)) throw new FileNotFoundException($"'{modelPath}': external data file '{path}' of initializer '{name}' does not exist.", path);
            long offset = external.TryGetValue("offset", out string? o) ? long.Parse(o, System.Globalization.CultureInfo.InvariantCulture) : 0;
            data = new float[count];
            using var stream = File.OpenRead(path);
            stream.Seek(offset, SeekOrigin.Begin);
            stream.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan()));
            if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX external data is little-endian.");
        }
        else if (raw is { } r)
        {
            if (r.Length != count * 4)
                throw new InvalidDataException($"'{modelPath}': initializer '{name}' has {r.Length} bytes of raw data; its shape [{string.Join(", ", dims)}] needs {count * 4}.");
            data = new float[count];
            for (int i = 0; i < count; i++) data[i] = BinaryPrimitives.ReadSingleLittleEndian(r.Bytes.AsSpan(r.Start + i * 4, 4));
        }
        else
        {
            if (floats.Count != count)
                throw new InvalidDataException($"'{modelPath}': initializer '{name}' has {floats.Count} values; its shape [{string.Join(", ", dims)}] needs {count}.");
            data = [.. floats];
        }
        _floats[name] = ([.. dims], data);
    }

    internal static (string Key, string Value) ReadEntry(Span entry)
    {
        string key = "", value = "";
        while (entry.More)
        {
            var (field, wire) = entry.Tag();
            if (field == 1 && wire == 2) key = entry.Sub().Text();
            else if (field == 2 && wire == 2) value = entry.Sub().Text();
            else entry.Skip(wire);
        }
        return (key, value);
    }

    /// <summary>A cursor over part of the protocol-buffer bytes (the graph quantizer walks models with it too).</summary>
    internal sealed class Span
    {
        private readonly byte[] bytes;
        private int _position;
        private readonly int _end;

        public Span(byte[] bytes, int start, int length)
        {
            this.bytes = bytes;
            Start = start;
            Length = length;
            _position = start;
            _end = start + length;
        }

        public byte[] Bytes => bytes;
        public int Start { get; }
        public int Length { get; }
        public bool More => _position < _end;
        public int Position => _position;

        /// <summary>A second cursor over the rest of this one (reading it leaves this one where it is).</summary>
        public Span Clone() => new(bytes, _position, _end - _position);

        public ulong Varint()
        {
            ulong value = 0;
            for (int shift = 0; shift < 64; shift += 7)
            {
                if (_position >= _end) throw new IndexOutOfRangeException("varint runs past the message");
                byte b = bytes[_position++];
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80) return value;
            }
            throw new OverflowException("varint longer than 10 bytes");
        }

        public (int Field, int Wire) Tag()
        {
            ulong tag = Varint();
            return ((int)(tag >> 3), (int)(tag & 7));
        }

        public Span Sub()
        {
            int n = checked((int)Varint());
            if (n < 0 || _position + n > _end) throw new IndexOutOfRangeException("length runs past the message");
            var sub = new Span(bytes, _position, n);
            _position += n;
            return sub;
        }

        public float Float()
        {
            if (_position + 4 > _end) throw new IndexOutOfRangeException("fixed32 runs past the message");
            float f = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(_position, 4));
            _position += 4;
            return f;
        }

        public string Text() => Encoding.UTF8.GetString(bytes, Start, Length);

        public void Skip(int wire)
        {
            switch (wire)
            {
                case 0: Varint(); break;
                case 1: _position += 8; break;
                case 2: Sub(); break;
                case 5: _position += 4; break;
                default: throw new IndexOutOfRangeException($"unsupported protocol-buffer wire type {wire}");
            }
            if (_position > _end) throw new IndexOutOfRangeException("field runs past the message");
        }
    }
}
