using System.Globalization;
using Aigc.MLNet.Onnx.Proto;
using Aigc.MLNet.Onnx.Quantization;

namespace Aigc.MLNet.Onnx.Gpt2;

/// <summary>
/// Builds the ONNX graph of a GPT-2 decoder (opset 17, standard operators only) from <see cref="Gpt2Weights"/> in one
/// of the <see cref="Gpt2OnnxLayout"/> interfaces. Attention is causal over past + current keys and honours
/// <c>attention_mask</c> (0 = padded key, e.g. left padding); masked scores are replaced by float.MinValue, so fully
/// padded rows give a uniform softmax instead of NaN. GELU is GPT-2's tanh approximation. The head is tied to
/// <c>transformer.wte.weight</c> (a Gemm with transB, so the embedding is stored once).
/// </summary>
public sealed class Gpt2GraphBuilder
{
    private readonly Gpt2Weights _weights;
    private readonly Gpt2Config _c;

    /// <summary>Creates a builder; the weights are validated (all tensors present with the config's shapes).</summary>
    public Gpt2GraphBuilder(Gpt2Weights weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        weights.Validate();
        _weights = weights;
        _c = weights.Config;
    }

    /// <summary>For <see cref="Gpt2OnnxLayout.OnnxRuntimeGpt2"/>: declare input_ids, position_ids and attention_mask as int32.</summary>
    public bool UseInt32Inputs { get; init; }

    /// <summary>
    /// Weight-only block quantization: the four weight matrices of every block (c_attn, attn.c_proj, c_fc, mlp.c_proj)
    /// and, with <see cref="BlockQuantizationOptions.QuantizeHead"/>, the tied output head become
    /// <c>com.microsoft.MatMulNBits</c> nodes (ONNX Runtime's contrib operators); the embedding lookup stays fp32.
    /// Null (the default) writes standard fp32 operators only.
    /// </summary>
    public BlockQuantizationOptions? Quantization { get; init; }

    /// <summary>
    /// Writes each Conv1D layer (c_attn, attn.c_proj, c_fc, mlp.c_proj) of an fp32 model as Reshape → Gemm(x, W, b) →
    /// Reshape, the form PyTorch's exporter gives Hugging Face's GPT-2: tests use it to stand for an Optimum export.
    /// </summary>
    internal bool ConvLayersAsGemm { get; init; }

    /// <summary>After <c>Build</c>: <see cref="Quantization"/> with its block size chosen (null when not quantizing).</summary>
    public BlockQuantizationOptions? ResolvedQuantization { get; private set; }

    /// <summary>Domain of ONNX Runtime's contrib operators.</summary>
    public const string ContribDomain = "com.microsoft";

    // Quantized weights by original name: the initializer names of their codes, scales and zero points, and N × K.
    private readonly Dictionary<string, (string Data, string Scales, string? ZeroPoints, int N, int K)> _quantized = new(StringComparer.Ordinal);

    /// <summary>Input name of token ids.</summary>
    public const string InputIds = "input_ids";
    /// <summary>Input name of the attention mask.</summary>
    public const string AttentionMask = "attention_mask";
    /// <summary>Input name of position ids.</summary>
    public const string PositionIds = "position_ids";
    /// <summary>Input name of the merged model's branch selector.</summary>
    public const string UseCacheBranch = "use_cache_branch";
    /// <summary>Output name of the logits.</summary>
    public const string Logits = "logits";

