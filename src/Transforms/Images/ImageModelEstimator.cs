using Aigc.MLNet.Transforms.Serving;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Transforms.Images;

/// <summary>
/// Estimator of the image transforms (<see cref="ImageTransformsCatalog"/>): validates the input columns, then fits
/// to a saveable chain of ML.NET built-ins and a CustomMapping that runs the model folder's ONNX files with ONNX Runtime.
/// </summary>
/// <remarks>
/// Save the fitted <see cref="ImageModelTransformer"/> with <c>mlContext.Model.Save</c>. It records the model folder and
/// the SHA-256 of every file it reads (found again as <see cref="ModelSearch"/> describes), or with
/// <see cref="ImageTransformOptions.EmbedModel"/> carries the files. Before <c>mlContext.Model.Load</c> in a new process
/// call <c>mlContext.ComponentCatalog.RegisterAssembly(typeof(ImageTransformsCatalog).Assembly)</c>.
/// </remarks>
public sealed class ImageModelEstimator : IEstimator<ImageModelTransformer>
{
    private readonly Func<EmbeddedModelCarrier?, IEstimator<ITransformer>> _chain;
    private readonly IEstimator<ITransformer> _live;
    private readonly IReadOnlyList<ExpectedColumn> _inputs;
    private readonly ImageServingConfig _config;
    private readonly string _encoded;

    internal readonly record struct ExpectedColumn(string Name, string Option, DataViewType ItemType, int VectorSize);

    internal ImageModelEstimator(Func<EmbeddedModelCarrier?, IEstimator<ITransformer>> chain, IReadOnlyList<ExpectedColumn> inputs,
        ImageServingConfig config, string encoded)
    {
        _chain = chain;
        _live = chain(null);
        _inputs = inputs;
        _config = config;
        _encoded = encoded;
    }

    /// <summary>Validates <paramref name="input"/>'s schema, loads the model and returns the fitted, saveable transformer (it keeps the sessions until disposed).</summary>
    public ImageModelTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        foreach (var expected in _inputs)
        {
            var column = input.Schema.GetColumnOrNull(expected.Name)
                ?? throw new ArgumentOutOfRangeException(nameof(input),
                    $"Input column '{expected.Name}' ({expected.Option}) was not found; expected {Describe(expected)}. Columns: {string.Join(", ", input.Schema.Select(c => c.Name))}.");
            var type = column.Type;
            bool ok = expected.VectorSize < 0
                ? type.Equals(expected.ItemType)
                : type is VectorDataViewType v && v.ItemType.Equals(expected.ItemType) && (expected.VectorSize == 0 ? v.Size > 0 : v.Size == expected.VectorSize);
            if (!ok)
                throw new ArgumentOutOfRangeException(nameof(input),
                    $"Input column '{expected.Name}' ({expected.Option}) has type {type}; expected {Describe(expected)}.");
        }
        var lease = ImageModelRuntime.Acquire(_encoded);
        try
        {
            var (chain, encoded) = (_chain, _encoded);
            return new ImageModelTransformer(new ServedChain(_live.Fit(input), input.Schema, _config.Source, carrier => chain(carrier), lease,
                () => ImageModelRuntime.Acquire(encoded)), encoded);
        }
        catch
        {
            lease.Dispose();
            throw;
        }
    }

    /// <summary>Validates the input shape and returns the output shape.</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        foreach (var expected in _inputs)
        {
            var found = inputSchema.Where(c => c.Name == expected.Name).ToList();
            if (found.Count == 0)
                throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Input column '{expected.Name}' ({expected.Option}) was not found; expected {Describe(expected)}.");
            var column = found[0];
            bool ok = expected.VectorSize < 0
                ? column.Kind == SchemaShape.Column.VectorKind.Scalar && column.ItemType.Equals(expected.ItemType)
                : column.Kind == SchemaShape.Column.VectorKind.Vector && column.ItemType.Equals(expected.ItemType);
            if (!ok)
                throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Input column '{expected.Name}' ({expected.Option}) has type {column.ItemType} ({column.Kind}); expected {Describe(expected)}.");
        }
        return _live.GetOutputSchema(inputSchema)!;
    }

    private static string Describe(ExpectedColumn c) => c.VectorSize switch
    {
        < 0 => c.ItemType.ToString() ?? "",
        0 => $"a known-size vector of {c.ItemType}",
        _ => $"Vector<{c.ItemType}, {c.VectorSize}>",
    };
}

/// <summary>
/// A fitted image transform (GenerateImages, EncodeLatent, DecodeLatent, Reconstruct): a chain of saveable ML.NET
/// transforms around a CustomMapping that runs the model's ONNX files.
/// </summary>
/// <remarks>
/// It keeps the model's ONNX Runtime sessions loaded (shared with other pipelines on the same files) until
/// <see cref="Dispose"/>; the last user of a model frees them. Disposing a <c>TransformerChain</c> or a
/// <c>PredictionEngine</c> made from it disposes it too; a later use loads the model again.
/// </remarks>
public sealed class ImageModelTransformer : ITransformer, IDisposable
{
    private readonly ServedChain _served;

    internal ImageModelTransformer(ServedChain served, string encodedConfig)
    {
        _served = served;
        RuntimeKey = encodedConfig;
    }

    /// <summary>The <see cref="ServingCache"/> key of this transform's sessions (its encoded configuration).</summary>
    internal string RuntimeKey { get; }

    /// <summary>True: prediction engines can run this transform row by row.</summary>
    public bool IsRowToRowMapper => true;

    /// <summary>The input schema plus the output column(s).</summary>
    /// <param name="inputSchema">The input schema.</param>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => _served.Live.GetOutputSchema(inputSchema);

    /// <summary>A row-to-row mapper for prediction engines.</summary>
    /// <param name="inputSchema">The input schema.</param>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        _served.EnsureLoaded();
        return _served.Live.GetRowToRowMapper(inputSchema);
    }

    /// <summary>Saves the chain of saveable transforms (model location, file hashes and options travel inside it; with EmbedModel, the files too).</summary>
    /// <param name="ctx">The save context.</param>
    void ICanSaveModel.Save(ModelSaveContext ctx) => _served.Save(ctx);

    /// <summary>Adds the output column(s) lazily.</summary>
    /// <param name="input">Data with the input column(s).</param>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        _served.EnsureLoaded();
        return _served.Live.Transform(input);
    }

    /// <summary>True while the transformer holds its model (after <see cref="Dispose"/>, until it is used again).</summary>
    public bool IsModelLoaded => _served.IsLoaded;

    /// <summary>Releases this transformer's hold on the model; the last holder frees the ONNX Runtime sessions (a later use loads them again).</summary>
    public void Dispose() => _served.Dispose();
}
