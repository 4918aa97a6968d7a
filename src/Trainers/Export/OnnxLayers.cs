using Aigc.MLNet.Onnx.Proto;
using TorchSharp.Modules;

namespace Aigc.MLNet.Trainers.Export;

/// <summary>Writes TorchSharp layers as ONNX nodes with the project's writer.</summary>
internal static class OnnxLayers
{
    /// <summary>y = x Wᵀ + b as a Gemm (transB = 1) with the layer's weights as initializers.</summary>
    public static string Linear(OnnxGraph graph, string input, Linear layer, string name)
    {
        var weight = layer.weight!.detach().cpu();
        long[] shape = weight.shape;
        string w = graph.AddInitializer($"{name}.weight", weight.data<float>().ToArray(), shape);
        var inputs = new List<string> { input, w };
        if (layer.bias is { } bias)
            inputs.Add(graph.AddInitializer($"{name}.bias", bias.detach().cpu().data<float>().ToArray(), [shape[0]]));
        return graph.Apply("Gemm", inputs, OnnxAttribute.Int("transB", 1));
    }

    /// <summary>A Conv2d or ConvTranspose2d as ONNX Conv / ConvTranspose (weights share PyTorch's layouts).</summary>
    public static string Convolution(OnnxGraph graph, string input, Convolution layer, string name)
    {
        if (layer.padding_type is not null || layer.padding_mode != TorchSharp.PaddingModes.Zeros)
            throw new NotSupportedException($"Layer '{name}': only explicit zero padding is exported.");
        var weight = layer.weight!.detach().cpu();
        var inputs = new List<string> { input, graph.AddInitializer($"{name}.weight", weight.data<float>().ToArray(), weight.shape) };
        if (layer.bias is { } bias)
            inputs.Add(graph.AddInitializer($"{name}.bias", bias.detach().cpu().data<float>().ToArray(), [bias.shape[0]]));
        long[] padding = layer.padding ?? [0, 0];
        long[] pads = [.. padding, .. padding];
        var attributes = new List<OnnxAttribute>
        {
            OnnxAttribute.Ints("kernel_shape", layer.kernel_size),
            OnnxAttribute.Ints("strides", layer.stride),
            OnnxAttribute.Ints("pads", pads),
            OnnxAttribute.Ints("dilations", layer.dilation),
            OnnxAttribute.Int("group", layer.groups),
        };
        if (layer.transposed && layer.output_padding.Any(p => p != 0))
            attributes.Add(OnnxAttribute.Ints("output_padding", layer.output_padding));
        return graph.Apply(layer.transposed ? "ConvTranspose" : "Conv", inputs, [.. attributes]);
    }

    /// <summary>A BatchNorm1d/2d in inference mode (running statistics) as ONNX BatchNormalization.</summary>
    public static string BatchNorm(OnnxGraph graph, string input, BatchNorm layer, string name)
    {
        float[] Data(TorchSharp.torch.Tensor t) => t.detach().cpu().to(TorchSharp.torch.ScalarType.Float32).data<float>().ToArray();
        long n = layer.num_features;
        var inputs = new[]
        {
            input,
            graph.AddInitializer($"{name}.weight", layer.weight is null ? Enumerable.Repeat(1f, (int)n).ToArray() : Data(layer.weight), [n]),
            graph.AddInitializer($"{name}.bias", layer.bias is null ? new float[n] : Data(layer.bias), [n]),
            graph.AddInitializer($"{name}.running_mean", Data(layer.running_mean!), [n]),
            graph.AddInitializer($"{name}.running_var", Data(layer.running_var!), [n]),
        };
        return graph.Apply("BatchNormalization", inputs, OnnxAttribute.Float("epsilon", (float)layer.eps));
    }

    /// <summary>Reshapes to <paramref name="shape"/> (-1 allowed once).</summary>
    public static string Reshape(OnnxGraph graph, string input, params long[] shape) =>
        graph.Apply("Reshape", [input, graph.AddConstant("shape", shape)]);

    /// <summary>Concatenates the one-hot row of <paramref name="labels"/> (int64 [b]) to <paramref name="features"/>.</summary>
    public static string ConcatOneHot(OnnxGraph graph, string features, string labels, int classCount)
    {
        var eye = new float[classCount * classCount];
        for (int i = 0; i < classCount; i++) eye[i * classCount + i] = 1;
        string table = graph.AddInitializer(graph.NewName("one_hot_table"), eye, [classCount, classCount]);
        string oneHot = graph.Apply("Gather", [table, labels], OnnxAttribute.Int("axis", 0));
        return graph.Apply("Concat", [features, oneHot], OnnxAttribute.Int("axis", 1));
    }
}
