using Aigc.MLNet.Onnx.Proto;
using Cursor = Aigc.MLNet.Onnx.Proto.OnnxInitializerReader.Span;

namespace Aigc.MLNet.Onnx.Quantization;

/// <summary>
/// Weight-only block quantization of an ONNX file this library did not write (a Hugging Face Optimum export, say):
/// every <c>MatMul</c> and <c>Gemm</c> whose right-hand side is a 2-D fp32 initializer of the main graph becomes
/// <c>com.microsoft.MatMulNBits</c> over the quantized weight (a Gemm's bias, C, is then added by an <c>Add</c> node).
/// PyTorch exports Hugging Face's GPT-2 <c>Conv1D</c> layers (<c>torch.addmm</c>) as Gemm over an [in, out] weight, and
/// the untied or transposed heads as MatMul. Given the vocabulary size, the token embedding — a 2-D fp32 initializer
/// with one row per token that only axis-0 <c>Gather</c> nodes read — becomes <c>com.microsoft.GatherBlockQuantized</c>
/// over its quantized rows, and with <see cref="BlockQuantizationOptions.QuantizeHead"/> off the head (the weight with one
/// output per token) and that embedding stay fp32. Everything else is copied field by field as it is in the file, so
/// operators, names, shapes and metadata this class does not know survive unchanged.
/// </summary>
/// <remarks>
/// Walked protocol-buffer fields (onnx.proto): ModelProto graph = 7, opset_import = 8, metadata_props = 14; GraphProto
/// node = 1, initializer = 5, input = 11; NodeProto input = 1, output = 2, name = 3, op_type = 4, attribute = 5,
/// domain = 7; AttributeProto name = 1, f = 2, i = 3, g = 6, graphs = 11 (subgraphs, e.g. the <c>If</c> branches of a
/// merged decoder, whose MatMuls read the main graph's initializers); TensorProto dims = 1, data_type = 2, name = 8,
/// raw_data = 9, external_data = 13, data_location = 14.
/// A weight is quantized only when every use of it is such a MatMul or a Gemm computing A·B + C or A·Bᵀ + C (transA 0,
/// alpha and beta 1) — all reading it the same way round —, it is not also a graph input (which a caller could
/// override), and its input dimension K is a multiple of the block size. Gather tables other than the token embedding
/// (position embeddings, anything whose rows are not the vocabulary) stay fp32. Initializers kept in external data are
/// written inline, so the output is one self-contained file (at most 2 GB, the protocol-buffer limit).
/// </remarks>
internal static class OnnxGraphQuantizer
{
    private const string ContribDomain = "com.microsoft";

    /// <summary>What <see cref="Rewrite"/> did.</summary>
    /// <param name="Model">The new model's bytes.</param>
    /// <param name="Quantized">Weights quantized.</param>
    /// <param name="LeftFp32">MatMul/Gemm weights left fp32 (other uses, a graph input, or K not a multiple of the block), by name.</param>
    /// <param name="Options">The options used, with an automatic block size chosen.</param>
    /// <param name="QuantizedLookups">Token-embedding Gather weights quantized (GatherBlockQuantized), by name.</param>
    public sealed record Result(byte[] Model, int Quantized, IReadOnlyList<string> LeftFp32, BlockQuantizationOptions Options, IReadOnlyList<string> QuantizedLookups);

