using System.Reflection;

namespace Aigc.MLNet.Onnx.Proto;

/// <summary>
/// An ONNX model (<c>ModelProto</c>): a graph plus IR version, opset imports and producer. Save with
/// <see cref="Save(string, OnnxSaveOptions?)"/> (atomic; external data for large models) or get bytes with
/// <see cref="ToArray"/> to hand straight to an ONNX Runtime session.
/// </summary>
public sealed class OnnxModel
{
    /// <summary>Default opset of the default ONNX domain.</summary>
    public const long DefaultOpset = 17;

    /// <summary>Default IR version (9, read by ONNX Runtime 1.15 and later).</summary>
    public const long DefaultIrVersion = 9;

    /// <summary>Wraps <paramref name="graph"/> in a model importing the default domain at opset 17.</summary>
    public OnnxModel(OnnxGraph graph)
    {
        Graph = graph ?? throw new ArgumentNullException(nameof(graph));
        OpsetImports = new Dictionary<string, long>(StringComparer.Ordinal) { [""] = DefaultOpset };
    }

    /// <summary>The main graph.</summary>
    public OnnxGraph Graph { get; }

    /// <summary>IR version (<c>ir_version</c>); default 9.</summary>
    public long IrVersion { get; set; } = DefaultIrVersion;

    /// <summary>Operator sets: domain ("" = default ONNX domain, e.g. "com.microsoft") to version. Default {"": 17}.</summary>
    public IDictionary<string, long> OpsetImports { get; }

    /// <summary>Producer name; default "Aigc.MLNet".</summary>
    public string ProducerName { get; set; } = "Aigc.MLNet";

    /// <summary>Producer version; default this assembly's version.</summary>
    public string ProducerVersion { get; set; } =
        typeof(OnnxModel).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "1.0.0";

    /// <summary>Optional model domain (reverse DNS).</summary>
    public string Domain { get; set; } = "";

    /// <summary>Model version number.</summary>
    public long ModelVersion { get; set; }

    /// <summary>Optional documentation.</summary>
    public string DocString { get; set; } = "";

