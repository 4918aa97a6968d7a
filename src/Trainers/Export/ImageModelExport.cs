using Aigc.MLNet.Onnx.Proto;
using Aigc.MLNet.Trainers.Models;

namespace Aigc.MLNet.Trainers.Export;

/// <summary>
/// Exports trained image models to ONNX with the contracts of <c>Aigc.MLNet.Transforms.Images.ImageModelManifest</c>
/// (generator: z [+ label] → image in [0, 1]; encoder: pixels → mean, log_variance; decoder: z → image in [0, 1]).
/// </summary>
public static class ImageModelExport
{
    /// <summary>The generator as ONNX; its <c>image</c> output is (tanh + 1) / 2, i.e. pixels in [0, 1].</summary>
    public static OnnxModel Generator(MlpGenerator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        var graph = new OnnxGraph("generator");
        string h = graph.AddInput("z", OnnxElementType.Float, ["batch", generator.LatentSize]);
        if (generator.ClassCount > 0)
        {
            string labels = graph.AddInput("label", OnnxElementType.Int64, ["batch"]);
            h = OnnxLayers.ConcatOneHot(graph, h, labels, generator.ClassCount);
        }
        var layers = generator.Layers;
        for (int i = 0; i < layers.Count; i++)
        {
            h = OnnxLayers.Linear(graph, h, layers[i], $"layers.{i}");
            h = i < layers.Count - 1
                ? graph.Apply("LeakyRelu", [h], OnnxAttribute.Float("alpha", (float)MlpGenerator.NegativeSlope))
                : graph.Apply("Tanh", [h]);
        }
        string shifted = graph.Apply("Add", [h, graph.AddScalar("one", 1f)]);
        graph.AddNode("Mul", [shifted, graph.AddScalar("half", 0.5f)], ["image"]);
        graph.AddOutput("image", OnnxElementType.Float, ["batch", generator.PixelCount]);
        return new OnnxModel(graph) { DocString = "Aigc.MLNet MLP GAN generator: z -> image in [0, 1]" };
    }

    /// <summary>The VAE encoder as ONNX: <c>pixels</c> → <c>mean</c>, <c>log_variance</c>.</summary>
    public static OnnxModel Encoder(MlpVae vae)
    {
        ArgumentNullException.ThrowIfNull(vae);
        var graph = new OnnxGraph("encoder");
        string x = graph.AddInput("pixels", OnnxElementType.Float, ["batch", vae.PixelCount]);
        string h = graph.Apply("Relu", [OnnxLayers.Linear(graph, x, vae.EncoderHidden, "fc1")]);
        graph.AddNode("Identity", [OnnxLayers.Linear(graph, h, vae.EncoderMean, "fc21")], ["mean"]);
        graph.AddNode("Identity", [OnnxLayers.Linear(graph, h, vae.EncoderLogVariance, "fc22")], ["log_variance"]);
        graph.AddOutput("mean", OnnxElementType.Float, ["batch", vae.LatentSize]);
        graph.AddOutput("log_variance", OnnxElementType.Float, ["batch", vae.LatentSize]);
        return new OnnxModel(graph) { DocString = "Aigc.MLNet MLP VAE encoder" };
    }

    /// <summary>The VAE decoder as ONNX: <c>z</c> → <c>image</c> (sigmoid of the logits).</summary>
    public static OnnxModel Decoder(MlpVae vae)
    {
        ArgumentNullException.ThrowIfNull(vae);
        var graph = new OnnxGraph("decoder");
        string z = graph.AddInput("z", OnnxElementType.Float, ["batch", vae.LatentSize]);
        string h = graph.Apply("Relu", [OnnxLayers.Linear(graph, z, vae.DecoderHidden, "fc3")]);
        graph.AddNode("Sigmoid", [OnnxLayers.Linear(graph, h, vae.DecoderOutput, "fc4")], ["image"]);
        graph.AddOutput("image", OnnxElementType.Float, ["batch", vae.PixelCount]);
        return new OnnxModel(graph) { DocString = "Aigc.MLNet MLP VAE decoder" };
    }
}