    /// <summary>Rewrites <paramref name="modelPath"/> with MatMulNBits weights.</summary>
    /// <exception cref="InvalidDataException">The file is not a well-formed ONNX model, has no MatMul or Gemm weight to quantize, or would exceed 2 GB.</exception>
    /// <param name="modelPath">The ONNX file.</param>
    /// <param name="options">Bits, block size, symmetry, accuracy level.</param>
    /// <param name="initializers">The file's initializers when the caller has read them already.</param>
    /// <param name="vocabSize">The vocabulary size (config.json's <c>vocab_size</c>), which tells the token embedding and
    /// the head apart from other weights; null leaves every Gather weight fp32 and treats no weight as the head.</param>
    public static Result Rewrite(string modelPath, BlockQuantizationOptions options, OnnxInitializerReader? initializers = null, int? vocabSize = null)
    {
        options.Validate();
        byte[] bytes = File.ReadAllBytes(modelPath);
        var scan = new Scan();
        try
        {
            var model = new Cursor(bytes, 0, bytes.Length);
            while (model.More)
            {
                var (field, wire) = model.Tag();
                if (field == 7 && wire == 2) ScanGraph(model.Sub(), scan, top: true);
                else model.Skip(wire);
            }
        }
        catch (Exception e) when (e is IndexOutOfRangeException or ArgumentOutOfRangeException or OverflowException)
        {
            throw new InvalidDataException($"'{modelPath}' is not a well-formed ONNX model (truncated or corrupt protocol buffer).", e);
        }

        // A weight qualifies when it is a main-graph fp32 matrix and every node that reads it is a MatMul or a plain Gemm
        // reading it as B, all the same way round.
        var weights = (initializers ?? OnnxInitializerReader.Read(modelPath)).FloatInitializers;
        long InputSize(string name, long[] dims) => scan.TransposedWeights.Contains(name) ? dims[1] : dims[0];
        if (options.BlockSize == BlockQuantizationOptions.Automatic)
        {
            // Automatic: the size that lets the most weights be quantized (their K a multiple of it), the largest on ties.
            var sizes = scan.MatMulWeights
                .Where(n => scan.Initializers.Contains(n) && !scan.OtherUses.Contains(n) && !scan.GraphInputs.Contains(n))
                .Select(n => weights.TryGetValue(n, out var t) && t.Dims.Length == 2 ? InputSize(n, t.Dims) : 0).Where(k => k > 0).ToArray();
            int chosen = BlockQuantizationOptions.AutomaticSizes.OrderByDescending(b => sizes.Count(k => k % b == 0)).ThenByDescending(b => b).First();
            options = options.Clone();
            options.BlockSize = chosen;
        }
        var quantized = new Dictionary<string, Replacement>(StringComparer.Ordinal);
        var tiedCodes = new Dictionary<string, QuantizedMatrix>(StringComparer.Ordinal);   // heads whose table a Gather reads too
        var leftFp32 = new List<string>();
        foreach (string name in scan.MatMulWeights)
        {
            if (!scan.Initializers.Contains(name)) continue;   // an activation (attention's K or V), not a weight
            bool onlyMatMul = scan.OtherUses.Contains(name) is false;
            if (!weights.TryGetValue(name, out var w) || w.Dims.Length != 2 || !onlyMatMul || scan.GraphInputs.Contains(name)
                || InputSize(name, w.Dims) % options.BlockSize != 0)
            {
                leftFp32.Add(name);
                continue;
            }
            // B as [K, N] (MatMul, Gemm) or as [N, K] (Gemm with transB, e.g. a head stored as the embedding's rows).
            bool transposed = scan.TransposedWeights.Contains(name);
            int k = checked((int)InputSize(name, w.Dims)), n = checked((int)(transposed ? w.Dims[0] : w.Dims[1]));
            // The output head when the caller excluded it; a table that Gathers read too unless it is the tied token
            // embedding read as Bᵀ (its rows are the lookup's rows; the lookup then gets the same codes, see below).
            bool tiedEmbedding = transposed && n == vocabSize && options.QuantizeHead;
            if (!options.QuantizeHead && n == vocabSize || scan.GatherWeights.Contains(name) && !tiedEmbedding)
            {
                leftFp32.Add(name);
                continue;
            }
            var q = transposed ? BlockQuantizer.QuantizeRows(w.Data, n, k, options) : BlockQuantizer.QuantizeKxN(w.Data, k, n, options);
            if (tiedEmbedding && scan.GatherWeights.Contains(name)) tiedCodes[name] = q;
            string stem = Unique(scan, name);
            quantized[name] = new Replacement(
                OnnxTensor.Create<byte>(stem + "_Q" + options.Bits, q.Data, [q.N, q.BlocksPerRow, q.BlobSize]),
                OnnxTensor.Create<float>(stem + "_scales", q.Scales, [q.Scales.Length]),
                q.ZeroPoints is null ? null : OnnxTensor.Create<byte>(stem + "_zero_points", q.ZeroPoints, [q.ZeroPoints.Length]),
                k, n);
        }
        // The token embedding: [vocab, width] rows read only by axis-0 Gathers; its rows are quantized along the width.
        var lookups = new Dictionary<string, Replacement>(StringComparer.Ordinal);
        foreach (string name in scan.GatherWeights.Order(StringComparer.Ordinal))
        {
            // A table a MatMul/Gemm also reads is quantized only along with that head (both then drop the fp32 table).
            if (vocabSize is null || !options.QuantizeHead || !scan.Initializers.Contains(name) || scan.OtherUses.Contains(name)
                || scan.MatMulWeights.Contains(name) && !quantized.ContainsKey(name) || scan.GraphInputs.Contains(name)
                || !weights.TryGetValue(name, out var e) || e.Dims.Length != 2 || e.Dims[0] != vocabSize || e.Dims[1] % options.BlockSize != 0)
                continue;
            int n = checked((int)e.Dims[0]), k = checked((int)e.Dims[1]);
            // A tied head's codes are the table's rows already; the lookup gets them as 2-D copies.
            var q = tiedCodes.TryGetValue(name, out var shared) ? shared : BlockQuantizer.QuantizeRows(e.Data, n, k, options);
            string stem = Unique(scan, name);
            // GatherBlockQuantized reads 2-D views: codes [vocab, width·bits/8], scales [vocab, blocks], zero points [vocab, bytes].
            lookups[name] = new Replacement(
                OnnxTensor.Create<byte>(stem + "_Q" + options.Bits, q.Data, [q.N, (long)q.BlocksPerRow * q.BlobSize]),
                OnnxTensor.Create<float>(stem + "_scales", q.Scales, [q.N, q.BlocksPerRow]),
                q.ZeroPoints is null ? null : OnnxTensor.Create<byte>(stem + "_zero_points", q.ZeroPoints, [q.N, q.ZeroPointBytesPerRow]),
                k, n);
        }
        int constantWeights = scan.MatMulWeights.Count(scan.Initializers.Contains);
        if (quantized.Count == 0)
            throw new InvalidDataException(constantWeights == 0
                ? $"'{modelPath}' has no MatMul or Gemm over a constant weight: nothing to quantize."
                : $"'{modelPath}': none of its {constantWeights} MatMul/Gemm weights can be quantized (each is used elsewhere, is a graph input, or has an input size that is not a multiple of BlockSize {options.BlockSize}).");

        var context = new RewriteContext(bytes, modelPath, options, quantized, lookups, scan);
        using var output = new MemoryStream();
        using (var w = new ProtoWriter(output))
        {
            var model = new Cursor(bytes, 0, bytes.Length);
            bool hasContrib = false;
            while (model.More)
            {
                int start = model.Position;
                var (field, wire) = model.Tag();
                if (field == 7 && wire == 2)
                {
                    byte[] graph = RewriteGraph(model.Sub(), context, top: true);
                    w.WriteBytesField(7, graph);
                    continue;
                }
                if (field == 8 && wire == 2)
                {
                    var opset = model.Sub();
                    while (opset.More)
                    {
                        var (f, wt) = opset.Tag();
                        if (f == 1 && wt == 2) hasContrib |= opset.Sub().Text() == ContribDomain;
                        else opset.Skip(wt);
                    }
                }
                else model.Skip(wire);
                w.WriteRaw(bytes.AsSpan(start, model.Position - start));
            }
            if (!hasContrib)
            {
                // OperatorSetIdProto: domain = 1, version = 2.
                w.WriteLengthHeader(8, ProtoWriter.StringFieldSize(1, ContribDomain) + ProtoWriter.Int64FieldSize(2, 1));
                w.WriteStringField(1, ContribDomain);
                w.WriteInt64Field(2, 1);
            }
            // metadata_props: StringStringEntryProto key = 1, value = 2.
            const string key = "aigc.quantization", value = "generic MatMul/Gemm weights: ";
            string tag = value + options.Tag;
            w.WriteLengthHeader(14, ProtoWriter.StringFieldSize(1, key) + ProtoWriter.StringFieldSize(2, tag));
            w.WriteStringField(1, key);
            w.WriteStringField(2, tag);
        }
        if (output.Length > int.MaxValue)
            throw new InvalidDataException($"'{modelPath}' quantized is {output.Length} bytes, more than one ONNX file holds (2 GB).");
        return new Result(output.ToArray(), quantized.Count, leftFp32, options, [.. lookups.Keys]);
    }

