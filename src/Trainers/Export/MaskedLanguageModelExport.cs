using Aigc.MLNet.Onnx.Proto;
using Aigc.MLNet.Onnx.Runtime;
using Aigc.MLNet.Onnx.Tokenization;
using Aigc.MLNet.Trainers.Language.Masked;

namespace Aigc.MLNet.Trainers.Export;

/// <summary>
/// Exports a trained <see cref="MaskedLanguageModel"/> to a model folder that <see cref="MaskedLM"/> (and so <c>FillMask</c>)
/// serves without TorchSharp: <c>onnx/model.onnx</c>, <c>vocab.json</c> (+ <c>merges.txt</c> for BPE) and <c>mlm_config.json</c>,
/// each written atomically (the config last, so a folder with a config is complete).
/// </summary>
/// <remarks>
/// Graph (opset 17): input <c>input_ids</c> int64 [batch, sequence] → Gather (token embedding) + Slice of the position table →
/// per block LayerNormalization, fused QKV MatMul, Split, per-head Reshape/Transpose, MatMul·scale, Softmax (no mask:
/// attention is bidirectional), MatMul, output projection, residual; LayerNormalization, MatMul + Add with erf GELU;
/// residual → final LayerNormalization → MatMul with the transposed token embedding + bias → output <c>logits</c>
/// float32 [batch, sequence, vocab].
/// </remarks>
public static class MaskedLanguageModelExport
{
    /// <summary>Builds the ONNX graph of <paramref name="model"/> (no files written).</summary>
    /// <param name="model">The trained model (any device; weights are copied to the CPU).</param>
    public static OnnxModel BuildGraph(MaskedLanguageModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var parameters = model.ExportParameters();
        (float[] Data, long[] Shape) Get(string name) => parameters.TryGetValue(name, out var p) ? p
            : throw new InvalidOperationException($"MaskedLanguageModel has no parameter '{name}' (found: {string.Join(", ", parameters.Keys)}).");
        var c = model.Config;
        int e = c.EmbeddingSize, heads = c.NumHeads, d = e / heads, v = c.VocabSize;

        var g = new OnnxGraph("aigc_masked_lm");
        string Init(string name) { var (data, shape) = Get(name); return g.AddInitializer(name, data, shape); }
        string InitTransposed(string name)
        {
            var (data, shape) = Get(name);
            return g.AddInitializer(name + "_t", Transpose(data, (int)shape[0], (int)shape[1]), [shape[1], shape[0]]);
        }
        string Linear(string x, string prefix) => g.Apply("Add", [g.Apply("MatMul", [x, InitTransposed(prefix + ".weight")]), Init(prefix + ".bias")]);
        OnnxAttribute lastAxis = OnnxAttribute.Int("axis", -1);
        OnnxAttribute eps = OnnxAttribute.Float("epsilon", c.LayerNormEpsilon);
        string LayerNorm(string x, string prefix) => g.Apply("LayerNormalization", [x, Init(prefix + ".weight"), Init(prefix + ".bias")], lastAxis, eps);

        string ids = g.AddInput("input_ids", OnnxElementType.Int64, ["batch_size", "sequence_length"]);
        string tok = g.Apply("Gather", [Init("tok_emb.weight"), ids], OnnxAttribute.Int("axis", 0));            // [b, s, E]
        string length = g.Apply("Slice", [g.Apply("Shape", [ids]), g.AddConstant("one", 1), g.AddConstant("two", 2)]); // [1]: s
        string pos = g.Apply("Slice", [Init("pos_emb.weight"), g.AddConstant("zero", 0), length, g.AddConstant("axis0", 0)]); // [s, E]
        string h = g.Apply("Add", [tok, pos]);

        string headShape = g.AddConstant("head_shape", 0, 0, heads, d);
        string mergedShape = g.AddConstant("merged_shape", 0, 0, e);
        string split = g.AddConstant("qkv_split", e, e, e);
        string scale = g.AddScalar("scale", 1f / MathF.Sqrt(d));
        string half = g.AddScalar("half", 0.5f), one = g.AddScalar("one_f", 1f), invSqrt2 = g.AddScalar("inv_sqrt2", 1f / MathF.Sqrt(2f));
        for (int i = 0; i < c.NumLayers; i++)
        {
            string p = $"blocks.{i}.";
            string x = LayerNorm(h, p + "ln_1");
            string qkv = Linear(x, p + "attn.qkv");
            string q = g.NewName("q"), k = g.NewName("k"), vv = g.NewName("v");
            g.AddNode("Split", [qkv, split], [q, k, vv], OnnxAttribute.Int("axis", 2));
            string qh = g.Apply("Transpose", [g.Apply("Reshape", [q, headShape])], OnnxAttribute.Ints("perm", 0, 2, 1, 3));  // [b, H, s, D]
            string kt = g.Apply("Transpose", [g.Apply("Reshape", [k, headShape])], OnnxAttribute.Ints("perm", 0, 2, 3, 1));  // [b, H, D, s]
            string vh = g.Apply("Transpose", [g.Apply("Reshape", [vv, headShape])], OnnxAttribute.Ints("perm", 0, 2, 1, 3)); // [b, H, s, D]
            string scores = g.Apply("Mul", [g.Apply("MatMul", [qh, kt]), scale]);
            string probs = g.Apply("Softmax", [scores], lastAxis);
            string ctx = g.Apply("MatMul", [probs, vh]);
            string merged = g.Apply("Reshape", [g.Apply("Transpose", [ctx], OnnxAttribute.Ints("perm", 0, 2, 1, 3)), mergedShape]);
            h = g.Apply("Add", [h, Linear(merged, p + "attn.proj")]);

            string y = LayerNorm(h, p + "ln_2");
            string fc = Linear(y, p + "mlp.fc");
            string gelu = g.Apply("Mul", [g.Apply("Mul", [fc, half]), g.Apply("Add", [g.Apply("Erf", [g.Apply("Mul", [fc, invSqrt2])]), one])]);
            h = g.Apply("Add", [h, Linear(gelu, p + "mlp.proj")]);
        }
        string hf = LayerNorm(h, "ln_f");
        string projected = g.Apply("MatMul", [hf, InitTransposed("tok_emb.weight")]);
        g.AddNode("Add", [projected, Init("head_bias")], ["logits"]);
        g.AddOutput("logits", OnnxElementType.Float, ["batch_size", "sequence_length", v]);
        var onnx = new OnnxModel(g) { DocString = $"Masked language model ({model.Architecture}) exported by Aigc.MLNet." };
        onnx.Metadata["architecture"] = model.Architecture;
        return onnx;
    }

