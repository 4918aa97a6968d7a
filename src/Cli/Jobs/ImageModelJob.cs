using Aigc.MLNet.Cli.Pictures;
using Aigc.MLNet.Transforms;
using Aigc.MLNet.Transforms.Data;
using Aigc.MLNet.Transforms.Images;
using Aigc.MLNet.Trainers.Images;
using Aigc.MLNet.Trainers.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Cli.Jobs;

/// <summary>Which image model an <see cref="ImageModelJob"/> trains.</summary>
public enum ImageModelKind
{
    /// <summary>Class-conditional MLP GAN.</summary>
    Gan,

    /// <summary>MLP VAE.</summary>
    Vae,
}

/// <summary>Settings of an MNIST image-model run.</summary>
public sealed class ImageModelJobSettings
{
    /// <summary>Model kind.</summary>
    public ImageModelKind Kind { get; set; }
    /// <summary>MNIST folder (IDX files).</summary>
    public string MnistFolder { get; set; } = "";
    /// <summary>Training rows (0 = all 60,000).</summary>
    public int MaxRows { get; set; } = 10_000;
    /// <summary>Output folder: model/ (ONNX + model.json), samples.png, loss-curve.png, checkpoint/.</summary>
    public string OutputFolder { get; set; } = "";
    /// <summary>Passes over the data.</summary>
    public int Epochs { get; set; } = 1;
    /// <summary>Stop after this many steps (null = all epochs).</summary>
    public long? MaxSteps { get; set; }
    /// <summary>Rows per step.</summary>
    public int BatchSize { get; set; } = 64;
    /// <summary>Latent size (default 100 for the GAN, 20 for the VAE).</summary>
    public int? LatentSize { get; set; }
    /// <summary>Adam learning rate (default 2e-4 for the GAN, 1e-3 for the VAE).</summary>
    public double? LearningRate { get; set; }
    /// <summary>Seed.</summary>
    public int Seed { get; set; } = 1;
    /// <summary>Resume from the checkpoint in the output folder.</summary>
    public bool Resume { get; set; }
    /// <summary>Images in the sample grid.</summary>
    public int SampleCount { get; set; } = 40;
    /// <summary>TorchSharp threads (0 = default).</summary>
    public int Threads { get; set; }

    /// <summary>GAN architecture (ignored for the VAE).</summary>
    public GanArchitecture Architecture { get; set; } = GanArchitecture.Dcgan;

    /// <summary>GAN: discriminator learning rate (null = the generator's).</summary>
    public double? DiscriminatorLearningRate { get; set; }

    /// <summary>GAN (DCGAN): channels of the generator's 7×7 map (null = 128).</summary>
    public int? GeneratorChannels { get; set; }

    /// <summary>GAN: target for real images in the discriminator loss (one-sided label smoothing; null = 1.0).</summary>
    public double? RealLabel { get; set; }

    /// <summary>VAE: width of each hidden layer (null = 400).</summary>
    public int? HiddenSize { get; set; }

    /// <summary>VAE: hidden layers in the encoder and in the decoder (null = 1).</summary>
    public int? HiddenLayers { get; set; }

    /// <summary>VAE: learning-rate schedule (null = constant).</summary>
    public LearningRateSchedule? Schedule { get; set; }

    /// <summary>VAE: epochs over which the KL weight rises from 0 to 1 (null = none).</summary>
    public double? KlWarmupEpochs { get; set; }
}

/// <summary>What an image-model run left behind.</summary>
public sealed class ImageModelJobResult
{
    /// <summary>Model folder (ONNX + model.json), usable by GenerateImages / DecodeLatent.</summary>
    public required string ModelFolder { get; init; }
    /// <summary>Sample grid PNG.</summary>
    public required string SamplesPng { get; init; }
    /// <summary>Loss-curve PNG, null when no step was reported.</summary>
    public string? LossCurvePng { get; init; }
    /// <summary>Training figures.</summary>
    public required TrainingRunSummary Summary { get; init; }
}

