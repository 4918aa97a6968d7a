namespace Aigc.MLNet.Onnx.Gpt2;

/// <summary>
/// Hugging Face GPT-2 checkpoints (<c>model.safetensors</c>) to and from <see cref="Gpt2Weights"/>, and straight to an
/// ONNX model folder in pure .NET: <c>Gpt2Checkpoint.Convert("gpt2/model.safetensors", tokenizer, "out")</c>.
/// </summary>
public static class Gpt2Checkpoint
{
    /// <summary>Reads every GPT-2 parameter from a safetensors file, checking names and shapes against <paramref name="config"/>.</summary>
    /// <exception cref="InvalidDataException">A tensor is missing, unknown or mis-shaped; the message names the file and tensor.</exception>
    public static Gpt2Weights LoadWeights(string safetensorsPath, Gpt2Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        using SafeTensorsFile file = SafeTensorsFile.Open(safetensorsPath);
        var weights = new Gpt2Weights(config);
        foreach (SafeTensorInfo t in file.Tensors)
        {
            if (Gpt2Weights.IsIgnoredName(t.Name) && t.Name != "lm_head.weight") continue;
            int[] shape = t.Shape.Select(d => d > int.MaxValue ? -1 : (int)d).ToArray();
            IReadOnlyList<int>? expected = Gpt2Weights.Canonical(t.Name) == "lm_head.weight"
                ? weights.ExpectedShape("transformer.wte.weight")
                : weights.ExpectedShape(t.Name);
            if (expected is null)
                throw new InvalidDataException($"'{safetensorsPath}': tensor '{t.Name}' is not a GPT-2 parameter for {config}.");
            if (!shape.SequenceEqual(expected))
                throw new InvalidDataException(
                    $"'{safetensorsPath}': tensor '{t.Name}' has shape {Gpt2Weights.Format(shape)} but {config} expects {Gpt2Weights.Format(expected)}.");
            if (Gpt2Weights.Canonical(t.Name) == "lm_head.weight") continue; // tied to wte
            weights.Set(t.Name, file.ReadFloat32(t.Name), shape);
        }
        try { weights.Validate(); }
        catch (InvalidDataException ex) { throw new InvalidDataException($"'{safetensorsPath}': {ex.Message}", ex); }
        return weights;
    }

    /// <summary>Reads a checkpoint whose config.json sits beside the safetensors file.</summary>
    public static Gpt2Weights LoadWeights(string safetensorsPath)
    {
        string config = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(safetensorsPath))!, "config.json");
        if (!File.Exists(config))
            throw new FileNotFoundException($"No config.json beside '{safetensorsPath}'; pass a Gpt2Config.", config);
        return LoadWeights(safetensorsPath, Gpt2Config.Load(config));
    }

    /// <summary>Writes <paramref name="weights"/> as a Hugging Face GPT-2 safetensors file (names with the <c>transformer.</c> prefix).</summary>
    /// <param name="weights">The weights.</param>
    /// <param name="path">Output file.</param>
    /// <param name="dtype">"F32" (default), "F16" or "BF16".</param>
    public static void SaveSafeTensors(Gpt2Weights weights, string path, string dtype = "F32")
    {
        ArgumentNullException.ThrowIfNull(weights);
        weights.Validate();
        var writer = new SafeTensorsWriter();
        foreach (var (name, shape) in Gpt2Weights.ExpectedShapes(weights.Config))
            writer.Add(name, weights.Get(name), shape.Select(d => (long)d).ToArray(), dtype);
        writer.Save(path);
    }

    /// <summary>
    /// Converts a Hugging Face GPT-2 safetensors checkpoint to an ONNX model folder (see <see cref="Gpt2Exporter"/>).
    /// </summary>
    /// <param name="safetensorsPath">The <c>model.safetensors</c> file.</param>
    /// <param name="tokenizer">Tokenizer files to include.</param>
    /// <param name="outputFolder">Folder to write.</param>
    /// <param name="config">Model shape; null reads config.json beside the safetensors file.</param>
    /// <param name="options">Export options (layout, external data).</param>
    /// <returns>Full path of the written .onnx file.</returns>
    public static string Convert(string safetensorsPath, Gpt2TokenizerFiles tokenizer, string outputFolder,
        Gpt2Config? config = null, Gpt2ExportOptions? options = null)
    {
        Gpt2Weights weights = config is null ? LoadWeights(safetensorsPath) : LoadWeights(safetensorsPath, config);
        return Gpt2Exporter.Export(weights, tokenizer, outputFolder, options);
    }

    /// <summary>
    /// Converts a Hugging Face GPT-2 folder (config.json, model.safetensors, vocab.json, merges.txt) to an ONNX folder.
    /// </summary>
    public static string ConvertFolder(string huggingFaceFolder, string outputFolder, Gpt2ExportOptions? options = null)
    {
        string st = Path.Combine(huggingFaceFolder, "model.safetensors");
        var tokenizer = Gpt2TokenizerFiles.Bpe(Path.Combine(huggingFaceFolder, "vocab.json"), Path.Combine(huggingFaceFolder, "merges.txt"));
        return Convert(st, tokenizer, outputFolder, Gpt2Config.Load(Path.Combine(huggingFaceFolder, "config.json")), options);
    }
}
