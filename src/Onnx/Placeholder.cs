namespace Aigc.MLNet.Onnx;

/// <summary>Placeholder.</summary>
public static class Placeholder { }
