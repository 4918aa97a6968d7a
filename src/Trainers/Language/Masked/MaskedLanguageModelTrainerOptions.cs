using Aigc.MLNet.Onnx.Tokenization;

namespace Aigc.MLNet.Trainers.Language.Masked;

/// <summary>Options of <see cref="MaskedLanguageModelTrainer"/>: data, vocabulary, architecture, masking, optimisation, checkpoints and the returned FillMask transformer.</summary>
public sealed class MaskedLanguageModelTrainerOptions
{
    /// <summary>Training text column (String). Rows are joined with '\n' into one token stream.</summary>
    public string TextColumnName { get; set; } = "Text";

    /// <summary>Folder the trained model is exported to (onnx/model.onnx, mlm_config.json, vocab.json [+ merges.txt]).</summary>
    public string OutputFolder { get; set; } = "";

    /// <summary>Vocabulary: characters of the text, or GPT-2 BPE; either gets an added mask token.</summary>
    public LanguageModelVocabulary Vocabulary { get; set; } = LanguageModelVocabulary.Characters;

    /// <summary>Folder with GPT-2's vocab.json and merges.txt (needed for <see cref="LanguageModelVocabulary.Gpt2Bpe"/>).</summary>
    public string? Gpt2VocabularyFolder { get; set; }

    /// <summary>The literal text of the mask token in input text.</summary>
    public string MaskToken { get; set; } = MaskedLMTokenizer.DefaultMaskToken;

    /// <summary>Training window in tokens, and the model's context (max_position_embeddings).</summary>
    public int BlockSize { get; set; } = 64;

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

    /// <summary>Sequences per step.</summary>
    public int BatchSize { get; set; } = 16;

    /// <summary>Optimiser steps.</summary>
    public int MaxIterations { get; set; } = 2000;

    /// <summary>Peak learning rate.</summary>
    public double LearningRate { get; set; } = 1e-3;

    /// <summary>Final learning rate of the cosine decay.</summary>
    public double MinLearningRate { get; set; } = 1e-4;

    /// <summary>Linear warm-up steps.</summary>
    public int WarmupIterations { get; set; } = 100;

    /// <summary>AdamW weight decay on matrices and embeddings.</summary>
    public double WeightDecay { get; set; } = 0.01;

    /// <summary>AdamW β2 (β1 is 0.9).</summary>
    public double Beta2 { get; set; } = 0.99;

    /// <summary>Global gradient-norm clip (0 disables).</summary>
    public double GradientClip { get; set; } = 1.0;

    /// <summary>Fraction of the token stream (its end) held out for validation when no validation data is given.</summary>
    public double ValidationFraction { get; set; } = 0.1;

    /// <summary>Evaluate the validation MLM loss every this many steps (0 disables).</summary>
    public int EvalInterval { get; set; } = 250;

    /// <summary>Batches per validation estimate (same windows and masks at every evaluation).</summary>
    public int EvalIterations { get; set; } = 20;

    /// <summary>Stop after this many evaluations without improvement (null: never).</summary>
    public int? EarlyStoppingPatience { get; set; }

    /// <summary>Seed of initialisation, windows and masks.</summary>
    public int Seed { get; set; } = 1337;

    /// <summary>"cpu" or "cuda[:n]" (CUDA needs the GPU build).</summary>
    public string Device { get; set; } = "cpu";

    /// <summary>TorchSharp CPU threads (0 keeps the default).</summary>
    public int Threads { get; set; }

    /// <summary>Folder for checkpoints, or null.</summary>
    public string? CheckpointFolder { get; set; }

    /// <summary>Checkpoint every this many steps (0: at the end and on cancellation only).</summary>
    public int CheckpointEveryNSteps { get; set; }

    /// <summary>Continue from the checkpoint in <see cref="CheckpointFolder"/>.</summary>
    public bool Resume { get; set; }

    /// <summary>Receives training progress (train loss, validation MLM loss).</summary>
    public IProgress<LanguageModelTrainingProgress>? Progress { get; set; }

    /// <summary>Stops training at a step boundary (a checkpoint is written when a folder is set).</summary>
    public CancellationToken CancellationToken { get; set; }

    /// <summary>Text column of the returned FillMask transformer (String with mask tokens).</summary>
    public string MaskedTextColumnName { get; set; } = "Text";

    /// <summary>Candidates column of the returned FillMask transformer.</summary>
    public string CandidatesColumnName { get; set; } = "Candidates";

    /// <summary>Probabilities column of the returned FillMask transformer (null leaves it out).</summary>
    public string? ProbabilitiesColumnName { get; set; } = "Probabilities";

    /// <summary>Candidates per mask of the returned FillMask transformer.</summary>
    public int TopK { get; set; } = 5;

    internal int EffectiveMlpSize => MlpSize > 0 ? MlpSize : 4 * EmbeddingSize;

    internal LanguageModelTrainingSettings ToTrainingSettings(bool hasValidation) => new()
    {
        BatchSize = BatchSize, BlockSize = BlockSize, MaxIterations = MaxIterations,
        Schedule = new WarmupCosineSchedule(LearningRate, MinLearningRate, WarmupIterations, Math.Max(WarmupIterations, MaxIterations)),
        WeightDecay = WeightDecay, Beta2 = Beta2, GradientClip = GradientClip,
        EvalInterval = hasValidation ? EvalInterval : 0, EvalIterations = EvalIterations, EarlyStoppingPatience = EarlyStoppingPatience,
        Seed = Seed, CheckpointFolder = CheckpointFolder, CheckpointEveryNSteps = CheckpointEveryNSteps, Resume = Resume,
    };
}