    /// <summary>Optimum past key input name of layer <paramref name="layer"/>.</summary>
    public static string PastKey(int layer) => Inv($"past_key_values.{layer}.key");
    /// <summary>Optimum past value input name of layer <paramref name="layer"/>.</summary>
    public static string PastValue(int layer) => Inv($"past_key_values.{layer}.value");
    /// <summary>Optimum present key output name of layer <paramref name="layer"/>.</summary>
    public static string PresentKey(int layer) => Inv($"present.{layer}.key");
    /// <summary>Optimum present value output name of layer <paramref name="layer"/>.</summary>
    public static string PresentValue(int layer) => Inv($"present.{layer}.value");
    /// <summary>ONNX Runtime GPT-2 stacked past input name of layer <paramref name="layer"/>.</summary>
    public static string PastStacked(int layer) => Inv($"past_{layer}");
    /// <summary>ONNX Runtime GPT-2 stacked present output name of layer <paramref name="layer"/>.</summary>
    public static string PresentStacked(int layer) => Inv($"present_{layer}");

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    // Symbolic dimension names.
    private const string Batch = "batch_size";
    private const string Sequence = "sequence_length";
    private const string Past = "past_sequence_length";
    private const string Total = "total_sequence_length";

    /// <summary>Builds the model in <paramref name="layout"/>.</summary>
    public OnnxModel Build(Gpt2OnnxLayout layout = Gpt2OnnxLayout.Optimum)
    {
        var g = new OnnxGraph(layout switch
        {
            Gpt2OnnxLayout.OptimumMergedLegacy => "gpt2_merged",
            Gpt2OnnxLayout.OnnxRuntimeGpt2 => "gpt2_ort",
            _ => "gpt2",
        });
        int L = _c.NumLayers, H = _c.NumHeads, D = _c.HeadSize, V = _c.VocabSize;
        OnnxElementType idType = layout == Gpt2OnnxLayout.OnnxRuntimeGpt2 && UseInt32Inputs ? OnnxElementType.Int32 : OnnxElementType.Int64;

        g.AddInput(InputIds, idType, [Batch, Sequence]);
        g.AddInput(AttentionMask, idType, [Batch, Total]);
        g.AddInput(PositionIds, idType, [Batch, Sequence]);
        for (int i = 0; i < L; i++)
        {
            if (layout == Gpt2OnnxLayout.OnnxRuntimeGpt2)
                g.AddInput(PastStacked(i), OnnxElementType.Float, [2, Batch, H, Past, D]);
            else
            {
                g.AddInput(PastKey(i), OnnxElementType.Float, [Batch, H, Past, D]);
                g.AddInput(PastValue(i), OnnxElementType.Float, [Batch, H, Past, D]);
            }
        }
        _quantized.Clear();
        Quantization?.Validate();
        var quantize = Quantization?.ForWidth(_c.EmbeddingSize);
        if (Quantization is not null && (quantize is null || _c.EmbeddingSize % quantize.BlockSize != 0))
        {
            int[] fitting = Enumerable.Range(4, 5).Select(i => 1 << i).Where(b => _c.EmbeddingSize % b == 0).ToArray();
            string size = Quantization.BlockSize == BlockQuantizationOptions.Automatic ? "(automatic)" : Quantization.BlockSize.ToString(System.Globalization.CultureInfo.InvariantCulture);
            throw new ArgumentException($"Quantization BlockSize {size} does not divide the model width {_c.EmbeddingSize} (n_embd); "
                + (fitting.Length > 0 ? $"choose one that does: {string.Join(", ", fitting)}." : "no block size from 16 to 256 does, so this model cannot be block-quantized."), nameof(Quantization));
        }
        ResolvedQuantization = quantize;
        foreach (var (name, shape) in Gpt2Weights.ExpectedShapes(_c))
        {
            // With a quantized head the token lookup reads the quantized matrix: no fp32 copy of the embedding.
            if (quantize is { QuantizeHead: true } && name == TokenEmbedding) continue;
            if (quantize is not null && IsLinearWeight(name))
            {
                // A Conv1D weight [in, out] is used as x · W: MatMulNBits wants the rows of Wᵀ.
                AddQuantized(g, name, BlockQuantizer.QuantizeKxN(_weights.Get(name), shape[0], shape[1], quantize));
                continue;
            }
            g.AddInitializer(OnnxTensor.Wrap(name, _weights.Get(name), Array.ConvertAll(shape, d => (long)d)));
        }
        // The tied head is logits = h · wteᵀ: wte's rows are already the rows MatMulNBits wants, and the same codes serve
        // the token lookup (GatherBlockQuantized reads them as [vocab, width·bits/8], low nibble first).
        if (quantize is { QuantizeHead: true })
            AddQuantized(g, HeadWeight, BlockQuantizer.QuantizeRows(_weights.Get(TokenEmbedding), _c.VocabSize, _c.EmbeddingSize, quantize));

        switch (layout)
        {
            case Gpt2OnnxLayout.Optimum:
            {
                var past = Enumerable.Range(0, L).Select(i => (PastKey(i), PastValue(i))).ToArray();
                var present = Enumerable.Range(0, L).Select(i => (PresentKey(i), PresentValue(i))).ToArray();
                EmitDecoder(g, past, present, Logits);
                AddOptimumOutputs(g);
                break;
            }
            case Gpt2OnnxLayout.OptimumMergedLegacy:
            {
                g.AddInput(UseCacheBranch, OnnxElementType.Bool, [1]);
                var past = Enumerable.Range(0, L).Select(i => (PastKey(i), PastValue(i))).ToArray();
                OnnxGraph withPast = Branch("decoder_with_past", past);
                OnnxGraph noPast = Branch("decoder_no_past", null);
                var outputs = new List<string> { Logits };
                for (int i = 0; i < L; i++) { outputs.Add(PresentKey(i)); outputs.Add(PresentValue(i)); }
                g.AddNode("If", [UseCacheBranch], outputs,
                    OnnxAttribute.Graph("then_branch", withPast), OnnxAttribute.Graph("else_branch", noPast));
                AddOptimumOutputs(g);
                break;
            }
            case Gpt2OnnxLayout.OnnxRuntimeGpt2:
            {
                // The new keys and values are stacked first (a few rows) and appended to the stacked past in one Concat:
                // the cache is copied once into present_N and once out of it, where splitting the past, appending to
                // each half and restacking copied it three times.
                var stacked = Enumerable.Range(0, L).Select(i => (PastStacked(i), PresentStacked(i))).ToArray();
                EmitDecoder(g, past: null, present: new (string, string)[L], Logits, stacked);
                g.AddOutput(Logits, OnnxElementType.Float, [Batch, Sequence, V]);
                for (int i = 0; i < L; i++)
                    g.AddOutput(PresentStacked(i), OnnxElementType.Float, [2, Batch, H, Total, D]);
                break;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(layout), layout, "Unknown GPT-2 ONNX layout.");
        }

        var model = new OnnxModel(g) { DocString = $"GPT-2 decoder ({_c}), layout {layout}." };
        model.Metadata["aigc.gpt2.layout"] = layout.ToString();
        if (quantize is not null)
        {
            model.OpsetImports[ContribDomain] = 1;
            model.Metadata["aigc.quantization"] = quantize.Tag;
        }
        return model;
    }

