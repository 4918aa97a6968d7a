using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Transforms.Serving;
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
    /// <param name="embedModel">Saved pipelines carry the model's files (see <see cref="GenerateTextOptions.EmbedModel"/>).</param>
    public static GenerateTextEstimator GenerateText(this TransformsCatalog catalog, string outputColumnName, string inputColumnName,
        string modelPath, GenerationOptions? generation = null, int batchSize = 1, bool embedModel = false)
        => catalog.GenerateText(new GenerateTextOptions
        {
            OutputColumnName = outputColumnName,
            InputColumnName = inputColumnName,
            ModelPath = modelPath,
            Generation = generation ?? new GenerationOptions(),
            BatchSize = batchSize,
            EmbedModel = embedModel,
        });

    /// <summary>Generates a completion for each prompt; every option in one object.</summary>
    /// <param name="catalog">The transforms catalog (the chain is built from it, so its context's log and seed apply).</param>
    /// <param name="options">Columns, model, decoding controls, batching, session and saving options.</param>
    public static GenerateTextEstimator GenerateText(this TransformsCatalog catalog, GenerateTextOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new GenerateTextEstimator(catalog, options);
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
        ArgumentException.ThrowIfNullOrEmpty(tokenizerFolder);
        return catalog.TokenizeText(new TokenizeTextOptions
        {
            OutputColumnName = outputColumnName, InputColumnName = inputColumnName, TokenizerFolder = tokenizerFolder, CountColumnName = countColumnName,
        });
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
        ArgumentNullException.ThrowIfNull(tokenizer);
        return catalog.TokenizeText(new TokenizeTextOptions
        {
            OutputColumnName = outputColumnName, InputColumnName = inputColumnName, Tokenizer = tokenizer, TokenizerName = name,
        });
    }

    /// <summary>Tokenizes a String column; every option in one object.</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="options">Columns, and the tokenizer folder or instance.</param>
    public static TokenizeTextEstimator TokenizeText(this TransformsCatalog catalog, TokenizeTextOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        var config = TokenizerFor("TokenizeText", options.TokenizerFolder, options.Tokenizer, options.TokenizerName, options.InputColumnName, options.ModelSearchPaths);
        return new TokenizeTextEstimator(catalog, config, options.OutputColumnName, options.InputColumnName, options.CountColumnName);
    }

    /// <summary>Decodes a vector of Int32 token ids with the tokenizer files of a model folder.</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Text column (String).</param>
    /// <param name="inputColumnName">Token ids column (variable-length vector of Int32).</param>
    /// <param name="tokenizerFolder">A folder with vocab.json + merges.txt (GPT-2) or a character vocab.json.</param>
    public static DetokenizeTextEstimator DetokenizeText(this TransformsCatalog catalog, string outputColumnName, string inputColumnName, string tokenizerFolder)
    {
        ArgumentException.ThrowIfNullOrEmpty(tokenizerFolder);
        return catalog.DetokenizeText(new DetokenizeTextOptions
        {
            OutputColumnName = outputColumnName, InputColumnName = inputColumnName, TokenizerFolder = tokenizerFolder,
        });
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
        ArgumentNullException.ThrowIfNull(tokenizer);
        return catalog.DetokenizeText(new DetokenizeTextOptions
        {
            OutputColumnName = outputColumnName, InputColumnName = inputColumnName, Tokenizer = tokenizer, TokenizerName = name,
        });
    }

    /// <summary>Decodes a vector of Int32 token ids; every option in one object.</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="options">Columns, and the tokenizer folder or instance.</param>
    public static DetokenizeTextEstimator DetokenizeText(this TransformsCatalog catalog, DetokenizeTextOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        var config = TokenizerFor("DetokenizeText", options.TokenizerFolder, options.Tokenizer, options.TokenizerName, options.InputColumnName, options.ModelSearchPaths);
        return new DetokenizeTextEstimator(catalog, config, options.OutputColumnName, options.InputColumnName);
    }

    private static TokenizerConfig TokenizerFor(string transform, string? folder, Tokenizer? tokenizer, string? name, string column, string[]? searchPaths)
    {
        ArgumentException.ThrowIfNullOrEmpty(column, "options.InputColumnName");
        if ((folder is null) == (tokenizer is null))
            throw new ArgumentException($"{transform}: set exactly one of TokenizerFolder and Tokenizer.", "options");
        if (tokenizer is not null)
            return TokenizerConfig.ForRegistered(Register(tokenizer, name), column);
        ArgumentException.ThrowIfNullOrWhiteSpace(folder, "options.TokenizerFolder");
        return TokenizerConfig.ForFolder(folder, column, transform, ModelSearch.Validate(searchPaths, "options.ModelSearchPaths"), embed: false);
    }

    private static string Register(Tokenizer tokenizer, string? name)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        name ??= tokenizer.GetType().FullName!;
        TokenizerRegistry.Register(name, tokenizer);
        return name;
    }
}
