using Aigc.MLNet.Transforms.Serving;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Transforms.Images;

/// <summary>
/// Catalog extensions that serve trained image models (a folder with <c>model.json</c> and ONNX files, written by the
/// GAN and VAE trainers) as ML.NET transforms running on ONNX Runtime.
/// </summary>
public static class ImageTransformsCatalog
{
    /// <summary>Pixels of a 28x28 MNIST image.</summary>
    public const int MnistPixelCount = 784;

    /// <summary>Generates one image per row from a seed (and a class label for a conditional GAN or diffusion model).</summary>
    /// <remarks>
    /// For a diffusion model folder the seed names x_T and the step noise, and the sampling loop (DDIM or DDPM, see
    /// <see cref="GenerateImagesOptions"/>) runs over the ONNX denoiser, one row at a time.
    /// | Column | Direction | Type |
    /// | --- | --- | --- |
    /// | seedColumnName | input | Int32 (same seed, same image: <see cref="LatentSampler"/>) |
    /// | labelColumnName | input (conditional GAN only) | Int32 class 0..ClassCount-1 |
    /// | outputColumnName | output | Vector&lt;Single, 784&gt; in [0, 1] |
    /// </remarks>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="modelFolder">Folder written by a GAN or diffusion trainer.</param>
    /// <param name="outputColumnName">Image column.</param>
    /// <param name="seedColumnName">Seed column.</param>
    /// <param name="labelColumnName">Label column; required for a conditional GAN, must be null otherwise.</param>
    public static ImageModelEstimator GenerateImages(this TransformsCatalog catalog, string modelFolder,
        string outputColumnName = "Image", string seedColumnName = "Seed", string? labelColumnName = null) =>
        GenerateImages(catalog, new GenerateImagesOptions
        {
            ModelFolder = modelFolder, OutputColumnName = outputColumnName, SeedColumnName = seedColumnName, LabelColumnName = labelColumnName,
        });

    /// <summary>Generates one image per row from a seed (and a class label for a conditional GAN).</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="options">Options.</param>
    public static ImageModelEstimator GenerateImages(this TransformsCatalog catalog, GenerateImagesOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        var manifest = LoadManifest(options.ModelFolder, nameof(options.ModelFolder));
        if (manifest.GeneratorFile is null && !manifest.IsDiffusion)
            throw new ArgumentException($"The model in '{options.ModelFolder}' ({manifest.Kind}) has no generator; GenerateImages needs a GAN or diffusion folder.", nameof(options));
        bool conditional = manifest.ClassCount > 0;
        string family = manifest.IsDiffusion ? "diffusion model" : "GAN";
        if (conditional && options.LabelColumnName is null)
            throw new ArgumentException($"The model in '{options.ModelFolder}' is a conditional {family} with {manifest.ClassCount} classes: set LabelColumnName.", nameof(options));
        if (!conditional && options.LabelColumnName is not null)
            throw new ArgumentException($"The model in '{options.ModelFolder}' is not conditional: LabelColumnName must be null.", nameof(options));
        if (!manifest.IsDiffusion) ImageModelContract.VerifyFolder(options.ModelFolder, manifest, generator: true, encoder: false, decoder: false);
        var config = ImageServingConfig.From(options.ModelFolder, manifest, options.SeedColumnName, options.LabelColumnName);
        config.IntraOpThreads = options.IntraOpThreads;
        if (manifest.IsDiffusion)
        {
            var sampling = new DiffusionSamplingOptions
            {
                Sampler = options.Sampler, Steps = options.SamplingSteps, Eta = options.Eta, GuidanceScale = options.GuidanceScale,
            };
            sampling.Validate(manifest.CreateNoiseSchedule().Timesteps, manifest.ClassCount);
            (config.Sampler, config.SamplingSteps, config.Eta, config.GuidanceScale) = (options.Sampler, options.SamplingSteps, options.Eta, options.GuidanceScale);
        }
        string encoded = ConfiguredMapping.EncodeConfig(config);
        var ml = new MLContext();
        var outputs = new[] { (nameof(ImageRow.AigcImage), options.OutputColumnName) };
        var inputs = new List<ImageModelEstimator.ExpectedColumn> { new(options.SeedColumnName, nameof(options.SeedColumnName), NumberDataViewType.Int32, -1) };
        IEstimator<ITransformer> inner;
        if (conditional)
        {
            inputs.Add(new(options.LabelColumnName!, nameof(options.LabelColumnName), NumberDataViewType.Int32, -1));
            inner = ConfiguredMapping.Create(ml, encoded, new GenerateConditionalImagesMapping(), GenerateConditionalImagesMapping.ContractName,
                [(options.SeedColumnName, nameof(SeedLabelRow.AigcSeed)), (options.LabelColumnName!, nameof(SeedLabelRow.AigcLabel))], outputs);
        }
        else
        {
            inner = ConfiguredMapping.Create(ml, encoded, new GenerateImagesMapping(), GenerateImagesMapping.ContractName,
                [(options.SeedColumnName, nameof(SeedRow.AigcSeed))], outputs);
        }
        return new ImageModelEstimator(inner, inputs);
    }

