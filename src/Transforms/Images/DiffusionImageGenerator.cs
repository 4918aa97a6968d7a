using Aigc.MLNet.Transforms.Serving;
using Microsoft.ML.OnnxRuntime;

namespace Aigc.MLNet.Transforms.Images;

/// <summary>Sampling settings of a diffusion model (sampler, steps, η, classifier-free guidance).</summary>
public sealed class DiffusionSamplingOptions
{
    /// <summary>DDIM (default) or ancestral DDPM (all T steps).</summary>
    public DiffusionSamplerKind Sampler { get; set; } = DiffusionSamplerKind.Ddim;

    /// <summary>DDIM steps, 1..T (default 50); ignored by DDPM.</summary>
    public int Steps { get; set; } = 50;

    /// <summary>DDIM η ≥ 0: 0 (default) is deterministic given x_T, 1 adds DDPM-like noise; ignored by DDPM.</summary>
    public double Eta { get; set; }

    /// <summary>
    /// Classifier-free guidance scale w of a conditional model: ε = ε(∅) + w (ε(c) − ε(∅)). 1 (default) uses the
    /// conditional prediction alone; 0 ignores the class; w &gt; 1 strengthens it (two denoiser passes per step).
    /// Must stay 1 for an unconditional model.
    /// </summary>
    public double GuidanceScale { get; set; } = 1;

    internal void Validate(int timesteps, int classCount)
    {
        DiffusionSampler.Validate(timesteps, Sampler, Sampler == DiffusionSamplerKind.Ddim ? Steps : timesteps, Eta);
        if (!double.IsFinite(GuidanceScale) || GuidanceScale < 0)
            throw new ArgumentOutOfRangeException(nameof(GuidanceScale), GuidanceScale, "GuidanceScale must be a finite value ≥ 0.");
        if (classCount == 0 && GuidanceScale != 1)
            throw new ArgumentException(
                $"GuidanceScale {GuidanceScale} needs a class-conditional diffusion model; this model is unconditional (keep GuidanceScale = 1).", nameof(GuidanceScale));
    }
}

/// <summary>
/// Generates images in batches from a diffusion model folder (written by the diffusion trainer): the sampling loop
/// (<see cref="DiffusionSampler"/>) runs in C# over the exported ONNX denoiser with ONNX Runtime.
/// <c>GenerateImages</c> on the same folder gives the same image for the same seed, label and settings.
/// </summary>
public sealed class DiffusionImageGenerator : IDisposable
{
    private readonly OnnxDenoiser _denoiser;

    private DiffusionImageGenerator(OnnxDenoiser denoiser, ImageModelManifest manifest)
    {
        _denoiser = denoiser;
        Manifest = manifest;
        Schedule = manifest.CreateNoiseSchedule();
    }

    /// <summary>The folder's manifest.</summary>
    public ImageModelManifest Manifest { get; }

    /// <summary>The model's noise schedule.</summary>
    public NoiseSchedule Schedule { get; }

    /// <summary>Classes of a conditional model (0: unconditional).</summary>
    public int ClassCount => Manifest.ClassCount;

    /// <summary>Opens a diffusion model folder.</summary>
    /// <param name="modelFolder">Folder with <c>model.json</c> and the denoiser ONNX file.</param>
    /// <param name="intraOpThreads">ONNX Runtime intra-op threads (0: default).</param>
    /// <exception cref="ArgumentException">The folder is not a diffusion model.</exception>
    public static DiffusionImageGenerator Open(string modelFolder, int intraOpThreads = 0)
    {
        if (string.IsNullOrEmpty(modelFolder)) throw new ArgumentException("modelFolder must name a folder written by the diffusion trainer.", nameof(modelFolder));
        if (!Directory.Exists(modelFolder)) throw new DirectoryNotFoundException($"Model folder '{modelFolder}' does not exist.");
        var manifest = ImageModelManifest.Load(modelFolder);
        if (!manifest.IsDiffusion)
            throw new ArgumentException($"The model in '{modelFolder}' ({manifest.Kind}) is not a diffusion model (no DenoiserFile in model.json).", nameof(modelFolder));
        var session = OnnxDenoiser.OpenSession(Path.Combine(modelFolder, manifest.DenoiserFile!), null, intraOpThreads);
        return new DiffusionImageGenerator(new OnnxDenoiser(session, manifest.PixelCount, manifest.ClassCount), manifest);
    }

