namespace Aigc.MLNet.Onnx.Runtime;

/// <summary>The ONNX Runtime execution provider a <see cref="CausalLM"/> runs on.</summary>
public enum ExecutionProvider
{
    /// <summary>The default CPU provider, present in every ONNX Runtime build.</summary>
    Cpu,

    /// <summary>NVIDIA CUDA; needs the GPU build (<c>-p:AigcGpu=true</c>) and a CUDA device.</summary>
    Cuda,
}
