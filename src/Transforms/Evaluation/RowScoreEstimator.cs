using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Transforms.Evaluation;

/// <summary>
/// An estimator that checks its input columns with clear messages, then fits an in-process chain
/// (CopyColumns → CustomMapping → CopyColumns → DropColumns) that adds one per-row score column.
/// </summary>
/// <remarks>
/// The chain's CustomMapping has no contract name, so the fitted transformer works in-process but cannot be saved with
/// <c>mlContext.Model.Save</c>; to persist a score, compute it and save the data instead.
/// </remarks>
public sealed class RowScoreEstimator : IEstimator<ITransformer>
{
    private readonly IEstimator<ITransformer> _chain;
    private readonly IReadOnlyList<(string Column, Func<DataViewType, bool> Accepts, string Expected)> _inputs;

    internal RowScoreEstimator(IEstimator<ITransformer> chain, IReadOnlyList<(string Column, Func<DataViewType, bool> Accepts, string Expected)> inputs)
    {
        _chain = chain;
        _inputs = inputs;
    }

    /// <summary>Validates the input columns and fits the chain.</summary>
    /// <param name="input">Data with the input columns.</param>
    public ITransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        foreach (var (column, accepts, expected) in _inputs)
        {
            var found = ColumnReader.Find(input, column, nameof(input));
            if (!accepts(found.Type))
                throw new ArgumentOutOfRangeException(nameof(input), column, $"Column '{column}' must be {expected}, found {found.Type}.");
        }
        return _chain.Fit(input);
    }

    /// <summary>The output schema: the input plus the score column.</summary>
    /// <param name="inputSchema">Input schema shape.</param>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        foreach (var (column, _, expected) in _inputs)
            if (!inputSchema.Any(c => c.Name == column))
                throw new ArgumentOutOfRangeException(nameof(inputSchema), column, $"Column '{column}' ({expected}) not found.");
        return _chain.GetOutputSchema(inputSchema);
    }
}
