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
        if (settings.BatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(settings), settings.BatchSize, "BatchSize must be at least 1.");
        if (train.Length < block)
            throw new ArgumentException($"The training text has {train.Length} tokens; it needs at least BlockSize ({block}).", nameof(train));
        if (validation != null && validation.Length < block)
            throw new ArgumentException($"The validation text has {validation.Length} tokens; it needs at least BlockSize ({block}).", nameof(validation));
        if (settings.CheckpointEveryNSteps > 0 && settings.CheckpointFolder is null)
            throw new ArgumentException("CheckpointEveryNSteps needs a CheckpointFolder.", nameof(settings));

        var device = model.parameters().First().device;
        var clock = Stopwatch.StartNew();
        using var trainData = torch.tensor(train, device: device);
        using var validationData = validation is null ? null : torch.tensor(validation, device: device);
        using var offsets = torch.arange(block, dtype: ScalarType.Int64, device: device).unsqueeze(0);

        var decay = new List<Parameter>();
        var noDecay = new List<Parameter>();
        foreach (var (_, p) in model.named_parameters())
            (p.dim() >= 2 ? decay : noDecay).Add(p);
        using var optimizer = torch.optim.AdamW(
            [
                new AdamW.ParamGroup(decay, new AdamW.Options { weight_decay = settings.WeightDecay }),
                new AdamW.ParamGroup(noDecay, new AdamW.Options { weight_decay = 0 }),
            ],
            lr: settings.Schedule.LearningRate, beta1: settings.Beta1, beta2: settings.Beta2);

        var state = new CheckpointState(model.Architecture, model, optimizer);
        string? checkpoint = settings.CheckpointFolder is null ? null : TrainingCheckpoint.PathIn(settings.CheckpointFolder);
        string? lastGood = null;
        int iteration = 0;
        if (settings.Resume && checkpoint is not null && File.Exists(checkpoint))
        {
            iteration = (int)TrainingCheckpoint.Load(checkpoint, state, settings.Seed, settings.BatchSize);
            lastGood = checkpoint;
        }
        int start = iteration;

        float lastLoss = float.NaN, best = float.NaN;
        int sinceBest = 0;
        model.train();
        for (; iteration < settings.MaxIterations; iteration++)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                if (checkpoint is not null)
                    TrainingCheckpoint.Save(checkpoint, state, settings.Seed, settings.BatchSize, iteration);
                throw new OperationCanceledException(
                    $"Training was cancelled before step {iteration} of {settings.MaxIterations}." + (checkpoint is null ? "" : $" Resume from '{checkpoint}' with Resume = true."),
                    cancellationToken);
            }
            double lr = settings.Schedule.At(iteration);
            foreach (var group in optimizer.ParamGroups)
                group.LearningRate = lr;
            using (var scope = torch.NewDisposeScope())
            using (var batchGenerator = new torch.Generator((ulong)TrainingLoop.Mix(settings.Seed, iteration, BatchStream), device))
            using (var maskGenerator = new torch.Generator((ulong)TrainingLoop.Mix(settings.Seed, iteration, MaskStream), device))
            {
                var x = Windows(trainData, offsets, settings.BatchSize, block, batchGenerator);
                var (inputs, labels) = masking.Apply(x, maskGenerator);
                optimizer.zero_grad();
                var loss = model.Loss(inputs, labels);
                lastLoss = loss.item<float>();
                if (!float.IsFinite(lastLoss))
                    throw new NonFiniteLossException(iteration, "masked-LM loss", lastLoss, lastGood);
                loss.backward();
                if (settings.GradientClip > 0)
                    torch.nn.utils.clip_grad_norm_(model.parameters(), settings.GradientClip);
                optimizer.step();
            }
            int done = iteration + 1;
            if (settings.CheckpointEveryNSteps > 0 && done % settings.CheckpointEveryNSteps == 0)
            {
                TrainingCheckpoint.Save(checkpoint!, state, settings.Seed, settings.BatchSize, done);
                lastGood = checkpoint;
            }

            bool evaluate = validationData is not null && settings.EvalInterval > 0
                && (done % settings.EvalInterval == 0 || done == settings.MaxIterations);
            float? validationLoss = null;
            if (evaluate)
            {
                validationLoss = EstimateLoss(model, validationData!, masking, settings.BatchSize, block, settings.EvalIterations,
                    TrainingLoop.Mix(settings.Seed, 0, EvalStream));
                if (float.IsNaN(best) || validationLoss < best)
                {
                    best = validationLoss.Value;
                    sinceBest = 0;
                }
                else
                {
                    sinceBest++;
                }
            }
            if (progress != null && (evaluate || (settings.ReportEveryNSteps > 0 && done % settings.ReportEveryNSteps == 0)))
                progress.Report(new LanguageModelTrainingProgress(done, lastLoss, validationLoss, lr,
                    (double)(done - start) * settings.BatchSize * block / Math.Max(clock.Elapsed.TotalSeconds, 1e-9)));
            if (evaluate && settings.EarlyStoppingPatience is int patience && sinceBest > patience)
            {
                iteration++;
                break;
            }
        }
        if (checkpoint is not null && iteration > start)
        {
            TrainingCheckpoint.Save(checkpoint, state, settings.Seed, settings.BatchSize, iteration);
            lastGood = checkpoint;
        }
        model.eval();
        return new LanguageModelTrainingResult(iteration, lastLoss, best, clock.Elapsed, lastGood);
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

    private sealed class CheckpointState(string kind, nn.Module model, OptimizerHelper optimizer) : ICheckpointable
    {
        public string Kind { get; } = kind;

        public IReadOnlyList<nn.Module> Modules { get; } = [model];

        public IReadOnlyList<OptimizerHelper> Optimizers { get; } = [optimizer];
    }
}