    /// <summary>Free-form metadata (<c>metadata_props</c>), readable through ONNX Runtime's ModelMetadata.CustomMetadataMap.</summary>
    public IDictionary<string, string> Metadata { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Serializes the model with all data inline.</summary>
    /// <exception cref="InvalidOperationException">The graph is invalid or the model is over 2 GB (use <see cref="Save(string, OnnxSaveOptions?)"/>).</exception>
    public byte[] ToArray()
    {
        Graph.Validate();
        long size = ComputeSize(OnnxSerializationPlan.Inline);
        CheckProtobufLimit(size, "in memory");
        using var ms = new MemoryStream((int)size);
        using (var w = new ProtoWriter(ms)) WriteTo(w, OnnxSerializationPlan.Inline);
        return ms.ToArray();
    }

    /// <summary>Writes the model (data inline) to a stream.</summary>
    public void WriteTo(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Graph.Validate();
        CheckProtobufLimit(ComputeSize(OnnxSerializationPlan.Inline), "to a stream");
        using var w = new ProtoWriter(stream);
        WriteTo(w, OnnxSerializationPlan.Inline);
    }

    /// <summary>
    /// Saves the model to <paramref name="path"/> atomically (temporary file + rename). Large initializers go to an
    /// external data file beside it (default <c>{file name}_data</c>) when <see cref="OnnxSaveOptions.ExternalData"/>
    /// asks for it or the model would pass the 2 GB protobuf limit. A stale data file from an earlier save is removed
    /// when the new save stores everything inline.
    /// </summary>
    /// <returns>The full path of the external data file, or null when all data is inline.</returns>
    public string? Save(string path, OnnxSaveOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= new OnnxSaveOptions();
        Graph.Validate();
        string full = Path.GetFullPath(path);
        string dataName = options.ExternalDataFileName ?? Path.GetFileName(full) + "_data";
        if (Path.IsPathRooted(dataName) || dataName.Contains("..", StringComparison.Ordinal))
            throw new ArgumentException($"ExternalDataFileName '{dataName}' must be a relative file name inside the model's folder.", nameof(options));
        string dataPath = Path.Combine(Path.GetDirectoryName(full)!, dataName);

        bool external = options.ExternalData switch
        {
            OnnxExternalDataMode.Always => true,
            OnnxExternalDataMode.Never => false,
            _ => Graph.InitializerBytes > options.AutoExternalThresholdBytes,
        };

        OnnxSerializationPlan plan = OnnxSerializationPlan.Inline;
        if (external)
        {
            plan = new OnnxSerializationPlan(dataName.Replace('\\', '/'));
            var tensors = Graph.AllInitializers().Where(t => t.ByteLength >= options.MinExternalTensorBytes).ToList();
            long align = Math.Max(1, options.ExternalDataAlignment);
            long offset = 0;
            foreach (OnnxTensor t in tensors)
            {
                offset = (offset + align - 1) / align * align;
                plan.AddExternal(t, offset);
                offset += t.ByteLength;
            }
            AtomicFile.Write(dataPath, s =>
            {
                long pos = 0;
                Span<byte> zeros = stackalloc byte[4096];
                foreach (OnnxTensor t in tensors)
                {
                    plan.TryGetExternal(t, out long at);
                    while (pos < at)
                    {
                        int n = (int)Math.Min(zeros.Length, at - pos);
                        s.Write(zeros[..n]);
                        pos += n;
                    }
                    s.Write(t.RawData);
                    pos += t.ByteLength;
                }
            });
        }

        long size = ComputeSize(plan);
        CheckProtobufLimit(size, $"to '{full}'");
        AtomicFile.Write(full, s =>
        {
            using var w = new ProtoWriter(s);
            WriteTo(w, plan);
        });
        if (!external && options.ExternalDataFileName is null && File.Exists(dataPath))
            File.Delete(dataPath);
        return external ? dataPath : null;
    }

    private static void CheckProtobufLimit(long size, string where)
    {
        if (size > int.MaxValue)
            throw new InvalidOperationException(
                $"The ONNX model is {size} bytes, over protobuf's 2 GB limit, and cannot be written {where} inline; " +
                "save it to a file with OnnxSaveOptions.ExternalData = Auto or Always.");
    }

    // ModelProto: ir_version=1, producer_name=2, producer_version=3, domain=4, model_version=5, doc_string=6,
    // graph=7, opset_import=8, metadata_props=14. OperatorSetIdProto: domain=1, version=2.
    // StringStringEntryProto: key=1, value=2.

    private long ComputeSize(OnnxSerializationPlan plan)
    {
        long size = ProtoWriter.Int64FieldSize(1, IrVersion);
        size += ProtoWriter.StringFieldSize(2, ProducerName);
        size += ProtoWriter.StringFieldSize(3, ProducerVersion);
        if (Domain.Length > 0) size += ProtoWriter.StringFieldSize(4, Domain);
        if (ModelVersion != 0) size += ProtoWriter.Int64FieldSize(5, ModelVersion);
        if (DocString.Length > 0) size += ProtoWriter.StringFieldSize(6, DocString);
        size += ProtoWriter.BytesFieldSize(7, Graph.ComputeSize(plan));
        foreach (var (domain, version) in OpsetImports) size += ProtoWriter.BytesFieldSize(8, OpsetSize(domain, version));
        foreach (var (k, v) in Metadata) size += ProtoWriter.BytesFieldSize(14, EntrySize(k, v));
        return size;
    }

    private void WriteTo(ProtoWriter w, OnnxSerializationPlan plan)
    {
        w.WriteInt64Field(1, IrVersion);
        w.WriteStringField(2, ProducerName);
        w.WriteStringField(3, ProducerVersion);
        if (Domain.Length > 0) w.WriteStringField(4, Domain);
        if (ModelVersion != 0) w.WriteInt64Field(5, ModelVersion);
        if (DocString.Length > 0) w.WriteStringField(6, DocString);
        w.WriteLengthHeader(7, Graph.ComputeSize(plan));
        Graph.WriteTo(w, plan);
        foreach (var (domain, version) in OpsetImports)
        {
            w.WriteLengthHeader(8, OpsetSize(domain, version));
            if (domain.Length > 0) w.WriteStringField(1, domain);
            w.WriteInt64Field(2, version);
        }
        foreach (var (k, v) in Metadata)
        {
            w.WriteLengthHeader(14, EntrySize(k, v));
            w.WriteStringField(1, k);
            w.WriteStringField(2, v);
        }
    }

    private static long OpsetSize(string domain, long version) =>
        (domain.Length > 0 ? ProtoWriter.StringFieldSize(1, domain) : 0) + ProtoWriter.Int64FieldSize(2, version);

    private static long EntrySize(string key, string value) =>
        ProtoWriter.StringFieldSize(1, key) + ProtoWriter.StringFieldSize(2, value);
}