    private sealed record Replacement(OnnxTensor Data, OnnxTensor Scales, OnnxTensor? ZeroPoints, int K, int N);

    private sealed record RewriteContext(byte[] Bytes, string ModelPath, BlockQuantizationOptions Options, Dictionary<string, Replacement> Quantized,
                                         Dictionary<string, Replacement> Lookups, Scan Scan);

    private sealed class Scan
    {
        /// <summary>Weights read as B by a MatMul or a plain Gemm.</summary>
        public HashSet<string> MatMulWeights { get; } = new(StringComparer.Ordinal);
        /// <summary>Of those, the ones read as Bᵀ (Gemm transB = 1); a weight read both ways is an other use.</summary>
        public HashSet<string> TransposedWeights { get; } = new(StringComparer.Ordinal);
        public HashSet<string> UntransposedWeights { get; } = new(StringComparer.Ordinal);
        /// <summary>Tables read as the data of an axis-0 Gather (embedding lookups).</summary>
        public HashSet<string> GatherWeights { get; } = new(StringComparer.Ordinal);
        public HashSet<string> OtherUses { get; } = new(StringComparer.Ordinal);
        public HashSet<string> GraphInputs { get; } = new(StringComparer.Ordinal);
        public HashSet<string> Initializers { get; } = new(StringComparer.Ordinal);
        public HashSet<string> Names { get; } = new(StringComparer.Ordinal);
    }

