namespace Aigc.MLNet.Onnx.Proto;

/// <summary>Attribute kinds (<c>AttributeProto.AttributeType</c> in onnx.proto).</summary>
public enum OnnxAttributeType
{
    /// <summary>A float.</summary>
    Float = 1,
    /// <summary>A 64-bit integer.</summary>
    Int = 2,
    /// <summary>A UTF-8 string.</summary>
    String = 3,
    /// <summary>A tensor.</summary>
    Tensor = 4,
    /// <summary>A subgraph (e.g. the branches of If).</summary>
    Graph = 5,
    /// <summary>A list of floats.</summary>
    Floats = 6,
    /// <summary>A list of 64-bit integers.</summary>
    Ints = 7,
    /// <summary>A list of strings.</summary>
    Strings = 8,
}

/// <summary>
/// A node attribute (<c>AttributeProto</c>). Create with the static factories, e.g.
/// <c>OnnxAttribute.Int("transB", 1)</c> or <c>OnnxAttribute.Graph("then_branch", subgraph)</c>.
/// </summary>
public sealed class OnnxAttribute
{
    private OnnxAttribute(string name, OnnxAttributeType type)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
        Type = type;
    }

    /// <summary>Attribute name.</summary>
    public string Name { get; }

    /// <summary>Which value field is set.</summary>
    public OnnxAttributeType Type { get; }

    /// <summary>Value of a <see cref="OnnxAttributeType.Float"/> attribute.</summary>
    public float FloatValue { get; private init; }

    /// <summary>Value of an <see cref="OnnxAttributeType.Int"/> attribute.</summary>
    public long IntValue { get; private init; }

    /// <summary>Value of a <see cref="OnnxAttributeType.String"/> attribute.</summary>
    public string? StringValue { get; private init; }

    /// <summary>Value of a <see cref="OnnxAttributeType.Tensor"/> attribute.</summary>
    public OnnxTensor? TensorValue { get; private init; }

    /// <summary>Value of a <see cref="OnnxAttributeType.Graph"/> attribute.</summary>
    public OnnxGraph? GraphValue { get; private init; }

    /// <summary>Value of a <see cref="OnnxAttributeType.Floats"/> attribute.</summary>
    public IReadOnlyList<float>? FloatsValue { get; private init; }

    /// <summary>Value of an <see cref="OnnxAttributeType.Ints"/> attribute.</summary>
    public IReadOnlyList<long>? IntsValue { get; private init; }

    /// <summary>Value of a <see cref="OnnxAttributeType.Strings"/> attribute.</summary>
    public IReadOnlyList<string>? StringsValue { get; private init; }

    /// <summary>A float attribute.</summary>
    public static OnnxAttribute Float(string name, float value) => new(name, OnnxAttributeType.Float) { FloatValue = value };

    /// <summary>An integer attribute.</summary>
    public static OnnxAttribute Int(string name, long value) => new(name, OnnxAttributeType.Int) { IntValue = value };

    /// <summary>A string attribute.</summary>
    public static OnnxAttribute String(string name, string value) =>
        new(name, OnnxAttributeType.String) { StringValue = value ?? throw new ArgumentNullException(nameof(value)) };

    /// <summary>A tensor attribute (e.g. Constant's <c>value</c>).</summary>
    public static OnnxAttribute Tensor(string name, OnnxTensor value) =>
        new(name, OnnxAttributeType.Tensor) { TensorValue = value ?? throw new ArgumentNullException(nameof(value)) };

    /// <summary>A subgraph attribute (e.g. If's <c>then_branch</c>).</summary>
    public static OnnxAttribute Graph(string name, OnnxGraph value) =>
        new(name, OnnxAttributeType.Graph) { GraphValue = value ?? throw new ArgumentNullException(nameof(value)) };

    /// <summary>A list-of-floats attribute.</summary>
    public static OnnxAttribute Floats(string name, params float[] values) =>
        new(name, OnnxAttributeType.Floats) { FloatsValue = (float[])(values ?? throw new ArgumentNullException(nameof(values))).Clone() };

    /// <summary>A list-of-integers attribute (e.g. Transpose's <c>perm</c>).</summary>
    public static OnnxAttribute Ints(string name, params long[] values) =>
        new(name, OnnxAttributeType.Ints) { IntsValue = (long[])(values ?? throw new ArgumentNullException(nameof(values))).Clone() };

    /// <summary>A list-of-strings attribute.</summary>
    public static OnnxAttribute Strings(string name, params string[] values) =>
        new(name, OnnxAttributeType.Strings) { StringsValue = (string[])(values ?? throw new ArgumentNullException(nameof(values))).Clone() };

    // ---- AttributeProto: name=1, f=2, i=3, s=4, t=5, g=6, floats=7, ints=8, strings=9, type=20 ----
    // floats/ints are proto2 "repeated" without [packed], so each element carries its own tag, as onnx writes them.

    internal long ComputeSize(OnnxSerializationPlan plan)
    {
        long size = ProtoWriter.StringFieldSize(1, Name) + ProtoWriter.Int64FieldSize(20, (long)Type);
        switch (Type)
        {
            case OnnxAttributeType.Float: size += ProtoWriter.FloatFieldSize(2); break;
            case OnnxAttributeType.Int: size += ProtoWriter.Int64FieldSize(3, IntValue); break;
            case OnnxAttributeType.String: size += ProtoWriter.StringFieldSize(4, StringValue!); break;
            case OnnxAttributeType.Tensor: size += ProtoWriter.BytesFieldSize(5, TensorValue!.ComputeSize(plan)); break;
            case OnnxAttributeType.Graph: size += ProtoWriter.BytesFieldSize(6, GraphValue!.ComputeSize(plan)); break;
            case OnnxAttributeType.Floats: size += FloatsValue!.Count * ProtoWriter.FloatFieldSize(7); break;
            case OnnxAttributeType.Ints: foreach (long v in IntsValue!) size += ProtoWriter.Int64FieldSize(8, v); break;
            case OnnxAttributeType.Strings: foreach (string s in StringsValue!) size += ProtoWriter.StringFieldSize(9, s); break;
        }
        return size;
    }

    internal void WriteTo(ProtoWriter w, OnnxSerializationPlan plan)
    {
        w.WriteStringField(1, Name);
        switch (Type)
        {
            case OnnxAttributeType.Float: w.WriteFloatField(2, FloatValue); break;
            case OnnxAttributeType.Int: w.WriteInt64Field(3, IntValue); break;
            case OnnxAttributeType.String: w.WriteStringField(4, StringValue!); break;
            case OnnxAttributeType.Tensor:
                w.WriteLengthHeader(5, TensorValue!.ComputeSize(plan));
                TensorValue.WriteTo(w, plan);
                break;
            case OnnxAttributeType.Graph:
                w.WriteLengthHeader(6, GraphValue!.ComputeSize(plan));
                GraphValue.WriteTo(w, plan);
                break;
            case OnnxAttributeType.Floats: foreach (float v in FloatsValue!) w.WriteFloatField(7, v); break;
            case OnnxAttributeType.Ints: foreach (long v in IntsValue!) w.WriteInt64Field(8, v); break;
            case OnnxAttributeType.Strings: foreach (string s in StringsValue!) w.WriteStringField(9, s); break;
        }
        w.WriteInt64Field(20, (long)Type);
    }
}
