using System.Diagnostics;
using Aigc.MLNet.Onnx.Proto;
using Microsoft.ML.Runtime;
using TorchSharp;

namespace Aigc.MLNet.Trainers.Training;

/// <summary>Result of a training run.</summary>
public sealed class TrainingRunSummary
{
    /// <summary>Steps completed in total (including steps before a resume).</summary>
    public long Steps { get; init; }

    /// <summary>Steps made by this call.</summary>
    public long StepsThisRun { get; init; }

    /// <summary>Epochs covered.</summary>
    public int Epochs { get; init; }

    /// <summary>Losses of the last step by name.</summary>
    public IReadOnlyDictionary<string, float> FinalLosses { get; init; } = new Dictionary<string, float>();

    /// <summary>Mean losses of each epoch trained by this call (epoch number from 1 → losses).</summary>
    public IReadOnlyList<TrainingProgress> EpochReports { get; init; } = [];

    /// <summary>Wall time of this call's steps.</summary>
    public TimeSpan Elapsed { get; init; }

    /// <summary>Last checkpoint written, or null.</summary>
    public string? CheckpointPath { get; init; }
}

/// <summary>
/// The training loop shared by the generative trainers: seeded shuffling and noise as functions of (seed, epoch/step)
/// so a resumed run continues bit for bit, a DisposeScope per step, NaN/∞ guard, atomic checkpoints, cancellation at
/// step boundaries, progress reports and ML.NET channel logging.
/// </summary>
internal static class TrainingLoop
{
    public static TrainingRunSummary Run(ITrainingTask task, ImageTrainingData data, GenerativeTrainerOptions options, torch.Device device, IChannel? channel)
    {
        int batch = Math.Min(options.BatchSize, data.Count);
        long stepsPerEpoch = (data.Count + batch - 1) / batch;
        long total = stepsPerEpoch * options.Epochs;
        if (options.MaxSteps is long max) total = Math.Min(total, max);
        string? checkpoint = options.CheckpointFolder is null ? null : TrainingCheckpoint.PathIn(options.CheckpointFolder);
        string? lastGood = null;
        // Temporary files of writers killed mid-checkpoint (see AtomicFile) are removed by the next run.
        if (checkpoint is not null) AtomicFile.DeleteStaleTemporaryFiles(checkpoint);

        long step = 0;
        if (options.Resume && checkpoint is not null && File.Exists(checkpoint))
        {
            step = TrainingCheckpoint.Load(checkpoint, task, options.Seed, options.BatchSize);
            lastGood = checkpoint;
            channel?.Info(MessageSensitivity.None, "{0}", $"Resumed from '{checkpoint}' at step {step} of {total}.");
        }

        var losses = new float[task.LossNames.Count];
        var epochSums = new double[losses.Length];
        int epochSteps = 0;
        var epochReports = new List<TrainingProgress>();
        // The data lives in one native tensor; each step gathers its rows with index_select, so no step allocates
        // batch-sized managed arrays (those land on the large-object heap and grow the process between gen-2 GCs).
        using var allPixels = NativeCopy(torch.tensor(data.Pixels, [data.Count, data.Features]), device);
        using var allLabels = data.Labels is null ? null : NativeCopy(torch.tensor(data.Labels, [data.Count]), device);
        // The epoch's order lives in one native int64 tensor; a step's rows are a narrow view of it (no per-step index
        // tensor). One generator is reseeded per step: its stream is a function of (seed, step) alone, as a fresh
        // generator's would be, without allocating and finalising a native generator every step.
        torch.Tensor? order = null;
        long orderEpoch = -1;
        using var noise = new torch.Generator((ulong)Mix(options.Seed, step, 0x401E), device);
        long startStep = step;
        var clock = Stopwatch.StartNew();
        var window = Stopwatch.StartNew();
        long windowRows = 0;
        IReadOnlyDictionary<string, float> last = new Dictionary<string, float>();

        try
        {
            for (; step < total; step++)
            {
                if (options.CancellationToken.IsCancellationRequested)
                {
                    if (checkpoint is not null)
                        TrainingCheckpoint.Save(checkpoint, task, options.Seed, options.BatchSize, step);
                    channel?.Info(MessageSensitivity.None, "{0}", $"Cancelled before step {step}; {(checkpoint is null ? "no checkpoint folder set" : $"checkpoint '{checkpoint}' written")}.");
                    throw new OperationCanceledException(
                        $"Training was cancelled before step {step} of {total}." + (checkpoint is null ? "" : $" Resume from '{checkpoint}' with Resume = true."),
                        options.CancellationToken);
                }

                long epoch = step / stepsPerEpoch;
                int indexInEpoch = (int)(step % stepsPerEpoch);
                if (orderEpoch != epoch)
                {
                    order?.Dispose();
                    order = OrderTensor(Permutation(data.Count, Mix(options.Seed, epoch, 0x5EED)), device);
                    orderEpoch = epoch;
                    Array.Clear(epochSums);
                    epochSteps = 0;
                }
                int start = indexInEpoch * batch;
                int rows = Math.Min(batch, data.Count - start);

                using (var scope = torch.NewDisposeScope())
                {
                    noise.manual_seed(Mix(options.Seed, step, 0x401E));
                    // The schedule spans the planned epochs, not MaxSteps, so a run stopped early and resumed follows it exactly.
                    (task as IScheduledTrainingTask)?.BeginStep(step, stepsPerEpoch * options.Epochs);
                    var index = order!.narrow(0, start, rows);
                    var x = allPixels.index_select(0, index);
                    var y = allLabels?.index_select(0, index);
                    task.Step(x, y, noise, losses);
                }
                for (int i = 0; i < losses.Length; i++)
                    if (!float.IsFinite(losses[i]))
                        throw new NonFiniteLossException(step, task.LossNames[i], losses[i], lastGood);

                for (int i = 0; i < losses.Length; i++) epochSums[i] += losses[i];
                epochSteps++;
                windowRows += rows;
                long done = step + 1;
                if (options.CheckpointEveryNSteps > 0 && done % options.CheckpointEveryNSteps == 0)
                {
                    TrainingCheckpoint.Save(checkpoint!, task, options.Seed, options.BatchSize, done);
                    lastGood = checkpoint;
                }

                bool epochEnd = done % stepsPerEpoch == 0 || done == total;
                bool report = options.ReportEveryNSteps > 0 && done % options.ReportEveryNSteps == 0;
                if (epochEnd || report)
                {
                    double rate = windowRows / Math.Max(window.Elapsed.TotalSeconds, 1e-9);
                    last = Named(task.LossNames, losses);
                    var progress = new TrainingProgress((int)epoch + 1, done, total, last, rate, false);
                    if (epochEnd)
                    {
                        var means = new float[losses.Length];
                        for (int i = 0; i < means.Length; i++) means[i] = (float)(epochSums[i] / Math.Max(epochSteps, 1));
                        progress = progress with { Losses = Named(task.LossNames, means), IsEpochEnd = true };
                        epochReports.Add(progress);
                    }
                    options.Progress?.Report(progress);
                    channel?.Info(MessageSensitivity.None, "{0}", progress.ToString());
                    window.Restart();
                    windowRows = 0;
                }
            }
        }
        finally
        {
            order?.Dispose();
        }

        if (checkpoint is not null && step > startStep)
        {
            TrainingCheckpoint.Save(checkpoint, task, options.Seed, options.BatchSize, step);
            lastGood = checkpoint;
        }
        return new TrainingRunSummary
        {
            Steps = step,
            StepsThisRun = step - startStep,
            Epochs = (int)((step + stepsPerEpoch - 1) / stepsPerEpoch),
            FinalLosses = Named(task.LossNames, losses),
            EpochReports = epochReports,
            Elapsed = clock.Elapsed,
            CheckpointPath = lastGood,
        };
    }

