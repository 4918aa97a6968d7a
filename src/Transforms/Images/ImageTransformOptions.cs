namespace Aigc.MLNet.Transforms.Images;

/// <summary>Options shared by the image transforms.</summary>
public abstract class ImageTransformOptions
{
    /// <summary>
    /// Folder written by a GAN, VAE or diffusion trainer (<c>model.json</c> + ONNX files). Saved pipelines record it with the
    /// SHA-256 of every file they read and find it again as <see cref="Serving.ModelSearch"/> describes.
    /// </summary>
    public string ModelFolder { get; set; } = "";

    /// <summary>ONNX Runtime intra-op threads per session; 0 keeps ONNX Runtime's default.</summary>
    public int IntraOpThreads { get; set; }

    /// <summary>Saved pipelines carry model.json and the ONNX files inside the zip, so the zip alone loads elsewhere (see <see cref="Text.GenerateTextOptions.EmbedModel"/>).</summary>
    public bool EmbedModel { get; set; }

    /// <summary>Folders a saved pipeline searches for its model folder when the recorded one is gone (see <see cref="Serving.ModelSearch"/>).</summary>
    public string[] ModelSearchPaths { get; set; } = [];
}

/// <summary>Options of <see cref="ImageTransformsCatalog.GenerateImages(Microsoft.ML.TransformsCatalog, GenerateImagesOptions)"/>.</summary>
public sealed class GenerateImagesOptions : ImageTransformOptions
{
    /// <summary>Output image column (Vector&lt;Single, 784&gt; in [0, 1]).</summary>
    public string OutputColumnName { get; set; } = "Image";

    /// <summary>Int32 seed column; each seed names one latent vector (<see cref="LatentSampler"/>).</summary>
    public string SeedColumnName { get; set; } = "Seed";

    /// <summary>Int32 class column for a conditional GAN or diffusion model; null for an unconditional one.</summary>
    public string? LabelColumnName { get; set; }

    /// <summary>Diffusion models only: DDIM (default) or ancestral DDPM over all T steps.</summary>
    public DiffusionSamplerKind Sampler { get; set; } = DiffusionSamplerKind.Ddim;

    /// <summary>Diffusion models only: DDIM steps, 1..T (default 50).</summary>
    public int SamplingSteps { get; set; } = 50;

    /// <summary>Diffusion models only: DDIM η ≥ 0 (0: deterministic given the seed's x_T).</summary>
    public double Eta { get; set; }

    /// <summary>Diffusion models only: classifier-free guidance scale (1: plain conditional; needs a conditional model otherwise).</summary>
    public double GuidanceScale { get; set; } = 1;
}

/// <summary>Options of <see cref="ImageTransformsCatalog.EncodeLatent(Microsoft.ML.TransformsCatalog, EncodeLatentOptions)"/>.</summary>
public sealed class EncodeLatentOptions : ImageTransformOptions
{
    /// <summary>Input pixel column (Vector&lt;Single, 784&gt; in [0, 1]).</summary>
    public string InputColumnName { get; set; } = "Pixels";

    /// <summary>Output posterior mean column.</summary>
    public string MeanColumnName { get; set; } = "LatentMean";

    /// <summary>Output posterior log-variance column.</summary>
    public string LogVarianceColumnName { get; set; } = "LatentLogVariance";
}

/// <summary>Options of <see cref="ImageTransformsCatalog.DecodeLatent(Microsoft.ML.TransformsCatalog, DecodeLatentOptions)"/>.</summary>
public sealed class DecodeLatentOptions : ImageTransformOptions
{
    /// <summary>Input latent column (Vector&lt;Single, latent size&gt;).</summary>
    public string InputColumnName { get; set; } = "Latent";

    /// <summary>Output image column.</summary>
    public string OutputColumnName { get; set; } = "Image";
}

/// <summary>Options of <see cref="ImageTransformsCatalog.Reconstruct(Microsoft.ML.TransformsCatalog, ReconstructOptions)"/>.</summary>
public sealed class ReconstructOptions : ImageTransformOptions
{
    /// <summary>Input pixel column (Vector&lt;Single, 784&gt; in [0, 1]).</summary>
    public string InputColumnName { get; set; } = "Pixels";

    /// <summary>Output reconstruction column.</summary>
    public string OutputColumnName { get; set; } = "Reconstruction";
}
