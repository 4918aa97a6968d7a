using System.Text.Json.Serialization;
using Aigc.MLNet.Transforms.Serving;
using Microsoft.ML.Transforms;

namespace Aigc.MLNet.Trainers.Sequence;

/// <summary>
/// Configuration of a fitted AR(p) forecaster as it travels in a saved pipeline's <c>AigcConfig</c> column: the model
/// itself (coefficients, intercept, σ) and the forecast options, so no file is needed beside the zip.
/// </summary>
internal sealed class AutoRegressiveConfig
{
    [JsonPropertyName("coefficients")] public double[] Coefficients { get; set; } = [];
    [JsonPropertyName("intercept")] public double Intercept { get; set; }
    [JsonPropertyName("sigma")] public double NoiseStdDev { get; set; }
    [JsonPropertyName("horizon")] public int Horizon { get; set; }
    [JsonPropertyName("sample")] public bool Sample { get; set; }
    [JsonPropertyName("seed")] public int Seed { get; set; }
    [JsonPropertyName("history_column")] public string HistoryColumn { get; set; } = "";

    public AutoRegressiveModel Model() => new(Coefficients, Intercept, NoiseStdDev);
}

/// <summary>Input row of the AR forecast mapping.</summary>
public sealed class AutoRegressiveMappingInput
{
    /// <summary>The pipeline's configuration (see <see cref="ConfiguredMapping"/>).</summary>
    public string AigcConfig { get; set; } = "";

    /// <summary>The history, most recent value last.</summary>
    public float[] __AigcHistory { get; set; } = [];
}

/// <summary>Output row of the AR forecast mapping.</summary>
public sealed class AutoRegressiveMappingOutput
{
    /// <summary>The forecast (mean or sample path).</summary>
    public float[] __AigcForecast { get; set; } = [];
}

/// <summary>The row mapping behind <see cref="AutoRegressiveTransformer"/>, stored in saved models under <see cref="ContractName"/>.</summary>
[CustomMappingFactoryAttribute(ContractName)]
public sealed class AutoRegressiveMapping : CustomMappingFactory<AutoRegressiveMappingInput, AutoRegressiveMappingOutput>
{
    /// <summary>Contract name stored in saved models.</summary>
    public const string ContractName = "Aigc.MLNet.AutoRegressiveForecast";

    internal const string HistoryProperty = nameof(AutoRegressiveMappingInput.__AigcHistory);
    internal const string ForecastProperty = nameof(AutoRegressiveMappingOutput.__AigcForecast);

    /// <inheritdoc/>
    public override Action<AutoRegressiveMappingInput, AutoRegressiveMappingOutput> GetMapping() => static (input, output) =>
    {
        var (config, model) = ServingCache.GetOrCreate("ar-config|" + input.AigcConfig, () =>
        {
            var c = ConfiguredMapping.DecodeConfig<AutoRegressiveConfig>(input.AigcConfig);
            return Tuple.Create(c, c.Model());
        });
        output.__AigcForecast = Forecast(model, config, input.__AigcHistory ?? []);
    };

    /// <summary>The forecast of one row: the mean path, or a sample path seeded from the configured seed and the history's bits.</summary>
    internal static float[] Forecast(AutoRegressiveModel model, AutoRegressiveConfig config, float[] history)
    {
        if (history.Length < model.Order)
            throw new ArgumentException($"AutoRegressive: history column '{config.HistoryColumn}' holds {history.Length} values; AR({model.Order}) needs at least {model.Order}.");
        var past = new double[history.Length];
        for (int i = 0; i < history.Length; i++)
        {
            if (!float.IsFinite(history[i]))
                throw new ArgumentException($"AutoRegressive: history column '{config.HistoryColumn}' holds a non-finite value ({history[i]}) at index {i}.");
            past[i] = history[i];
        }
        var random = config.Sample ? new Random(RowSeed(config.Seed, history)) : null;
        double[] path = model.Continue(past, config.Horizon, random);
        var result = new float[path.Length];
        for (int i = 0; i < path.Length; i++)
            result[i] = (float)path[i];
        return result;
    }

    /// <summary>FNV-1a over the seed and the history's float bits: stable across processes and platforms (unlike string hash codes).</summary>
    internal static int RowSeed(int seed, ReadOnlySpan<float> history)
    {
        uint hash = 2166136261;
        void Mix(uint value)
        {
            for (int b = 0; b < 4; b++)
            {
                hash ^= (value >> (8 * b)) & 0xFF;
                hash *= 16777619;
            }
        }
        Mix((uint)seed);
        Mix((uint)history.Length);
        foreach (float v in history)
            Mix(BitConverter.SingleToUInt32Bits(v));
        return (int)(hash & 0x7FFFFFFF);
    }
}