    /// <summary>
    /// What every image trainer does before building its model: reads the training rows, resolves the device, applies the
    /// thread count and seeds TorchSharp's default generator (initial weights).
    /// </summary>
    public static (ImageTrainingData Data, torch.Device Device) Prepare(Microsoft.ML.IDataView input, GenerativeTrainerOptions options,
        string pixelColumn, string? labelColumn, int classCount)
    {
        var data = ImageTrainingData.Read(input, pixelColumn, Transforms.Images.ImageTransformsCatalog.MnistPixelCount, labelColumn, classCount);
        var device = TrainingDevice.Resolve(options.Device);
        if (options.Threads > 0) torch.set_num_threads(options.Threads);
        torch.manual_seed(options.Seed);
        return (data, device);
    }

    /// <summary>A natively owned copy of <paramref name="staged"/> (which wraps a pinned managed array) on <paramref name="device"/>.</summary>
    private static torch.Tensor NativeCopy(torch.Tensor staged, torch.Device device)
    {
        using (staged)
        {
            if (device.type == DeviceType.CPU) return staged.clone();
            return staged.to(device);
        }
    }

    /// <summary>An epoch's row order as a natively owned int64 tensor on <paramref name="device"/>.</summary>
    private static torch.Tensor OrderTensor(int[] order, torch.Device device)
    {
        var wide = new long[order.Length];
        for (int i = 0; i < wide.Length; i++) wide[i] = order[i];
        return NativeCopy(torch.tensor(wide, [wide.Length]), device);
    }

    private static Dictionary<string, float> Named(IReadOnlyList<string> names, float[] values)
    {
        var d = new Dictionary<string, float>(names.Count);
        for (int i = 0; i < names.Count; i++) d[names[i]] = values[i];
        return d;
    }

    /// <summary>Deterministic permutation of 0..n-1 (Fisher–Yates with a SplitMix64 stream).</summary>
    internal static int[] Permutation(int n, long seed)
    {
        var order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        ulong state = (ulong)seed;
        for (int i = n - 1; i > 0; i--)
        {
            int j = (int)(SplitMix(ref state) % (ulong)(i + 1));
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    /// <summary>Mixes a seed with a counter into a well-spread 63-bit value.</summary>
    internal static long Mix(int seed, long counter, long stream)
    {
        ulong state = (ulong)(uint)seed * 0x9E3779B97F4A7C15UL ^ (ulong)counter * 0xD1B54A32D192ED03UL ^ (ulong)stream;
        return (long)(SplitMix(ref state) >> 1);
    }

    private static ulong SplitMix(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
