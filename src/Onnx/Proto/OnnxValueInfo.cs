namespace Aigc.MLNet.Onnx.Proto;

/// <summary>
/// A typed graph input, output or intermediate value (<c>ValueInfoProto</c> with a <c>TypeProto.Tensor</c>).
/// </summary>
public sealed class OnnxValueInfo
{
    /// <summary>Creates a tensor value description.</summary>
    /// <param name="name">Value name.</param>
    /// <param name="elementType">Element type.</param>
    /// <param name="dims">Shape, each dimension fixed or symbolic; null when the shape is unknown.</param>
    public OnnxValueInfo(string name, OnnxElementType elementType, IReadOnlyList<OnnxDim>? dims)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (elementType == OnnxElementType.Undefined)
            throw new ArgumentException($"Value '{name}': element type must be set.", nameof(elementType));
        Name = name;
        ElementType = elementType;
        Dims = dims?.ToArray();
    }

    /// <summary>Value name.</summary>
    public string Name { get; }

    /// <summary>Element type.</summary>
    public OnnxElementType ElementType { get; }

    /// <summary>Shape, or null when unknown.</summary>
    public IReadOnlyList<OnnxDim>? Dims { get; }

    // ValueInfoProto: name=1, type=2. TypeProto: tensor_type=1. Tensor: elem_type=1, shape=2.
    // TensorShapeProto: dim=1. Dimension: dim_value=1, dim_param=2.

    internal long ComputeSize() => ProtoWriter.StringFieldSize(1, Name) + ProtoWriter.BytesFieldSize(2, TypeSize());

    private long TypeSize() => ProtoWriter.BytesFieldSize(1, TensorTypeSize());

    private long TensorTypeSize()
    {
        long size = ProtoWriter.Int64FieldSize(1, (long)ElementType);
        if (Dims is not null) size += ProtoWriter.BytesFieldSize(2, ShapeSize());
        return size;
    }

    private long ShapeSize()
    {
        long size = 0;
        foreach (OnnxDim d in Dims!) size += ProtoWriter.BytesFieldSize(1, DimSize(d));
        return size;
    }

    private static long DimSize(OnnxDim d) =>
        d.IsSymbolic ? ProtoWriter.StringFieldSize(2, d.Param!) : ProtoWriter.Int64FieldSize(1, d.Value!.Value);

    internal void WriteTo(ProtoWriter w)
    {
        w.WriteStringField(1, Name);
        w.WriteLengthHeader(2, TypeSize());
        w.WriteLengthHeader(1, TensorTypeSize());
        w.WriteInt64Field(1, (long)ElementType);
        if (Dims is null) return;
        w.WriteLengthHeader(2, ShapeSize());
        foreach (OnnxDim d in Dims)
        {
            w.WriteLengthHeader(1, DimSize(d));
            if (d.IsSymbolic) w.WriteStringField(2, d.Param!);
            else w.WriteInt64Field(1, d.Value!.Value);
        }
    }
}
