using System.Text.Json;
using Aigc.MLNet.Onnx.Proto;

namespace Aigc.MLNet.Transforms.Images;

/// <summary>
/// Describes a trained image model folder: which ONNX files it holds and their shapes. Written by the trainers
/// (<c>model.json</c>) and read by <see cref="ImageTransformsCatalog"/>.
/// </summary>
/// <remarks>
/// ONNX contracts (batch dimension symbolic):
/// generator: <c>z</c> float [b, LatentSize] (+ <c>label</c> int64 [b] when <see cref="ClassCount"/> &gt; 0) → <c>image</c> float [b, pixels] in [0, 1];
/// encoder: <c>pixels</c> float [b, pixels] in [0, 1] → <c>mean</c>, <c>log_variance</c> float [b, LatentSize];
/// decoder: <c>z</c> float [b, LatentSize] → <c>image</c> float [b, pixels] in [0, 1];
/// denoiser (diffusion): <c>x</c> float [b, pixels] in model space [-1, 1], <c>t</c> int64 [b] (+ <c>label</c> int64 [b] in
/// 0..ClassCount, ClassCount meaning "no class") → <c>epsilon</c> float [b, pixels].
/// </remarks>
public sealed class ImageModelManifest
{
    /// <summary>File name of the manifest inside a model folder.</summary>
    public const string FileName = "model.json";

    /// <summary>Model family: "Gan", "ConditionalGan", "Vae", "Diffusion" or "ConditionalDiffusion".</summary>
    public string Kind { get; set; } = "";

    /// <summary>Network architecture, e.g. "Mlp", "Dcgan", "Conv" (informational).</summary>
    public string Architecture { get; set; } = "";

    /// <summary>Size of the latent vector (a diffusion model's x_T has one value per pixel).</summary>
    public int LatentSize { get; set; }

    /// <summary>Number of classes a conditional generator takes (0 when unconditional).</summary>
    public int ClassCount { get; set; }

    /// <summary>Image width in pixels.</summary>
    public int ImageWidth { get; set; } = 28;

    /// <summary>Image height in pixels.</summary>
    public int ImageHeight { get; set; } = 28;

    /// <summary>Generator (GAN) ONNX file name, relative to the folder.</summary>
    public string? GeneratorFile { get; set; }

    /// <summary>Encoder (VAE) ONNX file name, relative to the folder.</summary>
    public string? EncoderFile { get; set; }

    /// <summary>Decoder (VAE) ONNX file name, relative to the folder.</summary>
    public string? DecoderFile { get; set; }

    /// <summary>Diffusion denoiser ONNX file name, relative to the folder (<c>x</c> float [b, pixels] in [-1, 1], <c>t</c> int64 [b]
    /// (+ <c>label</c> int64 [b], ClassCount = no class) → <c>epsilon</c> float [b, pixels]).</summary>
    public string? DenoiserFile { get; set; }

    /// <summary>Diffusion steps T of a diffusion model (0 for other kinds).</summary>
    public int Timesteps { get; set; }

    /// <summary>Noise schedule of a diffusion model: "Linear" or "Cosine".</summary>
    public string? NoiseSchedule { get; set; }

    /// <summary>First β of a linear diffusion schedule (for T = 1000, see <see cref="Images.NoiseSchedule"/>).</summary>
    public double BetaStart { get; set; }

    /// <summary>Last β of a linear diffusion schedule (for T = 1000).</summary>
    public double BetaEnd { get; set; }

    /// <summary>True for a diffusion model folder (a <see cref="DenoiserFile"/>).</summary>
    public bool IsDiffusion => DenoiserFile is not null;

    /// <summary>The diffusion model's noise schedule.</summary>
    /// <exception cref="InvalidDataException">The manifest does not describe a valid diffusion schedule.</exception>
    public NoiseSchedule CreateNoiseSchedule()
    {
        if (!Enum.TryParse<NoiseScheduleKind>(NoiseSchedule, ignoreCase: false, out var kind))
            throw new InvalidDataException($"model.json: NoiseSchedule '{NoiseSchedule}' is not Linear or Cosine.");
        try
        {
            return new NoiseSchedule(kind, Timesteps, BetaStart, BetaEnd);
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new InvalidDataException($"model.json: invalid diffusion schedule ({e.Message})", e);
        }
    }

    /// <summary>Pixels per image.</summary>
    public int PixelCount => ImageWidth * ImageHeight;

    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true };

    /// <summary>Writes <c>model.json</c> into <paramref name="folder"/> atomically.</summary>
    public void Save(string folder)
    {
        Directory.CreateDirectory(folder);
        byte[] bytes = JsonSerializer.SerializeToUtf8Bytes(this, s_json);
        AtomicFile.Write(Path.Combine(folder, FileName), s => s.Write(bytes));
    }

    /// <summary>Reads <c>model.json</c> from <paramref name="folder"/>.</summary>
    /// <exception cref="FileNotFoundException">The folder has no manifest.</exception>
    public static ImageModelManifest Load(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        string path = Path.Combine(folder, FileName);
        if (!File.Exists(path))
            throw new FileNotFoundException(
                $"'{folder}' is not an image model folder: '{FileName}' is missing (trainers write it next to the ONNX files).", path);
        var manifest = JsonSerializer.Deserialize<ImageModelManifest>(File.ReadAllBytes(path), s_json)
            ?? throw new InvalidDataException($"'{path}' is empty.");
        if (manifest.LatentSize <= 0 || manifest.PixelCount <= 0)
            throw new InvalidDataException($"'{path}' has invalid sizes (LatentSize {manifest.LatentSize}, image {manifest.ImageWidth}x{manifest.ImageHeight}).");
        return manifest;
    }
}
