namespace Aigc.MLNet.Onnx.Proto;

/// <summary>One operator call in a graph (<c>NodeProto</c>).</summary>
public sealed class OnnxNode
{
    /// <summary>Creates a node.</summary>
    /// <param name="opType">Operator name, e.g. "MatMul".</param>
    /// <param name="inputs">Input value names; an empty string marks an omitted optional input.</param>
    /// <param name="outputs">Output value names.</param>
    /// <param name="attributes">Attributes.</param>
    /// <param name="name">Optional node name.</param>
    /// <param name="domain">Operator domain; empty for the default ONNX domain.</param>
    public OnnxNode(string opType, IEnumerable<string> inputs, IEnumerable<string> outputs,
        IEnumerable<OnnxAttribute>? attributes = null, string? name = null, string? domain = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(opType);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        OpType = opType;
        Inputs = inputs.ToArray();
        Outputs = outputs.ToArray();
        if (Outputs.Count == 0)
            throw new ArgumentException($"Node '{name ?? opType}' needs at least one output.", nameof(outputs));
        foreach (string o in Outputs)
            if (string.IsNullOrEmpty(o))
                throw new ArgumentException($"Node '{name ?? opType}' has an empty output name.", nameof(outputs));
        Attributes = attributes?.ToArray() ?? [];
        Name = name ?? "";
        Domain = domain ?? "";
    }

    /// <summary>Operator name.</summary>
    public string OpType { get; }

    /// <summary>Input names.</summary>
    public IReadOnlyList<string> Inputs { get; }

    /// <summary>Output names.</summary>
    public IReadOnlyList<string> Outputs { get; }

    /// <summary>Attributes.</summary>
    public IReadOnlyList<OnnxAttribute> Attributes { get; }

    /// <summary>Node name (may be empty).</summary>
    public string Name { get; }

    /// <summary>Operator domain; empty for the default ONNX domain.</summary>
    public string Domain { get; }

    // NodeProto: input=1, output=2, name=3, op_type=4, attribute=5, domain=7.

    internal long ComputeSize(OnnxSerializationPlan plan)
    {
        long size = 0;
        foreach (string i in Inputs) size += ProtoWriter.StringFieldSize(1, i);
        foreach (string o in Outputs) size += ProtoWriter.StringFieldSize(2, o);
        if (Name.Length > 0) size += ProtoWriter.StringFieldSize(3, Name);
        size += ProtoWriter.StringFieldSize(4, OpType);
        foreach (OnnxAttribute a in Attributes) size += ProtoWriter.BytesFieldSize(5, a.ComputeSize(plan));
        if (Domain.Length > 0) size += ProtoWriter.StringFieldSize(7, Domain);
        return size;
    }

    internal void WriteTo(ProtoWriter w, OnnxSerializationPlan plan)
    {
        foreach (string i in Inputs) w.WriteStringField(1, i);
        foreach (string o in Outputs) w.WriteStringField(2, o);
        if (Name.Length > 0) w.WriteStringField(3, Name);
        w.WriteStringField(4, OpType);
        foreach (OnnxAttribute a in Attributes)
        {
            w.WriteLengthHeader(5, a.ComputeSize(plan));
            a.WriteTo(w, plan);
        }
        if (Domain.Length > 0) w.WriteStringField(7, Domain);
    }
}
