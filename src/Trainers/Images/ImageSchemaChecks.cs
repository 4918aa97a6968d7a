using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Trainers.Images;

/// <summary>Column checks and seed-row schemas the image trainers share.</summary>
internal static class ImageSchemaChecks
{
    /// <summary>Throws unless <paramref name="column"/> is a Vector&lt;Single&gt; column of <paramref name="schema"/>.</summary>
    public static void RequirePixels(SchemaShape schema, string column)
    {
        var found = schema.Where(c => c.Name == column).ToList();
        if (found.Count == 0)
            throw new ArgumentOutOfRangeException(nameof(schema), $"Pixel column '{column}' (PixelColumnName) was not found; expected Vector<Single, 784>.");
        if (found[0].Kind != SchemaShape.Column.VectorKind.Vector || !found[0].ItemType.Equals(NumberDataViewType.Single))
            throw new ArgumentOutOfRangeException(nameof(schema), $"Pixel column '{column}' (PixelColumnName) has type {found[0].ItemType} ({found[0].Kind}); expected Vector<Single, 784>.");
    }

    /// <summary>Checks the pixel column and, for a conditional model, that the label column exists.</summary>
    public static void RequireTrainingColumns(SchemaShape schema, string pixelColumn, string? labelColumn)
    {
        RequirePixels(schema, pixelColumn);
        if (labelColumn is not null && !schema.Any(c => c.Name == labelColumn))
            throw new ArgumentOutOfRangeException(nameof(schema), $"Label column '{labelColumn}' (LabelColumnName) was not found.");
    }

    /// <summary>A one-row view with the fitted generator's input columns: an Int32 seed and, when conditional, an Int32 label.</summary>
    public static IDataView SeedRows(MLContext mlContext, string seedColumn, string? labelColumn)
    {
        var schema = SchemaDefinition.Create(typeof(SeedLabel));
        schema[nameof(SeedLabel.Seed)].ColumnName = seedColumn;
        if (labelColumn is not null) schema[nameof(SeedLabel.Label)].ColumnName = labelColumn;
        else schema.Remove(schema[nameof(SeedLabel.Label)]);
        return mlContext.Data.LoadFromEnumerable(new[] { new SeedLabel() }, schema);
    }

    private sealed class SeedLabel
    {
        public int Seed { get; set; }
        public int Label { get; set; }
    }
}
