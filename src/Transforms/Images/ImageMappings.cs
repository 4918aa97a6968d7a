using Aigc.MLNet.Transforms.Serving;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace Aigc.MLNet.Transforms.Images;

// Row classes and CustomMapping factories behind the image transforms. Property names are fixed (CustomMapping does not
// save schema definitions); ConfiguredMapping copies the user's columns to and from them. Public only because ML.NET
// binds CustomMapping rows by reflection; use the transforms in ImageTransformsCatalog instead.

/// <summary>Mapping input: a seed.</summary>
public sealed class SeedRow
{
    /// <summary>Encoded configuration.</summary>
    public string AigcConfig { get; set; } = "";
    /// <summary>Seed of the latent vector.</summary>
    public int AigcSeed { get; set; }
}

/// <summary>Mapping input: a seed and a class label.</summary>
public sealed class SeedLabelRow
{
    /// <summary>Encoded configuration.</summary>
    public string AigcConfig { get; set; } = "";
    /// <summary>Seed of the latent vector.</summary>
    public int AigcSeed { get; set; }
    /// <summary>Class (digit) to generate.</summary>
    public int AigcLabel { get; set; }
}

/// <summary>Mapping input: an image.</summary>
public sealed class PixelsRow
{
    /// <summary>Encoded configuration.</summary>
    public string AigcConfig { get; set; } = "";
    /// <summary>28x28 pixels in [0, 1].</summary>
    [VectorType(ImageTransformsCatalog.MnistPixelCount)]
    public float[] AigcPixels { get; set; } = [];
}

/// <summary>Mapping input: a latent vector.</summary>
public sealed class LatentRow
{
    /// <summary>Encoded configuration.</summary>
    public string AigcConfig { get; set; } = "";
    /// <summary>Latent vector.</summary>
    [VectorType]
    public float[] AigcLatent { get; set; } = [];
}

/// <summary>Mapping output: an image.</summary>
public sealed class ImageRow
{
    /// <summary>28x28 pixels in [0, 1].</summary>
    [VectorType(ImageTransformsCatalog.MnistPixelCount)]
    public float[] AigcImage { get; set; } = [];
}

/// <summary>Mapping output: a latent Gaussian.</summary>
public sealed class LatentGaussianRow
{
    /// <summary>Posterior mean.</summary>
    [VectorType]
    public float[] AigcMean { get; set; } = [];
    /// <summary>Posterior log-variance.</summary>
    [VectorType]
    public float[] AigcLogVariance { get; set; } = [];
}

/// <summary>Seed → image through a GAN generator or a diffusion model (sampling loop over the ONNX denoiser).</summary>
[CustomMappingFactoryAttribute(ContractName)]
public sealed class GenerateImagesMapping : CustomMappingFactory<SeedRow, ImageRow>
{
    /// <summary>Contract name stored in saved models.</summary>
    public const string ContractName = "Aigc.MLNet.Images.GenerateImages";

    /// <inheritdoc/>
    public override Action<SeedRow, ImageRow> GetMapping() => static (input, output) =>
    {
        ImageModelRuntime.Use(input.AigcConfig, runtime =>
        {
            output.AigcImage = new float[runtime.Config.PixelCount];
            if (runtime.IsDiffusion)
            {
                runtime.GenerateDiffusion([input.AigcSeed], [], output.AigcImage);
                return true;
            }
            var z = LatentSampler.Sample(input.AigcSeed, runtime.Config.LatentSize);
            runtime.Generate(z, [], 1, output.AigcImage);
            return true;
        });
    };
}

/// <summary>Seed + label → image through a conditional GAN generator or a conditional diffusion model.</summary>
[CustomMappingFactoryAttribute(ContractName)]
public sealed class GenerateConditionalImagesMapping : CustomMappingFactory<SeedLabelRow, ImageRow>
{
    /// <summary>Contract name stored in saved models.</summary>
    public const string ContractName = "Aigc.MLNet.Images.GenerateConditionalImages";

