using Aigc.MLNet.Transforms.Serving;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Transforms.Text;

/// <summary>
/// For text containing mask tokens, outputs the most probable tokens for every mask with their probabilities, using a
/// masked (BERT-style) language model exported to ONNX and served by ONNX Runtime.
/// </summary>
/// <remarks>
/// | Column | Type | Content |
/// | --- | --- | --- |
/// | input | String | text with the model's mask token (e.g. "[MASK]") zero or more times |
/// | output (candidates) | vector of String (variable length) | TopK candidates per mask, mask by mask in text order, most probable first: entry m·TopK + j is candidate j of mask m |
/// | probabilities (optional) | vector of Single (variable length) | the candidates' softmax probabilities, aligned with the candidates |
/// A text without a mask token (or empty/missing) gives empty vectors. A text longer than the model's context, or with a
/// character outside a character vocabulary, fails with an error naming the column. The mask token is never a candidate.
/// Saved pipelines record the model folder and the SHA-256 of every file it reads (found again as
/// <see cref="Serving.ModelSearch"/> describes; with <see cref="FillMaskOptions.EmbedModel"/> the files travel in the zip).
/// Load them after <c>mlContext.ComponentCatalog.RegisterAssembly(typeof(FillMaskCatalog).Assembly)</c>.
/// </remarks>
public sealed class FillMaskEstimator : IEstimator<FillMaskTransformer>
{
    private readonly TransformsCatalog _catalog;
    private readonly FillMaskOptions _options;
    private readonly FillMaskConfig _config;
    private readonly string _encoded;
    private readonly IEstimator<ITransformer> _chain;
    private ServingLease<FillMaskRuntime>? _pendingLease;

    internal FillMaskEstimator(TransformsCatalog catalog, FillMaskOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        Validate(options);
        _catalog = catalog;
        _options = options;
        (_config, _encoded, _pendingLease) = FillMaskRuntime.Prepare(options);
        _chain = Chain(catalog, _encoded, options, carrier: null);
    }

    /// <summary>Checks the text column and trains nothing: returns the transformer (it keeps the model loaded until disposed).</summary>
    /// <param name="input">Data with the text column.</param>
    public FillMaskTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        ColumnChecks.Text(input.Schema, _options.InputColumnName, "FillMask");
        var lease = Interlocked.Exchange(ref _pendingLease, null) ?? FillMaskRuntime.Acquire(_encoded);
        try
        {
            var (catalog, encoded, options) = (_catalog, _encoded, _options);
            var served = new ServedChain(_chain.Fit(input), input.Schema, _config.Source, carrier => Chain(catalog, encoded, options, carrier), lease,
                () => FillMaskRuntime.Acquire(encoded));
            return new FillMaskTransformer(served, _options.InputColumnName);
        }
        catch
        {
            lease.Dispose();
            throw;
        }
    }

    private static IEstimator<ITransformer> Chain(TransformsCatalog catalog, string encoded, FillMaskOptions options, EmbeddedModelCarrier? carrier)
    {
        var outputs = new List<(string Property, string Column)> { (FillMaskMapping.CandidatesProperty, options.OutputColumnName) };
        bool probabilities = !string.IsNullOrEmpty(options.ProbabilitiesColumnName);
        if (probabilities)
            outputs.Add((FillMaskMapping.ProbabilitiesProperty, options.ProbabilitiesColumnName!));
        var chain = ConfiguredMapping.Create(catalog, encoded, new FillMaskMapping(), FillMaskMapping.ContractName,
            [(options.InputColumnName, FillMaskMapping.TextProperty)], outputs, carrier);
        return probabilities ? chain : chain.Append(catalog.DropColumns(FillMaskMapping.ProbabilitiesProperty));
    }

    /// <summary>The schema after the transform; fails when the text column is missing or not String.</summary>
    /// <param name="inputSchema">The input schema shape.</param>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ColumnChecks.Text(inputSchema, _options.InputColumnName, "FillMask");
        return _chain.GetOutputSchema(inputSchema);
    }

    private static void Validate(FillMaskOptions o)
    {
        ArgumentException.ThrowIfNullOrEmpty(o.InputColumnName, "options.InputColumnName");
        ArgumentException.ThrowIfNullOrEmpty(o.OutputColumnName, "options.OutputColumnName");
        if (string.IsNullOrWhiteSpace(o.ModelPath))
            throw new ArgumentException("FillMaskOptions.ModelPath must name a masked-LM model folder.", "options.ModelPath");
        if (!Directory.Exists(o.ModelPath))
            throw new DirectoryNotFoundException($"FillMask: model folder '{o.ModelPath}' was not found.");
        ModelSearch.Validate(o.ModelSearchPaths, "options.ModelSearchPaths");
        if (o.TopK < 1)
            throw new ArgumentOutOfRangeException("options.TopK", o.TopK, "FillMaskOptions.TopK must be at least 1.");
        if (o.IntraOpNumThreads < 0)
            throw new ArgumentOutOfRangeException("options.IntraOpNumThreads", o.IntraOpNumThreads, "FillMaskOptions.IntraOpNumThreads must be 0 or positive.");
        if (o.ProbabilitiesColumnName == o.OutputColumnName)
            throw new ArgumentException($"FillMask output columns must differ: both are '{o.OutputColumnName}'.", "options.ProbabilitiesColumnName");
    }
}
