using Microsoft.ML.OnnxRuntime;

namespace Aigc.MLNet.Onnx.Runtime;

/// <summary>How a <see cref="CausalLM"/> creates its ONNX Runtime session.</summary>
public sealed class CausalLMOptions
{
    /// <summary>Threads used inside one operator; 0 lets ONNX Runtime choose (one per physical core).</summary>
    public int IntraOpNumThreads { get; set; }

    /// <summary>ONNX Runtime graph optimization level; default <see cref="GraphOptimizationLevel.ORT_ENABLE_ALL"/>.</summary>
    public GraphOptimizationLevel GraphOptimizationLevel { get; set; } = GraphOptimizationLevel.ORT_ENABLE_ALL;

    /// <summary>The execution provider; default <see cref="ExecutionProvider.Cpu"/>.</summary>
    public ExecutionProvider ExecutionProvider { get; set; } = ExecutionProvider.Cpu;

    /// <summary>The CUDA device ordinal when <see cref="ExecutionProvider"/> is <see cref="ExecutionProvider.Cuda"/>.</summary>
    public int DeviceId { get; set; }

    /// <summary>When the requested provider is unavailable, run on CPU instead of throwing.</summary>
    public bool AllowCpuFallback { get; set; }

    /// <summary>Load the tokenizer files found beside the model (vocab.json + merges.txt, or a character vocab.json); default true.</summary>
    public bool LoadTokenizer { get; set; } = true;

    internal void Validate()
    {
        if (IntraOpNumThreads < 0)
            throw new ArgumentOutOfRangeException(nameof(IntraOpNumThreads), IntraOpNumThreads, "IntraOpNumThreads must be 0 (ONNX Runtime default) or positive.");
        if (DeviceId < 0)
            throw new ArgumentOutOfRangeException(nameof(DeviceId), DeviceId, "DeviceId must be a non-negative CUDA device ordinal.");
        if (!Enum.IsDefined(ExecutionProvider))
            throw new ArgumentOutOfRangeException(nameof(ExecutionProvider), ExecutionProvider, "Unknown execution provider.");
    }
}
