using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;

namespace Aigc.MLNet.Onnx.Gpt2;

/// <summary>One tensor entry of a safetensors header.</summary>
public sealed class SafeTensorInfo
{
    internal SafeTensorInfo(string name, string dtype, long[] shape, long fileOffset, long byteLength)
    {
        Name = name;
        DType = dtype;
        Shape = shape;
        FileOffset = fileOffset;
        ByteLength = byteLength;
    }

    /// <summary>Tensor name.</summary>
    public string Name { get; }

    /// <summary>Element type as written in the header ("F32", "F16", "BF16", "I64", …).</summary>
    public string DType { get; }

    /// <summary>Shape.</summary>
    public IReadOnlyList<long> Shape { get; }

    /// <summary>Number of elements.</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, d) => a * d);

    /// <summary>Absolute byte offset of the data in the file.</summary>
    public long FileOffset { get; }

    /// <summary>Size of the data in bytes.</summary>
    public long ByteLength { get; }
}

/// <summary>
/// Reads a safetensors file (Hugging Face's format: u64 little-endian header length, a JSON header
/// <c>{name: {dtype, shape, data_offsets}, "__metadata__": {…}}</c>, then the raw little-endian data). Only the header
/// is read on open; each tensor is read on request straight into its destination, so a 500 MB file needs no second copy.
/// F32, F16, BF16 and F64 convert to float32.
/// </summary>
public sealed class SafeTensorsFile : IDisposable
{
    /// <summary>Largest header accepted (the reference implementation's limit).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private readonly SafeFileHandle _handle;
    private readonly Dictionary<string, SafeTensorInfo> _tensors;

    private SafeTensorsFile(string path, SafeFileHandle handle, Dictionary<string, SafeTensorInfo> tensors, Dictionary<string, string> metadata)
    {
        Path = path;
        _handle = handle;
        _tensors = tensors;
        Metadata = metadata;
    }

    /// <summary>The file's path.</summary>
    public string Path { get; }

    /// <summary>The <c>__metadata__</c> entries (e.g. "format": "pt").</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Tensor entries in file order.</summary>
    public IReadOnlyList<SafeTensorInfo> Tensors => _tensors.Values.OrderBy(t => t.FileOffset).ToList();

    /// <summary>Tensor names.</summary>
    public IReadOnlyCollection<string> Names => _tensors.Keys;

    /// <summary>True when the file has tensor <paramref name="name"/>.</summary>
    public bool Contains(string name) => _tensors.ContainsKey(name);

    /// <summary>Header entry of tensor <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such tensor (the message names the file).</exception>
    public SafeTensorInfo this[string name] =>
        _tensors.TryGetValue(name, out SafeTensorInfo? t) ? t : throw new KeyNotFoundException($"'{Path}' has no tensor '{name}'.");

