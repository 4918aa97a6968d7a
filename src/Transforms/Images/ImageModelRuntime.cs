using Aigc.MLNet.Transforms.Serving;
using Microsoft.ML.OnnxRuntime;

namespace Aigc.MLNet.Transforms.Images;

/// <summary>Configuration carried in the data by the image transforms (see <see cref="ConfiguredMapping"/>).</summary>
internal sealed class ImageServingConfig
{
    /// <summary>The model folder's files (model.json and the ONNX files this transform runs) with their SHA-256.</summary>
    public ModelSource Source { get; set; } = new();
    public string Kind { get; set; } = "";
    public int LatentSize { get; set; }
    public int ClassCount { get; set; }
    public int PixelCount { get; set; }
    public string? GeneratorFile { get; set; }
    public string? EncoderFile { get; set; }
    public string? DecoderFile { get; set; }
    public string? DenoiserFile { get; set; }
    public int Timesteps { get; set; }
    public string? NoiseSchedule { get; set; }
    public double BetaStart { get; set; }
    public double BetaEnd { get; set; }
    public DiffusionSamplerKind Sampler { get; set; } = DiffusionSamplerKind.Ddim;
    public int SamplingSteps { get; set; } = 50;
    public double Eta { get; set; }
    public double GuidanceScale { get; set; } = 1;
    /// <summary>The user's input column, named in row-level errors.</summary>
    public string InputColumn { get; set; } = "";
    /// <summary>The user's label column (conditional generation).</summary>
    public string? LabelColumn { get; set; }
    /// <summary>Intra-op threads per session (0: ONNX Runtime default).</summary>
    public int IntraOpThreads { get; set; }

    /// <summary>The configuration of a transform running the listed networks of <paramref name="folder"/>.</summary>
    public static ImageServingConfig From(string folder, ImageModelManifest manifest, string transform, string inputColumn, string? labelColumn = null,
        bool generator = false, bool encoder = false, bool decoder = false, bool denoiser = false,
        IEnumerable<string>? searchPaths = null, bool embed = false)
    {
        var config = new ImageServingConfig
        {
            Kind = manifest.Kind,
            LatentSize = manifest.LatentSize,
            ClassCount = manifest.ClassCount,
            PixelCount = manifest.PixelCount,
            GeneratorFile = generator ? manifest.GeneratorFile : null,
            EncoderFile = encoder ? manifest.EncoderFile : null,
            DecoderFile = decoder ? manifest.DecoderFile : null,
            DenoiserFile = denoiser ? manifest.DenoiserFile : null,
            Timesteps = manifest.Timesteps,
            NoiseSchedule = manifest.NoiseSchedule,
            BetaStart = manifest.BetaStart,
            BetaEnd = manifest.BetaEnd,
            InputColumn = inputColumn,
            LabelColumn = labelColumn,
        };
        // model.json is read when the pipeline is built (its values travel in this configuration); it is fingerprinted
        // too so that a search by content only accepts the same model.
        string[] files = [ImageModelManifest.FileName, .. new[] { config.GeneratorFile, config.EncoderFile, config.DecoderFile, config.DenoiserFile }.OfType<string>()];
        config.Source = ModelSource.Capture(folder, transform, files, [], searchPaths, embed);
        return config;
    }
}

/// <summary>
/// ONNX Runtime sessions of one image model folder, shared by all rows through <see cref="ServingCache"/> (a fitted
/// transformer holds a lease; the last one disposes the sessions).
/// </summary>
internal sealed class ImageModelRuntime : IDisposable
{
    private readonly InferenceSession? _generator;
    private readonly InferenceSession? _encoder;
    private readonly InferenceSession? _decoder;
    private static readonly RunOptions s_run = new();

    public ImageServingConfig Config { get; }

    /// <summary>The folder the ONNX files were read from (recorded, found by search, or the extracted embedded copy).</summary>
    public string Folder { get; }