    /// <summary>Encodes images into the VAE's posterior mean and log-variance.</summary>
    /// <remarks>
    /// | Column | Direction | Type |
    /// | --- | --- | --- |
    /// | inputColumnName | input | Vector&lt;Single, 784&gt; in [0, 1] |
    /// | meanColumnName | output | Vector&lt;Single&gt; (latent size) |
    /// | logVarianceColumnName | output | Vector&lt;Single&gt; (latent size) |
    /// </remarks>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="modelFolder">Folder written by a VAE trainer.</param>
    /// <param name="meanColumnName">Mean column.</param>
    /// <param name="logVarianceColumnName">Log-variance column.</param>
    /// <param name="inputColumnName">Pixel column.</param>
    public static ImageModelEstimator EncodeLatent(this TransformsCatalog catalog, string modelFolder,
        string meanColumnName = "LatentMean", string logVarianceColumnName = "LatentLogVariance", string inputColumnName = "Pixels") =>
        EncodeLatent(catalog, new EncodeLatentOptions
        {
            ModelFolder = modelFolder, MeanColumnName = meanColumnName, LogVarianceColumnName = logVarianceColumnName, InputColumnName = inputColumnName,
        });

    /// <summary>Encodes images into the VAE's posterior mean and log-variance.</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="options">Options.</param>
    public static ImageModelEstimator EncodeLatent(this TransformsCatalog catalog, EncodeLatentOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        var (manifest, encoded) = Vae(options.ModelFolder, options.InputColumnName, options.IntraOpThreads, needEncoder: true, needDecoder: false);
        var inner = ConfiguredMapping.Create(new MLContext(), encoded, new EncodeLatentMapping(), EncodeLatentMapping.ContractName,
            [(options.InputColumnName, nameof(PixelsRow.AigcPixels))],
            [(nameof(LatentGaussianRow.AigcMean), options.MeanColumnName), (nameof(LatentGaussianRow.AigcLogVariance), options.LogVarianceColumnName)]);
        return new ImageModelEstimator(inner, [new(options.InputColumnName, nameof(options.InputColumnName), NumberDataViewType.Single, manifest.PixelCount)]);
    }

    /// <summary>Decodes latent vectors into images with the VAE's decoder.</summary>
    /// <remarks>
    /// | Column | Direction | Type |
    /// | --- | --- | --- |
    /// | inputColumnName | input | Vector&lt;Single, latent size&gt; |
    /// | outputColumnName | output | Vector&lt;Single, 784&gt; in [0, 1] |
    /// </remarks>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="modelFolder">Folder written by a VAE trainer.</param>
    /// <param name="outputColumnName">Image column.</param>
    /// <param name="inputColumnName">Latent column.</param>
    public static ImageModelEstimator DecodeLatent(this TransformsCatalog catalog, string modelFolder,
        string outputColumnName = "Image", string inputColumnName = "Latent") =>
        DecodeLatent(catalog, new DecodeLatentOptions { ModelFolder = modelFolder, OutputColumnName = outputColumnName, InputColumnName = inputColumnName });