    // Pseudo-name of the quantized tied head; the token embedding it is tied to.
    private const string HeadWeight = "lm_head.weight";
    private const string TokenEmbedding = "transformer.wte.weight";

    private static bool IsLinearWeight(string name) =>
        name.EndsWith(".attn.c_attn.weight", StringComparison.Ordinal) || name.EndsWith(".attn.c_proj.weight", StringComparison.Ordinal) ||
        name.EndsWith(".mlp.c_fc.weight", StringComparison.Ordinal) || name.EndsWith(".mlp.c_proj.weight", StringComparison.Ordinal);

    private void AddQuantized(OnnxGraph g, string name, QuantizedMatrix q)
    {
        string data = g.AddInitializer(OnnxTensor.Create<byte>(name + "_Q" + q.Options.Bits, q.Data, [q.N, q.BlocksPerRow, q.BlobSize]));
        string scales = g.AddInitializer(OnnxTensor.Create<float>(name + "_scales", q.Scales, [q.Scales.Length]));
        string? zeroPoints = q.ZeroPoints is null ? null : g.AddInitializer(OnnxTensor.Create<byte>(name + "_zero_points", q.ZeroPoints, [q.ZeroPoints.Length]));
        _quantized[name] = (data, scales, zeroPoints, q.N, q.K);
    }

