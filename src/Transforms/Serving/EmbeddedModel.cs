using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.ML.Transforms;

namespace Aigc.MLNet.Transforms.Serving;

// Saved pipelines built with EmbedModel carry the model files inside the zip that mlContext.Model.Save writes.
//
// Why this route: a third-party assembly cannot add entries to ML.NET's model zip (ModelSaveContext is internal), and a
// CustomMapping saves only its contract name. ML.NET's own OnnxTransformer, however, saves the bytes of its ONNX model
// in the zip and restores them on load. So the saved chain holds an OnnxTransformer over a *carrier* ONNX model whose
// only initializer is the payload below, and whose graph returns a prefix of it:
//
//   carrier graph (opset 13):  payload uint8 [1, N] (initializer)
//                              __AigcEmbedEnd int64 [1, 1] (input) -> Reshape [-1] -> Slice(payload, starts [0], ends, axes [1])
//                              -> __AigcEmbedBytes uint8 [1, n] (output; n = 0 or N)
//
// Payload (version 1, little-endian):
//   bytes 0..7   ASCII "AIGCMOD1"
//   int32        H, the length of the header
//   H bytes      UTF-8 JSON header: {"contentHash": "<sha256>", "files": [{"path": "onnx/model.onnx", "length": 123, "sha256": "..."}, ...]}
//   then the files' bytes back to back in header order (no padding).
//
// The chain around it (ConfiguredMapping.Create with a carrier):
//   __AigcEmbedKey (constant: the encoded ModelSource) -> EmbeddedModelGateMapping -> __AigcEmbedEnd: 0 once the files are
//   extracted in this process (rows then cost one empty ONNX Runtime call), int64.MaxValue for the one row that extracts
//   them -> carrier -> __AigcEmbedBytes -> EmbeddedModelMapping: extracts a non-empty payload to
//   ModelSearch.CacheFolder/<contentHash>/ and passes the configuration on as AigcConfig to the model's own mapping.
//
// Extraction is atomic: files are written and hashed into "<cache>/.<hash>.<guid>.tmp", then the folder is renamed to
// "<cache>/<hash>". An existing entry is used only when every file's SHA-256 matches; a corrupted one is replaced.
// The carrier is limited by protobuf to 2 GB, so EmbedModel refuses larger model folders.

/// <summary>A carrier ONNX file written for one save, deleted when disposed.</summary>
internal sealed class EmbeddedModelCarrier : IDisposable
{
    /// <summary>Payloads above this do not fit an ONNX protobuf (2 GB minus room for the graph).</summary>
    internal const long MaxPayloadBytes = int.MaxValue - (1 << 20);

    private static readonly byte[] Magic = "AIGCMOD1"u8.ToArray();
    private static readonly JsonSerializerOptions s_headerJson = new(JsonSerializerDefaults.Web);

    private EmbeddedModelCarrier(string path, string key)
    {
        Path = path;
        Key = key;
    }

    /// <summary>The carrier .onnx file.</summary>
    public string Path { get; }

    /// <summary>The encoded <see cref="ModelSource"/> the gate and extraction mappings read.</summary>
    public string Key { get; }

