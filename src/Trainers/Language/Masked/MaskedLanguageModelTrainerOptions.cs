using Aigc.MLNet.Onnx.Tokenization;

namespace Aigc.MLNet.Trainers.Language.Masked;

/// <summary>Options of <see cref="MaskedLanguageModelTrainer"/>: data, vocabulary, architecture, masking, optimisation, checkpoints and the returned FillMask transformer.</summary>
public sealed class MaskedLanguageModelTrainerOptions : TextModelTrainerOptions
{
    /// <summary>Creates options with the masked-LM defaults (batch 16, weight decay 0.01).</summary>
    public MaskedLanguageModelTrainerOptions()
    {
        BatchSize = 16;
        WeightDecay = 0.01;
    }

    /// <summary>The literal text of the mask token in input text.</summary>
    public string MaskToken { get; set; } = MaskedLMTokenizer.DefaultMaskToken;

    /// <summary>Encoder blocks.</summary>
    public int NumLayers { get; set; } = 4;

    /// <summary>Attention heads per block.</summary>
    public int NumHeads { get; set; } = 4;

    /// <summary>Model width.</summary>
    public int EmbeddingSize { get; set; } = 128;

    /// <summary>Feed-forward width (0: 4 × <see cref="EmbeddingSize"/>).</summary>
    public int MlpSize { get; set; }

    /// <summary>Dropout while training (0 keeps runs bit-reproducible across resumes).</summary>
    public double Dropout { get; set; }

    /// <summary>Probability that a token is chosen for prediction (BERT: 0.15).</summary>
    public double MaskProbability { get; set; } = 0.15;

    /// <summary>Of the chosen tokens, the fraction replaced by the mask token (BERT: 0.8).</summary>
    public double MaskTokenFraction { get; set; } = 0.8;

    /// <summary>Of the chosen tokens, the fraction replaced by a random token (BERT: 0.1); the rest stay unchanged.</summary>
    public double RandomTokenFraction { get; set; } = 0.1;

    /// <summary>Text column of the returned FillMask transformer (String with mask tokens).</summary>
    public string MaskedTextColumnName { get; set; } = "Text";

    /// <summary>Candidates column of the returned FillMask transformer.</summary>
    public string CandidatesColumnName { get; set; } = "Candidates";

    /// <summary>Probabilities column of the returned FillMask transformer (null leaves it out).</summary>
    public string? ProbabilitiesColumnName { get; set; } = "Probabilities";

    /// <summary>Candidates per mask of the returned FillMask transformer.</summary>
    public int TopK { get; set; } = 5;

    internal int EffectiveMlpSize => MlpSize > 0 ? MlpSize : 4 * EmbeddingSize;
}
