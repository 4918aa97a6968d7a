using System.Diagnostics;
using Aigc.MLNet.Trainers.Images;
using Aigc.MLNet.Trainers.Models;
using Aigc.MLNet.Transforms;
using Aigc.MLNet.Transforms.Data;
using Aigc.MLNet.Transforms.Images;
using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Aigc.MLNet.Bench.ImageModels;

/// <summary>GAN epoch time on the 60k training set, sample grids, and trainer step rate vs a hand-written TorchSharp loop.</summary>
internal static class GanRuns
{
    public static void EpochTime(int epochs, int seed, string outFolder, bool dcgan, double learningRate = 2e-4, double? discriminatorLearningRate = null, double realLabel = 1.0, string? name = null,
                                 int threads = 0, string? checkpointFolder = null, bool conditional = false,
                                 DiscriminatorConditioning conditioning = DiscriminatorConditioning.InputPlanes, int latent = 100, int batch = 64, int generatorChannels = 128, int maxSteps = 0)
    {
        var ml = new MLContext(seed);
        var train = ml.Data.LoadMnist(DatasetPaths.MnistFolder, MnistSplit.Train);
        name ??= dcgan ? "dcgan" : "gan-mlp";
        Console.WriteLine($"settings: {(dcgan ? "DCGAN" : "MLP GAN")}, latent {latent}, batch {batch}, G channels {generatorChannels}, Adam G lr {learningRate}, D lr {discriminatorLearningRate ?? learningRate}, " +
                          $"β1 0.5, real label {realLabel}, epochs {epochs}, max steps {maxSteps}, seed {seed}{(conditional ? $", conditioned on the digit label ({conditioning})" : "")}");
        string modelFolder = Path.GetFullPath(Path.Combine("artifacts", name));
        var options = new GanOptions
        {
            ModelFolder = modelFolder, Architecture = dcgan ? GanArchitecture.Dcgan : GanArchitecture.Mlp,
            LatentSize = latent, BatchSize = batch, GeneratorChannels = generatorChannels, DiscriminatorConditioning = conditioning,
            MaxSteps = maxSteps > 0 ? maxSteps : null, LearningRate = learningRate, DiscriminatorLearningRate = discriminatorLearningRate,
            RealLabel = realLabel, Beta1 = 0.5, Epochs = epochs, Seed = seed, Threads = threads,
            LabelColumnName = conditional ? "Label" : null, ClassCount = 10,
            // With a checkpoint folder a longer run continues the shorter one exactly (same seed and options).
            CheckpointFolder = checkpointFolder, Resume = checkpointFolder is not null,
            ReportEveryNSteps = 200, Progress = new ConsoleProgress(),
        };
        var wall = Stopwatch.StartNew();
        var result = ml.Generative().Trainers.Gan(options).Train(train);
        Console.WriteLine($"Train() wall time including reading 60k rows and ONNX export: {wall.Elapsed.TotalSeconds:F1} s");
        double perEpoch = result.Summary.Elapsed.TotalSeconds / result.Summary.StepsThisRun * Math.Ceiling(60000.0 / batch);
        Console.WriteLine($"{name}: {result.Summary.StepsThisRun} steps (of {result.Summary.Steps}) in {result.Summary.Elapsed.TotalSeconds:F1} s = {perEpoch:F1} s/epoch, " +
                          $"{result.Summary.StepsThisRun / result.Summary.Elapsed.TotalSeconds:F1} steps/s, {batch * result.Summary.StepsThisRun / result.Summary.Elapsed.TotalSeconds:F0} samples/s");

        // A conditional generator gets labels cycling 0..9, one digit per grid column.
        int count = conditional ? 80 : 64, columns = conditional ? 10 : 8;
        var seeds = ml.Data.LoadFromEnumerable(Enumerable.Range(0, count).Select(i => new SeedRow { Seed = i, Label = i % 10 }));
        var images = ml.Data.CreateEnumerable<ImageRow>(ml.Transforms.GenerateImages(modelFolder, labelColumnName: conditional ? "Label" : null)
            .Fit(seeds).Transform(seeds), false).Select(r => r.Image).ToArray();
        Directory.CreateDirectory(outFolder);
        ImageGrid.SavePng(Path.Combine(outFolder, $"{name}-samples.png"), images, columns: columns);
        Console.WriteLine($"grid written to {Path.GetFullPath(Path.Combine(outFolder, $"{name}-samples.png"))}");
    }

