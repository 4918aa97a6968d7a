using Aigc.MLNet.Onnx.Generation;

namespace Aigc.MLNet.Trainers.Language;

/// <summary>Options of <see cref="GptTrainer"/>; defaults are nanoGPT's Shakespeare-char CPU configuration.</summary>
public sealed class GptTrainerOptions : LanguageModelTrainerOptions
{
    /// <summary>A Hugging Face GPT-2 <c>model.safetensors</c> (with config.json beside it) to fine-tune; the architecture options are then taken from it and the vocabulary is GPT-2 BPE.</summary>
    public string? InitialCheckpoint { get; set; }

    /// <summary>Transformer blocks.</summary>
    public int NumLayers { get; set; } = 4;

    /// <summary>Attention heads per block.</summary>
    public int NumHeads { get; set; } = 4;

    /// <summary>Model width.</summary>
    public int EmbeddingSize { get; set; } = 128;

    /// <summary>Dropout while training (0 keeps runs bit-reproducible across resumes).</summary>
    public double Dropout { get; set; }

    /// <summary>
    /// Export the trained model with weight-only block quantization (ONNX Runtime's MatMulNBits: 4- or 8-bit weights,
    /// faster decoding on CPU where memory bandwidth bounds it). Null (the default) exports fp32. The checkpoint stays fp32.
    /// </summary>
    public Aigc.MLNet.Onnx.Quantization.BlockQuantizationOptions? ExportQuantization { get; set; }
}