    /// <summary>The token-embedding lookup over the quantized head: GatherBlockQuantized on 2-D views of its codes.</summary>
    private string QuantizedLookup(OnnxGraph g, (string Data, string Scales, string? ZeroPoints, int N, int K) q)
    {
        var o = ResolvedQuantization!;
        string data = g.Apply("Reshape", [q.Data, g.AddConstant("qdata_2d", q.N, -1)]);
        string scales = g.Apply("Reshape", [q.Scales, g.AddConstant("qscales_2d", q.N, -1)]);
        List<string> inputs = [data, InputIds, scales];
        if (q.ZeroPoints is not null) inputs.Add(g.Apply("Reshape", [q.ZeroPoints, g.AddConstant("qzero_2d", q.N, -1)]));
        string output = g.NewName("GatherBlockQuantized");
        g.AddNode(new OnnxNode("GatherBlockQuantized", inputs, [output],
            [OnnxAttribute.Int("gather_axis", 0), OnnxAttribute.Int("quantize_axis", 1), OnnxAttribute.Int("block_size", o.BlockSize), OnnxAttribute.Int("bits", o.Bits)],
            output, ContribDomain));
        return output;
    }

    /// <summary>x · W for a Conv1D weight (or the head): MatMul, or MatMulNBits when the weight was quantized.</summary>
    private string Linear(OnnxGraph g, string x, string weight)
    {
        if (!_quantized.TryGetValue(weight, out var q)) return g.Apply("MatMul", [x, weight]);
        var o = ResolvedQuantization!;
        string output = g.NewName("MatMulNBits");
        List<string> inputs = q.ZeroPoints is null ? [x, q.Data, q.Scales] : [x, q.Data, q.Scales, q.ZeroPoints];
        g.AddNode(new OnnxNode("MatMulNBits", inputs, [output],
            [OnnxAttribute.Int("K", q.K), OnnxAttribute.Int("N", q.N), OnnxAttribute.Int("bits", o.Bits),
             OnnxAttribute.Int("block_size", o.BlockSize), OnnxAttribute.Int("accuracy_level", o.AccuracyLevel)],
            output, ContribDomain));
        return output;
    }

    /// <summary>
    /// x · W + b for the Conv1D layer <paramref name="layer"/>: MatMul (or MatMulNBits) and Add, or, with
    /// <see cref="ConvLayersAsGemm"/>, the rows flattened into one Gemm with the bias as C, as PyTorch exports
    /// Hugging Face's Conv1D (<c>torch.addmm</c>).
    /// </summary>
    private string Affine(OnnxGraph g, string x, string layer)
    {
        if (!ConvLayersAsGemm || _quantized.ContainsKey(layer + ".weight"))
            return g.Apply("Add", [Linear(g, x, layer + ".weight"), layer + ".bias"]);
        string rows = g.Apply("Reshape", [x, g.AddConstant("rows_shape", -1, _weights.Get(layer + ".weight").Length / _weights.Get(layer + ".bias").Length)]);
        string product = g.Apply("Gemm", [rows, layer + ".weight", layer + ".bias"]);
        string shape = g.Apply("Concat", [g.Apply("Shape", [x], OnnxAttribute.Int("start", 0), OnnxAttribute.Int("end", 2)), g.AddConstant("out_width", _weights.Get(layer + ".bias").Length)],
            OnnxAttribute.Int("axis", 0));
        return g.Apply("Reshape", [product, shape]);
    }

    private OnnxGraph Branch(string name, (string, string)[]? past)
    {
        var sub = new OnnxGraph(name);
        int L = _c.NumLayers;
        var present = Enumerable.Range(0, L).Select(i => (sub.NewName("present_key"), sub.NewName("present_value"))).ToArray();
        string logits = sub.NewName("logits");
        EmitDecoder(sub, past, present, logits);
        sub.AddOutput(logits, OnnxElementType.Float, null);
        foreach (var (k, v) in present)
        {
            sub.AddOutput(k, OnnxElementType.Float, null);
            sub.AddOutput(v, OnnxElementType.Float, null);
        }
        return sub;
    }