/// <summary>
/// Trains a GAN or VAE on MNIST through the ML.NET trainers (<c>mlContext.Generative().Trainers</c>), writes a sample grid
/// made by the exported ONNX model through the ML.NET transforms, and a loss curve. Checkpoints go to
/// <c>checkpoint/</c> every 200 steps and on Ctrl+C.
/// </summary>
public static class ImageModelJob
{
    /// <summary>Runs the job.</summary>
    public static ImageModelJobResult Run(ImageModelJobSettings settings, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (string.IsNullOrWhiteSpace(settings.OutputFolder)) throw new ArgumentException("The output folder is empty.", nameof(settings));
        string folder = Path.GetFullPath(settings.OutputFolder);
        string modelFolder = Path.Combine(folder, "model");
        var ml = new MLContext(seed: settings.Seed);
        IDataView data = ml.Data.LoadMnist(settings.MnistFolder, MnistSplit.Train, settings.MaxRows > 0 ? settings.MaxRows : null);
        var curve = new Dictionary<string, List<(double, double)>>();
        var recorder = new SyncProgress(p =>
        {
            foreach (var (name, value) in p.Losses)
            {
                if (!curve.TryGetValue(name, out var list)) curve[name] = list = [];
                list.Add((p.Step, value));
            }
            progress?.Report(p);
        });
        ImageTrainingResult result;
        if (settings.Kind == ImageModelKind.Gan)
        {
            var options = new GanOptions
            {
                ModelFolder = modelFolder, Architecture = settings.Architecture, LabelColumnName = "Label", ClassCount = 10, LatentSize = settings.LatentSize ?? 100,
            };
            if (settings.LearningRate is double ganRate) options.LearningRate = ganRate;
            options.DiscriminatorLearningRate = settings.DiscriminatorLearningRate;
            if (settings.RealLabel is double real) options.RealLabel = real;
            if (settings.GeneratorChannels is int channels) options.GeneratorChannels = channels;
            Configure(options, settings, folder, recorder, cancellationToken);
            result = ml.Generative().Trainers.Gan(options).Train(data);
        }
        else
        {
            var options = new VaeOptions { ModelFolder = modelFolder, LatentSize = settings.LatentSize ?? 20 };
            if (settings.LearningRate is double vaeRate) options.LearningRate = vaeRate;
            if (settings.HiddenSize is int hidden) options.HiddenSize = hidden;
            if (settings.HiddenLayers is int layers) options.HiddenLayers = layers;
            if (settings.Schedule is { } schedule) options.LearningRateSchedule = schedule;
            if (settings.KlWarmupEpochs is double warmup) options.KlWarmupEpochs = warmup;
            Configure(options, settings, folder, recorder, cancellationToken);
            result = ml.Generative().Trainers.Vae(options).Train(data);
        }
        string samples = SaveSamples(ml, result.ModelFolder, Path.Combine(folder, "samples.png"), settings.SampleCount, settings.Seed);
        string? png = curve.Count == 0 ? null
            : LossCurve.SavePng(Path.Combine(folder, "loss-curve.png"), $"{settings.Kind} on MNIST", curve);
        return new ImageModelJobResult { ModelFolder = result.ModelFolder, SamplesPng = samples, LossCurvePng = png, Summary = result.Summary };
    }

    private static void Configure(GenerativeTrainerOptions o, ImageModelJobSettings s, string folder, IProgress<TrainingProgress> progress, CancellationToken ct)
    {
        o.Epochs = s.Epochs;
        o.MaxSteps = s.MaxSteps;
        o.BatchSize = s.BatchSize;
        o.Seed = s.Seed;
        o.CheckpointFolder = Path.Combine(folder, "checkpoint");
        o.CheckpointEveryNSteps = 200;
        o.Resume = s.Resume;
        o.Progress = progress;
        o.ReportEveryNSteps = 10;
        o.CancellationToken = ct;
        o.Threads = s.Threads;
    }

    /// <summary>
    /// Generates <paramref name="count"/> images with the model in <paramref name="modelFolder"/> through the ML.NET transforms
    /// (GAN: <c>GenerateImages</c>, the labels of a conditional GAN cycling 0–9; VAE: <c>DecodeLatent</c> of standard-normal latents)
    /// and returns them, 784 pixels each in [0, 1].
    /// </summary>
    public static float[][] Generate(MLContext ml, string modelFolder, int count, int seed)
    {
        var manifest = ImageModelManifest.Load(modelFolder);
        IDataView output;
        string column;
        if (manifest.GeneratorFile is not null)
        {
            bool conditional = manifest.ClassCount > 0;
            var rows = Enumerable.Range(0, count).Select(i => new SeedRow
            {
                Seed = seed * 100_003 + i,
                Label = conditional ? i % manifest.ClassCount : 0,   // a 10-column grid shows one digit per column
            }).ToArray();
            var input = ml.Data.LoadFromEnumerable(rows);
            output = ml.Transforms.GenerateImages(modelFolder, "Image", nameof(SeedRow.Seed), conditional ? nameof(SeedRow.Label) : null).Fit(input).Transform(input);
            column = "Image";
        }
        else
        {
            var rows = Enumerable.Range(0, count).Select(i => new LatentRow { Latent = LatentSampler.Sample(seed * 100_003 + i, manifest.LatentSize) }).ToArray();
            var schema = SchemaDefinition.Create(typeof(LatentRow));
            schema[nameof(LatentRow.Latent)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, manifest.LatentSize);
            var input = ml.Data.LoadFromEnumerable(rows, schema);
            output = ml.Transforms.DecodeLatent(modelFolder, outputColumnName: "Image", inputColumnName: "Latent").Fit(input).Transform(input);
            column = "Image";
        }
        return output.GetColumn<float[]>(column).ToArray();
    }

    /// <summary>Generates a grid of samples and writes it as a PNG (ten columns: the digits 0–9 by column for a conditional GAN).</summary>
    public static string SaveSamples(MLContext ml, string modelFolder, string pngPath, int count, int seed)
    {
        float[][] images = Generate(ml, modelFolder, count, seed);
        ImageGrid.SavePng(pngPath, images, columns: Math.Min(10, count));
        return Path.GetFullPath(pngPath);
    }

    private sealed class SeedRow
    {
        public int Seed { get; set; }
        public int Label { get; set; }
    }

    private sealed class LatentRow
    {
        public float[] Latent { get; set; } = [];
    }

    private sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