    /// <summary>Generates one image per seed.</summary>
    /// <param name="seeds">Seeds (x_T of a row is <see cref="LatentSampler"/>'s vector of its seed; the step noise also derives from it).</param>
    /// <param name="labels">Classes 0..ClassCount-1, one per seed, for a conditional model; empty for an unconditional one
    /// (a conditional model given no labels samples without a class).</param>
    /// <param name="options">Sampler settings (null: DDIM, 50 steps, η = 0, no guidance).</param>
    /// <returns>Images, row-major [seeds, pixels], in [0, 1].</returns>
    public float[] Generate(ReadOnlySpan<int> seeds, ReadOnlySpan<int> labels, DiffusionSamplingOptions? options = null)
    {
        options ??= new DiffusionSamplingOptions();
        options.Validate(Schedule.Timesteps, ClassCount);
        return DiffusionGeneration.Generate(_denoiser, Schedule, seeds, labels, options, "labels");
    }

    /// <summary>Runs the denoiser once: ε̂(x, t[, label]) for a batch (x in [-1, 1]; label ClassCount means "no class").</summary>
    /// <param name="x">[rows, pixels].</param>
    /// <param name="timesteps">One timestep per row.</param>
    /// <param name="labels">One label per row for a conditional model; empty otherwise.</param>
    /// <param name="epsilon">Destination [rows, pixels].</param>
    public void PredictNoise(ReadOnlySpan<float> x, ReadOnlySpan<long> timesteps, ReadOnlySpan<long> labels, Span<float> epsilon) =>
        _denoiser.Predict(x, timesteps.Length, timesteps, labels, epsilon);

    /// <summary>Releases the ONNX Runtime session.</summary>
    public void Dispose() => _denoiser.Dispose();
}

/// <summary>An ONNX Runtime session of a diffusion denoiser.</summary>
internal sealed class OnnxDenoiser : IDisposable
{
    private static readonly RunOptions s_run = new();
    private readonly InferenceSession _session;

    public OnnxDenoiser(InferenceSession session, int pixelCount, int classCount)
    {
        _session = session;
        PixelCount = pixelCount;
        ClassCount = classCount;
    }

    public int PixelCount { get; }
    public int ClassCount { get; }

    public static InferenceSession OpenSession(string path, string? sha256, int intraOpThreads)
    {
        if (sha256 is not null) FileFingerprint.Verify(path, sha256, "diffusion denoiser");
        else if (!File.Exists(path)) throw new FileNotFoundException($"Diffusion denoiser '{path}' is missing.", path);
        Aigc.MLNet.Onnx.Runtime.OnnxRuntimeNative.EnsureAvailable();
        using var options = new SessionOptions();
        if (intraOpThreads > 0) options.IntraOpNumThreads = intraOpThreads;
        return new InferenceSession(path, options);
    }

    public void Predict(ReadOnlySpan<float> x, int rows, ReadOnlySpan<long> timesteps, ReadOnlySpan<long> labels, Span<float> epsilon)
    {
        if (x.Length != rows * PixelCount) throw new ArgumentException($"x holds {x.Length} values; expected {rows} rows × {PixelCount} pixels.", nameof(x));
        if (timesteps.Length != rows) throw new ArgumentException($"Expected {rows} timesteps, found {timesteps.Length}.", nameof(timesteps));
        using var xValue = OrtValue.CreateTensorValueFromMemory(x.ToArray(), [rows, PixelCount]);
        using var tValue = OrtValue.CreateTensorValueFromMemory(timesteps.ToArray(), [rows]);
        if (ClassCount > 0)
        {
            if (labels.Length != rows) throw new ArgumentException($"A conditional denoiser needs {rows} labels, found {labels.Length}.", nameof(labels));
            using var labelValue = OrtValue.CreateTensorValueFromMemory(labels.ToArray(), [rows]);
            using var outputs = _session.Run(s_run, ["x", "t", "label"], [xValue, tValue, labelValue], ["epsilon"]);
            outputs[0].GetTensorDataAsSpan<float>().CopyTo(epsilon);
        }
        else
        {
            using var outputs = _session.Run(s_run, ["x", "t"], [xValue, tValue], ["epsilon"]);
            outputs[0].GetTensorDataAsSpan<float>().CopyTo(epsilon);
        }
    }