    private ImageModelRuntime(ImageServingConfig config)
    {
        Config = config;
        Folder = config.Source.Resolve();
        try
        {
            _generator = Open(config.GeneratorFile, "GAN generator");
            _encoder = Open(config.EncoderFile, "VAE encoder");
            _decoder = Open(config.DecoderFile, "VAE decoder");
            if (config.DenoiserFile is not null)
            {
                _denoiser = new OnnxDenoiser(
                    OnnxDenoiser.OpenSession(Path.Combine(Folder, config.DenoiserFile), null, config.IntraOpThreads),
                    config.PixelCount, config.ClassCount);
                _schedule = new ImageModelManifest
                {
                    NoiseSchedule = config.NoiseSchedule, Timesteps = config.Timesteps, BetaStart = config.BetaStart, BetaEnd = config.BetaEnd,
                }.CreateNoiseSchedule();
                _sampling = new DiffusionSamplingOptions { Sampler = config.Sampler, Steps = config.SamplingSteps, Eta = config.Eta, GuidanceScale = config.GuidanceScale };
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    private readonly OnnxDenoiser? _denoiser;
    private readonly NoiseSchedule? _schedule;
    private readonly DiffusionSamplingOptions? _sampling;

    /// <summary>True when the folder holds a diffusion denoiser.</summary>
    public bool IsDiffusion => _denoiser is not null;

    /// <summary>Diffusion: seeds (+ labels) → images [rows, PixelCount] in [0, 1] with the configured sampler.</summary>
    public void GenerateDiffusion(ReadOnlySpan<int> seeds, ReadOnlySpan<int> labels, Span<float> images)
    {
        var denoiser = _denoiser ?? throw new InvalidOperationException($"The model in '{Folder}' has no diffusion denoiser.");
        DiffusionGeneration.Generate(denoiser, _schedule!, seeds, labels, _sampling!, Config.LabelColumn ?? "label").CopyTo(images);
    }

    /// <summary>A lease on the runtime of an encoded configuration (a fitted transformer holds one).</summary>
    public static ServingLease<ImageModelRuntime> Acquire(string encodedConfig) =>
        ServingCache.Acquire(encodedConfig, () => new ImageModelRuntime(ConfiguredMapping.DecodeConfig<ImageServingConfig>(encodedConfig)));

    /// <summary>Runs <paramref name="use"/> on the runtime of an encoded configuration without a lease (the rows).</summary>
    public static T Use<T>(string encodedConfig, Func<ImageModelRuntime, T> use) =>
        ServingCache.Use(encodedConfig, () => new ImageModelRuntime(ConfiguredMapping.DecodeConfig<ImageServingConfig>(encodedConfig)), use);

    private InferenceSession? Open(string? file, string what)
    {
        if (file is null) return null;
        string path = Path.Combine(Folder, file);
        Aigc.MLNet.Onnx.Runtime.OnnxRuntimeNative.EnsureAvailable();
        using var options = new SessionOptions();
        if (Config.IntraOpThreads > 0) options.IntraOpNumThreads = Config.IntraOpThreads;
        var session = ImageModelContract.Open(path, options, what);
        try
        {
            ImageModelContract.Verify(session, path, what, Config.LatentSize, Config.ClassCount, Config.PixelCount);
        }
        catch
        {
            session.Dispose();
            throw;
        }
        return session;
    }

    /// <summary>Generator: latent rows [rows, LatentSize] (+ labels) → images [rows, PixelCount].</summary>
    public void Generate(ReadOnlySpan<float> z, ReadOnlySpan<long> labels, int rows, Span<float> images)
    {
        var session = _generator ?? throw new InvalidOperationException($"The model in '{Folder}' has no generator.");
        using var zValue = OrtValue.CreateTensorValueFromMemory(z.ToArray(), [rows, Config.LatentSize]);
        if (Config.ClassCount > 0)
        {
            using var labelValue = OrtValue.CreateTensorValueFromMemory(labels.ToArray(), [rows]);
            using var outputs = session.Run(s_run, ["z", "label"], [zValue, labelValue], ["image"]);
            outputs[0].GetTensorDataAsSpan<float>().CopyTo(images);
        }
        else
        {
            using var outputs = session.Run(s_run, ["z"], [zValue], ["image"]);
            outputs[0].GetTensorDataAsSpan<float>().CopyTo(images);
        }
    }

    /// <summary>Encoder: pixels [rows, PixelCount] → mean, log-variance [rows, LatentSize].</summary>
    public void Encode(ReadOnlySpan<float> pixels, int rows, Span<float> mean, Span<float> logVariance)
    {
        var session = _encoder ?? throw new InvalidOperationException($"The model in '{Folder}' has no encoder.");
        using var x = OrtValue.CreateTensorValueFromMemory(pixels.ToArray(), [rows, Config.PixelCount]);
        using var outputs = session.Run(s_run, ["pixels"], [x], ["mean", "log_variance"]);
        outputs[0].GetTensorDataAsSpan<float>().CopyTo(mean);
        outputs[1].GetTensorDataAsSpan<float>().CopyTo(logVariance);
    }

    /// <summary>Decoder: latent rows [rows, LatentSize] → images [rows, PixelCount].</summary>
    public void Decode(ReadOnlySpan<float> z, int rows, Span<float> images)
    {
        var session = _decoder ?? throw new InvalidOperationException($"The model in '{Folder}' has no decoder.");
        using var zValue = OrtValue.CreateTensorValueFromMemory(z.ToArray(), [rows, Config.LatentSize]);
        using var outputs = session.Run(s_run, ["z"], [zValue], ["image"]);
        outputs[0].GetTensorDataAsSpan<float>().CopyTo(images);
    }

    public void Dispose()
    {
        _generator?.Dispose();
        _encoder?.Dispose();
        _decoder?.Dispose();
        _denoiser?.Dispose();
    }
}
