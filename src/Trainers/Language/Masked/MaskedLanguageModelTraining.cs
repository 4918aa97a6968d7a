using System.Diagnostics;
using Aigc.MLNet.Trainers.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Language.Masked;

/// <summary>
/// Trains a <see cref="MaskedLanguageModel"/> on a stream of token ids with the masked-language-modelling objective: random
/// windows of <see cref="LanguageModelTrainingSettings.BlockSize"/> tokens corrupted by <see cref="MlmMasking"/>, loss on the
/// chosen positions only; AdamW, warm-up + cosine schedule, gradient clipping, periodic validation (fixed windows and masks,
/// so estimates are comparable across evaluations), optional early stopping, atomic checkpoints with exact resume (windows and
/// masks of step s are functions of (Seed, s)), a NaN/∞ guard and cancellation at step boundaries.
/// </summary>
public static class MaskedLanguageModelTraining
{
    private const long BatchStream = 0x3B47C4;
    private const long MaskStream = 0x3A5C;
    private const long EvalStream = 0x3E7A1;

    /// <summary>Runs the loop.</summary>
    /// <param name="model">The model, trained in place.</param>
    /// <param name="train">Training token ids.</param>
    /// <param name="validation">Validation token ids, or null for none.</param>
    /// <param name="settings">Loop settings (shared with the causal trainers).</param>
    /// <param name="masking">The corruption.</param>
    /// <param name="progress">Receives reports.</param>
    /// <param name="cancellationToken">Stops at a step boundary, writing a checkpoint when a folder is set, then throws <see cref="OperationCanceledException"/>.</param>
    public static LanguageModelTrainingResult Run(MaskedLanguageModel model, long[] train, long[]? validation, LanguageModelTrainingSettings settings,
        MlmMasking masking, IProgress<LanguageModelTrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(masking);
        masking.Validate();
        int block = settings.BlockSize;
        if (block < 1 || block > model.Config.MaxPositions)
            throw new ArgumentOutOfRangeException(nameof(settings), block, $"BlockSize must be in [1, {model.Config.MaxPositions}] (the model's context).");
        if (train.Length < block)
            throw new ArgumentException($"The training text has {train.Length} tokens; it needs at least BlockSize ({block}).", nameof(train));
        if (validation != null && validation.Length < block)
            throw new ArgumentException($"The validation text has {validation.Length} tokens; it needs at least BlockSize ({block}).", nameof(validation));
        return LanguageModelTraining.RunLoop(model, model.Architecture, "masked-LM loss", train, validation, settings,
            (data, offsets, iteration) =>
            {
                using var batchGenerator = new torch.Generator((ulong)TrainingLoop.Mix(settings.Seed, iteration, BatchStream), data.device);
                using var maskGenerator = new torch.Generator((ulong)TrainingLoop.Mix(settings.Seed, iteration, MaskStream), data.device);
                var x = Windows(data, offsets, settings.BatchSize, block, batchGenerator);
                var (inputs, labels) = masking.Apply(x, maskGenerator);
                return model.Loss(inputs, labels);
            },
            // Fixed windows and masks at every evaluation, so estimates are comparable across the run.
            (data, _, _) => EstimateLoss(model, data, masking, settings.BatchSize, block, settings.EvalIterations, TrainingLoop.Mix(settings.Seed, 0, EvalStream)),
            progress, cancellationToken);
    }

    /// <summary>Mean masked-LM loss over <paramref name="iterations"/> batches of windows and masks drawn with <paramref name="seed"/>, without gradients.</summary>
    /// <param name="model">The model.</param>
    /// <param name="data">Token ids (1-D int64 tensor, at least <paramref name="block"/> long).</param>
    /// <param name="masking">The corruption.</param>
    /// <param name="batchSize">Windows per batch.</param>
    /// <param name="block">Tokens per window.</param>
    /// <param name="iterations">Batches averaged.</param>
    /// <param name="seed">Seed of the windows and masks.</param>
    public static float EstimateLoss(MaskedLanguageModel model, Tensor data, MlmMasking masking, int batchSize, int block, int iterations, long seed)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(masking);
        bool wasTraining = model.training;
        model.eval();
        double sum = 0;
        using (torch.no_grad())
        using (var generator = new torch.Generator((ulong)seed, data.device))
        using (var offsets = torch.arange(block, dtype: ScalarType.Int64, device: data.device).unsqueeze(0))
        {
            for (int i = 0; i < iterations; i++)
            {
                using var scope = torch.NewDisposeScope();
                var x = Windows(data, offsets, batchSize, block, generator);
                var (inputs, labels) = masking.Apply(x, generator);
                sum += model.Loss(inputs, labels).item<float>();
            }
        }
        if (wasTraining)
            model.train();
        return (float)(sum / Math.Max(1, iterations));
    }

    private static Tensor Windows(Tensor data, Tensor offsets, int batchSize, int block, torch.Generator generator)
    {
        var starts = torch.randint(data.shape[0] - block + 1, [batchSize], generator: generator, device: data.device).unsqueeze(1);
        return data[starts + offsets];
    }
}
