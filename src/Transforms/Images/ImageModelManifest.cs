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
/// decoder: <c>z</c> float [b, LatentSize] → <c>image</c> float [b, pixels] in [0, 1].
/// </remarks>
public sealed class ImageModelManifest
{
    /// <summary>File name of the manifest inside a model folder.</summary>
    public const string FileName = "model.json";

    /// <summary>Model family: "Gan", "ConditionalGan" or "Vae".</summary>
    public string Kind { get; set; } = "";

    /// <summary>Network architecture, e.g. "Mlp", "Dcgan", "Conv" (informational).</summary>
    public string Architecture { get; set; } = "";

    /// <summary>Size of the latent vector.</summary>
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
