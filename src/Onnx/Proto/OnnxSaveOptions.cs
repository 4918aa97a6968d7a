namespace Aigc.MLNet.Onnx.Proto;

/// <summary>When initializer data goes to a side file (ONNX external data) instead of inside the .onnx file.</summary>
public enum OnnxExternalDataMode
{
    /// <summary>External when the total initializer size passes <see cref="OnnxSaveOptions.AutoExternalThresholdBytes"/> (protobuf files are limited to 2 GB).</summary>
    Auto,
    /// <summary>Always write initializers of at least <see cref="OnnxSaveOptions.MinExternalTensorBytes"/> externally.</summary>
    Always,
    /// <summary>Never; saving fails if the model exceeds 2 GB.</summary>
    Never,
}

/// <summary>Options for <see cref="OnnxModel.Save(string, OnnxSaveOptions?)"/>.</summary>
public sealed class OnnxSaveOptions
{
    /// <summary>External data policy; default <see cref="OnnxExternalDataMode.Auto"/>.</summary>
    public OnnxExternalDataMode ExternalData { get; set; } = OnnxExternalDataMode.Auto;

    /// <summary>Side file name, relative to the model's folder; default: model file name + "_data" (e.g. <c>model.onnx_data</c>).</summary>
    public string? ExternalDataFileName { get; set; }

    /// <summary>Total initializer bytes above which <see cref="OnnxExternalDataMode.Auto"/> switches to external data (default 1.9 GB).</summary>
    public long AutoExternalThresholdBytes { get; set; } = 1_900_000_000;

    /// <summary>Initializers smaller than this stay inside the model file even with external data (default 1024, as onnx does).</summary>
    public long MinExternalTensorBytes { get; set; } = 1024;

    /// <summary>Offsets of external tensors are multiples of this (default 4096, so ONNX Runtime can memory-map them).</summary>
    public int ExternalDataAlignment { get; set; } = 4096;
}
