using Aigc.MLNet.Onnx.Proto;

namespace Aigc.MLNet.Onnx.Gpt2;

/// <summary>Options of <see cref="Gpt2Exporter.Export"/>.</summary>
public sealed class Gpt2ExportOptions
{
    /// <summary>ONNX interface; default <see cref="Gpt2OnnxLayout.Optimum"/>.</summary>
    public Gpt2OnnxLayout Layout { get; set; } = Gpt2OnnxLayout.Optimum;

    /// <summary>For <see cref="Gpt2OnnxLayout.OnnxRuntimeGpt2"/>: int32 input_ids, position_ids and attention_mask.</summary>
    public bool UseInt32Inputs { get; set; }

    /// <summary>How the .onnx file is saved (external data policy); null for defaults (external only past ~2 GB).</summary>
    public OnnxSaveOptions? Save { get; set; }

    /// <summary>
    /// Written to generation_config.json as <c>context_overflow</c> ("slide" / "stop"): what generation does at n_positions
    /// unless <see cref="Generation.GenerationOptions.ContextOverflow"/> says otherwise. Null writes nothing, so the model
    /// stops there as in Hugging Face; the Aigc.MLNet trainers write <see cref="Generation.ContextOverflow.SlideWindow"/>.
    /// </summary>
    public Generation.ContextOverflow? ContextOverflow { get; set; }

    /// <summary>
    /// Weight-only block quantization of the exported graph (<c>com.microsoft.MatMulNBits</c>; see
    /// <see cref="Gpt2GraphBuilder.Quantization"/>); config.json then carries a <c>quantization</c> block saying what was
    /// done. Null (the default) exports fp32.
    /// </summary>
    public Quantization.BlockQuantizationOptions? Quantization { get; set; }
}

/// <summary>
/// Writes a complete GPT-2 model folder a Hugging Face / transformers.js / ONNX Runtime GenAI user expects:
/// <list type="bullet">
/// <item><see cref="Gpt2OnnxLayout.Optimum"/>: <c>onnx/model.onnx</c> (transformers.js v3+ path).</item>
/// <item><see cref="Gpt2OnnxLayout.OptimumMergedLegacy"/>: <c>decoder_model_merged.onnx</c> at the root (Optimum's ORTModelForCausalLM path).</item>
/// <item><see cref="Gpt2OnnxLayout.OnnxRuntimeGpt2"/>: <c>model.onnx</c> + <c>genai_config.json</c> at the root.</item>
/// </list>
/// plus <c>config.json</c>, <c>generation_config.json</c> and the tokenizer files (<see cref="Gpt2TokenizerFiles"/>).
/// Large models get <c>{model file}_data</c> beside the .onnx file. Every file is written atomically.
/// </summary>
public static class Gpt2Exporter
{
    /// <summary>Path of the ONNX file inside the folder for <paramref name="layout"/> ('/'-separated).</summary>
    public static string ModelRelativePath(Gpt2OnnxLayout layout) => layout switch
    {
        Gpt2OnnxLayout.Optimum => "onnx/model.onnx",
        Gpt2OnnxLayout.OptimumMergedLegacy => "decoder_model_merged.onnx",
        Gpt2OnnxLayout.OnnxRuntimeGpt2 => "model.onnx",
        _ => throw new ArgumentOutOfRangeException(nameof(layout), layout, "Unknown GPT-2 ONNX layout."),
    };

    /// <summary>Exports <paramref name="weights"/> and <paramref name="tokenizer"/> to <paramref name="outputFolder"/>.</summary>
    /// <returns>Full path of the written .onnx file.</returns>
    public static string Export(Gpt2Weights weights, Gpt2TokenizerFiles tokenizer, string outputFolder, Gpt2ExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentException.ThrowIfNullOrEmpty(outputFolder);
        options ??= new Gpt2ExportOptions();
        Gpt2Config config = weights.Config;
        int vocabEntries = tokenizer.Count();
        if (vocabEntries > config.VocabSize)
            throw new ArgumentException($"The tokenizer has {vocabEntries} entries but the model's vocab_size is {config.VocabSize}.", nameof(tokenizer));

        string folder = Path.GetFullPath(outputFolder);
        Directory.CreateDirectory(folder);
        var builder = new Gpt2GraphBuilder(weights) { UseInt32Inputs = options.UseInt32Inputs, Quantization = options.Quantization };
        OnnxModel model = builder.Build(options.Layout);
        string modelPath = Path.Combine(folder, ModelRelativePath(options.Layout).Replace('/', Path.DirectorySeparatorChar));
        model.Save(modelPath, options.Save);

        config.Save(Path.Combine(folder, "config.json"));
        if (builder.ResolvedQuantization is { } q) WriteQuantizationBlock(Path.Combine(folder, "config.json"), q);
        WriteGenerationConfig(Path.Combine(folder, "generation_config.json"), config, options.ContextOverflow);
        if (options.Layout == Gpt2OnnxLayout.OnnxRuntimeGpt2)
            WriteGenAiConfig(Path.Combine(folder, "genai_config.json"), config, Path.GetFileName(modelPath));
        tokenizer.WriteTo(folder, config);
        return modelPath;
    }

