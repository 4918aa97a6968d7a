using Microsoft.ML;

namespace Aigc.MLNet.Trainers.Tests.Sequence;

/// <summary>A <see cref="SchemaShape"/> for a row class through public API (SchemaShape.Create is internal): a CustomMapping's output shape.</summary>
internal static class SchemaShapeOf
{
    public static SchemaShape Row<T>(MLContext ml) where T : class, new()
        => ml.Transforms.CustomMapping<NoColumns, T>((_, _) => { }, contractName: null).GetOutputSchema(new SchemaShape([]));

    public sealed class NoColumns
    {
    }
}
