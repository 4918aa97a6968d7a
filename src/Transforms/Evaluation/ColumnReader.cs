using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Transforms.Evaluation;

/// <summary>Reads evaluator input columns, failing with the column name, the expected and the found type.</summary>
internal static class ColumnReader
{
    public static DataViewSchema.Column Find(IDataView data, string columnName, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (string.IsNullOrEmpty(columnName))
            throw new ArgumentException("A column name is required.", parameterName);
        var column = data.Schema.GetColumnOrNull(columnName);
        if (column is null)
            throw new ArgumentOutOfRangeException(parameterName, columnName,
                $"Column '{columnName}' not found; the data has columns: {string.Join(", ", data.Schema.Where(c => !c.IsHidden).Select(c => $"'{c.Name}' ({c.Type})"))}.");
        return column.Value;
    }

    public static void RequireRows(int rows, string dataParameterName, string metric)
    {
        if (rows == 0)
            throw new ArgumentException($"{metric} needs at least one row; the data view '{dataParameterName}' is empty.", dataParameterName);
    }

    /// <summary>A Text column, one string per row.</summary>
    public static List<string> ReadText(IDataView data, string columnName, string parameterName)
    {
        var column = Find(data, columnName, parameterName);
        if (column.Type is not TextDataViewType)
            throw new ArgumentOutOfRangeException(parameterName, columnName, $"Column '{columnName}' must be of type Text (String), found {column.Type}.");
        var result = new List<string>();
        using var cursor = data.GetRowCursor([column]);
        var getter = cursor.GetGetter<ReadOnlyMemory<char>>(column);
        ReadOnlyMemory<char> value = default;
        while (cursor.MoveNext())
        {
            getter(ref value);
            result.Add(value.ToString());
        }
        return result;
    }

    /// <summary>A Text column (one item per row) or a vector of Text (several items per row).</summary>
    public static List<string[]> ReadTextLists(IDataView data, string columnName, string parameterName)
    {
        var column = Find(data, columnName, parameterName);
        var result = new List<string[]>();
        if (column.Type is TextDataViewType)
        {
            result.AddRange(ReadText(data, columnName, parameterName).Select(s => new[] { s }));
            return result;
        }
        if (column.Type is not VectorDataViewType { ItemType: TextDataViewType })
            throw new ArgumentOutOfRangeException(parameterName, columnName,
                $"Column '{columnName}' must be Text or a vector of Text (several references per row), found {column.Type}.");
        using var cursor = data.GetRowCursor([column]);
        var getter = cursor.GetGetter<VBuffer<ReadOnlyMemory<char>>>(column);
        VBuffer<ReadOnlyMemory<char>> value = default;
        while (cursor.MoveNext())
        {
            getter(ref value);
            result.Add(value.DenseValues().Select(m => m.ToString()).ToArray());
        }
        return result;
    }

    /// <summary>A vector of Single column with <paramref name="size"/> values per row (any size when null).</summary>
    public static (float[] Values, int Rows, int Size) ReadVectors(IDataView data, string columnName, string parameterName, int? size, string meaning)
    {
        var column = Find(data, columnName, parameterName);
        if (column.Type is not VectorDataViewType { ItemType: NumberDataViewType } vectorType || vectorType.ItemType.RawType != typeof(float))
            throw new ArgumentOutOfRangeException(parameterName, columnName,
                $"Column '{columnName}' must be a vector of Single ({meaning}), found {column.Type}.");
        if (size is { } expected && vectorType.IsKnownSize && vectorType.Size != expected)
            throw new ArgumentOutOfRangeException(parameterName, columnName,
                $"Column '{columnName}' must hold {meaning}: Vector<Single, {expected}>, found {column.Type}.");
        int rowSize = size ?? (vectorType.IsKnownSize ? vectorType.Size : -1);
        var values = new List<float>();
        int rows = 0;
        using var cursor = data.GetRowCursor([column]);
        var getter = cursor.GetGetter<VBuffer<float>>(column);
        VBuffer<float> value = default;
        while (cursor.MoveNext())
        {
            getter(ref value);
            if (rowSize < 0)
                rowSize = value.Length;
            if (value.Length != rowSize)
                throw new ArgumentException($"Column '{columnName}' row {rows} has {value.Length} values; expected {rowSize} ({meaning}).", parameterName);
            foreach (float v in value.DenseValues())
                values.Add(v);
            rows++;
        }
        return (values.ToArray(), rows, Math.Max(rowSize, 0));
    }
}
