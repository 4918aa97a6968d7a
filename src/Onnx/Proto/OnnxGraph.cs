namespace Aigc.MLNet.Onnx.Proto;

/// <summary>
/// A computation graph (<c>GraphProto</c>) with a small builder API:
/// <code>
/// var g = new OnnxGraph("add");
/// g.AddInput("x", OnnxElementType.Float, ["batch", 3]);
/// g.AddInitializer("b", [1f, 2f, 3f], [3]);
/// g.AddNode("Add", ["x", "b"], ["y"]);
/// g.AddOutput("y", OnnxElementType.Float, ["batch", 3]);
/// new OnnxModel(g).Save("add.onnx");
/// </code>
/// Nodes must be added in topological order (every input defined before use), as ONNX requires.
/// </summary>
public sealed class OnnxGraph
{
    private readonly List<OnnxNode> _nodes = [];
    private readonly List<OnnxTensor> _initializers = [];
    private readonly List<OnnxValueInfo> _inputs = [];
    private readonly List<OnnxValueInfo> _outputs = [];
    private readonly List<OnnxValueInfo> _valueInfos = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private int _counter;

    /// <summary>Creates an empty graph.</summary>
    /// <param name="name">Graph name; also the prefix of names made by <see cref="NewName"/>, so give subgraphs distinct names.</param>
    public OnnxGraph(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
    }

    /// <summary>Graph name.</summary>
    public string Name { get; }

    /// <summary>Optional documentation.</summary>
    public string DocString { get; set; } = "";

    /// <summary>Nodes in topological order.</summary>
    public IReadOnlyList<OnnxNode> Nodes => _nodes;

    /// <summary>Constant tensors.</summary>
    public IReadOnlyList<OnnxTensor> Initializers => _initializers;

    /// <summary>Graph inputs.</summary>
    public IReadOnlyList<OnnxValueInfo> Inputs => _inputs;

    /// <summary>Graph outputs.</summary>
    public IReadOnlyList<OnnxValueInfo> Outputs => _outputs;

    /// <summary>Optional type information for intermediate values.</summary>
    public IReadOnlyList<OnnxValueInfo> ValueInfos => _valueInfos;

    /// <summary>Total bytes of initializer data in this graph and its subgraphs.</summary>
    public long InitializerBytes
    {
        get
        {
            long total = 0;
            foreach (OnnxTensor t in AllInitializers()) total += t.ByteLength;
            return total;
        }
    }

    /// <summary>Adds a graph input and returns its name.</summary>
    /// <param name="name">Input name.</param>
    /// <param name="elementType">Element type.</param>
    /// <param name="dims">
    /// Shape: fixed sizes and/or symbolic names, e.g. <c>["batch", 3]</c>; null for unknown rank (ONNX Runtime accepts
    /// that, but onnx's checker wants a shape on the main graph's inputs and outputs).
    /// </param>
    public string AddInput(string name, OnnxElementType elementType, IReadOnlyList<OnnxDim>? dims)
    {
        Define(name, "input");
        _inputs.Add(new OnnxValueInfo(name, elementType, dims));
        return name;
    }

    /// <summary>Declares a graph output (a value produced by a node, an input or an initializer) and returns its name.</summary>
    /// <param name="name">Output name.</param>
    /// <param name="elementType">Element type.</param>
    /// <param name="dims">Shape: fixed sizes and/or symbolic names; null for unknown rank (fine for subgraph outputs).</param>
    public string AddOutput(string name, OnnxElementType elementType, IReadOnlyList<OnnxDim>? dims)
    {
        if (_outputs.Any(o => o.Name == name))
            throw new ArgumentException($"Graph '{Name}' already has an output named '{name}'.", nameof(name));
        _outputs.Add(new OnnxValueInfo(name, elementType, dims));
        return name;
    }

