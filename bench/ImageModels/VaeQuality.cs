using Aigc.MLNet.Trainers.Images;
using Aigc.MLNet.Transforms;
using Aigc.MLNet.Transforms.Data;
using Aigc.MLNet.Transforms.Images;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Bench.ImageModels;

/// <summary>MLP VAE (latent 20) on MNIST: test NELBO through the served ONNX encoder/decoder, sample grid, interpolation strip.</summary>
internal static class VaeQuality
{
    public static void Run(int epochs, int seed, string outFolder, int batchSize, int hiddenSize, double learningRate,
                           int hiddenLayers = 1, LearningRateSchedule schedule = LearningRateSchedule.Constant, int threads = 0, string name = "vae-mlp-z20", double klWarmupEpochs = 0)
    {
        var ml = new MLContext(seed);
        string mnist = DatasetPaths.MnistFolder;
        var train = ml.Data.LoadMnist(mnist, MnistSplit.Train);
        string modelFolder = Path.GetFullPath(Path.Combine("artifacts", name));
        var options = new VaeOptions
        {
            ModelFolder = modelFolder, LatentSize = 20, Epochs = epochs, Seed = seed, BatchSize = batchSize, HiddenSize = hiddenSize, LearningRate = learningRate,
            HiddenLayers = hiddenLayers, LearningRateSchedule = schedule, Threads = threads, KlWarmupEpochs = klWarmupEpochs,
            ReportEveryNSteps = 0, Progress = new ConsoleProgress(),
        };
        var result = ml.Generative().Trainers.Vae(options).Train(train);
        Console.WriteLine($"settings: latent 20, hidden {hiddenLayers}x{hiddenSize}, batch {batchSize}, Adam lr {learningRate} ({schedule}), KL warm-up {klWarmupEpochs} epochs, epochs {epochs}, seed {seed}");
        Console.WriteLine($"training: {result.Summary.Steps} steps, {result.Summary.Elapsed.TotalSeconds:F1} s ({result.Summary.Elapsed.TotalSeconds / epochs:F1} s/epoch)");

        // Test NELBO (BCE-sum + KL, nats per image, one posterior sample per image as in pytorch/examples) through ML.NET + ONNX Runtime.
        var test = ml.Data.LoadMnist(mnist, MnistSplit.Test);
        var encoded = ml.Transforms.EncodeLatent(modelFolder).Fit(test).Transform(test);
        var rows = ml.Data.CreateEnumerable<Encoded>(encoded, reuseRowObject: false).ToArray();
        var latents = rows.Select((r, i) =>
        {
            var eps = LatentSampler.Sample(1_000_000 + i, 20);
            return new Latent { Z = r.LatentMean.Select((m, j) => m + eps[j] * MathF.Exp(0.5f * r.LatentLogVariance[j])).ToArray() };
        }).ToArray();
        var zSchema = SchemaDefinition.Create(typeof(Latent));
        zSchema[nameof(Latent.Z)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, 20);
        var zView = ml.Data.LoadFromEnumerable(latents, zSchema);
        var decoded = ml.Data.CreateEnumerable<Decoded>(ml.Transforms.DecodeLatent(modelFolder, "Image", "Z").Fit(zView).Transform(zView), false).ToArray();
        double total = 0, bceTotal = 0, klTotal = 0;
        for (int i = 0; i < rows.Length; i++)
        {
            double bce = 0;
            for (int j = 0; j < 784; j++)
            {
                double x = rows[i].Pixels[j], p = decoded[i].Image[j];
                bce -= x * Math.Max(Math.Log(p), -100) + (1 - x) * Math.Max(Math.Log(1 - p), -100);
            }
            double kl = 0;
            for (int j = 0; j < 20; j++)
            {
                double m = rows[i].LatentMean[j], lv = rows[i].LatentLogVariance[j];
                kl += -0.5 * (1 + lv - m * m - Math.Exp(lv));
            }
            bceTotal += bce; klTotal += kl; total += bce + kl;
        }
        int n = rows.Length;
        Console.WriteLine($"test NELBO {total / n:F2} nats/image (BCE {bceTotal / n:F2} + KL {klTotal / n:F2}) over {n} images");
        foreach (var r in result.Summary.EpochReports) Console.WriteLine($"  epoch {r.Epoch}: train NELBO {r.Losses["Nelbo"]:F2}");

        Directory.CreateDirectory(outFolder);
        var samples = Enumerable.Range(0, 64).Select(i => new Latent { Z = LatentSampler.Sample(i, 20) }).ToArray();
        var sampleView = ml.Data.LoadFromEnumerable(samples, zSchema);
        var sampleImages = ml.Data.CreateEnumerable<Decoded>(ml.Transforms.DecodeLatent(modelFolder, "Image", "Z").Fit(sampleView).Transform(sampleView), false)
            .Select(d => d.Image).ToArray();
        ImageGrid.SavePng(Path.Combine(outFolder, $"{name}-samples.png"), sampleImages, columns: 8);
        var reconstructions = ml.Data.CreateEnumerable<Reconstructed>(ml.Transforms.Reconstruct(modelFolder).Fit(test).Transform(ml.Data.TakeRows(test, 16)), false).ToArray();
        ImageGrid.SavePng(Path.Combine(outFolder, $"{name}-reconstructions.png"),
            reconstructions.Select(r => r.Pixels).Concat(reconstructions.Select(r => r.Reconstruction)).ToArray(), columns: 16);
        LatentInterpolation.SaveStrip(Path.Combine(outFolder, $"{name}-interpolation.png"), modelFolder, rows[3].Pixels, rows[2].Pixels, steps: 10);
        Console.WriteLine($"images written to {Path.GetFullPath(outFolder)}");
    }

    private sealed class Encoded
    {
        [VectorType(784)] public float[] Pixels { get; set; } = [];
        public float[] LatentMean { get; set; } = [];
        public float[] LatentLogVariance { get; set; } = [];
    }

    private sealed class Latent
    {
        public float[] Z { get; set; } = [];
    }

    private sealed class Decoded
    {
        [VectorType(784)] public float[] Image { get; set; } = [];
    }

    private sealed class Reconstructed
    {
        [VectorType(784)] public float[] Pixels { get; set; } = [];
        [VectorType(784)] public float[] Reconstruction { get; set; } = [];
    }
}

internal sealed class ConsoleProgress : IProgress<Aigc.MLNet.Trainers.Training.TrainingProgress>
{
    public void Report(Aigc.MLNet.Trainers.Training.TrainingProgress value) =>
        Console.WriteLine($"{DateTime.UtcNow:HH:mm:ss} {value} | process RSS {System.Diagnostics.Process.GetCurrentProcess().WorkingSet64 / (1 << 20)} MB");
}
