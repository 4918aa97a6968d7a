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
/// Saved pipelines keep the model folder's path and its SHA-256, not the weights: load them where that folder is, after
/// <c>mlContext.ComponentCatalog.RegisterAssembly(typeof(FillMaskCatalog).Assembly)</c>.
/// </remarks>
public sealed class FillMaskEstimator : IEstimator<FillMaskTransformer>
{
    private readonly FillMaskOptions _options;
    private readonly IEstimator<ITransformer> _chain;

    internal FillMaskEstimator(MLContext mlContext, FillMaskOptions options)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(options);
        Validate(options);
        _options = options;
        string encoded = FillMaskRuntime.Prepare(options);
        var outputs = new List<(string Property, string Column)> { (FillMaskMapping.CandidatesProperty, options.OutputColumnName) };
        string[] unused = [FillMaskMapping.ProbabilitiesProperty];
        if (!string.IsNullOrEmpty(options.ProbabilitiesColumnName))
        {
            outputs.Add((FillMaskMapping.ProbabilitiesProperty, options.ProbabilitiesColumnName));
            unused = [];
        }
        var chain = ConfiguredMapping.Create(mlContext, encoded, new FillMaskMapping(), FillMaskMapping.ContractName,
            [(options.InputColumnName, FillMaskMapping.TextProperty)], outputs);
        _chain = unused.Length == 0 ? chain : chain.Append(mlContext.Transforms.DropColumns(unused));
    }

    /// <summary>Checks the text column and trains nothing: returns the transformer.</summary>
    /// <param name="input">Data with the text column.</param>
    public FillMaskTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        ColumnChecks.Text(input.Schema, _options.InputColumnName, "FillMask");
        return new FillMaskTransformer(_chain.Fit(input), _options.InputColumnName);
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
        if (o.TopK < 1)
            throw new ArgumentOutOfRangeException("options.TopK", o.TopK, "FillMaskOptions.TopK must be at least 1.");
        if (o.IntraOpNumThreads < 0)
            throw new ArgumentOutOfRangeException("options.IntraOpNumThreads", o.IntraOpNumThreads, "FillMaskOptions.IntraOpNumThreads must be 0 or positive.");
        if (o.ProbabilitiesColumnName == o.OutputColumnName)
            throw new ArgumentException($"FillMask output columns must differ: both are '{o.OutputColumnName}'.", "options.ProbabilitiesColumnName");
    }
}
