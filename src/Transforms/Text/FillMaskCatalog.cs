using Microsoft.ML;

namespace Aigc.MLNet.Transforms.Text;

/// <summary>Catalog extensions for masked-language-model inference (<c>mlContext.Transforms.FillMask(...)</c>).</summary>
public static class FillMaskCatalog
{
    /// <summary>
    /// For text with mask tokens, the <paramref name="topK"/> most probable tokens of every mask and their probabilities. See
    /// <see cref="FillMaskEstimator"/> for the columns.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Candidates column (vector of String: topK per mask, mask by mask).</param>
    /// <param name="inputColumnName">Text column (String) containing the mask token.</param>
    /// <param name="modelPath">Masked-LM model folder written by <c>mlContext.Generative().Trainers.MaskedLanguageModel</c>.</param>
    /// <param name="topK">Candidates per mask.</param>
    /// <param name="probabilitiesColumnName">Probabilities column (vector of Single aligned with the candidates); null leaves it out.</param>
    /// <param name="embedModel">Saved pipelines carry the model's files (see <see cref="FillMaskOptions.EmbedModel"/>).</param>
    public static FillMaskEstimator FillMask(this TransformsCatalog catalog, string outputColumnName, string inputColumnName, string modelPath,
        int topK = 5, string? probabilitiesColumnName = "Probabilities", bool embedModel = false)
        => catalog.FillMask(new FillMaskOptions
        {
            OutputColumnName = outputColumnName, InputColumnName = inputColumnName, ModelPath = modelPath, TopK = topK,
            ProbabilitiesColumnName = probabilitiesColumnName, EmbedModel = embedModel,
        });

    /// <summary>FillMask with every option in one object.</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="options">Columns, model folder, topK and session options.</param>
    public static FillMaskEstimator FillMask(this TransformsCatalog catalog, FillMaskOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new FillMaskEstimator(catalog, options);
    }
}
