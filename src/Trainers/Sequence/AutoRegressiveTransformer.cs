using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Trainers.Sequence;

/// <summary>
/// The fitted AR(p) forecaster: maps a history column (vector of Single) to a forecast column (vector of Single,
/// <see cref="Horizon"/> values). Saving writes a chain of saveable ML.NET transforms whose configuration column carries
/// the coefficients, so the zip alone reloads it (register this assembly first:
/// <c>mlContext.ComponentCatalog.RegisterAssembly(typeof(AutoRegressiveTransformer).Assembly)</c>).
/// </summary>
public sealed class AutoRegressiveTransformer : ITransformer
{
    private readonly ITransformer _chain;
    private readonly string _historyColumnName;

    internal AutoRegressiveTransformer(ITransformer chain, AutoRegressiveModel model, string historyColumnName, int horizon, bool sample)
    {
        _chain = chain;
        Model = model;
        _historyColumnName = historyColumnName;
        Horizon = horizon;
        SampleContinuations = sample;
    }

    /// <summary>The fitted model (coefficients φ_1 … φ_p, intercept, σ).</summary>
    public AutoRegressiveModel Model { get; }

    /// <summary>Steps forecast per row.</summary>
    public int Horizon { get; }

    /// <summary>True when rows get seeded sample paths instead of the mean forecast.</summary>
    public bool SampleContinuations { get; }

    /// <summary>True: prediction engines can run this transform row by row.</summary>
    public bool IsRowToRowMapper => true;

    /// <summary>The input schema plus the forecast column; fails when the history column is missing or not a vector of Single.</summary>
    /// <param name="inputSchema">The input schema.</param>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        CheckHistoryColumn(inputSchema, _historyColumnName);
        return _chain.GetOutputSchema(inputSchema);
    }

    /// <summary>A row-to-row mapper for prediction engines.</summary>
    /// <param name="inputSchema">The input schema.</param>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        CheckHistoryColumn(inputSchema, _historyColumnName);
        return _chain.GetRowToRowMapper(inputSchema);
    }

    /// <summary>Saves the equivalent chain of saveable transforms (the model travels inside its configuration column).</summary>
    /// <param name="ctx">The save context.</param>
    void ICanSaveModel.Save(ModelSaveContext ctx) => _chain.Save(ctx);

    /// <summary>Adds the forecast column (computed lazily, row by row).</summary>
    /// <param name="input">Data with the history column.</param>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        CheckHistoryColumn(input.Schema, _historyColumnName);
        return _chain.Transform(input);
    }

    internal static void CheckHistoryColumn(DataViewSchema schema, string name)
    {
        var column = schema.GetColumnOrNull(name)
            ?? throw new ArgumentOutOfRangeException(nameof(schema), $"AutoRegressive: history column '{name}' was not found; expected a vector of Single.");
        if (column.Type is not VectorDataViewType { ItemType: var item } || item != NumberDataViewType.Single)
            throw new ArgumentOutOfRangeException(nameof(schema), $"AutoRegressive: history column '{name}' must be a vector of Single; found {column.Type}.");
    }
}
