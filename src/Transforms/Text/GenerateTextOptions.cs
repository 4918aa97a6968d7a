using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Runtime;

namespace Aigc.MLNet.Transforms.Text;

/// <summary>What <see cref="GenerateTextEstimator"/> does with a prompt that does not fit the model's context.</summary>
public enum PromptOverflow
{
    /// <summary>Fail with an exception naming the column, the row's token count and the context length.</summary>
    Throw,

    /// <summary>Keep the last tokens of the prompt so that prompt + MaxNewTokens fits the context (as a chat window does).</summary>
    TruncateLeft,
}

/// <summary>Options of <see cref="TextGenerationCatalog.GenerateText(Microsoft.ML.TransformsCatalog, GenerateTextOptions)"/>.</summary>
public sealed class GenerateTextOptions
{
    /// <summary>Name of the completion column: String, or a variable-length vector of String when <see cref="GenerationOptions.NumReturnSequences"/> &gt; 1.</summary>
    public string OutputColumnName { get; set; } = "Completion";

    /// <summary>Name of the prompt column (String). Empty and missing (null) prompts start from the model's BOS token.</summary>
    public string InputColumnName { get; set; } = "Prompt";

    /// <summary>A model folder (Optimum <c>onnx/model.onnx</c>, legacy <c>decoder_model_merged.onnx</c>, ONNX Runtime GenAI layout) or an .onnx file.</summary>
    public string ModelPath { get; set; } = "";

    /// <summary>Decoding controls with Hugging Face <c>generate()</c> semantics.</summary>
    public GenerationOptions Generation { get; set; } = new();

    /// <summary>Consecutive rows generated together in one batch when the transformer's <c>Transform</c> cursor runs; results, order and row count do not change.</summary>
    public int BatchSize { get; set; } = 1;

    /// <summary>Optional column receiving the generated token ids of the first sequence (variable-length vector of Int32).</summary>
    public string? TokenIdsColumnName { get; set; }

    /// <summary>Optional column receiving why generation ended: "eos", "length" or "stop" (String).</summary>
    public string? FinishReasonColumnName { get; set; }

    /// <summary>Optional column receiving the first sequence's score (Single): the beam score, or the sum of log-probabilities.</summary>
    public string? ScoreColumnName { get; set; }

    /// <summary>What to do with prompts that do not fit the context.</summary>
    public PromptOverflow PromptOverflow { get; set; } = PromptOverflow.Throw;

    /// <summary>ONNX Runtime intra-op threads (0 lets ONNX Runtime choose).</summary>
    public int IntraOpNumThreads { get; set; }

    /// <summary>Execution provider (CPU by default; CUDA needs the GPU build).</summary>
    public ExecutionProvider ExecutionProvider { get; set; } = ExecutionProvider.Cpu;

    /// <summary>CUDA device id when <see cref="ExecutionProvider"/> is CUDA.</summary>
    public int DeviceId { get; set; }

    /// <summary>Fall back to the CPU when the requested execution provider is unavailable.</summary>
    public bool AllowCpuFallback { get; set; }

    /// <summary>
    /// Saved pipelines carry the model's files (the ONNX file, its external data, the configuration and tokenizer files)
    /// inside the zip, as ML.NET's OnnxTransformer carries its ONNX bytes: the zip alone then loads on another machine, the
    /// files being extracted once to <see cref="Serving.ModelSearch.CacheFolder"/>. At most 2 GB of files (ONNX's protobuf
    /// limit). Off by default: the zip then records the folder and finds it as <see cref="ModelSearchPaths"/> describes.
    /// </summary>
    public bool EmbedModel { get; set; }

    /// <summary>
    /// Folders a saved pipeline searches for its model folder when the recorded one is gone (by name, by the path relative
    /// to the working directory, and by content up to three levels down; see <see cref="Serving.ModelSearch"/>), before
    /// those of the <c>AIGC_MODEL_PATH</c> environment variable. Relative entries are resolved against the working directory
    /// of the process that runs the pipeline.
    /// </summary>
    public string[] ModelSearchPaths { get; set; } = [];
}
