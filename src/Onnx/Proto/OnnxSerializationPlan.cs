using System.Runtime.CompilerServices;

namespace Aigc.MLNet.Onnx.Proto;

/// <summary>Which tensors are written to the external data file, and at which offsets.</summary>
internal sealed class OnnxSerializationPlan
{
    private readonly Dictionary<OnnxTensor, long> _external = new(ReferenceEqualityComparer.Instance);

    public static readonly OnnxSerializationPlan Inline = new(null);

    public OnnxSerializationPlan(string? externalFileName) => ExternalFileName = externalFileName;

    public string? ExternalFileName { get; }

    public int ExternalCount => _external.Count;

    public void AddExternal(OnnxTensor tensor, long offset) => _external[tensor] = offset;

    public bool TryGetExternal(OnnxTensor tensor, out long offset)
    {
        if (ExternalFileName is null) { offset = 0; return false; }
        return _external.TryGetValue(tensor, out offset);
    }
}
