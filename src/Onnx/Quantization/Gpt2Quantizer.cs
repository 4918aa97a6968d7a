using Aigc.MLNet.Onnx.Gpt2;
using Aigc.MLNet.Onnx.Proto;

namespace Aigc.MLNet.Onnx.Quantization;

/// <summary>
/// Quantizes a GPT-2 ONNX folder written by this library's exporter (trained here, or converted from a Hugging Face
/// checkpoint) into a new folder: the weights are read back from the ONNX initializers, the graph is rebuilt in the
/// same layout with <c>com.microsoft.MatMulNBits</c> weights (<see cref="Gpt2GraphBuilder.Quantization"/>), and every
/// other file (config, generation config, tokenizer files) is copied, config.json gaining a <c>quantization</c> block.
/// The new folder appears only when complete (written beside it, then renamed); the source is never changed.
/// </summary>
public static class Gpt2Quantizer
{
    /// <summary>Quantizes <paramref name="sourceFolder"/> into <paramref name="outputFolder"/> (which must not exist); returns the new model file.</summary>
    /// <exception cref="DirectoryNotFoundException">The source folder does not exist.</exception>
    /// <exception cref="IOException">The output folder already exists.</exception>
    /// <exception cref="InvalidDataException">The source is not a GPT-2 folder written by this library, or is already quantized.</exception>
    public static string QuantizeFolder(string sourceFolder, string outputFolder, BlockQuantizationOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(sourceFolder);
        ArgumentException.ThrowIfNullOrEmpty(outputFolder);
        ArgumentNullException.ThrowIfNull(options);
        options = options.Clone();
        options.Validate();
        string source = Path.GetFullPath(sourceFolder), output = Path.GetFullPath(outputFolder);
        if (!Directory.Exists(source)) throw new DirectoryNotFoundException($"Model folder '{source}' does not exist.");
        if (Directory.Exists(output) || File.Exists(output))
            throw new IOException($"Output folder '{output}' already exists; quantization writes a new folder and never overwrites one.");
        string configPath = Path.Combine(source, "config.json");
        if (!File.Exists(configPath))
            throw new InvalidDataException($"'{source}' is not a causal language model folder: it has no config.json.");

        var (layout, modelPath) = FindModel(source);
        var reader = OnnxInitializerReader.Read(modelPath);
        if (reader.Metadata.TryGetValue("aigc.quantization", out string? done))
            throw new InvalidDataException($"'{modelPath}' is already quantized ({done}); quantize the fp32 folder it came from.");
        if (layout is null || !reader.Metadata.ContainsKey("aigc.gpt2.layout"))
            return QuantizeForeign(source, output, modelPath, options, reader);

        var config = Gpt2Config.Load(configPath);
        var weights = new Gpt2Weights(config);
        foreach (var (name, shape) in Gpt2Weights.ExpectedShapes(config))
        {
            if (!reader.FloatInitializers.TryGetValue(name, out var tensor))
                throw new InvalidDataException($"'{modelPath}' has no fp32 initializer '{name}' for {config}.");
            weights.Set(name, tensor.Data, shape);
        }
        var builder = new Gpt2GraphBuilder(weights) { Quantization = options, UseInt32Inputs = UsesInt32Inputs(modelPath, layout.Value) };
        var model = builder.Build(layout.Value);
        var resolved = builder.ResolvedQuantization!;

        return WriteFolder(source, output, modelPath, (staging, newModel) =>
        {
            model.Save(newModel);
            Gpt2Exporter.WriteQuantizationBlock(Path.Combine(staging, "config.json"), resolved);
        });
    }

    // Where an Optimum export (or transformers.js's copy of one) keeps the decoder, when none of this library's paths exists.
    private static readonly string[] s_foreignModelPaths = ["model.onnx", "decoder_model_merged.onnx", "onnx/decoder_model_merged.onnx", "decoder_model.onnx", "onnx/decoder_model.onnx"];

    private static (Gpt2OnnxLayout? Layout, string Path) FindModel(string folder)
    {
        foreach (var layout in new[] { Gpt2OnnxLayout.Optimum, Gpt2OnnxLayout.OnnxRuntimeGpt2, Gpt2OnnxLayout.OptimumMergedLegacy })
        {
            string path = Path.Combine(folder, Gpt2Exporter.ModelRelativePath(layout).Replace('/', Path.DirectorySeparatorChar));
            if (File.Exists(path)) return (layout, path);
        }
        foreach (string relative in s_foreignModelPaths)
        {
            string path = Path.Combine(folder, relative.Replace('/', Path.DirectorySeparatorChar));
            if (File.Exists(path)) return (null, path);
        }
        throw new InvalidDataException($"'{folder}' is not a causal language model folder: none of {string.Join(", ", Enum.GetValues<Gpt2OnnxLayout>().Select(Gpt2Exporter.ModelRelativePath).Concat(s_foreignModelPaths).Distinct())} exists.");
    }

