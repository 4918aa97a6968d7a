using Aigc.MLNet.Transforms.Serving;
using Microsoft.ML.OnnxRuntime;

namespace Aigc.MLNet.Transforms.Images;

/// <summary>Configuration carried in the data by the image transforms (see <see cref="ConfiguredMapping"/>).</summary>
internal sealed class ImageServingConfig
{
    public string Folder { get; set; } = "";
    public string Kind { get; set; } = "";
    public int LatentSize { get; set; }
    public int ClassCount { get; set; }
    public int PixelCount { get; set; }
    public string? GeneratorFile { get; set; }
    public string? GeneratorSha256 { get; set; }
    public string? EncoderFile { get; set; }
    public string? EncoderSha256 { get; set; }
    public string? DecoderFile { get; set; }
    public string? DecoderSha256 { get; set; }
    public string? DenoiserFile { get; set; }
    public string? DenoiserSha256 { get; set; }
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

    public static ImageServingConfig From(string folder, ImageModelManifest manifest, string inputColumn, string? labelColumn = null) => new()
    {
        Folder = Path.GetFullPath(folder),
        Kind = manifest.Kind,
        LatentSize = manifest.LatentSize,
        ClassCount = manifest.ClassCount,
        PixelCount = manifest.PixelCount,
        GeneratorFile = manifest.GeneratorFile,
        GeneratorSha256 = Hash(folder, manifest.GeneratorFile),
        EncoderFile = manifest.EncoderFile,
        EncoderSha256 = Hash(folder, manifest.EncoderFile),
        DecoderFile = manifest.DecoderFile,
        DecoderSha256 = Hash(folder, manifest.DecoderFile),
        DenoiserFile = manifest.DenoiserFile,
        DenoiserSha256 = Hash(folder, manifest.DenoiserFile),
        Timesteps = manifest.Timesteps,
        NoiseSchedule = manifest.NoiseSchedule,
        BetaStart = manifest.BetaStart,
        BetaEnd = manifest.BetaEnd,
        InputColumn = inputColumn,
        LabelColumn = labelColumn,
    };

    private static string? Hash(string folder, string? file) => file is null ? null : FileFingerprint.Sha256(Path.Combine(folder, file));
}

/// <summary>ONNX Runtime sessions of one image model folder, shared by all rows through <see cref="ServingCache"/>.</summary>
internal sealed class ImageModelRuntime : IDisposable
{
    private readonly InferenceSession? _generator;
    private readonly InferenceSession? _encoder;
    private readonly InferenceSession? _decoder;
    private static readonly RunOptions s_run = new();

    public ImageServingConfig Config { get; }

    private ImageModelRuntime(ImageServingConfig config)
    {
        Config = config;
        _generator = Open(config.GeneratorFile, config.GeneratorSha256, "GAN generator");
        _encoder = Open(config.EncoderFile, config.EncoderSha256, "VAE encoder");
        _decoder = Open(config.DecoderFile, config.DecoderSha256, "VAE decoder");
        if (config.DenoiserFile is not null)
        {
            _denoiser = new OnnxDenoiser(
                OnnxDenoiser.OpenSession(Path.Combine(config.Folder, config.DenoiserFile), config.DenoiserSha256 ?? "", config.IntraOpThreads),
                config.PixelCount, config.ClassCount);
            _schedule = new ImageModelManifest
            {
                NoiseSchedule = config.NoiseSchedule, Timesteps = config.Timesteps, BetaStart = config.BetaStart, BetaEnd = config.BetaEnd,
            }.CreateNoiseSchedule();
            _sampling = new DiffusionSamplingOptions { Sampler = config.Sampler, Steps = config.SamplingSteps, Eta = config.Eta, GuidanceScale = config.GuidanceScale };
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
        var denoiser = _denoiser ?? throw new InvalidOperationException($"The model in '{Config.Folder}' has no diffusion denoiser.");
        DiffusionGeneration.Generate(denoiser, _schedule!, seeds, labels, _sampling!, Config.LabelColumn ?? "label").CopyTo(images);
    }

    /// <summary>The runtime for an encoded configuration, created once per process.</summary>
    public static ImageModelRuntime Get(string encodedConfig) =>
        ServingCache.GetOrCreate(encodedConfig, () => new ImageModelRuntime(ConfiguredMapping.DecodeConfig<ImageServingConfig>(encodedConfig)));

    private InferenceSession? Open(string? file, string? sha, string what)
    {
        if (file is null) return null;
        string path = Path.Combine(Config.Folder, file);
        FileFingerprint.Verify(path, sha ?? "", what);
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
        var session = _generator ?? throw new InvalidOperationException($"The model in '{Config.Folder}' has no generator.");
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
        var session = _encoder ?? throw new InvalidOperationException($"The model in '{Config.Folder}' has no encoder.");
        using var x = OrtValue.CreateTensorValueFromMemory(pixels.ToArray(), [rows, Config.PixelCount]);
        using var outputs = session.Run(s_run, ["pixels"], [x], ["mean", "log_variance"]);
        outputs[0].GetTensorDataAsSpan<float>().CopyTo(mean);
        outputs[1].GetTensorDataAsSpan<float>().CopyTo(logVariance);
    }

    /// <summary>Decoder: latent rows [rows, LatentSize] → images [rows, PixelCount].</summary>
    public void Decode(ReadOnlySpan<float> z, int rows, Span<float> images)
    {
        var session = _decoder ?? throw new InvalidOperationException($"The model in '{Config.Folder}' has no decoder.");
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
