using Aigc.MLNet.Onnx.Proto;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Evaluation;

/// <summary>Writes a trained <see cref="LeNet"/> as an ONNX model with the project's writer, for ONNX Runtime scoring.</summary>
/// <remarks>
/// Graph contract (read by <c>Aigc.MLNet.Transforms.Evaluation.Images.MnistClassifier</c>):
/// input <c>pixels</c> float [batch, 784] (28x28 row by row in [0, 1]); outputs <c>logits</c> [batch, 10],
/// <c>probabilities</c> [batch, 10] (softmax) and <c>features</c> [batch, hidden] (penultimate ReLU activations).
/// Metadata <c>aigc.kind = mnist-classifier</c>, <c>aigc.feature_size</c>.
/// </remarks>
public static class LeNetOnnxExporter
{
    /// <summary>Graph input name.</summary>
    public const string PixelsInput = "pixels";

    /// <summary>Output with class logits.</summary>
    public const string LogitsOutput = "logits";

    /// <summary>Output with class probabilities.</summary>
    public const string ProbabilitiesOutput = "probabilities";

    /// <summary>Output with the penultimate features.</summary>
    public const string FeaturesOutput = "features";

    /// <summary>Builds the ONNX model of a network.</summary>
    /// <param name="network">The trained network.</param>
    public static OnnxModel Build(LeNet network)
    {
        ArgumentNullException.ThrowIfNull(network);
        var (conv1, conv2, fc1, fc2) = network.Layers;
        int hidden = network.Options.HiddenUnits;
        var g = new OnnxGraph("lenet");
        g.AddInput(PixelsInput, OnnxElementType.Float, ["batch", LeNet.ImageSide * LeNet.ImageSide]);
        string shape = g.AddConstant("image_shape", -1, 1, LeNet.ImageSide, LeNet.ImageSide);
        string x = g.Apply("Reshape", [PixelsInput, shape]);
        x = ConvBlock(g, x, Add(g, "conv1.weight", conv1.weight!), Add(g, "conv1.bias", conv1.bias!));
        x = ConvBlock(g, x, Add(g, "conv2.weight", conv2.weight!), Add(g, "conv2.bias", conv2.bias!));
        x = g.Apply("Flatten", [x], OnnxAttribute.Int("axis", 1));
        string h = g.Apply("Gemm", [x, Add(g, "fc1.weight", fc1.weight!), Add(g, "fc1.bias", fc1.bias!)], OnnxAttribute.Int("transB", 1));
        g.AddNode("Relu", [h], [FeaturesOutput]);
        g.AddNode("Gemm", [FeaturesOutput, Add(g, "fc2.weight", fc2.weight!), Add(g, "fc2.bias", fc2.bias!)], [LogitsOutput], OnnxAttribute.Int("transB", 1));
        g.AddNode("Softmax", [LogitsOutput], [ProbabilitiesOutput], OnnxAttribute.Int("axis", 1));
        g.AddOutput(LogitsOutput, OnnxElementType.Float, ["batch", LeNet.ClassCount]);
        g.AddOutput(ProbabilitiesOutput, OnnxElementType.Float, ["batch", LeNet.ClassCount]);
        g.AddOutput(FeaturesOutput, OnnxElementType.Float, ["batch", hidden]);
        var model = new OnnxModel(g) { DocString = "LeNet-style MNIST classifier trained with TorchSharp by Aigc.MLNet." };
        model.Metadata["aigc.kind"] = "mnist-classifier";
        model.Metadata["aigc.feature_size"] = hidden.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return model;
    }

    /// <summary>Writes the ONNX model atomically to <paramref name="path"/>.</summary>
    /// <param name="network">The trained network.</param>
    /// <param name="path">Destination .onnx file.</param>
    public static void Export(LeNet network, string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null)
            Directory.CreateDirectory(dir);
        Build(network).Save(path);
    }

    private static string ConvBlock(OnnxGraph g, string x, string weight, string bias)
    {
        x = g.Apply("Conv", [x, weight, bias], OnnxAttribute.Ints("kernel_shape", 5, 5));
        x = g.Apply("Relu", [x]);
        return g.Apply("MaxPool", [x], OnnxAttribute.Ints("kernel_shape", 2, 2), OnnxAttribute.Ints("strides", 2, 2));
    }

    private static string Add(OnnxGraph g, string name, Tensor parameter)
    {
        using var cpu = parameter.detach().cpu().contiguous();
        float[] data = cpu.data<float>().ToArray();
        return g.AddInitializer(name, data, cpu.shape);
    }
}
