using System.Diagnostics;
using Aigc.MLNet.Onnx.Proto;
using Aigc.MLNet.Trainers.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Language;

/// <summary>Settings of one language-model training run over token ids.</summary>
public sealed class LanguageModelTrainingSettings
{
    /// <summary>Sequences per step.</summary>
    public int BatchSize { get; set; } = 12;

    /// <summary>Tokens per sequence (≤ the model's context).</summary>
    public int BlockSize { get; set; } = 64;

    /// <summary>Optimiser steps in total (a resumed run continues up to this count).</summary>
    public int MaxIterations { get; set; } = 2000;

    /// <summary>Learning-rate schedule (warm-up + cosine).</summary>
    public WarmupCosineSchedule Schedule { get; set; } = new(1e-3, 1e-4, 100, 2000);

    /// <summary>AdamW decoupled weight decay, applied to matrices and embeddings only (not biases or layer norms).</summary>
    public double WeightDecay { get; set; } = 0.1;

    /// <summary>AdamW β1.</summary>
    public double Beta1 { get; set; } = 0.9;

    /// <summary>AdamW β2.</summary>
    public double Beta2 { get; set; } = 0.99;

    /// <summary>Global gradient-norm clip; 0 disables.</summary>
    public double GradientClip { get; set; } = 1.0;

    /// <summary>Evaluate the validation loss every this many steps (and at the end); 0 disables.</summary>
    public int EvalInterval { get; set; } = 250;

    /// <summary>Batches averaged per validation estimate.</summary>
    public int EvalIterations { get; set; } = 20;

    /// <summary>Stop after this many evaluations without a better validation loss; null never stops early.</summary>
    public int? EarlyStoppingPatience { get; set; }

    /// <summary>Seed of the batch sampler: the windows of step s are a function of (Seed, s), so resumed runs continue exactly (model initialisation is seeded by the caller).</summary>
    public int Seed { get; set; } = 1;

    /// <summary>Folder for <c>checkpoint.bin</c> (model + optimizer + step), or null for none.</summary>
    public string? CheckpointFolder { get; set; }

    /// <summary>Write a checkpoint every this many steps (0: only at the end and on cancellation).</summary>
    public int CheckpointEveryNSteps { get; set; }

    /// <summary>Continue from the checkpoint in <see cref="CheckpointFolder"/> when there is one.</summary>
    public bool Resume { get; set; }

    /// <summary>Report progress every this many steps (and at every evaluation).</summary>
    public int ReportEveryNSteps { get; set; } = 10;
}

/// <summary>One progress report of a language-model training run.</summary>
/// <param name="Iteration">Steps done.</param>
/// <param name="TrainLoss">Loss of the last step's batch.</param>
/// <param name="ValidationLoss">Latest validation estimate, if one was made at this step.</param>
/// <param name="LearningRate">Learning rate of the last step.</param>
/// <param name="TokensPerSecond">Training throughput since the start of this call.</param>
public readonly record struct LanguageModelTrainingProgress(int Iteration, float TrainLoss, float? ValidationLoss, double LearningRate, double TokensPerSecond);

/// <summary>What a training run reached.</summary>
/// <param name="Iterations">Steps done in total (including steps before a resume).</param>
/// <param name="FinalTrainLoss">Loss of the last step's batch.</param>
/// <param name="BestValidationLoss">Lowest validation estimate of this call (NaN when never evaluated).</param>
/// <param name="Elapsed">Wall time of this call.</param>
/// <param name="CheckpointPath">Last checkpoint written, or null.</param>
public readonly record struct LanguageModelTrainingResult(int Iterations, float FinalTrainLoss, float BestValidationLoss, TimeSpan Elapsed, string? CheckpointPath);

/// <summary>
/// Trains a causal language model (<see cref="GptModel"/>, <see cref="LstmLanguageModel"/>) on a stream of token ids:
/// random windows of <see cref="LanguageModelTrainingSettings.BlockSize"/> tokens (targets shifted by one), AdamW with
/// decoupled weight decay, warm-up + cosine schedule, gradient clipping, periodic validation, optional early stopping,
/// atomic checkpoints with exact resume, a NaN/∞ guard and cancellation at step boundaries. A dispose scope wraps every
/// step.
/// </summary>
public static class LanguageModelTraining
{
    private const long BatchStream = 0xBA7C4;
    private const long EvalStream = 0xE7A1;

