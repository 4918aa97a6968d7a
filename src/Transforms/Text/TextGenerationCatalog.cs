using Aigc.MLNet.Onnx.Generation;
using Microsoft.ML;
using Microsoft.ML.Tokenizers;

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

    /// <summary>Tokenizes a String column with the tokenizer files of a model folder (GPT-2 BPE or character vocabulary).</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Token ids column (variable-length vector of Int32).</param>
    /// <param name="inputColumnName">Text column (String).</param>
    /// <param name="tokenizerFolder">A folder with vocab.json + merges.txt (GPT-2) or a character vocab.json.</param>
    /// <param name="countColumnName">Optional Int32 column with the number of ids.</param>
    public static TokenizeTextEstimator TokenizeText(this TransformsCatalog catalog, string outputColumnName, string inputColumnName,
        string tokenizerFolder, string? countColumnName = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentException.ThrowIfNullOrEmpty(tokenizerFolder);
        return new TokenizeTextEstimator(TokenizerConfig.ForFolder(tokenizerFolder, inputColumnName), outputColumnName, inputColumnName, countColumnName);
    }

    /// <summary>Tokenizes a String column with any tokenizer, registered under <paramref name="name"/> for saved pipelines.</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Token ids column (variable-length vector of Int32).</param>
    /// <param name="inputColumnName">Text column (String).</param>
    /// <param name="tokenizer">The tokenizer.</param>
    /// <param name="name">Name under which it is registered in <see cref="TokenizerRegistry"/> (saved pipelines need it registered again); defaults to its type name.</param>
    public static TokenizeTextEstimator TokenizeText(this TransformsCatalog catalog, string outputColumnName, string inputColumnName,
        Tokenizer tokenizer, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        name = Register(tokenizer, name);
        return new TokenizeTextEstimator(TokenizerConfig.ForRegistered(name, inputColumnName), outputColumnName, inputColumnName, null);
    }

    /// <summary>Decodes a vector of Int32 token ids with the tokenizer files of a model folder.</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Text column (String).</param>
    /// <param name="inputColumnName">Token ids column (variable-length vector of Int32).</param>
    /// <param name="tokenizerFolder">A folder with vocab.json + merges.txt (GPT-2) or a character vocab.json.</param>
    public static DetokenizeTextEstimator DetokenizeText(this TransformsCatalog catalog, string outputColumnName, string inputColumnName, string tokenizerFolder)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentException.ThrowIfNullOrEmpty(tokenizerFolder);
        return new DetokenizeTextEstimator(TokenizerConfig.ForFolder(tokenizerFolder, inputColumnName), outputColumnName, inputColumnName);
    }

    /// <summary>Decodes a vector of Int32 token ids with any tokenizer, registered under <paramref name="name"/> for saved pipelines.</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Text column (String).</param>
    /// <param name="inputColumnName">Token ids column (variable-length vector of Int32).</param>
    /// <param name="tokenizer">The tokenizer.</param>
    /// <param name="name">Name under which it is registered in <see cref="TokenizerRegistry"/>; defaults to its type name.</param>
    public static DetokenizeTextEstimator DetokenizeText(this TransformsCatalog catalog, string outputColumnName, string inputColumnName,
        Tokenizer tokenizer, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        name = Register(tokenizer, name);
        return new DetokenizeTextEstimator(TokenizerConfig.ForRegistered(name, inputColumnName), outputColumnName, inputColumnName);
    }

    private static string Register(Tokenizer tokenizer, string? name)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        name ??= tokenizer.GetType().FullName!;
        TokenizerRegistry.Register(name, tokenizer);
        return name;
    }

    /// <summary>
    /// A context for building the saveable chains behind these transforms. ML.NET keeps a catalog's own context internal;
    /// the chains use no randomness and no catalog lookups while building, so a private context gives the same pipeline.
    /// </summary>
    internal static MLContext BuilderContext() => new(seed: 0);
}
