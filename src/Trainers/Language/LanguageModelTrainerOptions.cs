using Aigc.MLNet.Onnx.Generation;

namespace Aigc.MLNet.Trainers.Language;

/// <summary>The vocabulary a language-model trainer uses.</summary>
public enum LanguageModelVocabulary
{
    /// <summary>Characters of the training text (sorted code points, as nanoGPT's shakespeare_char) plus U+0003 as end of text.</summary>
    Characters,

    /// <summary>GPT-2's byte-level BPE (50,257 ids) from <see cref="TextModelTrainerOptions.Gpt2VocabularyFolder"/>.</summary>
    Gpt2Bpe,
}

/// <summary>Options every trainer here that learns from a text column as one token stream shares: data, vocabulary, optimisation (AdamW, warm-up + cosine), validation, seeds, device and checkpoints.</summary>
public abstract class TextModelTrainerOptions
{
    /// <summary>Training text column (String). Rows are joined with '\n' into one token stream.</summary>
    public string TextColumnName { get; set; } = "Text";

    /// <summary>Folder the trained model is exported to (for the causal trainers the ONNX Optimum layout: onnx/model.onnx, config.json, tokenizer files; for the masked LM onnx/model.onnx, mlm_config.json and the vocabulary).</summary>
    public string OutputFolder { get; set; } = "";

    /// <summary>Vocabulary: characters of the text, or GPT-2 BPE.</summary>
    public LanguageModelVocabulary Vocabulary { get; set; } = LanguageModelVocabulary.Characters;

    /// <summary>Folder with GPT-2's vocab.json and merges.txt (needed for <see cref="LanguageModelVocabulary.Gpt2Bpe"/>).</summary>
    public string? Gpt2VocabularyFolder { get; set; }

    /// <summary>Training window in tokens; for a GPT or a masked LM also its context length.</summary>
    public int BlockSize { get; set; } = 64;

    /// <summary>Sequences per step.</summary>
    public int BatchSize { get; set; } = 12;

    /// <summary>Optimiser steps.</summary>
    public int MaxIterations { get; set; } = 2000;

    /// <summary>Peak learning rate.</summary>
    public double LearningRate { get; set; } = 1e-3;

    /// <summary>Final learning rate of the cosine decay.</summary>
    public double MinLearningRate { get; set; } = 1e-4;

    /// <summary>Linear warm-up steps.</summary>
    public int WarmupIterations { get; set; } = 100;

    /// <summary>AdamW weight decay on matrices and embeddings.</summary>
    public double WeightDecay { get; set; } = 0.1;

    /// <summary>AdamW β2 (β1 is 0.9).</summary>
    public double Beta2 { get; set; } = 0.99;

    /// <summary>Global gradient-norm clip (0 disables).</summary>
    public double GradientClip { get; set; } = 1.0;

    /// <summary>Fraction of the token stream (its end) held out for validation when no validation data is given.</summary>
    public double ValidationFraction { get; set; } = 0.1;

    /// <summary>Evaluate the validation loss every this many steps.</summary>
    public int EvalInterval { get; set; } = 250;

    /// <summary>Batches per validation estimate.</summary>
    public int EvalIterations { get; set; } = 20;

    /// <summary>Stop after this many evaluations without improvement (null: never).</summary>
    public int? EarlyStoppingPatience { get; set; }

    /// <summary>Seed of initialisation and batch sampling.</summary>
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

    /// <summary>Receives training progress.</summary>
    public IProgress<LanguageModelTrainingProgress>? Progress { get; set; }

    /// <summary>Stops training at a step boundary (a checkpoint is written when a folder is set).</summary>
    public CancellationToken CancellationToken { get; set; }

    /// <summary>The training-loop settings these options describe.</summary>
    /// <param name="hasValidation">Whether validation tokens exist (otherwise no evaluation is scheduled).</param>
    internal LanguageModelTrainingSettings ToTrainingSettings(bool hasValidation) => new()
    {
        BatchSize = BatchSize, BlockSize = BlockSize, MaxIterations = MaxIterations,
        Schedule = new WarmupCosineSchedule(LearningRate, MinLearningRate, WarmupIterations, Math.Max(WarmupIterations, MaxIterations)),
        WeightDecay = WeightDecay, Beta2 = Beta2, GradientClip = GradientClip,
        EvalInterval = hasValidation ? EvalInterval : 0, EvalIterations = EvalIterations, EarlyStoppingPatience = EarlyStoppingPatience,
        Seed = Seed, CheckpointFolder = CheckpointFolder, CheckpointEveryNSteps = CheckpointEveryNSteps, Resume = Resume,
    };
}

/// <summary>Options shared by the causal language-model trainers (<see cref="GptTrainer"/>, <see cref="LstmTrainer"/>): those of <see cref="TextModelTrainerOptions"/> and the returned GenerateText transformer.</summary>
public abstract class LanguageModelTrainerOptions : TextModelTrainerOptions
{
    /// <summary>When <see cref="TextModelTrainerOptions.CancellationToken"/> stops training, still export the last completed step to <see cref="TextModelTrainerOptions.OutputFolder"/> before <c>Fit</c> throws <see cref="OperationCanceledException"/> (what a command line wants from Ctrl+C).</summary>
    public bool ExportOnCancellation { get; set; }

    /// <summary>Prompt column of the returned GenerateText transformer.</summary>
    public string PromptColumnName { get; set; } = "Prompt";

    /// <summary>Completion column of the returned GenerateText transformer.</summary>
    public string CompletionColumnName { get; set; } = "Completion";

    /// <summary>Decoding options of the returned GenerateText transformer.</summary>
    public GenerationOptions Generation { get; set; } = new() { MaxNewTokens = 100 };
}
