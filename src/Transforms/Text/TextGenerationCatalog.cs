using Aigc.MLNet.Onnx.Generation;
using Microsoft.ML;

namespace Aigc.MLNet.Transforms.Text;

/// <summary>Catalog extensions for text generation and tokenization in ML.NET pipelines.</summary>
public static class TextGenerationCatalog
{
    /// <summary>
    /// Generates a completion for each prompt with a causal language model exported to ONNX. See
    /// <see cref="GenerateTextEstimator"/> for the columns.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Completion column (String).</param>
    /// <param name="inputColumnName">Prompt column (String).</param>
    /// <param name="modelPath">Model folder or .onnx file.</param>
    /// <param name="generation">Decoding controls (Hugging Face <c>generate()</c> semantics); null for greedy search of 20 new tokens.</param>
    /// <param name="batchSize">Rows generated together; does not change results.</param>
    public static GenerateTextEstimator GenerateText(this TransformsCatalog catalog, string outputColumnName, string inputColumnName,
        string modelPath, GenerationOptions? generation = null, int batchSize = 1)
        => catalog.GenerateText(new GenerateTextOptions
        {
            OutputColumnName = outputColumnName,
            InputColumnName = inputColumnName,
            ModelPath = modelPath,
            Generation = generation ?? new GenerationOptions(),
            BatchSize = batchSize,
        });

    /// <summary>Generates a completion for each prompt; every option in one object.</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="options">Columns, model, decoding controls, batching and session options.</param>
    public static GenerateTextEstimator GenerateText(this TransformsCatalog catalog, GenerateTextOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new GenerateTextEstimator(BuilderContext(), options);
    }

    /// <summary>
    /// A context for building the saveable chains behind these transforms. ML.NET keeps a catalog's own context internal;
    /// the chains use no randomness and no catalog lookups while building, so a private context gives the same pipeline.
    /// </summary>
    internal static MLContext BuilderContext() => new(seed: 0);
}