    /// <summary>Adds type/shape information for an intermediate value.</summary>
    public void AddValueInfo(string name, OnnxElementType elementType, IReadOnlyList<OnnxDim>? dims) =>
        _valueInfos.Add(new OnnxValueInfo(name, elementType, dims));

    /// <summary>Adds a constant tensor and returns its name.</summary>
    public string AddInitializer(OnnxTensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.Name.Length == 0) throw new ArgumentException("An initializer needs a name.", nameof(tensor));
        Define(tensor.Name, "initializer");
        _initializers.Add(tensor);
        return tensor.Name;
    }

    /// <summary>Adds a float32 constant (copied) and returns its name.</summary>
    public string AddInitializer(string name, ReadOnlySpan<float> data, long[] dims) => AddInitializer(OnnxTensor.Create(name, data, dims));

    /// <summary>Adds an int64 constant (copied) and returns its name.</summary>
    public string AddInitializer(string name, ReadOnlySpan<long> data, long[] dims) => AddInitializer(OnnxTensor.Create(name, data, dims));

    /// <summary>Adds an int32 constant (copied) and returns its name.</summary>
    public string AddInitializer(string name, ReadOnlySpan<int> data, long[] dims) => AddInitializer(OnnxTensor.Create(name, data, dims));

    /// <summary>Adds a bool constant (copied) and returns its name.</summary>
    public string AddInitializer(string name, ReadOnlySpan<bool> data, long[] dims) => AddInitializer(OnnxTensor.Create(name, data, dims));

    /// <summary>Adds a float16 constant (copied) and returns its name.</summary>
    public string AddInitializer(string name, ReadOnlySpan<Half> data, long[] dims) => AddInitializer(OnnxTensor.Create(name, data, dims));

    /// <summary>Adds a 1-D int64 constant with a generated name (<paramref name="hint"/> plus a counter) and returns the name.</summary>
    public string AddConstant(string hint, params long[] values) => AddInitializer(NewName(hint), values, [values.Length]);

    /// <summary>Adds a scalar float constant with a generated name and returns the name.</summary>
    public string AddScalar(string hint, float value) => AddInitializer(OnnxTensor.Scalar(NewName(hint), value));

    /// <summary>Adds a scalar int64 constant with a generated name and returns the name.</summary>
    public string AddScalar(string hint, long value) => AddInitializer(OnnxTensor.Scalar(NewName(hint), value));

    /// <summary>Adds a node.</summary>
    /// <param name="opType">Operator name, e.g. "Gemm".</param>
    /// <param name="inputs">Input names ("" for an omitted optional input).</param>
    /// <param name="outputs">Output names.</param>
    /// <param name="attributes">Attributes.</param>
    public OnnxNode AddNode(string opType, IEnumerable<string> inputs, IEnumerable<string> outputs, params OnnxAttribute[] attributes) =>
        AddNode(new OnnxNode(opType, inputs, outputs, attributes, NewName(opType)));

    /// <summary>Adds a prepared node.</summary>
    public OnnxNode AddNode(OnnxNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        foreach (string o in node.Outputs) Define(o, $"output of node '{node.Name}' ({node.OpType})");
        _nodes.Add(node);
        return node;
    }

    /// <summary>Adds a single-output node whose output gets a generated name, and returns that name.</summary>
    /// <param name="opType">Operator name.</param>
    /// <param name="inputs">Input names.</param>
    /// <param name="attributes">Attributes.</param>
    public string Apply(string opType, IEnumerable<string> inputs, params OnnxAttribute[] attributes)
    {
        string output = NewName(opType);
        AddNode(new OnnxNode(opType, inputs, [output], attributes, output));
        return output;
    }

    /// <summary>A value name not used yet in this graph: <c>{graph name}/{hint}_{n}</c>.</summary>
    public string NewName(string hint)
    {
        string name;
        do name = $"{Name}/{hint}_{_counter++}";
        while (_names.Contains(name));
        return name;
    }

    private void Define(string name, string what)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!_names.Add(name))
            throw new ArgumentException($"Graph '{Name}': the name '{name}' ({what}) is already defined.", nameof(name));
    }

    internal IEnumerable<OnnxTensor> AllInitializers()
    {
        foreach (OnnxTensor t in _initializers) yield return t;
        foreach (OnnxNode n in _nodes)
            foreach (OnnxAttribute a in n.Attributes)
                if (a.GraphValue is not null)
                    foreach (OnnxTensor t in a.GraphValue.AllInitializers()) yield return t;
    }

    /// <summary>
    /// Checks that every node input is defined before use (here or, for subgraphs, in an enclosing graph) and that
    /// every output exists; throws <see cref="InvalidOperationException"/> naming the first offending value.
    /// </summary>
    public void Validate() => Validate(new HashSet<string>(StringComparer.Ordinal));

    private void Validate(HashSet<string> outer)
    {
        var known = new HashSet<string>(outer, StringComparer.Ordinal);
        foreach (OnnxValueInfo i in _inputs) known.Add(i.Name);
        foreach (OnnxTensor t in _initializers) known.Add(t.Name);
        foreach (OnnxNode n in _nodes)
        {
            foreach (string i in n.Inputs)
                if (i.Length > 0 && !known.Contains(i))
                    throw new InvalidOperationException(
                        $"Graph '{Name}': node '{n.Name}' ({n.OpType}) reads '{i}', which is not an input, initializer or earlier node output.");
            foreach (OnnxAttribute a in n.Attributes)
                a.GraphValue?.Validate(known);
            foreach (string o in n.Outputs) known.Add(o);
        }
        if (_outputs.Count == 0)
            throw new InvalidOperationException($"Graph '{Name}' has no outputs.");
        foreach (OnnxValueInfo o in _outputs)
            if (!known.Contains(o.Name))
                throw new InvalidOperationException($"Graph '{Name}': output '{o.Name}' is never produced.");
    }

    // GraphProto: node=1, name=2, initializer=5, doc_string=10, input=11, output=12, value_info=13.

    internal long ComputeSize(OnnxSerializationPlan plan)
    {
        long size = ProtoWriter.StringFieldSize(2, Name);
        foreach (OnnxNode n in _nodes) size += ProtoWriter.BytesFieldSize(1, n.ComputeSize(plan));
        foreach (OnnxTensor t in _initializers) size += ProtoWriter.BytesFieldSize(5, t.ComputeSize(plan));
        if (DocString.Length > 0) size += ProtoWriter.StringFieldSize(10, DocString);
        foreach (OnnxValueInfo v in _inputs) size += ProtoWriter.BytesFieldSize(11, v.ComputeSize());
        foreach (OnnxValueInfo v in _outputs) size += ProtoWriter.BytesFieldSize(12, v.ComputeSize());
        foreach (OnnxValueInfo v in _valueInfos) size += ProtoWriter.BytesFieldSize(13, v.ComputeSize());
        return size;
    }

    internal void WriteTo(ProtoWriter w, OnnxSerializationPlan plan)
    {
        foreach (OnnxNode n in _nodes)
        {
            w.WriteLengthHeader(1, n.ComputeSize(plan));
            n.WriteTo(w, plan);
        }
        w.WriteStringField(2, Name);
        foreach (OnnxTensor t in _initializers)
        {
            w.WriteLengthHeader(5, t.ComputeSize(plan));
            t.WriteTo(w, plan);
        }
        if (DocString.Length > 0) w.WriteStringField(10, DocString);
        foreach (OnnxValueInfo v in _inputs) { w.WriteLengthHeader(11, v.ComputeSize()); v.WriteTo(w); }
        foreach (OnnxValueInfo v in _outputs) { w.WriteLengthHeader(12, v.ComputeSize()); v.WriteTo(w); }
        foreach (OnnxValueInfo v in _valueInfos) { w.WriteLengthHeader(13, v.ComputeSize()); v.WriteTo(w); }
    }
}
