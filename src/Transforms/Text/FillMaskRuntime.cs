using Aigc.MLNet.Onnx.Runtime;
using Aigc.MLNet.Transforms.Serving;

namespace Aigc.MLNet.Transforms.Text;

/// <summary>The configuration a FillMask pipeline carries in its data (see <see cref="ConfiguredMapping"/>).</summary>
internal sealed record FillMaskConfig(string Kind, string ModelFolder, string ModelFile, string ModelSha256, int TopK, int IntraOpNumThreads, string InputColumnName);

/// <summary>The loaded side of a FillMask pipeline: one <see cref="MaskedLM"/> per configuration, shared process-wide.</summary>
internal sealed class FillMaskRuntime : IDisposable
{
    public const string ConfigKind = "fill-mask";

    private FillMaskRuntime(FillMaskConfig config, MaskedLM model)
    {
        Config = config;
        Model = model;
    }

    public FillMaskConfig Config { get; }

    public MaskedLM Model { get; }

    /// <summary>Loads the model for <paramref name="options"/> and returns its encoded configuration.</summary>
    public static string Prepare(FillMaskOptions options)
    {
        string folder = Path.GetFullPath(options.ModelPath);
        string file = MaskedLM.ResolveModelFile(folder);
        var config = new FillMaskConfig(ConfigKind, folder, file, FileFingerprint.Sha256(file), options.TopK, options.IntraOpNumThreads, options.InputColumnName);
        string encoded = ConfiguredMapping.EncodeConfig(config);
        Get(encoded);
        return encoded;
    }

    /// <summary>The runtime of a configuration string, created once per process (the model file is checked against its recorded SHA-256).</summary>
    public static FillMaskRuntime Get(string encodedConfig) =>
        ServingCache.GetOrCreate(encodedConfig, () =>
        {
            var config = ConfiguredMapping.DecodeConfig<FillMaskConfig>(encodedConfig);
            if (config.Kind != ConfigKind)
                throw new InvalidOperationException($"Column '{ConfiguredMapping.ConfigColumnName}' holds a '{config.Kind}' configuration, not a FillMask one.");
            FileFingerprint.Verify(config.ModelFile, config.ModelSha256, "masked-LM model");
            return new FillMaskRuntime(config, MaskedLM.Load(config.ModelFolder, config.IntraOpNumThreads));
        });

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
