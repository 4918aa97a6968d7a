using Aigc.MLNet.Transforms.Serving;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace Aigc.MLNet.Transforms.Text;

/// <summary>Input row of the GenerateText mapping (fixed names; the pipeline copies the user's prompt column here).</summary>
public sealed class GenerateTextMappingInput
{
    /// <summary>The pipeline's configuration (see <see cref="ConfiguredMapping"/>).</summary>
    public string AigcConfig { get; set; } = "";

    /// <summary>The prompt.</summary>
    public string? __AigcPrompt { get; set; }
}

/// <summary>Output row of the GenerateText mapping; the pipeline copies the requested columns to the user's names.</summary>
public sealed class GenerateTextMappingOutput
{
    /// <summary>The first sequence's text.</summary>
    public string __AigcCompletion { get; set; } = "";

    /// <summary>Every returned sequence's text.</summary>
    public string[] __AigcCompletions { get; set; } = [];

    /// <summary>The first sequence's generated token ids.</summary>
    public int[] __AigcTokenIds { get; set; } = [];

    /// <summary>"eos", "length" or "stop".</summary>
    public string __AigcFinishReason { get; set; } = "";

    /// <summary>The first sequence's score.</summary>
    public float __AigcScore { get; set; }
}

/// <summary>The row-by-row GenerateText mapping stored in saved models under <see cref="ContractName"/>.</summary>
[CustomMappingFactoryAttribute(ContractName)]
public sealed class GenerateTextMapping : CustomMappingFactory<GenerateTextMappingInput, GenerateTextMappingOutput>
{
    /// <summary>Contract name stored in saved models.</summary>
    public const string ContractName = "Aigc.MLNet.GenerateText";

    internal const string PromptProperty = nameof(GenerateTextMappingInput.__AigcPrompt);
    internal const string CompletionProperty = nameof(GenerateTextMappingOutput.__AigcCompletion);
    internal const string CompletionsProperty = nameof(GenerateTextMappingOutput.__AigcCompletions);
    internal const string TokenIdsProperty = nameof(GenerateTextMappingOutput.__AigcTokenIds);
    internal const string FinishReasonProperty = nameof(GenerateTextMappingOutput.__AigcFinishReason);
    internal const string ScoreProperty = nameof(GenerateTextMappingOutput.__AigcScore);

    /// <inheritdoc/>
    public override Action<GenerateTextMappingInput, GenerateTextMappingOutput> GetMapping() => static (input, output) =>
    {
        var row = GenerateTextRuntime.Use(input.AigcConfig, runtime => runtime.Generate([input.__AigcPrompt], firstRow: null)[0]);
        output.__AigcCompletion = row.Completion;
        output.__AigcCompletions = row.Completions;
        output.__AigcTokenIds = row.TokenIds;
        output.__AigcFinishReason = row.FinishReason;
        output.__AigcScore = row.Score;
    };
}
