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
    /// <param name="embedModel">Saved pipelines carry the model's files (see <see cref="ImageTransformOptions.EmbedModel"/>).</param>
    public static ImageModelEstimator GenerateImages(this TransformsCatalog catalog, string modelFolder,
        string outputColumnName = "Image", string seedColumnName = "Seed", string? labelColumnName = null, bool embedModel = false) =>
        GenerateImages(catalog, new GenerateImagesOptions
        {
            ModelFolder = modelFolder, OutputColumnName = outputColumnName, SeedColumnName = seedColumnName, LabelColumnName = labelColumnName,
            EmbedModel = embedModel,
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
        var config = ImageServingConfig.From(options.ModelFolder, manifest, "GenerateImages", options.SeedColumnName, options.LabelColumnName,
            generator: !manifest.IsDiffusion, denoiser: manifest.IsDiffusion, searchPaths: options.ModelSearchPaths, embed: options.EmbedModel);
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
        var outputs = new[] { (nameof(ImageRow.AigcImage), options.OutputColumnName) };
        var inputs = new List<ImageModelEstimator.ExpectedColumn> { new(options.SeedColumnName, nameof(options.SeedColumnName), NumberDataViewType.Int32, -1) };
        if (conditional)
        {
            inputs.Add(new(options.LabelColumnName!, nameof(options.LabelColumnName), NumberDataViewType.Int32, -1));
            (string, string)[] mapped = [(options.SeedColumnName, nameof(SeedLabelRow.AigcSeed)), (options.LabelColumnName!, nameof(SeedLabelRow.AigcLabel))];
            return new ImageModelEstimator(carrier => ConfiguredMapping.Create(catalog, encoded, new GenerateConditionalImagesMapping(),
                GenerateConditionalImagesMapping.ContractName, mapped, outputs, carrier), inputs, config, encoded);
        }
        (string, string)[] seedOnly = [(options.SeedColumnName, nameof(SeedRow.AigcSeed))];
        return new ImageModelEstimator(carrier => ConfiguredMapping.Create(catalog, encoded, new GenerateImagesMapping(),
            GenerateImagesMapping.ContractName, seedOnly, outputs, carrier), inputs, config, encoded);
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
    /// <param name="embedModel">Saved pipelines carry the model's files (see <see cref="ImageTransformOptions.EmbedModel"/>).</param>
    public static ImageModelEstimator EncodeLatent(this TransformsCatalog catalog, string modelFolder,
        string meanColumnName = "LatentMean", string logVarianceColumnName = "LatentLogVariance", string inputColumnName = "Pixels", bool embedModel = false) =>
        EncodeLatent(catalog, new EncodeLatentOptions
        {
            ModelFolder = modelFolder, MeanColumnName = meanColumnName, LogVarianceColumnName = logVarianceColumnName, InputColumnName = inputColumnName,
            EmbedModel = embedModel,
        });

    /// <summary>Encodes images into the VAE's posterior mean and log-variance.</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="options">Options.</param>
    public static ImageModelEstimator EncodeLatent(this TransformsCatalog catalog, EncodeLatentOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        var (manifest, config, encoded) = Vae("EncodeLatent", options, options.InputColumnName, needEncoder: true, needDecoder: false);
        (string, string)[] inputs = [(options.InputColumnName, nameof(PixelsRow.AigcPixels))];
        (string, string)[] outputs = [(nameof(LatentGaussianRow.AigcMean), options.MeanColumnName), (nameof(LatentGaussianRow.AigcLogVariance), options.LogVarianceColumnName)];
        return new ImageModelEstimator(carrier => ConfiguredMapping.Create(catalog, encoded, new EncodeLatentMapping(), EncodeLatentMapping.ContractName, inputs, outputs, carrier),
            [new(options.InputColumnName, nameof(options.InputColumnName), NumberDataViewType.Single, manifest.PixelCount)], config, encoded);
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
    /// <param name="embedModel">Saved pipelines carry the model's files (see <see cref="ImageTransformOptions.EmbedModel"/>).</param>
    public static ImageModelEstimator DecodeLatent(this TransformsCatalog catalog, string modelFolder,
        string outputColumnName = "Image", string inputColumnName = "Latent", bool embedModel = false) =>
        DecodeLatent(catalog, new DecodeLatentOptions
        {
            ModelFolder = modelFolder, OutputColumnName = outputColumnName, InputColumnName = inputColumnName, EmbedModel = embedModel,
        });

    /// <summary>Decodes latent vectors into images with the VAE's decoder.</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="options">Options.</param>
    public static ImageModelEstimator DecodeLatent(this TransformsCatalog catalog, DecodeLatentOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        var (manifest, config, encoded) = Vae("DecodeLatent", options, options.InputColumnName, needEncoder: false, needDecoder: true);
        (string, string)[] inputs = [(options.InputColumnName, nameof(LatentRow.AigcLatent))];
        (string, string)[] outputs = [(nameof(ImageRow.AigcImage), options.OutputColumnName)];
        return new ImageModelEstimator(carrier => ConfiguredMapping.Create(catalog, encoded, new DecodeLatentMapping(), DecodeLatentMapping.ContractName, inputs, outputs, carrier),
            [new(options.InputColumnName, nameof(options.InputColumnName), NumberDataViewType.Single, manifest.LatentSize)], config, encoded);
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
    /// <param name="embedModel">Saved pipelines carry the model's files (see <see cref="ImageTransformOptions.EmbedModel"/>).</param>
    public static ImageModelEstimator Reconstruct(this TransformsCatalog catalog, string modelFolder,
        string outputColumnName = "Reconstruction", string inputColumnName = "Pixels", bool embedModel = false) =>
        Reconstruct(catalog, new ReconstructOptions
        {
            ModelFolder = modelFolder, OutputColumnName = outputColumnName, InputColumnName = inputColumnName, EmbedModel = embedModel,
        });

    /// <summary>Reconstructs images through the VAE (decoder of the encoder's mean).</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="options">Options.</param>
    public static ImageModelEstimator Reconstruct(this TransformsCatalog catalog, ReconstructOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        var (manifest, config, encoded) = Vae("Reconstruct", options, options.InputColumnName, needEncoder: true, needDecoder: true);
        (string, string)[] inputs = [(options.InputColumnName, nameof(PixelsRow.AigcPixels))];
        (string, string)[] outputs = [(nameof(ImageRow.AigcImage), options.OutputColumnName)];
        return new ImageModelEstimator(carrier => ConfiguredMapping.Create(catalog, encoded, new ReconstructMapping(), ReconstructMapping.ContractName, inputs, outputs, carrier),
            [new(options.InputColumnName, nameof(options.InputColumnName), NumberDataViewType.Single, manifest.PixelCount)], config, encoded);
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

    private static (ImageModelManifest, ImageServingConfig, string) Vae(string transform, ImageTransformOptions options, string inputColumn, bool needEncoder, bool needDecoder)
    {
        string folder = options.ModelFolder;
        var manifest = LoadManifest(folder, "ModelFolder");
        if ((needEncoder && manifest.EncoderFile is null) || (needDecoder && manifest.DecoderFile is null))
            throw new ArgumentException($"The model in '{folder}' ({manifest.Kind}) has no {(needEncoder && manifest.EncoderFile is null ? "encoder" : "decoder")}; this transform needs a VAE folder.", "ModelFolder");
        ImageModelContract.VerifyFolder(folder, manifest, generator: false, encoder: needEncoder, decoder: needDecoder);
        var config = ImageServingConfig.From(folder, manifest, transform, inputColumn, encoder: needEncoder, decoder: needDecoder,
            searchPaths: options.ModelSearchPaths, embed: options.EmbedModel);
        config.IntraOpThreads = options.IntraOpThreads;
        return (manifest, config, ConfiguredMapping.EncodeConfig(config));
    }
}
