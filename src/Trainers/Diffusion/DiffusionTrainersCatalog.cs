using Aigc.MLNet.Transforms;

namespace Aigc.MLNet.Trainers.Diffusion;

/// <summary>The DDPM trainer on <c>mlContext.Generative().Trainers</c>.</summary>
public static class DiffusionTrainersCatalog
{
    /// <summary>A DDPM trainer (U-Net ε-predictor; class-conditional with classifier-free guidance when <see cref="DiffusionOptions.LabelColumnName"/> is set).</summary>
    /// <param name="catalog">The generative trainers catalog.</param>
    /// <param name="options">Options.</param>
    public static DiffusionTrainer Diffusion(this GenerativeTrainers catalog, DiffusionOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        return new DiffusionTrainer(catalog.Context, options);
    }

    /// <summary>A DDPM trainer with the common options.</summary>
    /// <param name="catalog">The generative trainers catalog.</param>
    /// <param name="modelFolder">Folder that receives the exported denoiser.</param>
    /// <param name="pixelColumnName">Training pixel column (Vector&lt;Single, 784&gt; in [0, 1]).</param>
    /// <param name="labelColumnName">Class column for a conditional model, or null.</param>
    /// <param name="epochs">Passes over the data.</param>
    /// <param name="batchSize">Rows per step.</param>
    /// <param name="baseChannels">U-Net base channels (multiple of 8).</param>
    /// <param name="timesteps">Diffusion steps T.</param>
    /// <param name="learningRate">Adam learning rate.</param>
    /// <param name="seed">Seed of the run.</param>
    public static DiffusionTrainer Diffusion(this GenerativeTrainers catalog, string modelFolder, string pixelColumnName = "Pixels",
        string? labelColumnName = null, int epochs = 1, int batchSize = 64, int baseChannels = 32, int timesteps = 1000,
        double learningRate = 2e-4, int seed = 1) =>
        Diffusion(catalog, new DiffusionOptions
        {
            ModelFolder = modelFolder, PixelColumnName = pixelColumnName, LabelColumnName = labelColumnName, Epochs = epochs,
            BatchSize = batchSize, BaseChannels = baseChannels, Timesteps = timesteps, LearningRate = learningRate, Seed = seed,
        });
}