    /// <summary>
    /// A model this library did not write (a Hugging Face Optimum export): its MatMul and Gemm weights and its token
    /// embedding (told apart by config.json's vocab_size) are quantized in place in the graph (<see cref="OnnxGraphQuantizer"/>).
    /// </summary>
    private static string QuantizeForeign(string source, string output, string modelPath, BlockQuantizationOptions options, OnnxInitializerReader initializers)
    {
        using (var session = new Microsoft.ML.OnnxRuntime.InferenceSession(modelPath))
        {
            if (!session.InputMetadata.ContainsKey(Gpt2GraphBuilder.InputIds) || !session.OutputMetadata.ContainsKey("logits"))
                throw new InvalidDataException($"'{modelPath}' is not a causal language model: a decoder takes '{Gpt2GraphBuilder.InputIds}' and returns 'logits' (it takes {string.Join(", ", session.InputMetadata.Keys)}; returns {string.Join(", ", session.OutputMetadata.Keys)}).");
        }
        int vocab = Runtime.CausalLMConfig.Load(source).VocabSize;
        var rewritten = OnnxGraphQuantizer.Rewrite(modelPath, options, initializers, vocab > 0 ? vocab : null);
        return WriteFolder(source, output, modelPath, (staging, newModel) =>
        {
            File.WriteAllBytes(newModel, rewritten.Model);
            Gpt2Exporter.WriteQuantizationBlock(Path.Combine(staging, "config.json"), rewritten.Options,
                quantized: $"{rewritten.Quantized} MatMul/Gemm weights of a graph written elsewhere"
                    + (rewritten.QuantizedLookups.Count == 0 ? "" : $" and the token embedding {string.Join(", ", rewritten.QuantizedLookups)} (GatherBlockQuantized)"),
                fp32: (rewritten.QuantizedLookups.Count == 0 ? "embedding lookups and every other tensor" : "position embeddings and every other tensor")
                    + (rewritten.LeftFp32.Count == 0 ? "" : $", and the MatMul/Gemm weights {string.Join(", ", rewritten.LeftFp32)}"));
        });
    }

    // The ORT GPT-2 layout may declare int32 ids; keep what the source declared (genai_config.json's loader expects it).
    private static bool UsesInt32Inputs(string modelPath, Gpt2OnnxLayout layout)
    {
        if (layout != Gpt2OnnxLayout.OnnxRuntimeGpt2) return false;
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(modelPath);
        return session.InputMetadata.TryGetValue(Gpt2GraphBuilder.InputIds, out var ids) && ids.ElementType == typeof(int);
    }

    /// <summary>
    /// Copies the folder's files except ONNX graphs and external data into a staging folder beside <paramref name="output"/>,
    /// lets <paramref name="writeModel"/> (staging folder, model path in it) write the new graph where
    /// <paramref name="modelPath"/> was and adjust config.json, and moves the staging
    /// folder into place; on failure nothing is left.
    /// </summary>
    private static string WriteFolder(string source, string output, string modelPath, Action<string, string> writeModel)
    {
        string staging = output + ".tmp-" + Environment.ProcessId;
        if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        try
        {
            string relativeModel = Path.GetRelativePath(source, modelPath);
            foreach (string file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
            {
                string relative = Path.GetRelativePath(source, file);
                // The fp32 graph and its external data are replaced, not copied (an Optimum folder's other decoder files
                // are left out too: they would still be fp32).
                if (relative.EndsWith(".onnx", StringComparison.Ordinal) || relative.EndsWith(".onnx_data", StringComparison.Ordinal) || relative.EndsWith(".onnx.data", StringComparison.Ordinal))
                    continue;
                string target = Path.Combine(staging, relative);
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(file, target);
            }
            string newModel = Path.Combine(staging, relativeModel);
            Directory.CreateDirectory(Path.GetDirectoryName(newModel)!);
            writeModel(staging, newModel);
            Directory.Move(staging, output);
            return Path.Combine(output, relativeModel);
        }
        catch
        {
            try { if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true); } catch (IOException) { }
            throw;
        }
    }
}
