using Aigc.MLNet.Onnx.Gpt2;
using Aigc.MLNet.Onnx.Proto;
using Aigc.MLNet.Trainers.Language;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Export;

/// <summary>
/// Exports a trained <see cref="LstmLanguageModel"/> to a model folder the ONNX causal-LM engine (and so
/// <c>GenerateText</c>) serves: <c>onnx/model.onnx</c>, <c>config.json</c>, <c>generation_config.json</c> and the tokenizer files.
/// </summary>
/// <remarks>
/// The graph has the engine's no-cache interface: input <c>input_ids</c> int64 [batch, sequence], output <c>logits</c>
/// float32 [batch, sequence, vocab]; the whole sequence is recomputed each step (an LSTM has no attention cache to carry).
/// Graph: Gather (embedding) → Transpose to [sequence, batch, embedding] → one ONNX <c>LSTM</c> per layer (layout 0,
/// ONNX Runtime's CPU kernel has no batch-first layout) with Squeeze of the direction axis → Transpose back → MatMul + Add (head).
/// PyTorch stores the gates as (input, forget, cell, output), ONNX as (input, output, forget, cell): the row blocks are
/// reordered, and ONNX's B is PyTorch's bias_ih followed by bias_hh.
/// There are no prompt padding masks: serve it with a GenerateText batch size of 1 (the default) or equal-length prompts.
/// </remarks>
public static class LstmOnnxExport
{
    /// <summary>The model file inside the folder ('/'-separated), as the Optimum layout names it.</summary>
    public const string ModelRelativePath = "onnx/model.onnx";

    /// <summary>The <c>model_type</c> written to config.json.</summary>
    public const string ModelType = "aigc_lstm";

    // PyTorch gate block i, f, g, o → ONNX i, o, f, c: ONNX block k takes PyTorch block GateOrder[k].
    private static readonly int[] GateOrder = [0, 3, 1, 2];

    /// <summary>Builds the ONNX graph of <paramref name="model"/> (no files written).</summary>
    /// <param name="model">The trained model (any device; weights are copied to the CPU).</param>
    public static OnnxModel BuildGraph(LstmLanguageModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var parameters = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var (name, p) in model.named_parameters())
            parameters[name] = p.detach().cpu().to(ScalarType.Float32).data<float>().ToArray();
        float[] Get(string name) => parameters.TryGetValue(name, out var v) ? v
            : throw new InvalidOperationException($"LstmLanguageModel has no parameter '{name}' (found: {string.Join(", ", parameters.Keys)}).");