    /// <inheritdoc/>
    public override Action<SeedLabelRow, ImageRow> GetMapping() => static (input, output) =>
    {
        ImageModelRuntime.Use(input.AigcConfig, runtime =>
        {
            var config = runtime.Config;
            if ((uint)input.AigcLabel >= (uint)config.ClassCount)
                throw new InvalidOperationException(
                    $"Column '{config.LabelColumn}': label {input.AigcLabel} is outside 0..{config.ClassCount - 1}.");
            output.AigcImage = new float[config.PixelCount];
            if (runtime.IsDiffusion)
            {
                runtime.GenerateDiffusion([input.AigcSeed], [input.AigcLabel], output.AigcImage);
                return true;
            }
            var z = LatentSampler.Sample(input.AigcSeed, config.LatentSize);
            runtime.Generate(z, [input.AigcLabel], 1, output.AigcImage);
            return true;
        });
    };
}

/// <summary>Image → posterior mean and log-variance through a VAE encoder.</summary>
[CustomMappingFactoryAttribute(ContractName)]
public sealed class EncodeLatentMapping : CustomMappingFactory<PixelsRow, LatentGaussianRow>
{
    /// <summary>Contract name stored in saved models.</summary>
    public const string ContractName = "Aigc.MLNet.Images.EncodeLatent";

    /// <inheritdoc/>
    public override Action<PixelsRow, LatentGaussianRow> GetMapping() => static (input, output) =>
    {
        ImageModelRuntime.Use(input.AigcConfig, runtime =>
        {
            ImageMappingChecks.Pixels(input.AigcPixels, runtime.Config);
            output.AigcMean = new float[runtime.Config.LatentSize];
            output.AigcLogVariance = new float[runtime.Config.LatentSize];
            runtime.Encode(input.AigcPixels, 1, output.AigcMean, output.AigcLogVariance);
            return true;
        });
    };
}

/// <summary>Latent vector → image through a VAE decoder.</summary>
[CustomMappingFactoryAttribute(ContractName)]
public sealed class DecodeLatentMapping : CustomMappingFactory<LatentRow, ImageRow>
{
    /// <summary>Contract name stored in saved models.</summary>
    public const string ContractName = "Aigc.MLNet.Images.DecodeLatent";

    /// <inheritdoc/>
    public override Action<LatentRow, ImageRow> GetMapping() => static (input, output) =>
    {
        ImageModelRuntime.Use(input.AigcConfig, runtime =>
        {
            var config = runtime.Config;
            if (input.AigcLatent.Length != config.LatentSize)
                throw new InvalidOperationException(
                    $"Column '{config.InputColumn}': expected a latent vector of {config.LatentSize} values, found {input.AigcLatent.Length}.");
            foreach (float v in input.AigcLatent)
                if (!float.IsFinite(v))
                    throw new InvalidOperationException($"Column '{config.InputColumn}': latent vector holds a non-finite value ({v}).");
            output.AigcImage = new float[config.PixelCount];
            runtime.Decode(input.AigcLatent, 1, output.AigcImage);
            return true;
        });
    };
}

/// <summary>Image → reconstruction through a VAE (encoder mean, then decoder).</summary>
[CustomMappingFactoryAttribute(ContractName)]
public sealed class ReconstructMapping : CustomMappingFactory<PixelsRow, ImageRow>
{
    /// <summary>Contract name stored in saved models.</summary>
    public const string ContractName = "Aigc.MLNet.Images.Reconstruct";

    /// <inheritdoc/>
    public override Action<PixelsRow, ImageRow> GetMapping() => static (input, output) =>
    {
        ImageModelRuntime.Use(input.AigcConfig, runtime =>
        {
            ImageMappingChecks.Pixels(input.AigcPixels, runtime.Config);
            Span<float> mean = stackalloc float[runtime.Config.LatentSize];
            Span<float> logVariance = stackalloc float[runtime.Config.LatentSize];
            runtime.Encode(input.AigcPixels, 1, mean, logVariance);
            output.AigcImage = new float[runtime.Config.PixelCount];
            runtime.Decode(mean, 1, output.AigcImage);
            return true;
        });
    };
}

internal static class ImageMappingChecks
{
    public static void Pixels(float[] pixels, ImageServingConfig config)
    {
        if (pixels.Length != config.PixelCount)
            throw new InvalidOperationException(
                $"Column '{config.InputColumn}': expected {config.PixelCount} pixels, found {pixels.Length}.");
        for (int i = 0; i < pixels.Length; i++)
            if (!float.IsFinite(pixels[i]))
                throw new InvalidOperationException($"Column '{config.InputColumn}': pixel {i} is {pixels[i]} (expected a finite value in [0, 1]).");
    }
}
