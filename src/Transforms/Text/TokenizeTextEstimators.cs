using Aigc.MLNet.Transforms.Serving;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Transforms.Text;

/// <summary>
/// Turns text into token ids with a Microsoft.ML.Tokenizers tokenizer: GPT-2 byte-level BPE or a character vocabulary
/// read from a model folder, or any registered <see cref="Microsoft.ML.Tokenizers.Tokenizer"/>.
/// </summary>
/// <remarks>
/// | Column | Type | Content |
/// | --- | --- | --- |
/// | input | String | text (missing counts as empty) |
/// | output | vector of Int32 (variable length) | token ids |
/// | count (optional) | Int32 | number of ids |
/// Saved pipelines keep the folder's path and the SHA-256 of every tokenizer file it holds (found again as
/// <see cref="Serving.ModelSearch"/> describes), or the registered name.
/// </remarks>
public sealed class TokenizeTextEstimator : IEstimator<ITransformer>
{
    private readonly IEstimator<ITransformer> _chain;
    private readonly string _inputColumnName;

    internal TokenizeTextEstimator(TransformsCatalog catalog, TokenizerConfig config, string outputColumnName, string inputColumnName, string? countColumnName)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputColumnName);
        ArgumentException.ThrowIfNullOrEmpty(inputColumnName);
        if (countColumnName == outputColumnName)
            throw new ArgumentException($"TokenizeText output columns must differ: both are '{outputColumnName}'.", nameof(countColumnName));
        _inputColumnName = inputColumnName;
        var outputs = new List<(string, string)> { (TokenizeTextMapping.IdsProperty, outputColumnName) };
        if (!string.IsNullOrEmpty(countColumnName))
            outputs.Add((TokenizeTextMapping.CountProperty, countColumnName));
        var chain = ConfiguredMapping.Create(catalog, ConfiguredMapping.EncodeConfig(config), new TokenizeTextMapping(), TokenizeTextMapping.ContractName,
            [(inputColumnName, TokenizeTextMapping.TextProperty)], outputs);
        _chain = string.IsNullOrEmpty(countColumnName) ? chain.Append(catalog.DropColumns(TokenizeTextMapping.CountProperty)) : chain;
    }

    /// <summary>Checks the text column and returns the transformer.</summary>
    /// <param name="input">Data with the text column.</param>
    public ITransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        ColumnChecks.Text(input.Schema, _inputColumnName, "TokenizeText");
        return _chain.Fit(input);
    }

    /// <summary>The schema after the transform; fails when the text column is missing or not String.</summary>
    /// <param name="inputSchema">The input schema shape.</param>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ColumnChecks.Text(inputSchema, _inputColumnName, "TokenizeText");
        return _chain.GetOutputSchema(inputSchema);
    }
}

/// <summary>Turns token ids back into text with the same tokenizers as <see cref="TokenizeTextEstimator"/>.</summary>
/// <remarks>
/// | Column | Type | Content |
/// | --- | --- | --- |
/// | input | vector of Int32 | token ids |
/// | output | String | decoded text |
/// </remarks>
public sealed class DetokenizeTextEstimator : IEstimator<ITransformer>
{
    private readonly IEstimator<ITransformer> _chain;
    private readonly string _inputColumnName;

    internal DetokenizeTextEstimator(TransformsCatalog catalog, TokenizerConfig config, string outputColumnName, string inputColumnName)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputColumnName);
        ArgumentException.ThrowIfNullOrEmpty(inputColumnName);
        _inputColumnName = inputColumnName;
        _chain = ConfiguredMapping.Create(catalog, ConfiguredMapping.EncodeConfig(config), new DetokenizeTextMapping(),
            DetokenizeTextMapping.ContractName, [(inputColumnName, DetokenizeTextMapping.IdsProperty)], [(DetokenizeTextMapping.TextProperty, outputColumnName)]);
    }

    /// <summary>Checks the ids column and returns the transformer.</summary>
    /// <param name="input">Data with the ids column.</param>
    public ITransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        ColumnChecks.Int32Vector(input.Schema, _inputColumnName, "DetokenizeText");
        return _chain.Fit(input);
    }

    /// <summary>The schema after the transform; fails when the ids column is missing or not a vector of Int32.</summary>
    /// <param name="inputSchema">The input schema shape.</param>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ColumnChecks.Int32Vector(inputSchema, _inputColumnName, "DetokenizeText");
        return _chain.GetOutputSchema(inputSchema);
    }
}

/// <summary>Up-front input column checks with messages naming the column, the expected type and the found type.</summary>
internal static class ColumnChecks
{
    public static void Text(DataViewSchema schema, string name, string transform)
    {
        var column = Find(schema, name, transform, "a String column");
        if (column.Type != TextDataViewType.Instance)
            throw new ArgumentOutOfRangeException(nameof(schema), $"{transform}: input column '{name}' must be String; found {column.Type}.");
    }

    public static void Text(SchemaShape shape, string name, string transform)
    {
        var column = Find(shape, name, transform, "a String column");
        if (column.Kind != SchemaShape.Column.VectorKind.Scalar || column.ItemType != TextDataViewType.Instance)
            throw new ArgumentOutOfRangeException(nameof(shape), $"{transform}: input column '{name}' must be String; found {Describe(column)}.");
    }

    public static void Int32Vector(DataViewSchema schema, string name, string transform)
    {
        var column = Find(schema, name, transform, "a vector of Int32 token ids");
        if (column.Type is not VectorDataViewType { ItemType: var item, Size: 0 } || item != NumberDataViewType.Int32)
            throw new ArgumentOutOfRangeException(nameof(schema), $"{transform}: input column '{name}' must be a variable-length vector of Int32 token ids; found {column.Type}.");
    }

    public static void Int32Vector(SchemaShape shape, string name, string transform)
    {
        var column = Find(shape, name, transform, "a vector of Int32 token ids");
        if (column.Kind != SchemaShape.Column.VectorKind.VariableVector || column.ItemType != NumberDataViewType.Int32)
            throw new ArgumentOutOfRangeException(nameof(shape), $"{transform}: input column '{name}' must be a variable-length vector of Int32 token ids; found {Describe(column)}.");
    }

    private static DataViewSchema.Column Find(DataViewSchema schema, string name, string transform, string expected) =>
        schema.GetColumnOrNull(name) ?? throw new ArgumentOutOfRangeException(nameof(schema), $"{transform}: input column '{name}' was not found; expected {expected}.");

    private static SchemaShape.Column Find(SchemaShape shape, string name, string transform, string expected)
    {
        var found = shape.Where(c => c.Name == name).ToArray();
        return found.Length > 0 ? found[^1] : throw new ArgumentOutOfRangeException(nameof(shape), $"{transform}: input column '{name}' was not found; expected {expected}.");
    }

    public static string Describe(SchemaShape.Column c) => c.Kind switch
    {
        SchemaShape.Column.VectorKind.Scalar => $"{c.ItemType}",
        SchemaShape.Column.VectorKind.Vector => $"Vector<{c.ItemType}>",
        _ => $"VarVector<{c.ItemType}>",
    };
}