    /// <summary>Decodes latent vectors into images with the VAE's decoder.</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="options">Options.</param>
    public static ImageModelEstimator DecodeLatent(this TransformsCatalog catalog, DecodeLatentOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        var (manifest, encoded) = Vae(options.ModelFolder, options.InputColumnName, options.IntraOpThreads, needEncoder: false, needDecoder: true);
        var inner = ConfiguredMapping.Create(new MLContext(), encoded, new DecodeLatentMapping(), DecodeLatentMapping.ContractName,
            [(options.InputColumnName, nameof(LatentRow.AigcLatent))], [(nameof(ImageRow.AigcImage), options.OutputColumnName)]);
        return new ImageModelEstimator(inner, [new(options.InputColumnName, nameof(options.InputColumnName), NumberDataViewType.Single, manifest.LatentSize)]);
    }

    /// <summary>Reconstructs images through the VAE (decoder of the encoder's mean).</summary>
    /// <remarks>
    /// | Column | Direction | Type |
    /// | --- | --- | --- |
    /// | inputColumnName | input | Vector&lt;Single, 784&gt; in [0, 1] |
    /// | outputColumnName | output | Vector&lt;Single, 784&gt; in [0, 1] |
    /// </remarks>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="modelFolder">Folder written by a VAE trainer.</param>
    /// <param name="outputColumnName">Reconstruction column.</param>
    /// <param name="inputColumnName">Pixel column.</param>
    public static ImageModelEstimator Reconstruct(this TransformsCatalog catalog, string modelFolder,
        string outputColumnName = "Reconstruction", string inputColumnName = "Pixels") =>
        Reconstruct(catalog, new ReconstructOptions { ModelFolder = modelFolder, OutputColumnName = outputColumnName, InputColumnName = inputColumnName });

    /// <summary>Reconstructs images through the VAE (decoder of the encoder's mean).</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="options">Options.</param>
    public static ImageModelEstimator Reconstruct(this TransformsCatalog catalog, ReconstructOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        var (manifest, encoded) = Vae(options.ModelFolder, options.InputColumnName, options.IntraOpThreads, needEncoder: true, needDecoder: true);
        var inner = ConfiguredMapping.Create(new MLContext(), encoded, new ReconstructMapping(), ReconstructMapping.ContractName,
            [(options.InputColumnName, nameof(PixelsRow.AigcPixels))], [(nameof(ImageRow.AigcImage), options.OutputColumnName)]);
        return new ImageModelEstimator(inner, [new(options.InputColumnName, nameof(options.InputColumnName), NumberDataViewType.Single, manifest.PixelCount)]);
    }

    private static ImageModelManifest LoadManifest(string folder, string option)
    {
        if (string.IsNullOrEmpty(folder))
            throw new ArgumentException("ModelFolder must name a folder written by a GAN or VAE trainer.", option);
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"ModelFolder '{folder}' does not exist.");
        var manifest = ImageModelManifest.Load(folder);
        if (manifest.PixelCount != MnistPixelCount)
            throw new NotSupportedException($"The model in '{folder}' makes {manifest.ImageWidth}x{manifest.ImageHeight} images; these transforms serve 28x28.");
        return manifest;
    }

    private static (ImageModelManifest, string) Vae(string folder, string inputColumn, int threads, bool needEncoder, bool needDecoder)
    {
        var manifest = LoadManifest(folder, "ModelFolder");
        if ((needEncoder && manifest.EncoderFile is null) || (needDecoder && manifest.DecoderFile is null))
            throw new ArgumentException($"The model in '{folder}' ({manifest.Kind}) has no {(needEncoder && manifest.EncoderFile is null ? "encoder" : "decoder")}; this transform needs a VAE folder.", "ModelFolder");
        ImageModelContract.VerifyFolder(folder, manifest, generator: false, encoder: needEncoder, decoder: needDecoder);
        var config = ImageServingConfig.From(folder, manifest, inputColumn);
        if (!needEncoder) { config.EncoderFile = null; config.EncoderSha256 = null; }
        if (!needDecoder) { config.DecoderFile = null; config.DecoderSha256 = null; }
        config.IntraOpThreads = threads;
        return (manifest, ConfiguredMapping.EncodeConfig(config));
    }
}