    // A fresh initializer-name stem: the weight's own name when nothing else in the file uses the derived names.
    private static string Unique(Scan scan, string name)
    {
        for (int i = 0; ; i++)
        {
            string stem = i == 0 ? name : $"{name}_{i}";
            if (!scan.Names.Contains(stem + "_Q4") && !scan.Names.Contains(stem + "_Q8") && !scan.Names.Contains(stem + "_scales") && !scan.Names.Contains(stem + "_zero_points"))
            {
                scan.Names.Add(stem + "_Q4");
                scan.Names.Add(stem + "_Q8");
                scan.Names.Add(stem + "_scales");
                scan.Names.Add(stem + "_zero_points");
                return stem;
            }
        }
    }

    private static void ScanGraph(Cursor graph, Scan scan, bool top)
    {
        while (graph.More)
        {
            var (field, wire) = graph.Tag();
            if (field == 1 && wire == 2) ScanNode(graph.Sub(), scan);
            else if (field == 5 && wire == 2 && top)
            {
                string name = TensorName(graph.Sub());
                scan.Initializers.Add(name);
                scan.Names.Add(name);
            }
            else if (field == 11 && wire == 2 && top) scan.GraphInputs.Add(ValueInfoName(graph.Sub()));
            else graph.Skip(wire);
        }
    }