        int v = model.VocabSize, e = model.EmbeddingSize, h = model.HiddenSize;
        var graph = new OnnxGraph("aigc_lstm_lm");
        string ids = graph.AddInput("input_ids", OnnxElementType.Int64, ["batch_size", "sequence_length"]);
        string table = graph.AddInitializer("embedding.weight", Get("embedding.weight"), [v, e]);
        string x = graph.Apply("Gather", [table, ids], OnnxAttribute.Int("axis", 0));            // [b, s, e]
        x = graph.Apply("Transpose", [x], OnnxAttribute.Ints("perm", 1, 0, 2));                   // [s, b, e]
        string directionAxis = graph.AddConstant("direction_axis", 1);
        for (int layer = 0; layer < model.Layers; layer++)
        {
            int input = layer == 0 ? e : h;
            string w = graph.AddInitializer($"lstm.W_l{layer}", ReorderGates(Get($"lstm.weight_ih_l{layer}"), h, input), [1, 4 * h, input]);
            string r = graph.AddInitializer($"lstm.R_l{layer}", ReorderGates(Get($"lstm.weight_hh_l{layer}"), h, h), [1, 4 * h, h]);
            float[] bias = [.. ReorderGates(Get($"lstm.bias_ih_l{layer}"), h, 1), .. ReorderGates(Get($"lstm.bias_hh_l{layer}"), h, 1)];
            string b = graph.AddInitializer($"lstm.B_l{layer}", bias, [1, 8 * h]);
            string y = graph.NewName($"lstm_l{layer}_y");
            graph.AddNode("LSTM", [x, w, r, b], [y], OnnxAttribute.Int("hidden_size", h));      // [s, 1, b, h]
            x = graph.Apply("Squeeze", [y, directionAxis]);                                       // [s, b, h]
        }
        x = graph.Apply("Transpose", [x], OnnxAttribute.Ints("perm", 1, 0, 2));                   // [b, s, h]
        string headWeight = graph.AddInitializer("head.weight_t", Transpose(Get("head.weight"), v, h), [h, v]);
        string projected = graph.Apply("MatMul", [x, headWeight]);
        string headBias = graph.AddInitializer("head.bias", Get("head.bias"), [v]);
        graph.AddNode("Add", [projected, headBias], ["logits"]);
        graph.AddOutput("logits", OnnxElementType.Float, ["batch_size", "sequence_length", v]);
        var onnx = new OnnxModel(graph) { DocString = $"LSTM language model ({model.Architecture}) exported by Aigc.MLNet." };
        onnx.Metadata["architecture"] = model.Architecture;
        return onnx;
    }

    /// <summary>Writes the model folder: <c>onnx/model.onnx</c>, config.json, generation_config.json and the tokenizer files (all atomically).</summary>
    /// <param name="model">The trained model.</param>
    /// <param name="tokenizer">The vocabulary (character-level or GPT-2 BPE) with at most <see cref="LstmLanguageModel.VocabSize"/> entries.</param>
    /// <param name="endOfTextTokenId">Id used as bos, eos and pad in generation_config.json.</param>
    /// <param name="outputFolder">Target folder (created when missing).</param>
    /// <returns>Full path of the written .onnx file.</returns>
    public static string Export(LstmLanguageModel model, Gpt2TokenizerFiles tokenizer, int endOfTextTokenId, string outputFolder)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputFolder);
        if (endOfTextTokenId < 0 || endOfTextTokenId >= model.VocabSize)
            throw new ArgumentOutOfRangeException(nameof(endOfTextTokenId), endOfTextTokenId, $"The end-of-text id must be in [0, {model.VocabSize}).");
        int entries = tokenizer.Count();
        if (entries > model.VocabSize)
            throw new ArgumentException($"The tokenizer has {entries} entries but the model's vocabulary has {model.VocabSize}.", nameof(tokenizer));

        string folder = Path.GetFullPath(outputFolder);
        Directory.CreateDirectory(folder);
        string modelPath = Path.Combine(folder, ModelRelativePath.Replace('/', Path.DirectorySeparatorChar));
        BuildGraph(model).Save(modelPath);

        // config.json has no n_positions: an LSTM reads any length, so the engine sets no context limit.
        AtomicFile.WriteAllText(Path.Combine(folder, "config.json"), $$"""
            {
              "model_type": "{{ModelType}}",
              "architecture": "{{model.Architecture}}",
              "vocab_size": {{model.VocabSize}},
              "embedding_size": {{model.EmbeddingSize}},
              "lstm_hidden_size": {{model.HiddenSize}},
              "lstm_layers": {{model.Layers}},
              "bos_token_id": {{endOfTextTokenId}},
              "eos_token_id": {{endOfTextTokenId}}
            }

            """);
        AtomicFile.WriteAllText(Path.Combine(folder, "generation_config.json"), $$"""
            {
              "bos_token_id": {{endOfTextTokenId}},
              "eos_token_id": {{endOfTextTokenId}},
              "pad_token_id": {{endOfTextTokenId}}
            }

            """);
        // The tokenizer writer takes a GPT-2 config only for vocab_size and model_max_length (unbounded here: HF's "very large").
        tokenizer.WriteTo(folder, new Gpt2Config { VocabSize = model.VocabSize, MaxPositions = 1_000_000_000, BosTokenId = endOfTextTokenId, EosTokenId = endOfTextTokenId });
        return modelPath;
    }

    private static float[] ReorderGates(float[] pytorch, int hidden, int columns)
    {
        int block = hidden * columns;
        if (pytorch.Length != 4 * block)
            throw new InvalidOperationException($"LSTM parameter of {pytorch.Length} values; expected 4 × {hidden} × {columns}.");
        var onnx = new float[pytorch.Length];
        for (int k = 0; k < 4; k++)
            Array.Copy(pytorch, GateOrder[k] * block, onnx, k * block, block);
        return onnx;
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
