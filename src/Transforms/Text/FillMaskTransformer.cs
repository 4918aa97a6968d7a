using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Transforms.Text;

/// <summary>The fitted FillMask transform: a chain of saveable ML.NET transforms around the FillMask mapping (see <see cref="FillMaskEstimator"/>).</summary>
public sealed class FillMaskTransformer : ITransformer
{
    private readonly ITransformer _chain;
    private readonly string _inputColumnName;

    internal FillMaskTransformer(ITransformer chain, string inputColumnName)
    {
        _chain = chain;
        _inputColumnName = inputColumnName;
    }

    /// <summary>True: prediction engines can run this transform row by row.</summary>
    public bool IsRowToRowMapper => true;

    /// <summary>The input schema plus the candidates (and probabilities) columns; fails when the text column is missing or not String.</summary>
    /// <param name="inputSchema">The input schema.</param>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ColumnChecks.Text(inputSchema, _inputColumnName, "FillMask");
        return _chain.GetOutputSchema(inputSchema);
    }

    /// <summary>A row-to-row mapper for prediction engines.</summary>
    /// <param name="inputSchema">The input schema.</param>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        ColumnChecks.Text(inputSchema, _inputColumnName, "FillMask");
        return _chain.GetRowToRowMapper(inputSchema);
    }

    /// <summary>Saves the equivalent chain of saveable transforms (model path, SHA-256 and options travel inside it).</summary>
    /// <param name="ctx">The save context.</param>
    void ICanSaveModel.Save(ModelSaveContext ctx) => _chain.Save(ctx);

    /// <summary>Adds the candidates (and probabilities) columns lazily.</summary>
    /// <param name="input">Data with the text column.</param>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        ColumnChecks.Text(input.Schema, _inputColumnName, "FillMask");
        return _chain.Transform(input);
    }
}