    private static void ScanNode(Cursor node, Scan scan)
    {
        var inputs = new List<string>();
        string opType = "", domain = "";
        var attributes = new NodeAttributes();
        while (node.More)
        {
            var (field, wire) = node.Tag();
            if (field == 1 && wire == 2) inputs.Add(node.Sub().Text());
            else if (field == 2 && wire == 2) scan.Names.Add(node.Sub().Text());
            else if (field == 3 && wire == 2) scan.Names.Add(node.Sub().Text());
            else if (field == 4 && wire == 2) opType = node.Sub().Text();
            else if (field == 7 && wire == 2) domain = node.Sub().Text();
            else if (field == 5 && wire == 2)
            {
                var attribute = node.Sub();
                attributes.Read(attribute.Clone());
                while (attribute.More)
                {
                    var (f, wt) = attribute.Tag();
                    if ((f == 6 || f == 11) && wt == 2) ScanGraph(attribute.Sub(), scan, top: false);
                    else attribute.Skip(wt);
                }
            }
            else node.Skip(wire);
        }
        bool standard = domain is "" or "ai.onnx";
        bool matMul = opType == "MatMul" && standard && inputs.Count == 2;
        bool plainGemm = opType == "Gemm" && standard && inputs.Count is 2 or 3 && attributes.IsPlain;
        bool lookup = opType == "Gather" && standard && inputs.Count == 2 && attributes.Axis == 0;
        for (int i = 0; i < inputs.Count; i++)
        {
            if (lookup && i == 0)
            {
                scan.GatherWeights.Add(inputs[i]);
                continue;
            }
            if ((matMul || plainGemm) && i == 1 && inputs[i].Length > 0)
            {
                scan.MatMulWeights.Add(inputs[i]);
                (plainGemm && attributes.TransB ? scan.TransposedWeights : scan.UntransposedWeights).Add(inputs[i]);
                if (scan.TransposedWeights.Contains(inputs[i]) && scan.UntransposedWeights.Contains(inputs[i])) scan.OtherUses.Add(inputs[i]);
            }
            else
            {
                // A scaled or transposed-A Gemm's weight is reported as left fp32.
                if (opType == "Gemm" && standard && i == 1) scan.MatMulWeights.Add(inputs[i]);
                scan.OtherUses.Add(inputs[i]);
            }
        }
    }

    /// <summary>
    /// The attributes that decide whether a Gemm is a plain A·B + C (or A·Bᵀ + C) over a quantizable B, and a Gather's
    /// axis (a lookup of rows when 0).
    /// </summary>
    private sealed class NodeAttributes
    {
        private float _alpha = 1f, _beta = 1f;
        private long _transA;
        public bool TransB { get; private set; }
        public long Axis { get; private set; }
        public bool IsPlain => _alpha == 1f && _beta == 1f && _transA == 0;

        public void Read(Cursor attribute)
        {
            string name = "";
            float? f = null;
            long? i = null;
            while (attribute.More)
            {
                var (field, wire) = attribute.Tag();
                if (field == 1 && wire == 2) name = attribute.Sub().Text();
                else if (field == 2 && wire == 5) f = attribute.Float();
                else if (field == 3 && wire == 0) i = (long)attribute.Varint();
                else attribute.Skip(wire);
            }
            switch (name)
            {
                case "alpha": _alpha = f ?? 1f; break;
                case "beta": _beta = f ?? 1f; break;
                case "transA": _transA = i ?? 0; break;
                case "transB": TransB = (i ?? 0) != 0; break;
                case "axis": Axis = i ?? 0; break;
            }
        }
    }

    private static byte[] RewriteGraph(Cursor graph, RewriteContext context, bool top)
    {
        using var stream = new MemoryStream();
        using (var w = new ProtoWriter(stream))
        {
            while (graph.More)
            {
                int start = graph.Position;
                var (field, wire) = graph.Tag();
                if (field == 1 && wire == 2)
                {
                    foreach (byte[] node in RewriteNode(graph.Sub(), context)) w.WriteBytesField(1, node);
                    continue;
                }
                if (field == 5 && wire == 2 && top)
                {
                    var tensor = graph.Sub();
                    string name = TensorName(tensor.Clone());
                    if (context.Quantized.ContainsKey(name) || context.Lookups.ContainsKey(name)) continue;   // replaced by its quantized form
                    if (ExternalTensor(tensor.Clone()) is { } inline)
                    {
                        w.WriteBytesField(5, InlineTensor(tensor, inline, context.ModelPath));
                        continue;
                    }
                }
                else graph.Skip(wire);
                w.WriteRaw(context.Bytes.AsSpan(start, graph.Position - start));
            }
            if (top)
                foreach (var replacement in context.Quantized.Values.Concat(context.Lookups.Values))
                    foreach (var tensor in new[] { replacement.Data, replacement.Scales, replacement.ZeroPoints })
                        if (tensor is not null)
                        {
                            w.WriteLengthHeader(5, tensor.ComputeSize(OnnxSerializationPlan.Inline));
                            tensor.WriteTo(w, OnnxSerializationPlan.Inline);
                        }
        }
        return stream.ToArray();
    }

