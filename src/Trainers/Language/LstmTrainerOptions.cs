using Aigc.MLNet.Onnx.Generation;

namespace Aigc.MLNet.Trainers.Language;

/// <summary>Options of <see cref="LstmTrainer"/>; defaults suit a character-level model of a small corpus (e.g. Tiny Shakespeare).</summary>
public sealed class LstmTrainerOptions : LanguageModelTrainerOptions
{
    /// <summary>Creates options with this trainer's defaults.</summary>
    public LstmTrainerOptions()
    {
        BatchSize = 32;
        LearningRate = 3e-3;
        MinLearningRate = 3e-4;
        WarmupIterations = 50;
        WeightDecay = 0.01;
    }

    /// <summary>Width of the token embedding.</summary>
    public int EmbeddingSize { get; set; } = 64;

    /// <summary>LSTM state width.</summary>
    public int HiddenSize { get; set; } = 256;

    /// <summary>Stacked LSTM layers.</summary>
    public int NumLayers { get; set; } = 2;

    /// <summary>Dropout between LSTM layers while training (0 keeps runs bit-reproducible across resumes).</summary>
    public double Dropout { get; set; }
}
