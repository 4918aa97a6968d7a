using Aigc.MLNet.Cli.Pictures;
using Aigc.MLNet.Onnx.Proto;
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

    /// <summary>GAN (conditional DCGAN): where the discriminator takes the class in (null = the library's default, input planes).</summary>
    public DiscriminatorConditioning? DiscriminatorConditioning { get; set; }

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
        string checkpointFolder = Path.Combine(folder, "checkpoint");
        string checkpointFile = Path.Combine(checkpointFolder, CheckpointFile);
        if (settings.Resume) CheckResume(settings, checkpointFile);
        var created = NewFolders.Track(folder, modelFolder, checkpointFolder);
        DateTime? previous = File.Exists(checkpointFile) ? File.GetLastWriteTimeUtc(checkpointFile) : null;
        try
        {
            return Train(settings, progress, cancellationToken, folder, modelFolder);
        }
        catch (Exception e) when (!(cancellationToken.IsCancellationRequested && e is OperationCanceledException))
        {
            // Nothing worth keeping was written (no new checkpoint): the folders this run created go again.
            if ((File.Exists(checkpointFile) ? File.GetLastWriteTimeUtc(checkpointFile) : (DateTime?)null) == previous) created.Remove();
            throw;
        }
    }

    /// <summary>The trainers' checkpoint file inside <c>checkpoint/</c>.</summary>
    public const string CheckpointFile = "checkpoint.bin";

    /// <summary>Fails, before anything is written, when <c>--resume</c> has no checkpoint to continue or no step left to train.</summary>
    private static void CheckResume(ImageModelJobSettings settings, string checkpointFile)
    {
        if (!File.Exists(checkpointFile))
            throw new CliException($"--resume: there is no checkpoint to continue from ('{checkpointFile}' does not exist); leave out --resume to start a new run.");
        var info = TrainingCheckpointInfo.Read(checkpointFile);
        int rows = settings.MaxRows > 0 ? Math.Min(settings.MaxRows, 60_000) : 60_000;
        int batch = Math.Min(settings.BatchSize, rows);
        long total = (long)settings.Epochs * ((rows + batch - 1) / batch);
        if (settings.MaxSteps is long max) total = Math.Min(total, max);
        if (total <= info.Steps)
            throw new CliException(
                $"--epochs {settings.Epochs}{(settings.MaxSteps is long m ? $" and --max-steps {m}" : "")} end at step {total}, not above the checkpoint's step {info.Steps} ('{checkpointFile}'): nothing is left to train. Raise them to continue.",
                ExitCodes.Usage);
    }

    private static ImageModelJobResult Train(ImageModelJobSettings settings, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken, string folder, string modelFolder)
    {
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
            if (settings.DiscriminatorConditioning is DiscriminatorConditioning conditioning) options.DiscriminatorConditioning = conditioning;
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
        string samples = SaveSamples(ml, result.ModelFolder, Path.Combine(folder, "samples.png"), settings.SampleCount, settings.Seed, cancellationToken);
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
    public static float[][] Generate(MLContext ml, string modelFolder, int count, int seed) => GenerateStream(ml, modelFolder, count, seed).ToArray();

    /// <summary>
    /// As <see cref="Generate"/>, lazily: the transform's cursor computes an image when the enumeration asks for it, so
    /// memory stays at a few rows whatever <paramref name="count"/> is. Stops with <see cref="OperationCanceledException"/>
    /// between two images when <paramref name="cancellationToken"/> fires.
    /// </summary>
    public static IEnumerable<float[]> GenerateStream(MLContext ml, string modelFolder, int count, int seed, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ml);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var manifest = ImageModelManifest.Load(modelFolder);
        IDataView output;
        if (manifest.GeneratorFile is not null)
        {
            bool conditional = manifest.ClassCount > 0;
            IEnumerable<SeedRow> Rows()
            {
                for (int i = 0; i < count; i++)
                    yield return new SeedRow { Seed = seed * 100_003 + i, Label = conditional ? i % manifest.ClassCount : 0 };   // a 10-column grid shows one digit per column
            }
            var input = ml.Data.LoadFromEnumerable(Rows());
            output = ml.Transforms.GenerateImages(modelFolder, "Image", nameof(SeedRow.Seed), conditional ? nameof(SeedRow.Label) : null).Fit(input).Transform(input);
        }
        else
        {
            IEnumerable<LatentRow> Rows()
            {
                for (int i = 0; i < count; i++)
                    yield return new LatentRow { Latent = LatentSampler.Sample(seed * 100_003 + i, manifest.LatentSize) };
            }
            var schema = SchemaDefinition.Create(typeof(LatentRow));
            schema[nameof(LatentRow.Latent)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, manifest.LatentSize);
            var input = ml.Data.LoadFromEnumerable(Rows(), schema);
            output = ml.Transforms.DecodeLatent(modelFolder, outputColumnName: "Image", inputColumnName: "Latent").Fit(input).Transform(input);
        }
        return Images(output, cancellationToken);
    }

    private static IEnumerable<float[]> Images(IDataView output, CancellationToken cancellationToken)
    {
        foreach (float[] image in output.GetColumn<float[]>("Image"))
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return image;
        }
    }

    /// <summary>
    /// Generates a grid of samples and writes it as a PNG, atomically (ten columns: the digits 0–9 by column for a conditional
    /// GAN). Images are drawn and compressed one grid row at a time as they are generated, so a large count costs time, not memory.
    /// </summary>
    public static string SaveSamples(MLContext ml, string modelFolder, string pngPath, int count, int seed, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var images = GenerateStream(ml, modelFolder, count, seed, cancellationToken);
        string full = Path.GetFullPath(pngPath);
        var created = NewFolders.Track(Path.GetDirectoryName(full)!);
        try
        {
            AtomicFile.Write(full, stream => ImageGridWriter.Write(stream, images, count, columns: Math.Min(10, count)));
        }
        catch
        {
            created.Remove();
            throw;
        }
        return full;
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