    private void AddOptimumOutputs(OnnxGraph g)
    {
        g.AddOutput(Logits, OnnxElementType.Float, [Batch, Sequence, _c.VocabSize]);
        for (int i = 0; i < _c.NumLayers; i++)
        {
            g.AddOutput(PresentKey(i), OnnxElementType.Float, [Batch, _c.NumHeads, Total, _c.HeadSize]);
            g.AddOutput(PresentValue(i), OnnxElementType.Float, [Batch, _c.NumHeads, Total, _c.HeadSize]);
        }
    }

    /// <summary>
    /// Emits the decoder into <paramref name="g"/>, reading <see cref="InputIds"/>, <see cref="PositionIds"/>,
    /// <see cref="AttentionMask"/> and the weights by name (from <paramref name="g"/> or an enclosing graph).
    /// With <paramref name="past"/> null the model has no cache and uses the mask's last <c>sequence</c> columns.
    /// </summary>
    /// <param name="g">The graph (or If branch) to emit into.</param>
    /// <param name="past">Per layer the past key and value inputs ([b, H, past, D]); null for a model without a cache.</param>
    /// <param name="present">Per layer the present key and value output names.</param>
    /// <param name="logitsName">Name of the logits output.</param>
    /// <param name="stacked">ONNX Runtime GPT-2 layout: per layer the stacked past input ([2, b, H, past, D]) and the
    /// stacked present output it writes; <paramref name="past"/> and <paramref name="present"/> are then unused.</param>
    private void EmitDecoder(OnnxGraph g, (string Key, string Value)[]? past, (string Key, string Value)[] present, string logitsName,
                             (string Past, string Present)[]? stacked = null)
    {
        int E = _c.EmbeddingSize, H = _c.NumHeads, D = _c.HeadSize;
        string mask = AttentionMask;
        bool cached = past is not null || stacked is not null;
        string? kv0 = stacked is null ? null : g.AddScalar("kv0", 0L), kv1 = stacked is null ? null : g.AddScalar("kv1", 1L);
        string? kv1Start = stacked is null ? null : g.AddConstant("kv_start", 1), kvEnd = stacked is null ? null : g.AddConstant("kv_end", 3);
        string? qkvHeadShape = stacked is null ? null : g.AddConstant("qkv_head_shape", 0, 0, 3, H, D);

        // ---- lengths and the [batch, 1, sequence, total] "may attend" mask, computed once for all layers ----
        string seqLen = g.Apply("Shape", [InputIds], OnnxAttribute.Int("start", 1), OnnxAttribute.Int("end", 2)); // [1]
        if (!cached)
        {
            string start = g.Apply("Neg", [seqLen]);
            mask = g.Apply("Slice", [mask, start, g.AddConstant("max", long.MaxValue), g.AddConstant("axis1", 1)]);
        }
        string totalLen = g.Apply("Shape", [mask], OnnxAttribute.Int("start", 1), OnnxAttribute.Int("end", 2)); // [1]
        string pastLen = g.Apply("Sub", [totalLen, seqLen]);
        string axis0 = g.AddConstant("axis0", 0);
        string zero = g.AddScalar("zero", 0L), one = g.AddScalar("one", 1L);
        string totalScalar = g.Apply("Squeeze", [totalLen, axis0]);
        string pastScalar = g.Apply("Squeeze", [pastLen, axis0]);
        string keyPos = g.Apply("Range", [zero, totalScalar, one]);                       // [T]
        string queryPos = g.Apply("Range", [pastScalar, totalScalar, one]);               // [S] = past..T-1
        string queryCol = g.Apply("Unsqueeze", [queryPos, g.AddConstant("axis1", 1)]);   // [S, 1]
        string causal = g.Apply("LessOrEqual", [keyPos, queryCol]);                       // [S, T]
        string keep = g.Apply("Cast", [mask], OnnxAttribute.Int("to", (long)OnnxElementType.Bool)); // [b, T]
        string keep4 = g.Apply("Unsqueeze", [keep, g.AddConstant("axes12", 1, 2)]);      // [b, 1, 1, T]
        string allowed = g.Apply("And", [causal, keep4]);                                 // [b, 1, S, T]
        string minValue = g.AddScalar("min_value", float.MinValue);

        // ---- embeddings ----
        string tok = _quantized.TryGetValue(HeadWeight, out var head) ? QuantizedLookup(g, head) : g.Apply("Gather", [TokenEmbedding, InputIds], OnnxAttribute.Int("axis", 0));
        string pos = g.Apply("Gather", ["transformer.wpe.weight", PositionIds], OnnxAttribute.Int("axis", 0));
        string h = g.Apply("Add", [tok, pos]);                                            // [b, S, E]

        string? headShape = stacked is null ? g.AddConstant("head_shape", 0, 0, H, D) : null;
        string mergedShape = g.AddConstant("merged_shape", 0, 0, E);
        string? split = stacked is null ? g.AddConstant("qkv_split", E, E, E) : null;
        string scale = g.AddScalar("scale", 1f / MathF.Sqrt(D));
        string half = g.AddScalar("half", 0.5f), oneF = g.AddScalar("one_f", 1f);
        string geluA = g.AddScalar("gelu_a", 0.044715f), geluC = g.AddScalar("gelu_c", MathF.Sqrt(2f / MathF.PI));
        OnnxAttribute eps = OnnxAttribute.Float("epsilon", _c.LayerNormEpsilon);
        OnnxAttribute lastAxis = OnnxAttribute.Int("axis", -1);

        for (int i = 0; i < _c.NumLayers; i++)
        {
            string p = Gpt2Weights.LayerPrefix(i);
            // attention
            string x = g.Apply("LayerNormalization", [h, p + "ln_1.weight", p + "ln_1.bias"], lastAxis, eps);
            string qkv = Affine(g, x, p + "attn.c_attn");
            string merged;
            if (stacked is not null)
            {
                // Stacked cache [2, b, H, T, D]: one Reshape and Transpose turn qkv into [3, b, H, S, D], whose last two
                // thirds are the new rows appended to the past in one Concat; attention then reads present directly.
                // Both matmuls broadcast over the stack and a Gather keeps the half that counts from their small results
                // (the other half doubles attention's multiply-adds, a small cost next to the weights' at one new token;
                // ONNX Runtime folds the keys' transpose into the matmul), so the cache is copied once per step and no
                // node splits it or restacks it.
                string qkvHeads = g.Apply("Transpose", [g.Apply("Reshape", [qkv, qkvHeadShape!])], OnnxAttribute.Ints("perm", 2, 0, 3, 1, 4)); // [3, b, H, S, D]
                string newKv = g.Apply("Slice", [qkvHeads, kv1Start!, kvEnd!, axis0]);                                      // [2, b, H, S, D]
                g.AddNode("Concat", [stacked[i].Past, newKv], [stacked[i].Present], OnnxAttribute.Int("axis", 3));
                string qh = g.Apply("Mul", [g.Apply("Gather", [qkvHeads, kv0!], OnnxAttribute.Int("axis", 0)), scale]);      // [b, H, S, D]
                string keysT = g.Apply("Transpose", [stacked[i].Present], OnnxAttribute.Ints("perm", 0, 1, 2, 4, 3));       // [2, b, H, D, T]
                string both = g.Apply("MatMul", [qh, keysT]);                                                                // [2, b, H, S, T]
                string scores = g.Apply("Gather", [both, kv0!], OnnxAttribute.Int("axis", 0));                               // [b, H, S, T]
                string probs = g.Apply("Softmax", [g.Apply("Where", [allowed, scores, minValue])], lastAxis);
                string ctx2 = g.Apply("MatMul", [probs, stacked[i].Present]);                                                 // [2, b, H, S, D]
                string ctx = g.Apply("Gather", [ctx2, kv1!], OnnxAttribute.Int("axis", 0));                                   // [b, H, S, D]
                merged = g.Apply("Reshape", [g.Apply("Transpose", [ctx], OnnxAttribute.Ints("perm", 0, 2, 1, 3)), mergedShape]);
            }
            else
            {
                string q = g.NewName("q"), k = g.NewName("k"), v = g.NewName("v");
                g.AddNode("Split", [qkv, split!], [q, k, v], OnnxAttribute.Int("axis", 2));
                string qh = Heads(g, g.Apply("Mul", [q, scale]), headShape!);                                      // [b, H, S, D]
                string kh, vh;
                if (past is null)
                {
                    kh = g.AddNode("Transpose", [g.Apply("Reshape", [k, headShape!])], [present[i].Key], OnnxAttribute.Ints("perm", 0, 2, 1, 3)).Outputs[0];
                    vh = g.AddNode("Transpose", [g.Apply("Reshape", [v, headShape!])], [present[i].Value], OnnxAttribute.Ints("perm", 0, 2, 1, 3)).Outputs[0];
                }
                else
                {
                    kh = g.AddNode("Concat", [past[i].Key, Heads(g, k, headShape!)], [present[i].Key], OnnxAttribute.Int("axis", 2)).Outputs[0];
                    vh = g.AddNode("Concat", [past[i].Value, Heads(g, v, headShape!)], [present[i].Value], OnnxAttribute.Int("axis", 2)).Outputs[0];
                }
                string kt = g.Apply("Transpose", [kh], OnnxAttribute.Ints("perm", 0, 1, 3, 2));  // [b, H, D, T]
                string scores = g.Apply("MatMul", [qh, kt]);                                     // [b, H, S, T]
                string masked = g.Apply("Where", [allowed, scores, minValue]);
                string probs = g.Apply("Softmax", [masked], lastAxis);
                string ctx = g.Apply("MatMul", [probs, vh]);                                     // [b, H, S, D]
                merged = g.Apply("Reshape", [g.Apply("Transpose", [ctx], OnnxAttribute.Ints("perm", 0, 2, 1, 3)), mergedShape]);
            }
            string attn = Affine(g, merged, p + "attn.c_proj");
            h = g.Apply("Add", [h, attn]);

            // MLP with gelu_new: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
            string y = g.Apply("LayerNormalization", [h, p + "ln_2.weight", p + "ln_2.bias"], lastAxis, eps);
            string fc = Affine(g, y, p + "mlp.c_fc");
            string cube = g.Apply("Mul", [g.Apply("Mul", [fc, fc]), fc]);
            string inner = g.Apply("Mul", [g.Apply("Add", [fc, g.Apply("Mul", [cube, geluA])]), geluC]);
            string gelu = g.Apply("Mul", [g.Apply("Mul", [fc, half]), g.Apply("Add", [g.Apply("Tanh", [inner]), oneF])]);
            string mlp = Affine(g, gelu, p + "mlp.c_proj");
            h = g.Apply("Add", [h, mlp]);
        }

        string hf = g.Apply("LayerNormalization", [h, "transformer.ln_f.weight", "transformer.ln_f.bias"], lastAxis, eps);
        string flat = g.Apply("Reshape", [hf, g.AddConstant("flat_shape", -1, E)]);
        string logits2d = _quantized.ContainsKey(HeadWeight)
            ? Linear(g, flat, HeadWeight)
            : g.Apply("Gemm", [flat, "transformer.wte.weight"], OnnxAttribute.Int("transB", 1));
        string outShape = g.Apply("Concat", [g.Apply("Shape", [InputIds]), g.AddConstant("vocab", _c.VocabSize)], OnnxAttribute.Int("axis", 0));
        g.AddNode("Reshape", [logits2d, outShape], [logitsName]);
    }

    private static string Heads(OnnxGraph g, string x, string headShape) =>
        g.Apply("Transpose", [g.Apply("Reshape", [x, headShape])], OnnxAttribute.Ints("perm", 0, 2, 1, 3));
}