    /// <summary>
    /// Steps/s of the trainer vs a plain TorchSharp loop over the same model, batch and optimiser. Each round trains a
    /// fresh model on both sides for the same number of steps (model construction untimed on both sides, first-step
    /// Adam state allocation timed on both), with a full GC before each timed segment so neither pays for the other's
    /// garbage. The two alternate so that load from other processes on the shared cores hits both alike; the median of
    /// the per-round ratios is reported next to the ratio of the totals.
    /// </summary>
    public static void StepRate(int steps, int seed, int rounds)
    {
        var ml = new MLContext(seed);
        var dataset = MnistDataset.Load(DatasetPaths.MnistFolder, MnistSplit.Train, null);
        var train = ml.Data.LoadMnist(DatasetPaths.MnistFolder, MnistSplit.Train);
        const int batch = 64, latent = 100, warmup = 50;
        int perRound = steps / rounds;

        // Hand-written loop: the dataset normalised to [-1, 1] once in one tensor, a randperm per epoch, narrow +
        // index_select batches, randn noise, the same two Adam updates and both losses read with .item() each step.
        using var data = torch.tensor(dataset.Pixels, [dataset.Count, 784]) * 2 - 1;
        double HandLoop(int n)
        {
            torch.manual_seed(seed);
            using var g = new MlpGenerator(latent);
            using var d = new MlpDiscriminator();
            using var gOpt = optim.Adam(g.parameters(), 2e-4, 0.5, 0.999);
            using var dOpt = optim.Adam(d.parameters(), 2e-4, 0.5, 0.999);
            Tensor? order = null;
            int stepsPerEpoch = dataset.Count / batch;
            Collect();
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < n; i++)
            {
                if (i % stepsPerEpoch == 0)
                {
                    order?.Dispose();
                    order = torch.randperm(dataset.Count);
                }
                using var scope = torch.NewDisposeScope();
                var real = data.index_select(0, order!.narrow(0, (i % stepsPerEpoch) * batch, batch));
                var z = torch.randn(batch, latent);
                var fake = g.forward(z, null);
                var ones = torch.ones(batch, 1);
                var zeros = torch.zeros(batch, 1);
                dOpt.zero_grad();
                var dLoss = nn.functional.binary_cross_entropy_with_logits(d.forward(real, null), ones)
                          + nn.functional.binary_cross_entropy_with_logits(d.forward(fake.detach(), null), zeros);
                dLoss.backward();
                dOpt.step();
                gOpt.zero_grad();
                var gLoss = nn.functional.binary_cross_entropy_with_logits(d.forward(fake, null), ones);
                gLoss.backward();
                gOpt.step();
                _ = dLoss.item<float>() + gLoss.item<float>();
            }
            double seconds = clock.Elapsed.TotalSeconds;
            order?.Dispose();
            return seconds;
        }
        double Trainer(int n)
        {
            var estimator = ml.Generative().Trainers.Gan(new GanOptions
            {
                ModelFolder = Path.GetFullPath(Path.Combine("artifacts", "gan-steprate")), LatentSize = latent, BatchSize = batch, Seed = seed, MaxSteps = n, ReportEveryNSteps = 0,
            });
            Collect();
            // Summary.Elapsed covers the step loop only: not reading the IDataView, building the model or exporting ONNX.
            return estimator.Train(train).Summary.Elapsed.TotalSeconds;
        }

        HandLoop(warmup);
        Trainer(warmup);
        double hand = 0, trainer = 0;
        var ratios = new List<double>();
        for (int r = 0; r < rounds; r++)
        {
            // Alternate which side goes first, so a burst of outside load does not always land on the same one.
            double h, t;
            if (r % 2 == 0) { h = HandLoop(perRound); t = Trainer(perRound); }
            else { t = Trainer(perRound); h = HandLoop(perRound); }
            hand += h;
            trainer += t;
            ratios.Add(h / t);
            Console.WriteLine($"round {r + 1}: hand-written {perRound / h:F1} steps/s, trainer {perRound / t:F1} steps/s, ratio {h / t:F3}");
        }
        ratios.Sort();
        double median = ratios.Count % 2 == 1 ? ratios[ratios.Count / 2] : (ratios[ratios.Count / 2 - 1] + ratios[ratios.Count / 2]) / 2;
        Console.WriteLine($"hand-written TorchSharp loop: {rounds * perRound / hand:F1} steps/s; trainer: {rounds * perRound / trainer:F1} steps/s; " +
                          $"ratio of totals {hand / trainer:F3}, median round ratio {median:F3} (range {ratios[0]:F3}-{ratios[^1]:F3}; " +
                          $"{rounds}x{perRound} timed steps each, batch {batch}, {torch.get_num_threads()} torch threads)");
    }

    private static void Collect()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    private sealed class SeedRow
    {
        public int Seed { get; set; }
        public int Label { get; set; }
    }

    private sealed class ImageRow
    {
        [VectorType(784)] public float[] Image { get; set; } = [];
    }
}