    /// <summary>Opens <paramref name="path"/> and validates its header.</summary>
    /// <exception cref="InvalidDataException">Corrupt header or offsets; the message names the file and tensor.</exception>
    public static SafeTensorsFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"safetensors file not found: '{path}'.", path);
        SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
        try
        {
            long fileLength = RandomAccess.GetLength(handle);
            if (fileLength < 8) throw new InvalidDataException($"'{path}' is {fileLength} bytes, too short for a safetensors header.");
            Span<byte> lenBytes = stackalloc byte[8];
            RandomAccess.Read(handle, lenBytes, 0);
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lenBytes);
            if (headerLength > MaxHeaderBytes || (long)headerLength > fileLength - 8)
                throw new InvalidDataException($"'{path}': header length {headerLength} does not fit the file ({fileLength} bytes); not a safetensors file or truncated.");
            byte[] header = new byte[headerLength];
            RandomAccess.Read(handle, header, 8);
            long dataStart = 8 + (long)headerLength;
            var (tensors, metadata) = ParseHeader(path, header, dataStart, fileLength - dataStart);
            return new SafeTensorsFile(path, handle, tensors, metadata);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static (Dictionary<string, SafeTensorInfo>, Dictionary<string, string>) ParseHeader(string path, byte[] header, long dataStart, long dataLength)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(header); }
        catch (JsonException ex) { throw new InvalidDataException($"'{path}': the safetensors header is not valid JSON: {ex.Message}", ex); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"'{path}': the safetensors header must be a JSON object.");
            var tensors = new Dictionary<string, SafeTensorInfo>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (JsonProperty p in doc.RootElement.EnumerateObject())
            {
                if (p.Name == "__metadata__")
                {
                    if (p.Value.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"'{path}': __metadata__ must be an object.");
                    foreach (JsonProperty m in p.Value.EnumerateObject())
                        metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : m.Value.GetRawText();
                    continue;
                }
                tensors[p.Name] = ParseEntry(path, p, dataStart, dataLength);
            }
            return (tensors, metadata);
        }
    }

    private static SafeTensorInfo ParseEntry(string path, JsonProperty p, long dataStart, long dataLength)
    {
        string where = $"'{path}', tensor '{p.Name}'";
        if (p.Value.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{where}: header entry must be an object.");
        if (!p.Value.TryGetProperty("dtype", out JsonElement dt) || dt.ValueKind != JsonValueKind.String)
            throw new InvalidDataException($"{where}: missing string 'dtype'.");
        string dtype = dt.GetString()!;
        int size = DTypeSize(dtype);
        if (size == 0) throw new InvalidDataException($"{where}: unknown dtype '{dtype}'.");
        if (!p.Value.TryGetProperty("shape", out JsonElement sh) || sh.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"{where}: missing array 'shape'.");
        var shape = new long[sh.GetArrayLength()];
        int k = 0;
        foreach (JsonElement d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long v) || v < 0)
                throw new InvalidDataException($"{where}: shape {sh.GetRawText()} must hold non-negative integers.");
            shape[k++] = v;
        }
        if (!p.Value.TryGetProperty("data_offsets", out JsonElement off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2
            || !off[0].TryGetInt64(out long begin) || !off[1].TryGetInt64(out long end))
            throw new InvalidDataException($"{where}: 'data_offsets' must be [begin, end].");
        if (begin < 0 || end < begin || end > dataLength)
            throw new InvalidDataException($"{where}: data_offsets [{begin}, {end}] fall outside the data section ({dataLength} bytes); the file is corrupt or truncated.");
        long count;
        try { count = shape.Aggregate(1L, (a, d) => checked(a * d)); }
        catch (OverflowException) { throw new InvalidDataException($"{where}: shape {sh.GetRawText()} is too large."); }
        if (count * size != end - begin)
            throw new InvalidDataException($"{where}: shape {sh.GetRawText()} of {dtype} needs {count * size} bytes but data_offsets [{begin}, {end}] span {end - begin}.");
        return new SafeTensorInfo(p.Name, dtype, shape, dataStart + begin, end - begin);
    }

    /// <summary>Bytes per element of a safetensors dtype, or 0 if unknown.</summary>
    public static int DTypeSize(string dtype) => dtype switch
    {
        "F64" or "I64" or "U64" => 8,
        "F32" or "I32" or "U32" => 4,
        "F16" or "BF16" or "I16" or "U16" => 2,
        "I8" or "U8" or "BOOL" or "F8_E4M3" or "F8_E5M2" => 1,
        _ => 0,
    };

    /// <summary>Reads tensor <paramref name="name"/> as float32 (from F32, F16, BF16 or F64).</summary>
    public float[] ReadFloat32(string name)
    {
        SafeTensorInfo t = this[name];
        if (t.ElementCount > Array.MaxLength) throw new InvalidDataException($"'{Path}', tensor '{name}': {t.ElementCount} elements is too many for one array.");
        var result = new float[t.ElementCount];
        ReadFloat32(name, result);
        return result;
    }

    /// <summary>Reads tensor <paramref name="name"/> as float32 into <paramref name="destination"/> (exactly its element count).</summary>
    public void ReadFloat32(string name, Span<float> destination)
    {
        SafeTensorInfo t = this[name];
        if (destination.Length != t.ElementCount)
            throw new ArgumentException($"'{Path}', tensor '{name}' has {t.ElementCount} elements but the destination holds {destination.Length}.", nameof(destination));
        switch (t.DType)
        {
            case "F32":
                ReadExactly(t, MemoryMarshal.AsBytes(destination), t.FileOffset);
                if (!BitConverter.IsLittleEndian)
                    for (int i = 0; i < destination.Length; i++)
                        destination[i] = BinaryPrimitives.ReadSingleLittleEndian(MemoryMarshal.AsBytes(destination.Slice(i, 1)));
                break;
            case "F16":
            case "BF16":
            case "F64":
                ConvertChunked(t, destination);
                break;
            default:
                throw new InvalidDataException($"'{Path}', tensor '{name}' has dtype {t.DType}; expected F32, F16, BF16 or F64.");
        }
    }

    private void ConvertChunked(SafeTensorInfo t, Span<float> destination)
    {
        int size = DTypeSize(t.DType);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            int perChunk = buffer.Length / size;
            long offset = t.FileOffset;
            for (int start = 0; start < destination.Length; start += perChunk)
            {
                int n = Math.Min(perChunk, destination.Length - start);
                Span<byte> bytes = buffer.AsSpan(0, n * size);
                ReadExactly(t, bytes, offset);
                offset += bytes.Length;
                Span<float> dst = destination.Slice(start, n);
                for (int i = 0; i < n; i++)
                {
                    dst[i] = t.DType switch
                    {
                        "F16" => (float)BinaryPrimitives.ReadHalfLittleEndian(bytes.Slice(i * 2)),
                        "BF16" => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes.Slice(i * 2)) << 16),
                        _ => (float)BinaryPrimitives.ReadDoubleLittleEndian(bytes.Slice(i * 8)),
                    };
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The raw little-endian bytes of tensor <paramref name="name"/>.</summary>
    public byte[] ReadBytes(string name)
    {
        SafeTensorInfo t = this[name];
        var bytes = new byte[t.ByteLength];
        ReadExactly(t, bytes, t.FileOffset);
        return bytes;
    }

    private void ReadExactly(SafeTensorInfo t, Span<byte> destination, long offset)
    {
        while (destination.Length > 0)
        {
            int n = RandomAccess.Read(_handle, destination, offset);
            if (n <= 0) throw new InvalidDataException($"'{Path}', tensor '{t.Name}': unexpected end of file at byte {offset}.");
            destination = destination[n..];
            offset += n;
        }
    }

    /// <summary>Closes the file.</summary>
    public void Dispose() => _handle.Dispose();
}