    private static IEnumerable<byte[]> RewriteNode(Cursor node, RewriteContext context)
    {
        // A MatMul over a quantized weight becomes MatMulNBits with the same name, A input and output; a Gemm becomes
        // MatMulNBits into a new intermediate and, when it has a bias C, an Add of C into the Gemm's output.
        var probe = node.Clone();
        var inputs = new List<string>();
        var outputs = new List<string>();
        string opType = "", domain = "", name = "";
        while (probe.More)
        {
            var (field, wire) = probe.Tag();
            if (field == 1 && wire == 2) inputs.Add(probe.Sub().Text());
            else if (field == 2 && wire == 2) outputs.Add(probe.Sub().Text());
            else if (field == 3 && wire == 2) name = probe.Sub().Text();
            else if (field == 4 && wire == 2) opType = probe.Sub().Text();
            else if (field == 7 && wire == 2) domain = probe.Sub().Text();
            else probe.Skip(wire);
        }
        bool standard = domain is "" or "ai.onnx";
        // Scanning made every use of a quantized weight a MatMul's or a plain Gemm's B.
        if (standard && (opType == "MatMul" && inputs.Count == 2 || opType == "Gemm" && inputs.Count is 2 or 3)
            && context.Quantized.TryGetValue(inputs[1], out var q))
        {
            var o = context.Options;
            List<string> nbitsInputs = [inputs[0], q.Data.Name, q.Scales.Name];
            if (q.ZeroPoints is not null) nbitsInputs.Add(q.ZeroPoints.Name);
            bool bias = opType == "Gemm" && inputs.Count == 3 && inputs[2].Length > 0;
            string product = bias ? FreshName(context.Scan, outputs[0] + "_nbits") : outputs[0];
            var replaced = new OnnxNode("MatMulNBits", nbitsInputs, [product],
                [OnnxAttribute.Int("K", q.K), OnnxAttribute.Int("N", q.N), OnnxAttribute.Int("bits", o.Bits),
                 OnnxAttribute.Int("block_size", o.BlockSize), OnnxAttribute.Int("accuracy_level", o.AccuracyLevel)],
                name, ContribDomain);
            yield return Serialize(replaced);
            if (bias) yield return Serialize(new OnnxNode("Add", [product, inputs[2]], [outputs[0]], [], FreshName(context.Scan, name + "_bias")));
            yield break;
        }
        // Scanning made every use of a quantized table an axis-0 Gather.
        if (standard && opType == "Gather" && inputs.Count == 2 && context.Lookups.TryGetValue(inputs[0], out var table))
        {
            var o = context.Options;
            List<string> lookupInputs = [table.Data.Name, inputs[1], table.Scales.Name];
            if (table.ZeroPoints is not null) lookupInputs.Add(table.ZeroPoints.Name);
            yield return Serialize(new OnnxNode("GatherBlockQuantized", lookupInputs, outputs,
                [OnnxAttribute.Int("gather_axis", 0), OnnxAttribute.Int("quantize_axis", 1), OnnxAttribute.Int("block_size", o.BlockSize), OnnxAttribute.Int("bits", o.Bits)],
                name, ContribDomain));
            yield break;
        }

        // Any other node is copied; attributes holding subgraphs are rewritten (their MatMuls may read quantized weights).
        using var stream = new MemoryStream();
        using (var w = new ProtoWriter(stream))
        {
            while (node.More)
            {
                int start = node.Position;
                var (field, wire) = node.Tag();
                if (field == 5 && wire == 2)
                {
                    var attribute = node.Sub();
                    if (HasSubgraph(attribute.Clone()))
                    {
                        w.WriteBytesField(5, RewriteAttribute(attribute, context));
                        continue;
                    }
                }
                else node.Skip(wire);
                w.WriteRaw(context.Bytes.AsSpan(start, node.Position - start));
            }
        }
        yield return stream.ToArray();
    }

    private static byte[] Serialize(OnnxNode node)
    {
        using var stream = new MemoryStream();
        using (var w = new ProtoWriter(stream)) node.WriteTo(w, OnnxSerializationPlan.Inline);
        return stream.ToArray();
    }

