using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Transforms.Images;

/// <summary>
/// Estimator of the image transforms (<see cref="ImageTransformsCatalog"/>): validates the input columns, then fits
/// to a saveable chain of ML.NET built-ins and a CustomMapping that runs the model folder's ONNX files with ONNX Runtime.
/// </summary>
/// <remarks>
/// The fitted transformer is a <c>TransformerChain</c>; save it with <c>mlContext.Model.Save</c>. It refers to the
/// model folder by absolute path and SHA-256, so keep the folder in place. Before <c>mlContext.Model.Load</c> in a new
/// process call <c>mlContext.ComponentCatalog.RegisterAssembly(typeof(ImageTransformsCatalog).Assembly)</c>.
/// </remarks>
public sealed class ImageModelEstimator : IEstimator<ITransformer>
{
    private readonly IEstimator<ITransformer> _inner;
    private readonly IReadOnlyList<ExpectedColumn> _inputs;

    internal readonly record struct ExpectedColumn(string Name, string Option, DataViewType ItemType, int VectorSize);

    internal ImageModelEstimator(IEstimator<ITransformer> inner, IReadOnlyList<ExpectedColumn> inputs)
    {
        _inner = inner;
        _inputs = inputs;
    }

    /// <summary>Validates <paramref name="input"/>'s schema and returns the fitted, saveable chain.</summary>
    public ITransformer Fit(IDataView input)
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
        return _inner.Fit(input);
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
        return _inner.GetOutputSchema(inputSchema)!;
    }

    private static string Describe(ExpectedColumn c) => c.VectorSize switch
    {
        < 0 => c.ItemType.ToString() ?? "",
        0 => $"a known-size vector of {c.ItemType}",
        _ => $"Vector<{c.ItemType}, {c.VectorSize}>",
    };
}
