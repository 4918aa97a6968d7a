using Microsoft.ML;

namespace Aigc.MLNet.Transforms;

/// <summary>Entry point of the generative catalog: <c>mlContext.Generative()</c>.</summary>
public static class GenerativeCatalogExtensions
{
    /// <summary>The generative catalog of <paramref name="mlContext"/>: trainers and evaluators (added as extension methods by their assemblies).</summary>
    public static GenerativeCatalog Generative(this MLContext mlContext)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        return new GenerativeCatalog(mlContext);
    }
}

/// <summary>
/// Generative AI in ML.NET: <see cref="Trainers"/> (GAN, VAE, language models, added by Aigc.MLNet.Trainers) and
/// <c>Evaluate...</c> methods added as extension methods on this type.
/// </summary>
public sealed class GenerativeCatalog
{
    internal GenerativeCatalog(MLContext mlContext)
    {
        Context = mlContext;
        Trainers = new GenerativeTrainers(mlContext);
        Evaluation = new Evaluation.GenerativeEvaluationCatalog(mlContext);
    }

    /// <summary>The ML.NET context the catalog belongs to.</summary>
    public MLContext Context { get; }

    /// <summary>Trainers; entry points are extension methods such as <c>Gan(options)</c> and <c>Vae(options)</c>.</summary>
    public GenerativeTrainers Trainers { get; }

    /// <summary>Evaluators: BLEU, chrF, diversity, perplexity, classifier score and FID, VAE ELBO (as <c>mlContext.Regression.Evaluate</c>).</summary>
    public Evaluation.GenerativeEvaluationCatalog Evaluation { get; }
}

/// <summary>Holder of the generative trainers; entry points are extension methods from Aigc.MLNet.Trainers.</summary>
public sealed class GenerativeTrainers
{
    internal GenerativeTrainers(MLContext mlContext) => Context = mlContext;

    /// <summary>The ML.NET context the trainers use (logging, seed).</summary>
    public MLContext Context { get; }
}
