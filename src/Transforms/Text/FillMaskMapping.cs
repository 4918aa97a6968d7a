using Aigc.MLNet.Transforms.Serving;
using Microsoft.ML.Transforms;

namespace Aigc.MLNet.Transforms.Text;

/// <summary>Input row of the FillMask mapping (fixed names; the pipeline copies the user's text column here).</summary>
public sealed class FillMaskMappingInput
{
    /// <summary>The pipeline's configuration (see <see cref="ConfiguredMapping"/>).</summary>
    public string AigcConfig { get; set; } = "";

    /// <summary>The text with mask tokens.</summary>
    public string? __AigcMaskedText { get; set; }
}

/// <summary>Output row of the FillMask mapping; the pipeline copies the columns to the user's names.</summary>
public sealed class FillMaskMappingOutput
{
    /// <summary>TopK candidate tokens per mask, mask by mask.</summary>
    public string[] __AigcCandidates { get; set; } = [];

    /// <summary>Their probabilities.</summary>
    public float[] __AigcProbabilities { get; set; } = [];
}

/// <summary>The row-by-row FillMask mapping stored in saved models under <see cref="ContractName"/>.</summary>
[CustomMappingFactoryAttribute(ContractName)]
public sealed class FillMaskMapping : CustomMappingFactory<FillMaskMappingInput, FillMaskMappingOutput>
{
    /// <summary>Contract name stored in saved models.</summary>
    public const string ContractName = "Aigc.MLNet.FillMask";

    internal const string TextProperty = nameof(FillMaskMappingInput.__AigcMaskedText);
    internal const string CandidatesProperty = nameof(FillMaskMappingOutput.__AigcCandidates);
    internal const string ProbabilitiesProperty = nameof(FillMaskMappingOutput.__AigcProbabilities);

    /// <inheritdoc/>
    public override Action<FillMaskMappingInput, FillMaskMappingOutput> GetMapping() => static (input, output) =>
    {
        var (candidates, probabilities) = FillMaskRuntime.Use(input.AigcConfig, runtime => runtime.Fill(input.__AigcMaskedText));
        output.__AigcCandidates = candidates;
        output.__AigcProbabilities = probabilities;
    };
}
