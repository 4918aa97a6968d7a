using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Transforms.Text;

/// <summary>
/// The fitted GenerateText transform. <see cref="Transform"/> returns a lazy view that generates rows in batches of
/// <see cref="BatchSize"/>; prediction engines, <see cref="GetOutputSchema"/> and saving go through an equivalent chain
/// of saveable ML.NET transforms (row by row), so a saved and reloaded pipeline gives the same outputs.
/// </summary>
public sealed class GenerateTextTransformer : ITransformer
{
    private readonly ITransformer _chain;
    private readonly string _encodedConfig;
    private readonly string _inputColumnName;
    private readonly IReadOnlyList<(string Property, string Column)> _outputs;

    internal GenerateTextTransformer(ITransformer chain, string encodedConfig, string inputColumnName, int batchSize,
        IReadOnlyList<(string Property, string Column)> outputs)
    {
        _chain = chain;
        _encodedConfig = encodedConfig;
        _inputColumnName = inputColumnName;
        BatchSize = batchSize;
        _outputs = outputs;
    }

    /// <summary>Rows generated together by <see cref="Transform"/>'s cursors.</summary>
    public int BatchSize { get; }

    /// <summary>True: prediction engines can run this transform row by row.</summary>
    public bool IsRowToRowMapper => true;

    /// <summary>The input schema plus the completion column(s); fails when the prompt column is missing or not String.</summary>
    /// <param name="inputSchema">The input schema.</param>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        GenerateTextEstimator.CheckPromptColumn(inputSchema, _inputColumnName);
        return _chain.GetOutputSchema(inputSchema);
    }

    /// <summary>A row-to-row mapper for prediction engines (one generation per row).</summary>
    /// <param name="inputSchema">The input schema.</param>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        GenerateTextEstimator.CheckPromptColumn(inputSchema, _inputColumnName);
        return _chain.GetRowToRowMapper(inputSchema);
    }

    /// <summary>Saves the equivalent chain of saveable transforms (model path, SHA-256 and options travel inside it).</summary>
    /// <param name="ctx">The save context.</param>
    void ICanSaveModel.Save(ModelSaveContext ctx) => _chain.Save(ctx);

    /// <summary>Adds the completion column(s) lazily: rows are generated when a cursor reaches them, <see cref="BatchSize"/> at a time.</summary>
    /// <param name="input">Data with the prompt column.</param>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        GenerateTextEstimator.CheckPromptColumn(input.Schema, _inputColumnName);
        if (BatchSize <= 1)
            return _chain.Transform(input);
        return new BatchedGenerationView(input, _chain.GetOutputSchema(input.Schema), GenerateTextRuntime.Get(_encodedConfig),
            _inputColumnName, BatchSize, _outputs);
    }
}
