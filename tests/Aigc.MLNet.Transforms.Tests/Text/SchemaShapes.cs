using Microsoft.ML;

namespace Aigc.MLNet.Transforms.Tests.Text;

/// <summary>
/// Builds a <see cref="SchemaShape"/> for a row class through public API only (ML.NET keeps SchemaShape.Create internal):
/// a CustomMapping from no columns to <typeparamref name="T"/>'s columns, asked for its output shape.
/// </summary>
internal static class SchemaShapes
{
    public static SchemaShape Of<T>(MLContext ml) where T : class, new()
        => ml.Transforms.CustomMapping<NoColumns, T>((_, _) => { }, contractName: null)
            .GetOutputSchema(new SchemaShape([]));

    public sealed class NoColumns
    {
    }
}
