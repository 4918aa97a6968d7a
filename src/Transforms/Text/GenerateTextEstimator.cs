using Aigc.MLNet.Transforms.Serving;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Transforms.Text;

/// <summary>
/// Generates a completion for every prompt with a causal language model exported to ONNX (GPT-2 checkpoints exported by
/// Optimum, ONNX Runtime's GPT-2 layout, or models trained and exported by this library), served by ONNX Runtime with a
/// key/value cache.
/// </summary>
/// <remarks>
/// | Column | Type | Content |
/// | --- | --- | --- |
/// | input (prompt) | String | the prompt; empty or missing starts from the model's BOS token |
/// | output (completion) | String, or vector of String when NumReturnSequences &gt; 1 | generated text (prompt excluded, cut before a stop sequence) |
/// | token ids (optional) | vector of Int32 | the first sequence's generated ids |
/// | finish reason (optional) | String | "eos", "length" or "stop" |
/// | score (optional) | Single | beam score, or the sum of log-probabilities |
/// The transformer is lazy: a cursor generates a row when asked (in groups of <see cref="GenerateTextOptions.BatchSize"/>).
/// Saved pipelines record the model folder and the SHA-256 of every file the model reads, and find the folder again as
/// <see cref="Serving.ModelSearch"/> describes; with <see cref="GenerateTextOptions.EmbedModel"/> they carry the files.
/// Load them after <c>mlContext.ComponentCatalog.RegisterAssembly(typeof(TextGenerationCatalog).Assembly)</c>.
/// </remarks>
public sealed class GenerateTextEstimator : IEstimator<GenerateTextTransformer>
{
    private readonly TransformsCatalog _catalog;
    private readonly GenerateTextOptions _options;
    private readonly GenerateTextConfig _config;
    private readonly string _encodedConfig;
    private readonly IEstimator<ITransformer> _chain;
    private ServingLease<GenerateTextRuntime>? _pendingLease;

    internal GenerateTextEstimator(TransformsCatalog catalog, GenerateTextOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        Validate(options);
        _catalog = catalog;
        _options = options;
        (_config, _encodedConfig, _pendingLease) = GenerateTextRuntime.Prepare(options);
        _chain = Chain(catalog, _encodedConfig, options, carrier: null);
    }

    /// <summary>Checks the prompt column and trains nothing: returns the transformer (it keeps the model loaded until disposed).</summary>
    /// <param name="input">Data with the prompt column.</param>
    public GenerateTextTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        CheckPromptColumn(input.Schema, _options.InputColumnName);
        // The first transformer takes over the lease taken when the estimator loaded the model; later ones take their own.
        var lease = Interlocked.Exchange(ref _pendingLease, null) ?? GenerateTextRuntime.Acquire(_encodedConfig);
        try
        {
            var catalog = _catalog;
            var options = _options;
            string encoded = _encodedConfig;
            var served = new ServedChain(_chain.Fit(input), input.Schema, _config.Source,
                carrier => Chain(catalog, encoded, options, carrier), lease, () => GenerateTextRuntime.Acquire(encoded));
            return new GenerateTextTransformer(served, encoded, _options.InputColumnName, _options.BatchSize, OutputNames(_options));
        }
        catch
        {
            lease.Dispose();
            throw;
        }
    }

    /// <summary>The schema after the transform; fails when the prompt column is missing or not String.</summary>
    /// <param name="inputSchema">The input schema shape.</param>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ColumnChecks.Text(inputSchema, _options.InputColumnName, "GenerateText");
        return _chain.GetOutputSchema(inputSchema);
    }

    internal static void CheckPromptColumn(DataViewSchema schema, string name) => ColumnChecks.Text(schema, name, "GenerateText");

    private static IEstimator<ITransformer> Chain(TransformsCatalog catalog, string encodedConfig, GenerateTextOptions options, EmbeddedModelCarrier? carrier)
    {
        var outputs = OutputNames(options);
        var unused = AllOutputProperties.Except(outputs.Select(o => o.Property)).ToArray();
        return ConfiguredMapping.Create(catalog, encodedConfig, new GenerateTextMapping(), GenerateTextMapping.ContractName,
                [(options.InputColumnName, GenerateTextMapping.PromptProperty)], outputs, carrier)
            .Append(catalog.DropColumns(unused));
    }

    private static void Validate(GenerateTextOptions o)
    {
        ArgumentException.ThrowIfNullOrEmpty(o.OutputColumnName, "options.OutputColumnName");
        ArgumentException.ThrowIfNullOrEmpty(o.InputColumnName, "options.InputColumnName");
        if (string.IsNullOrWhiteSpace(o.ModelPath))
            throw new ArgumentException("GenerateTextOptions.ModelPath must name a model folder or an .onnx file.", "options.ModelPath");
        if (!Directory.Exists(o.ModelPath) && !File.Exists(o.ModelPath))
            throw new DirectoryNotFoundException($"GenerateText: model folder or file '{o.ModelPath}' was not found.");
        ModelSearch.Validate(o.ModelSearchPaths, "options.ModelSearchPaths");
        ArgumentNullException.ThrowIfNull(o.Generation, "options.Generation");
        o.Generation.Validate();
        if (o.BatchSize < 1)
            throw new ArgumentOutOfRangeException("options.BatchSize", o.BatchSize, "GenerateTextOptions.BatchSize must be at least 1.");
        var names = OutputNames(o).Select(p => p.Column).ToList();
        if (names.Distinct(StringComparer.Ordinal).Count() != names.Count)
            throw new ArgumentException($"GenerateText output column names must differ: {string.Join(", ", names)}.", nameof(o));
    }

    internal static IReadOnlyList<(string Property, string Column)> OutputNames(GenerateTextOptions o)
    {
        var outputs = new List<(string, string)>
        {
            (o.Generation.NumReturnSequences > 1 ? GenerateTextMapping.CompletionsProperty : GenerateTextMapping.CompletionProperty, o.OutputColumnName),
        };
        if (!string.IsNullOrEmpty(o.TokenIdsColumnName)) outputs.Add((GenerateTextMapping.TokenIdsProperty, o.TokenIdsColumnName));
        if (!string.IsNullOrEmpty(o.FinishReasonColumnName)) outputs.Add((GenerateTextMapping.FinishReasonProperty, o.FinishReasonColumnName));
        if (!string.IsNullOrEmpty(o.ScoreColumnName)) outputs.Add((GenerateTextMapping.ScoreProperty, o.ScoreColumnName));
        return outputs;
    }

    private static readonly string[] AllOutputProperties =
    [
        GenerateTextMapping.CompletionProperty, GenerateTextMapping.CompletionsProperty, GenerateTextMapping.TokenIdsProperty,
        GenerateTextMapping.FinishReasonProperty, GenerateTextMapping.ScoreProperty,
    ];
}
