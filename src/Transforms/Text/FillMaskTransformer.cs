using Aigc.MLNet.Transforms.Serving;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Transforms.Text;

/// <summary>The fitted FillMask transform: a chain of saveable ML.NET transforms around the FillMask mapping (see <see cref="FillMaskEstimator"/>).</summary>
/// <remarks>It keeps the model's ONNX Runtime session loaded until <see cref="Dispose"/>; the last user of a model frees it.</remarks>
public sealed class FillMaskTransformer : ITransformer, IDisposable
{
    private readonly ServedChain _served;
    private readonly string _inputColumnName;

    internal FillMaskTransformer(ServedChain served, string inputColumnName)
    {
        _served = served;
        _inputColumnName = inputColumnName;
    }

    /// <summary>Releases this transformer's hold on the model; the last holder frees the ONNX Runtime session (a later use loads it again).</summary>
    public void Dispose() => _served.Dispose();

    /// <summary>True: prediction engines can run this transform row by row.</summary>
    public bool IsRowToRowMapper => true;

    /// <summary>The input schema plus the candidates (and probabilities) columns; fails when the text column is missing or not String.</summary>
    /// <param name="inputSchema">The input schema.</param>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ColumnChecks.Text(inputSchema, _inputColumnName, "FillMask");
        return _served.Live.GetOutputSchema(inputSchema);
    }

    /// <summary>A row-to-row mapper for prediction engines.</summary>
    /// <param name="inputSchema">The input schema.</param>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        ColumnChecks.Text(inputSchema, _inputColumnName, "FillMask");
        _served.EnsureLoaded();
        return _served.Live.GetRowToRowMapper(inputSchema);
    }

    /// <summary>Saves the equivalent chain of saveable transforms (model path, SHA-256 and options travel inside it).</summary>
    /// <param name="ctx">The save context.</param>
    void ICanSaveModel.Save(ModelSaveContext ctx) => _served.Save(ctx);

    /// <summary>Adds the candidates (and probabilities) columns lazily.</summary>
    /// <param name="input">Data with the text column.</param>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        ColumnChecks.Text(input.Schema, _inputColumnName, "FillMask");
        _served.EnsureLoaded();
        return _served.Live.Transform(input);
    }
}