    /// <summary>Writes the model folder (graph, tokenizer files, then mlm_config.json), all atomically.</summary>
    /// <param name="model">The trained model.</param>
    /// <param name="tokenizer">Its vocabulary; its size and mask id must match the model's config.</param>
    /// <param name="outputFolder">Target folder (created when missing).</param>
    /// <returns>Full path of the written .onnx file.</returns>
    public static string Export(MaskedLanguageModel model, MaskedLMTokenizer tokenizer, string outputFolder)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputFolder);
        if (tokenizer.VocabularySize != model.Config.VocabSize || tokenizer.MaskTokenId != model.Config.MaskTokenId)
            throw new ArgumentException(
                $"The tokenizer has {tokenizer.VocabularySize} ids (mask {tokenizer.MaskTokenId}); the model has {model.Config.VocabSize} (mask {model.Config.MaskTokenId}).", nameof(tokenizer));
        string folder = Path.GetFullPath(outputFolder);
        Directory.CreateDirectory(folder);
        string modelPath = Path.Combine(folder, MaskedLM.ModelRelativePath.Replace('/', Path.DirectorySeparatorChar));
        BuildGraph(model).Save(modelPath);
        tokenizer.SaveToFolder(folder);
        var c = model.Config;
        var config = new MaskedLMConfig
        {
            Architecture = model.Architecture, Vocabulary = tokenizer.Kind, VocabSize = c.VocabSize, MaskToken = tokenizer.MaskToken,
            MaskTokenId = tokenizer.MaskTokenId, MaxPositions = c.MaxPositions, NumLayers = c.NumLayers, NumHeads = c.NumHeads,
            EmbeddingSize = c.EmbeddingSize, MlpSize = c.MlpSize, LayerNormEpsilon = c.LayerNormEpsilon,
        };
        config.Save(Path.Combine(folder, MaskedLMConfig.FileName));
        return modelPath;
    }

    private static float[] Transpose(float[] matrix, int rows, int columns)
    {
        var t = new float[matrix.Length];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < columns; j++)
                t[j * rows + i] = matrix[i * columns + j];
        return t;
    }
}
