using Aigc.MLNet.Transforms.Serving;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Transforms.Text;

/// <summary>
/// The fitted GenerateText transform. <see cref="Transform"/> returns a lazy view that generates rows in batches of
/// <see cref="BatchSize"/>; prediction engines, <see cref="GetOutputSchema"/> and saving go through an equivalent chain
/// of saveable ML.NET transforms (row by row), so a saved and reloaded pipeline gives the same outputs.
/// </summary>
/// <remarks>
/// The transformer keeps its model's ONNX Runtime session loaded (shared with every other pipeline on the same files);
/// <see cref="Dispose"/> releases it, and the last user of a model frees the session. Disposing a
/// <c>TransformerChain</c> or a <c>PredictionEngine</c> made from this transformer disposes it too; a later use loads the
/// model again.
/// A row that cannot be generated (a prompt longer than the context, a character outside a character vocabulary) fails
/// with an exception naming the row and the prompt column, thrown from the cursor's <c>MoveNext</c>.
/// </remarks>
public sealed class GenerateTextTransformer : ITransformer, IDisposable
{
    private readonly ServedChain _served;
    private readonly string _inputColumnName;
    private readonly IReadOnlyList<(string Property, string Column)> _outputs;

    internal GenerateTextTransformer(ServedChain served, string encodedConfig, string inputColumnName, int batchSize,
        IReadOnlyList<(string Property, string Column)> outputs)
    {
        _served = served;
        RuntimeKey = encodedConfig;
        _inputColumnName = inputColumnName;
        BatchSize = batchSize;
        _outputs = outputs;
    }

    /// <summary>The <see cref="ServingCache"/> key of this pipeline's runtime (its encoded configuration).</summary>
    internal string RuntimeKey { get; }

    /// <summary>The <see cref="ServingCache"/> key of the ONNX Runtime session, shared by pipelines on the same files and session options.</summary>
    internal string SessionKey => ConfiguredMapping.DecodeConfig<GenerateTextConfig>(RuntimeKey).SessionKey;

    /// <summary>Rows generated together by <see cref="Transform"/>'s cursors.</summary>
    public int BatchSize { get; }

    /// <summary>True: prediction engines can run this transform row by row.</summary>
    public bool IsRowToRowMapper => true;

    /// <summary>The input schema plus the completion column(s); fails when the prompt column is missing or not String.</summary>
    /// <param name="inputSchema">The input schema.</param>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        GenerateTextEstimator.CheckPromptColumn(inputSchema, _inputColumnName);
        return _served.Live.GetOutputSchema(inputSchema);
    }

    /// <summary>A row-to-row mapper for prediction engines (one generation per row).</summary>
    /// <param name="inputSchema">The input schema.</param>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        GenerateTextEstimator.CheckPromptColumn(inputSchema, _inputColumnName);
        _served.EnsureLoaded();
        return _served.Live.GetRowToRowMapper(inputSchema);
    }

    /// <summary>Saves the equivalent chain of saveable transforms (model location, file hashes and options travel inside it; with EmbedModel, the files too).</summary>
    /// <param name="ctx">The save context.</param>
    void ICanSaveModel.Save(ModelSaveContext ctx) => _served.Save(ctx);

    /// <summary>Adds the completion column(s) lazily: rows are generated when a cursor reaches them, <see cref="BatchSize"/> at a time.</summary>
    /// <param name="input">Data with the prompt column.</param>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        GenerateTextEstimator.CheckPromptColumn(input.Schema, _inputColumnName);
        // Also at BatchSize 1: this view runs on the caller's cursor, so a row's error arrives with its own message.
        return new BatchedGenerationView(input, _served.Live.GetOutputSchema(input.Schema), _served,
            _inputColumnName, Math.Max(1, BatchSize), _outputs);
    }

    /// <summary>True while the transformer holds its model (after <see cref="Dispose"/>, until it is used again).</summary>
    public bool IsModelLoaded => _served.IsLoaded;

    /// <summary>
    /// Releases this transformer's hold on the model (when the batch in progress, if any, ends); the last holder frees the
    /// ONNX Runtime session. Using the transformer afterwards loads the model again, because ML.NET's
    /// <c>PredictionEngine</c> disposes the transformer it was created from.
    /// </summary>
    public void Dispose() => _served.Dispose();
}