    /// <summary>Runs the loop.</summary>
    /// <param name="model">The model, trained in place.</param>
    /// <param name="train">Training token ids.</param>
    /// <param name="validation">Validation token ids, or null for none.</param>
    /// <param name="settings">Loop settings.</param>
    /// <param name="progress">Receives reports (see <see cref="LanguageModelTrainingSettings.ReportEveryNSteps"/>).</param>
    /// <param name="cancellationToken">Stops at a step boundary, writing a checkpoint when a folder is set, then throws <see cref="OperationCanceledException"/>.</param>
    public static LanguageModelTrainingResult Run<TModel>(TModel model, long[] train, long[]? validation, LanguageModelTrainingSettings settings,
        IProgress<LanguageModelTrainingProgress>? progress = null, CancellationToken cancellationToken = default)
        where TModel : nn.Module<Tensor, Tensor>, ICausalLanguageModel
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(settings);
        int block = settings.BlockSize;
        if (block < 1 || block > (model.MaxContext ?? int.MaxValue))
            throw new ArgumentOutOfRangeException(nameof(settings), block, $"BlockSize must be in [1, {model.MaxContext}] (the model's context).");
        if (train.Length <= block)
            throw new ArgumentException($"The training text has {train.Length} tokens; it needs more than BlockSize ({block}).", nameof(train));
        if (validation != null && validation.Length <= block)
            throw new ArgumentException($"The validation text has {validation.Length} tokens; it needs more than BlockSize ({block}).", nameof(validation));
        return RunLoop(model, model.Architecture, "loss", train, validation, settings,
            (data, offsets, iteration) =>
            {
                using var generator = new torch.Generator((ulong)TrainingLoop.Mix(settings.Seed, iteration, BatchStream), data.device);
                var (x, y) = Batch(data, offsets, settings.BatchSize, block, generator);
                return model.Loss(x, y);
            },
            (data, offsets, done) => EstimateLoss(model, data, offsets, settings.BatchSize, block, settings.EvalIterations,
                TrainingLoop.Mix(settings.Seed, done, EvalStream)),
            progress, cancellationToken);
    }

    /// <summary>
    /// The loop both objectives share (causal LM here, masked LM in <c>MaskedLanguageModelTraining</c>): AdamW with decay on
    /// matrices only, the schedule, a DisposeScope per step, NaN/∞ guard, clipping, checkpoints with exact resume,
    /// validation with early stopping, progress and cancellation at step boundaries. The caller checks the sizes.
    /// </summary>
    /// <param name="model">The model, trained in place.</param>
    /// <param name="architecture">Recorded in checkpoints and checked on resume.</param>
    /// <param name="lossName">Named by <see cref="NonFiniteLossException"/>.</param>
    /// <param name="train">Training token ids.</param>
    /// <param name="validation">Validation token ids, or null.</param>
    /// <param name="settings">Loop settings.</param>
    /// <param name="stepLoss">Loss of step (training data, [1, block] offsets, iteration); its random draws must be a function of the iteration.</param>
    /// <param name="validationLoss">Validation loss after (validation data, offsets, steps done).</param>
    /// <param name="progress">Receives reports.</param>
    /// <param name="cancellationToken">Stops at a step boundary.</param>
    internal static LanguageModelTrainingResult RunLoop(nn.Module model, string architecture, string lossName, long[] train, long[]? validation,
        LanguageModelTrainingSettings settings, Func<Tensor, Tensor, int, Tensor> stepLoss, Func<Tensor, Tensor, int, float> validationLoss,
        IProgress<LanguageModelTrainingProgress>? progress, CancellationToken cancellationToken)
    {
        int block = settings.BlockSize;
        if (settings.BatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(settings), settings.BatchSize, "BatchSize must be at least 1.");
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

        var state = new CheckpointState(architecture, model, optimizer);
        string? checkpoint = settings.CheckpointFolder is null ? null : TrainingCheckpoint.PathIn(settings.CheckpointFolder);
        string? lastGood = null;
        // Temporary files of writers killed mid-checkpoint (see AtomicFile) are removed by the next run.
        if (checkpoint is not null) AtomicFile.DeleteStaleTemporaryFiles(checkpoint);
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
            {
                optimizer.zero_grad();
                var loss = stepLoss(trainData, offsets, iteration);
                lastLoss = loss.item<float>();
                if (!float.IsFinite(lastLoss))
                    throw new NonFiniteLossException(iteration, lossName, lastLoss, lastGood);
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
            float? validationEstimate = null;
            if (evaluate)
            {
                validationEstimate = validationLoss(validationData!, offsets, done);
                if (float.IsNaN(best) || validationEstimate < best)
                {
                    best = validationEstimate.Value;
                    sinceBest = 0;
                }
                else
                {
                    sinceBest++;
                }
            }
            if (progress != null && (evaluate || (settings.ReportEveryNSteps > 0 && done % settings.ReportEveryNSteps == 0)))
                progress.Report(new LanguageModelTrainingProgress(done, lastLoss, validationEstimate, lr,
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

    /// <summary>Mean loss over <paramref name="iterations"/> random batches of <paramref name="data"/> drawn with <paramref name="seed"/>, without gradients.</summary>
    /// <param name="model">The model.</param>
    /// <param name="data">Token ids (1-D int64 tensor).</param>
    /// <param name="offsets">[1, block] int64 0..block-1.</param>
    /// <param name="batchSize">Windows per batch.</param>
    /// <param name="block">Tokens per window.</param>
    /// <param name="iterations">Batches averaged.</param>
    /// <param name="seed">Seed of the windows drawn.</param>
    public static float EstimateLoss<TModel>(TModel model, Tensor data, Tensor offsets, int batchSize, int block, int iterations, long seed)
        where TModel : nn.Module<Tensor, Tensor>, ICausalLanguageModel
    {
        bool wasTraining = model.training;
        model.eval();
        double sum = 0;
        using (torch.no_grad())
        using (var generator = new torch.Generator((ulong)seed, data.device))
        {
            for (int i = 0; i < iterations; i++)
            {
                using var scope = torch.NewDisposeScope();
                var (x, y) = Batch(data, offsets, batchSize, block, generator);
                sum += model.Loss(x, y).item<float>();
            }
        }
        if (wasTraining)
            model.train();
        return (float)(sum / Math.Max(1, iterations));
    }

    private static (Tensor X, Tensor Y) Batch(Tensor data, Tensor offsets, int batchSize, int block, torch.Generator generator)
    {
        var starts = torch.randint(data.shape[0] - block, [batchSize], generator: generator, device: data.device).unsqueeze(1);
        var index = starts + offsets;
        return (data[index], data[index + 1]);
    }

    private sealed class CheckpointState(string kind, nn.Module model, OptimizerHelper optimizer) : ICheckpointable
    {
        public string Kind { get; } = kind;

        public IReadOnlyList<nn.Module> Modules { get; } = [model];

        public IReadOnlyList<OptimizerHelper> Optimizers { get; } = [optimizer];
    }
}