    /// <summary>Writes the carrier for <paramref name="source"/>'s files, read from <paramref name="folder"/> (hashes checked while copying).</summary>
    public static EmbeddedModelCarrier Write(ModelSource source, string folder)
    {
        byte[] header = Header(source);
        long payloadLength = Magic.Length + 4L + header.Length + source.TotalBytes;
        if (payloadLength > MaxPayloadBytes)
            throw new NotSupportedException(
                $"{source.Transform}: EmbedModel carries at most {MaxPayloadBytes / (1 << 20)} MB (ONNX's protobuf limit); the files of '{source.Folder}' take {source.TotalBytes / (1 << 20)} MB. " +
                $"Save without EmbedModel and ship the folder, found through the {ModelSearch.SearchPathVariable} environment variable or ModelSearchPaths.");
        string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"aigc-carrier-{source.ContentHash[..16]}-{Guid.NewGuid():N}.onnx");
        try
        {
            using (var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                WriteCarrier(stream, payloadLength, payload =>
                {
                    payload.Write(Magic);
                    Span<byte> length = stackalloc byte[4];
                    BinaryPrimitives.WriteInt32LittleEndian(length, header.Length);
                    payload.Write(length);
                    payload.Write(header);
                    foreach (var file in source.Files)
                        CopyVerified(source, folder, file, payload);
                });
            }
            return new EmbeddedModelCarrier(path, ConfiguredMapping.EncodeConfig(source));
        }
        catch
        {
            TryDelete(path);
            throw;
        }
    }

    public void Dispose() => TryDelete(Path);

    /// <summary>The files of a payload, checked against <paramref name="source"/>: (entry, offset of its bytes).</summary>
    public static IReadOnlyList<(ModelFileEntry File, int Offset)> ReadPayload(ReadOnlySpan<byte> payload, ModelSource source)
    {
        string what = $"{source.Transform}: the model files embedded in this saved pipeline";
        if (payload.Length < Magic.Length + 4 || !payload[..Magic.Length].SequenceEqual(Magic))
            throw new InvalidDataException($"{what} do not start with the expected marker; the saved pipeline is damaged.");
        int headerLength = BinaryPrimitives.ReadInt32LittleEndian(payload[Magic.Length..]);
        int offset = Magic.Length + 4;
        if (headerLength <= 0 || headerLength > payload.Length - offset)
            throw new InvalidDataException($"{what} have a header of {headerLength} bytes in a payload of {payload.Length}; the saved pipeline is damaged.");
        PayloadHeader header;
        try
        {
            header = JsonSerializer.Deserialize<PayloadHeader>(payload.Slice(offset, headerLength), s_headerJson) ?? throw new JsonException("empty header");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{what} have an unreadable header ({e.Message}); the saved pipeline is damaged.", e);
        }
        if (header.ContentHash != source.ContentHash || header.Files.Length != source.Files.Length)
            throw new InvalidDataException($"{what} belong to model {header.ContentHash}, not to {source.ContentHash} named by its configuration; the saved pipeline is damaged.");
        offset += headerLength;
        var result = new List<(ModelFileEntry, int)>();
        for (int i = 0; i < source.Files.Length; i++)
        {
            var expected = source.Files[i];
            var found = header.Files[i];
            if (found.Path != expected.Path || found.Length != expected.Length || found.Sha256 != expected.Sha256)
                throw new InvalidDataException($"{what} list '{found.Path}' where the configuration expects '{expected.Path}'; the saved pipeline is damaged.");
            if (expected.Length > payload.Length - offset)
                throw new InvalidDataException($"{what} end inside '{expected.Path}'; the saved pipeline is damaged.");
            result.Add((expected, offset));
            offset += (int)expected.Length;
        }
        if (offset != payload.Length)
            throw new InvalidDataException($"{what} have {payload.Length - offset} unexpected trailing bytes; the saved pipeline is damaged.");
        return result;
    }

    private static byte[] Header(ModelSource source) =>
        JsonSerializer.SerializeToUtf8Bytes(new PayloadHeader(source.ContentHash, source.Files), s_headerJson);

    private static void CopyVerified(ModelSource source, string folder, ModelFileEntry file, Stream destination)
    {
        string full = ModelSource.Full(folder, file.Path);
        using var input = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        if (input.Length != file.Length)
            throw new InvalidDataException($"{source.Transform}: model file '{full}' changed while the pipeline was being saved ({input.Length} bytes, expected {file.Length}).");
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        int read;
        while ((read = input.Read(buffer)) > 0)
        {
            sha.AppendData(buffer, 0, read);
            destination.Write(buffer, 0, read);
        }
        string actual = Convert.ToHexStringLower(sha.GetHashAndReset());
        if (actual != file.Sha256)
            throw new InvalidDataException($"{source.Transform}: model file '{full}' changed since the pipeline was built (SHA-256 {actual}, expected {file.Sha256}); it was not saved.");
    }

    // ---- carrier protobuf (ModelProto) -------------------------------------------------------------------------------

    private const string InputName = ConfiguredMapping.EmbedEndColumnName;
    private const string OutputName = ConfiguredMapping.EmbedBytesColumnName;

    private static void WriteCarrier(Stream output, long payloadLength, Action<Stream> writePayload)
    {
        // TensorProto "payload": dims 1, N; data_type UINT8 (2); name; raw_data (field 9) streamed.
        var tensorHead = new MemoryStream();
        Varint(tensorHead, 1, 1);
        Varint(tensorHead, 1, (ulong)payloadLength);
        Varint(tensorHead, 2, 2);
        Bytes(tensorHead, 8, "payload"u8);
        Tag(tensorHead, 9, 2);
        RawVarint(tensorHead, (ulong)payloadLength);
        long tensorLength = tensorHead.Length + payloadLength;

        var graphHead = new MemoryStream();
        Message(graphHead, 1, Node("Reshape", [InputName, "flat"], ["end"]));
        Message(graphHead, 1, Node("Slice", ["payload", "starts", "end", "axes"], [OutputName]));
        Bytes(graphHead, 2, "aigc_embedded_model"u8);
        Tag(graphHead, 5, 2);
        RawVarint(graphHead, (ulong)tensorLength);
        graphHead.Write(tensorHead.GetBuffer(), 0, (int)tensorHead.Length);

        var graphTail = new MemoryStream();
        Message(graphTail, 5, Int64Tensor("starts", 0));
        Message(graphTail, 5, Int64Tensor("axes", 1));
        Message(graphTail, 5, Int64Tensor("flat", -1));
        Message(graphTail, 11, ValueInfo(InputName, 7, [(1, null), (1, null)]));
        Message(graphTail, 12, ValueInfo(OutputName, 2, [(1, null), (0, "payload_length")]));
        long graphLength = graphHead.Length + payloadLength + graphTail.Length;

        var model = new MemoryStream();
        Varint(model, 1, 8);                                   // ir_version
        Bytes(model, 2, "Aigc.MLNet"u8);                      // producer_name
        Bytes(model, 6, "embedded model files of a saved ML.NET pipeline"u8);   // doc_string
        var opset = new MemoryStream();
        Bytes(opset, 1, ""u8);
        Varint(opset, 2, 13);
        Message(model, 8, opset);                             // opset_import
        Tag(model, 7, 2);                                     // graph
        RawVarint(model, (ulong)graphLength);

        output.Write(model.GetBuffer(), 0, (int)model.Length);
        output.Write(graphHead.GetBuffer(), 0, (int)graphHead.Length);
        long before = output.Position;
        writePayload(output);
        if (output.Position - before != payloadLength)
            throw new InvalidOperationException($"The embedded payload took {output.Position - before} bytes, not the {payloadLength} announced.");
        output.Write(graphTail.GetBuffer(), 0, (int)graphTail.Length);
    }

    private static MemoryStream Node(string op, string[] inputs, string[] outputs)
    {
        var node = new MemoryStream();
        foreach (string i in inputs) Bytes(node, 1, Encoding.UTF8.GetBytes(i));
        foreach (string o in outputs) Bytes(node, 2, Encoding.UTF8.GetBytes(o));
        Bytes(node, 3, Encoding.UTF8.GetBytes(op.ToLowerInvariant()));
        Bytes(node, 4, Encoding.UTF8.GetBytes(op));
        return node;
    }

    private static MemoryStream Int64Tensor(string name, long value)
    {
        var tensor = new MemoryStream();
        Varint(tensor, 1, 1);
        Varint(tensor, 2, 7);
        Bytes(tensor, 8, Encoding.UTF8.GetBytes(name));
        Bytes(tensor, 9, BitConverter.GetBytes(value));       // raw_data, little-endian on every platform .NET runs on
        return tensor;
    }

    private static MemoryStream ValueInfo(string name, int elementType, (long Value, string? Param)[] dims)
    {
        var shape = new MemoryStream();
        foreach (var (value, param) in dims)
        {
            var dim = new MemoryStream();
            if (param is null) Varint(dim, 1, (ulong)value);
            else Bytes(dim, 2, Encoding.UTF8.GetBytes(param));
            Message(shape, 1, dim);
        }
        var tensorType = new MemoryStream();
        Varint(tensorType, 1, (ulong)elementType);
        Message(tensorType, 2, shape);
        var type = new MemoryStream();
        Message(type, 1, tensorType);
        var info = new MemoryStream();
        Bytes(info, 1, Encoding.UTF8.GetBytes(name));
        Message(info, 2, type);
        return info;
    }

    private static void Tag(Stream s, int field, int wireType) => RawVarint(s, (ulong)((field << 3) | wireType));

    private static void Varint(Stream s, int field, ulong value)
    {
        Tag(s, field, 0);
        RawVarint(s, value);
    }

    private static void Bytes(Stream s, int field, ReadOnlySpan<byte> value)
    {
        Tag(s, field, 2);
        RawVarint(s, (ulong)value.Length);
        s.Write(value);
    }

    private static void Message(Stream s, int field, MemoryStream message) =>
        Bytes(s, field, message.GetBuffer().AsSpan(0, (int)message.Length));

    private static void RawVarint(Stream s, ulong value)
    {
        while (value >= 0x80)
        {
            s.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        s.WriteByte((byte)value);
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private sealed record PayloadHeader(string ContentHash, ModelFileEntry[] Files);
}

/// <summary>
/// The extracted copies of embedded model files in <see cref="ModelSearch.CacheFolder"/>, and the process-wide
/// coordination that lets exactly one row carry a model's payload while the others wait for its extraction.
/// </summary>
internal static class EmbeddedModelStore
{
    private static readonly TimeSpan AbandonedClaim = TimeSpan.FromMinutes(2);
    private static readonly ConcurrentDictionary<string, ModelSource> s_sources = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, State> s_states = new(StringComparer.Ordinal);

    private sealed class State
    {
        public bool Ready;
        public int Owner;
        public DateTime ClaimedAt;
    }

    public static string EntryFolder(string contentHash) => Path.Combine(ModelSearch.CacheFolder, contentHash);

    /// <summary>The verified extracted folder of <paramref name="source"/>, or null when it is absent or does not match.</summary>
    public static string? TryVerifiedEntry(ModelSource source)
    {
        string folder = EntryFolder(source.ContentHash);
        return Directory.Exists(folder) && source.Check(folder) is null ? folder : null;
    }

    /// <summary>The gate: 0 when the files are extracted (and verified once per process), else <see cref="long.MaxValue"/> for one claiming row; other rows wait for it.</summary>
    public static long PayloadRequest(string key)
    {
        var source = Source(key);
        var state = s_states.GetOrAdd(source.ContentHash, _ => new State());
        int me = Environment.CurrentManagedThreadId;
        lock (state)
        {
            while (true)
            {
                if (state.Ready && Directory.Exists(EntryFolder(source.ContentHash)))
                    return 0;
                if (state.Owner == 0 || state.Owner == me || DateTime.UtcNow - state.ClaimedAt > AbandonedClaim)
                {
                    if (TryVerifiedEntry(source) is not null)
                    {
                        state.Ready = true;
                        state.Owner = 0;
                        return 0;
                    }
                    state.Ready = false;
                    state.Owner = me;
                    state.ClaimedAt = DateTime.UtcNow;
                    return long.MaxValue;
                }
                Monitor.Wait(state, TimeSpan.FromSeconds(1));
            }
        }
    }

    /// <summary>After the carrier: extracts a non-empty payload, or checks that the files are in place.</summary>
    public static void Complete(string key, ReadOnlySpan<byte> payload)
    {
        var source = Source(key);
        var state = s_states.GetOrAdd(source.ContentHash, _ => new State());
        if (payload.IsEmpty)
        {
            lock (state)
                if (state.Ready)
                    return;
            if (TryVerifiedEntry(source) is not null)
                return;
            throw new InvalidOperationException(
                $"{source.Transform}: the embedded model files were not extracted to '{EntryFolder(source.ContentHash)}' (was the cache folder changed or cleaned while the pipeline ran?). Run the pipeline again.");
        }
        try
        {
            Extract(source, payload);
            lock (state)
            {
                state.Ready = true;
                state.Owner = 0;
                Monitor.PulseAll(state);
            }
        }
        catch
        {
            lock (state)
            {
                state.Owner = 0;
                Monitor.PulseAll(state);
            }
            throw;
        }
    }

    private static ModelSource Source(string key) => s_sources.GetOrAdd(key, k =>
    {
        var source = ConfiguredMapping.DecodeConfig<ModelSource>(k);
        if (!source.IsConsistent())
            throw new InvalidDataException($"{source.Transform}: the embedded model description in this saved pipeline does not match its content hash or names files outside the model folder; the saved pipeline is damaged.");
        return source;
    });

    private static void Extract(ModelSource source, ReadOnlySpan<byte> payload)
    {
        var files = EmbeddedModelCarrier.ReadPayload(payload, source);
        string cache = ModelSearch.CacheFolder;
        Directory.CreateDirectory(cache);
        string final = EntryFolder(source.ContentHash);
        string temp = Path.Combine(cache, $".{source.ContentHash}.{Guid.NewGuid():N}.tmp");
        try
        {
            Directory.CreateDirectory(temp);
            foreach (var (file, offset) in files)
            {
                var bytes = payload.Slice(offset, (int)file.Length);
                string actual = Convert.ToHexStringLower(SHA256.HashData(bytes));
                if (actual != file.Sha256)
                    throw new InvalidDataException(
                        $"{source.Transform}: the embedded copy of '{file.Path}' in this saved pipeline is damaged (SHA-256 {actual}, expected {file.Sha256}).");
                string target = ModelSource.Full(temp, file.Path);
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                using var stream = new FileStream(target, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }
            for (int attempt = 0; ; attempt++)
            {
                if (Directory.Exists(final))
                {
                    if (source.Check(final) is null)
                        return;   // another process extracted the same files meanwhile
                    // A damaged entry (a file edited or truncated): move it aside, then replace it.
                    string damaged = Path.Combine(cache, $".{source.ContentHash}.{Guid.NewGuid():N}.damaged");
                    try
                    {
                        Directory.Move(final, damaged);
                        Directory.Delete(damaged, recursive: true);
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException && attempt < 3)
                    {
                        continue;
                    }
                }
                try
                {
                    Directory.Move(temp, final);
                    return;
                }
                catch (IOException) when (attempt < 3 && Directory.Exists(final))
                {
                    // Lost a race with another process; check its entry on the next pass.
                }
            }
        }
        finally
        {
            if (Directory.Exists(temp))
            {
                try
                {
                    Directory.Delete(temp, recursive: true);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                }
            }
        }
    }
}

/// <summary>Input of <see cref="EmbeddedModelGateMapping"/>.</summary>
public sealed class EmbeddedModelGateInput
{
    /// <summary>The encoded description of the embedded model files.</summary>
    public string __AigcEmbedKey { get; set; } = "";
}

/// <summary>Output of <see cref="EmbeddedModelGateMapping"/>.</summary>
public sealed class EmbeddedModelGateOutput
{
    /// <summary>How many payload bytes the carrier returns for this row: 0, or all of them.</summary>
    public long __AigcEmbedEnd { get; set; }
}

/// <summary>Asks the carrier for the embedded files only until they are extracted in this process (see the format notes in EmbeddedModel.cs).</summary>
[CustomMappingFactoryAttribute(ContractName)]
public sealed class EmbeddedModelGateMapping : CustomMappingFactory<EmbeddedModelGateInput, EmbeddedModelGateOutput>
{
    /// <summary>Contract name stored in saved models.</summary>
    public const string ContractName = "Aigc.MLNet.Serving.EmbeddedModelGate";

    /// <inheritdoc/>
    public override Action<EmbeddedModelGateInput, EmbeddedModelGateOutput> GetMapping() =>
        static (input, output) => output.__AigcEmbedEnd = EmbeddedModelStore.PayloadRequest(input.__AigcEmbedKey);
}

/// <summary>Input of <see cref="EmbeddedModelMapping"/>.</summary>
public sealed class EmbeddedModelInput
{
    /// <summary>The encoded description of the embedded model files.</summary>
    public string __AigcEmbedKey { get; set; } = "";

    /// <summary>The model mapping's configuration, passed on once the files are in place.</summary>
    public string __AigcConfigSource { get; set; } = "";

    /// <summary>The payload returned by the carrier (empty on all but one row).</summary>
    public byte[] __AigcEmbedBytes { get; set; } = [];
}

/// <summary>Output of <see cref="EmbeddedModelMapping"/>.</summary>
public sealed class EmbeddedModelOutput
{
    /// <summary>The configuration of the model's own mapping.</summary>
    public string AigcConfig { get; set; } = "";
}

/// <summary>Extracts the embedded files to the cache folder when a row carries them, then passes the configuration on.</summary>
[CustomMappingFactoryAttribute(ContractName)]
public sealed class EmbeddedModelMapping : CustomMappingFactory<EmbeddedModelInput, EmbeddedModelOutput>
{
    /// <summary>Contract name stored in saved models.</summary>
    public const string ContractName = "Aigc.MLNet.Serving.EmbeddedModel";

    /// <inheritdoc/>
    public override Action<EmbeddedModelInput, EmbeddedModelOutput> GetMapping() => static (input, output) =>
    {
        EmbeddedModelStore.Complete(input.__AigcEmbedKey, input.__AigcEmbedBytes ?? []);
        output.AigcConfig = input.__AigcConfigSource;
    };
}