    /// <summary>Adds <c>"quantization": {"method", "bits", "block_size", "symmetric", "accuracy_level", "quantized"}</c> to config.json.</summary>
    internal static void WriteQuantizationBlock(string configPath, Quantization.BlockQuantizationOptions q, string? quantized = null, string? fp32 = null)
    {
        var root = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
        root["quantization"] = new System.Text.Json.Nodes.JsonObject
        {
            ["method"] = "MatMulNBits (weight-only block quantization, ONNX Runtime contrib operator)",
            ["bits"] = q.Bits,
            ["block_size"] = q.BlockSize,
            ["symmetric"] = q.Symmetric,
            ["accuracy_level"] = q.AccuracyLevel,
            ["quantized"] = quantized ?? (q.QuantizeHead ? "attention and MLP weights, tied output head and the token embedding (GatherBlockQuantized reads the head's codes)" : "attention and MLP weights"),
            ["fp32"] = fp32 ?? (q.QuantizeHead ? "position embeddings, layer norms, biases" : "embeddings (token and position lookups), layer norms, biases"),
        };
        AtomicFile.WriteAllText(configPath, root.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    private static void WriteGenerationConfig(string path, Gpt2Config c, Generation.ContextOverflow? overflow) =>
        Gpt2TokenizerFiles.WriteJson(path, w =>
        {
            w.WriteBoolean("_from_model_config", true);
            w.WriteNumber("bos_token_id", c.BosTokenId);
            w.WriteNumber("eos_token_id", c.EosTokenId);
            w.WriteNumber("pad_token_id", c.PadTokenId ?? c.EosTokenId);
            w.WriteNumber("max_length", c.MaxPositions);
            if (overflow is { } o) w.WriteString("context_overflow", o == Generation.ContextOverflow.SlideWindow ? "slide" : "stop");
        });

    // ONNX Runtime GenAI's genai_config.json; past_names/present_names describe the stacked [2, b, H, past, D] caches.
    private static void WriteGenAiConfig(string path, Gpt2Config c, string fileName) =>
        Gpt2TokenizerFiles.WriteJson(path, w =>
        {
            w.WriteStartObject("model");
            w.WriteNumber("bos_token_id", c.BosTokenId);
            w.WriteNumber("context_length", c.MaxPositions);
            w.WriteStartObject("decoder");
            w.WriteStartObject("session_options");
            w.WriteString("log_id", "onnxruntime-genai");
            w.WriteStartArray("provider_options");
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteString("filename", fileName);
            w.WriteNumber("head_size", c.HeadSize);
            w.WriteNumber("hidden_size", c.EmbeddingSize);
            w.WriteStartObject("inputs");
            w.WriteString("input_ids", Gpt2GraphBuilder.InputIds);
            w.WriteString("attention_mask", Gpt2GraphBuilder.AttentionMask);
            w.WriteString("position_ids", Gpt2GraphBuilder.PositionIds);
            w.WriteString("past_names", "past_%d");
            w.WriteEndObject();
            w.WriteStartObject("outputs");
            w.WriteString("logits", Gpt2GraphBuilder.Logits);
            w.WriteString("present_names", "present_%d");
            w.WriteEndObject();
            w.WriteNumber("num_attention_heads", c.NumHeads);
            w.WriteNumber("num_hidden_layers", c.NumLayers);
            w.WriteNumber("num_key_value_heads", c.NumHeads);
            w.WriteEndObject();
            w.WriteNumber("eos_token_id", c.EosTokenId);
            w.WriteNumber("pad_token_id", c.PadTokenId ?? c.EosTokenId);
            w.WriteString("type", "gpt2");
            w.WriteNumber("vocab_size", c.VocabSize);
            w.WriteEndObject();
            w.WriteStartObject("search");
            w.WriteBoolean("do_sample", false);
            w.WriteNumber("max_length", c.MaxPositions);
            w.WriteNumber("min_length", 0);
            w.WriteNumber("num_beams", 1);
            w.WriteNumber("num_return_sequences", 1);
            w.WriteBoolean("past_present_share_buffer", false);
            w.WriteNumber("repetition_penalty", 1.0);
            w.WriteNumber("temperature", 1.0);
            w.WriteNumber("top_k", 1);
            w.WriteNumber("top_p", 1.0);
            w.WriteEndObject();
        });
}
