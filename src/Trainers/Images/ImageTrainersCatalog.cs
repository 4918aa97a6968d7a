using Aigc.MLNet.Transforms;

namespace Aigc.MLNet.Trainers.Images;

/// <summary>GAN and VAE trainers on <c>mlContext.Generative().Trainers</c>.</summary>
public static class ImageTrainersCatalog
{
    /// <summary>An MLP GAN trainer (conditional when <see cref="GanOptions.LabelColumnName"/> is set).</summary>
    /// <param name="catalog">The generative trainers catalog.</param>
    /// <param name="options">Options.</param>
    public static GanTrainer Gan(this GenerativeTrainers catalog, GanOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        return new GanTrainer(catalog.Context, options);
    }

    /// <summary>An MLP GAN trainer with the common options.</summary>
    /// <param name="catalog">The generative trainers catalog.</param>
    /// <param name="modelFolder">Folder that receives the exported generator.</param>
    /// <param name="pixelColumnName">Training pixel column (Vector&lt;Single, 784&gt;).</param>
    /// <param name="labelColumnName">Class column for a conditional GAN, or null.</param>
    /// <param name="epochs">Passes over the data.</param>
    /// <param name="batchSize">Rows per step.</param>
    /// <param name="latentSize">Size of z.</param>
    /// <param name="learningRate">Adam learning rate.</param>
    /// <param name="seed">Seed of the run.</param>
    public static GanTrainer Gan(this GenerativeTrainers catalog, string modelFolder, string pixelColumnName = "Pixels",
        string? labelColumnName = null, int epochs = 1, int batchSize = 64, int latentSize = 100, double learningRate = 2e-4, int seed = 1) =>
        Gan(catalog, new GanOptions
        {
            ModelFolder = modelFolder, PixelColumnName = pixelColumnName, LabelColumnName = labelColumnName, Epochs = epochs,
            BatchSize = batchSize, LatentSize = latentSize, LearningRate = learningRate, Seed = seed,
        });

    /// <summary>An MLP VAE trainer.</summary>
    /// <param name="catalog">The generative trainers catalog.</param>
    /// <param name="options">Options.</param>
    public static VaeTrainer Vae(this GenerativeTrainers catalog, VaeOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        return new VaeTrainer(catalog.Context, options);
    }

    /// <summary>An MLP VAE trainer with the common options.</summary>
    /// <param name="catalog">The generative trainers catalog.</param>
    /// <param name="modelFolder">Folder that receives the exported encoder and decoder.</param>
    /// <param name="pixelColumnName">Training pixel column (Vector&lt;Single, 784&gt;).</param>
    /// <param name="epochs">Passes over the data.</param>
    /// <param name="batchSize">Rows per step.</param>
    /// <param name="latentSize">Size of z.</param>
    /// <param name="learningRate">Adam learning rate.</param>
    /// <param name="seed">Seed of the run.</param>
    public static VaeTrainer Vae(this GenerativeTrainers catalog, string modelFolder, string pixelColumnName = "Pixels",
        int epochs = 10, int batchSize = 128, int latentSize = 20, double learningRate = 1e-3, int seed = 1) =>
        Vae(catalog, new VaeOptions
        {
            ModelFolder = modelFolder, PixelColumnName = pixelColumnName, Epochs = epochs, BatchSize = batchSize,
            LatentSize = latentSize, LearningRate = learningRate, Seed = seed,
        });
}