    // A value or node name no node, initializer or earlier rewrite of the file uses.
    private static string FreshName(Scan scan, string wanted)
    {
        string name = wanted;
        for (int i = 1; scan.Names.Contains(name) || scan.GraphInputs.Contains(name); i++) name = $"{wanted}_{i}";
        scan.Names.Add(name);
        return name;
    }

    private static bool HasSubgraph(Cursor attribute)
    {
        while (attribute.More)
        {
            var (field, wire) = attribute.Tag();
            if ((field == 6 || field == 11) && wire == 2) return true;
            attribute.Skip(wire);
        }
        return false;
    }

    private static byte[] RewriteAttribute(Cursor attribute, RewriteContext context)
    {
        using var stream = new MemoryStream();
        using (var w = new ProtoWriter(stream))
        {
            while (attribute.More)
            {
                int start = attribute.Position;
                var (field, wire) = attribute.Tag();
                if ((field == 6 || field == 11) && wire == 2)
                {
                    w.WriteBytesField(field, RewriteGraph(attribute.Sub(), context, top: false));
                    continue;
                }
                attribute.Skip(wire);
                w.WriteRaw(context.Bytes.AsSpan(start, attribute.Position - start));
            }
        }
        return stream.ToArray();
    }

    private static string TensorName(Cursor tensor)
    {
        while (tensor.More)
        {
            var (field, wire) = tensor.Tag();
            if (field == 8 && wire == 2) return tensor.Sub().Text();
            tensor.Skip(wire);
        }
        return "";
    }

    private static string ValueInfoName(Cursor valueInfo)
    {
        while (valueInfo.More)
        {
            var (field, wire) = valueInfo.Tag();
            if (field == 1 && wire == 2) return valueInfo.Sub().Text();
            valueInfo.Skip(wire);
        }
        return "";
    }

    // The external_data entries of a tensor stored outside the file (data_location = EXTERNAL), or null.
    private static Dictionary<string, string>? ExternalTensor(Cursor tensor)
    {
        var entries = new Dictionary<string, string>(StringComparer.Ordinal);
        long location = 0;
        while (tensor.More)
        {
            var (field, wire) = tensor.Tag();
            if (field == 13 && wire == 2)
            {
                var (k, v) = OnnxInitializerReader.ReadEntry(tensor.Sub());
                entries[k] = v;
            }
            else if (field == 14 && wire == 0) location = (long)tensor.Varint();
            else tensor.Skip(wire);
        }
        return location == 1 ? entries : null;
    }

    // The tensor with its external bytes as raw_data: every field but external_data and data_location is kept.
    private static byte[] InlineTensor(Cursor tensor, Dictionary<string, string> external, string modelPath)
    {
        string name = TensorName(tensor.Clone());
        if (!external.TryGetValue("location", out string? file))
            throw new InvalidDataException($"'{modelPath}': initializer '{name}' is external but names no location.");
        string path = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(modelPath))!, file);
        if (!File.Exists(path)) throw new FileNotFoundException($"'{modelPath}': external data file '{path}' of initializer '{name}' does not exist.", path);
        long offset = external.TryGetValue("offset", out string? o) ? long.Parse(o, System.Globalization.CultureInfo.InvariantCulture) : 0;
        long length = external.TryGetValue("length", out string? l) ? long.Parse(l, System.Globalization.CultureInfo.InvariantCulture) : new FileInfo(path).Length - offset;
        var data = new byte[checked((int)length)];
        using (var stream = File.OpenRead(path))
        {
            stream.Seek(offset, SeekOrigin.Begin);
            stream.ReadExactly(data);
        }
        using var output = new MemoryStream();
        using (var w = new ProtoWriter(output))
        {
            byte[] bytes = tensor.Bytes;
            while (tensor.More)
            {
                int start = tensor.Position;
                var (field, wire) = tensor.Tag();
                tensor.Skip(wire);
                if (field is 13 or 14) continue;
                w.WriteRaw(bytes.AsSpan(start, tensor.Position - start));
            }
            w.WriteBytesField(9, data);
        }
        return output.ToArray();
    }
}
