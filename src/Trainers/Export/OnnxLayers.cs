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