    public void Dispose() => _session.Dispose();
}

/// <summary>Seeds (+ labels) → images through an ONNX denoiser, with classifier-free guidance; shared by the transform and <see cref="DiffusionImageGenerator"/>.</summary>
internal static class DiffusionGeneration
{
    public static float[] Generate(OnnxDenoiser denoiser, NoiseSchedule schedule, ReadOnlySpan<int> seeds, ReadOnlySpan<int> labels,
        DiffusionSamplingOptions options, string labelName)
    {
        int rows = seeds.Length, pixels = denoiser.PixelCount, classes = denoiser.ClassCount;
        long[] condition = [];
        if (classes == 0)
        {
            if (labels.Length != 0) throw new ArgumentException($"'{labelName}': this diffusion model is unconditional; pass no labels.", labelName);
        }
        else
        {
            if (labels.Length != 0 && labels.Length != rows)
                throw new ArgumentException($"'{labelName}': expected {rows} labels (one per seed), found {labels.Length}.", labelName);
            condition = new long[rows];
            for (int r = 0; r < rows; r++)
            {
                if (labels.Length == 0) { condition[r] = classes; continue; }
                if ((uint)labels[r] >= (uint)classes)
                    throw new ArgumentOutOfRangeException(labelName, labels[r], $"'{labelName}': label {labels[r]} (row {r}) is outside 0..{classes - 1}.");
                condition[r] = labels[r];
            }
        }

        double w = options.GuidanceScale;
        bool guided = classes > 0 && w != 1 && labels.Length != 0;
        if (guided && w == 0)
        {
            // ε(∅) alone: one pass on the "no class" token instead of a doubled batch.
            Array.Fill(condition, classes);
            guided = false;
        }
        long[] timesteps = [];
        long[] doubledLabels = [];
        float[] doubledX = [], doubledEps = [];
        if (guided)
        {
            doubledLabels = new long[2 * rows];
            condition.CopyTo(doubledLabels, 0);
            Array.Fill(doubledLabels, classes, rows, rows);
            doubledX = new float[2 * rows * pixels];
            doubledEps = new float[2 * rows * pixels];
        }
        NoisePredictor predictor = (x, n, t, eps) =>
        {
            int batch = guided ? 2 * n : n;
            if (timesteps.Length != batch) timesteps = new long[batch];
            Array.Fill(timesteps, t);
            if (!guided)
            {
                denoiser.Predict(x, n, timesteps, condition, eps);
                return;
            }
            x.CopyTo(doubledX);
            x.CopyTo(doubledX.AsSpan(n * pixels));
            denoiser.Predict(doubledX, batch, timesteps, doubledLabels, doubledEps);
            var conditional = doubledEps.AsSpan(0, n * pixels);
            var unconditional = doubledEps.AsSpan(n * pixels, n * pixels);
            for (int i = 0; i < eps.Length; i++)
                eps[i] = (float)(unconditional[i] + w * (conditional[i] - unconditional[i]));
        };
        var sample = DiffusionSampler.Sample(schedule, predictor, seeds, pixels, options.Sampler, options.Steps, options.Eta, clipDenoised: true);
        for (int i = 0; i < sample.Length; i++) sample[i] = Math.Clamp((sample[i] + 1) * 0.5f, 0f, 1f);
        return sample;
    }
}
