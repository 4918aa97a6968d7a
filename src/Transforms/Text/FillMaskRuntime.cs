using Aigc.MLNet.Onnx.Runtime;
using Aigc.MLNet.Transforms.Serving;

namespace Aigc.MLNet.Transforms.Text;

/// <summary>The configuration a FillMask pipeline carries in its data (see <see cref="ConfiguredMapping"/>).</summary>
internal sealed record FillMaskConfig(string Kind, ModelSource Source, int TopK, int IntraOpNumThreads, string InputColumnName);

/// <summary>
/// The loaded side of a FillMask pipeline: one <see cref="MaskedLM"/> per configuration, shared process-wide through
/// <see cref="ServingCache"/> (a fitted transformer holds a lease; the last one frees the session).
/// </summary>
internal sealed class FillMaskRuntime : IDisposable
{
    public const string ConfigKind = "fill-mask";

    /// <summary>Files <see cref="MaskedLM.Load"/> reads besides the ONNX file, when present.</summary>
    private static readonly string[] FolderFiles = [MaskedLMConfig.FileName, "vocab.json", "merges.txt"];

    private FillMaskRuntime(FillMaskConfig config, MaskedLM model)
    {
        Config = config;
        Model = model;
    }

    public FillMaskConfig Config { get; }

    public MaskedLM Model { get; }

    /// <summary>Fingerprints and loads the model for <paramref name="options"/>; returns its configuration and a lease on the runtime.</summary>
    public static (FillMaskConfig Config, string Encoded, ServingLease<FillMaskRuntime> Lease) Prepare(FillMaskOptions options)
    {
        string folder = Path.GetFullPath(options.ModelPath);
        MaskedLM.ResolveModelFile(folder);
        var source = ModelSource.Capture(folder, "FillMask", [MaskedLM.ModelRelativePath, MaskedLMConfig.FileName], FolderFiles,
            options.ModelSearchPaths, options.EmbedModel);
        var config = new FillMaskConfig(ConfigKind, source, options.TopK, options.IntraOpNumThreads, options.InputColumnName);
        string encoded = ConfiguredMapping.EncodeConfig(config);
        return (config, encoded, Acquire(encoded));
    }

    /// <summary>A lease on the runtime of a configuration string.</summary>
    public static ServingLease<FillMaskRuntime> Acquire(string encodedConfig) => ServingCache.Acquire(encodedConfig, () => Create(encodedConfig));

    /// <summary>Runs <paramref name="use"/> on the runtime of a configuration string without a lease (the rows).</summary>
    public static T Use<T>(string encodedConfig, Func<FillMaskRuntime, T> use) => ServingCache.Use(encodedConfig, () => Create(encodedConfig), use);

    private static FillMaskRuntime Create(string encodedConfig)
    {
        var config = ConfiguredMapping.DecodeConfig<FillMaskConfig>(encodedConfig);
        if (config.Kind != ConfigKind)
            throw new InvalidOperationException($"Column '{ConfiguredMapping.ConfigColumnName}' holds a '{config.Kind}' configuration, not a FillMask one.");
        return new FillMaskRuntime(config, MaskedLM.Load(config.Source.Resolve(), config.IntraOpNumThreads));
    }

    /// <summary>Candidates and probabilities of one row, mask by mask.</summary>
    public (string[] Candidates, float[] Probabilities) Fill(string? text)
    {
        if (string.IsNullOrEmpty(text))
            return ([], []);
        IReadOnlyList<MaskPrediction> predictions;
        try
        {
            predictions = Model.FillMask(text, Config.TopK);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"FillMask: the text in column '{Config.InputColumnName}' cannot be filled: {e.Message}", e);
        }
        var candidates = new List<string>();
        var probabilities = new List<float>();
        foreach (var prediction in predictions)
            foreach (var candidate in prediction.Candidates)
            {
                candidates.Add(candidate.Token);
                probabilities.Add(candidate.Probability);
            }
        return (candidates.ToArray(), probabilities.ToArray());
    }

    public void Dispose() => Model.Dispose();
}
