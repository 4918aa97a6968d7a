using Aigc.MLNet.Onnx.Proto;
using Aigc.MLNet.Trainers.Models;

namespace Aigc.MLNet.Trainers.Export;

/// <summary>
/// Exports trained image models to ONNX with the contracts of <c>Aigc.MLNet.Transforms.Images.ImageModelManifest</c>
/// (generator: z [+ label] → image in [0, 1]; encoder: pixels → mean, log_variance; decoder: z → image in [0, 1]).
/// </summary>
public static class ImageModelExport
{
    /// <summary>
    /// The generator as ONNX; its <c>image</c> output is (tanh + 1) / 2, i.e. pixels in [0, 1]. Batch norms use their
    /// running statistics (the module's eval mode).
    /// </summary>
    public static OnnxModel Generator(ImageGenerator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        var graph = new OnnxGraph("generator");
        string h = graph.AddInput("z", OnnxElementType.Float, ["batch", generator.LatentSize]);
        if (generator.ClassCount > 0)
        {
            string labels = graph.AddInput("label", OnnxElementType.Int64, ["batch"]);
            h = OnnxLayers.ConcatOneHot(graph, h, labels, generator.ClassCount);
        }
        switch (generator)
        {
            case MlpGenerator mlp:
                var layers = mlp.Layers;
                for (int i = 0; i < layers.Count; i++)
                {
                    h = OnnxLayers.Linear(graph, h, layers[i], $"layers.{i}");
                    h = i < layers.Count - 1
                        ? graph.Apply("LeakyRelu", [h], OnnxAttribute.Float("alpha", (float)MlpGenerator.NegativeSlope))
                        : graph.Apply("Tanh", [h]);
                }
                break;
            case DcganGenerator dc:
                h = graph.Apply("Relu", [OnnxLayers.BatchNorm(graph, OnnxLayers.Linear(graph, h, dc.Project, "project"), dc.ProjectNorm, "project_norm")]);
                h = OnnxLayers.Reshape(graph, h, -1, dc.BaseChannels, 7, 7);
                h = graph.Apply("Relu", [OnnxLayers.BatchNorm(graph, OnnxLayers.Convolution(graph, h, dc.Up1, "up1"), dc.Up1Norm, "up1_norm")]);
                h = graph.Apply("Tanh", [OnnxLayers.Convolution(graph, h, dc.Up2, "up2")]);
                h = OnnxLayers.Reshape(graph, h, -1, dc.PixelCount);
                break;
            default:
                throw new NotSupportedException($"No ONNX export for generator type {generator.GetType().Name}.");
        }
        string shifted = graph.Apply("Add", [h, graph.AddScalar("one", 1f)]);
        graph.AddNode("Mul", [shifted, graph.AddScalar("half", 0.5f)], ["image"]);
        graph.AddOutput("image", OnnxElementType.Float, ["batch", generator.PixelCount]);
        return new OnnxModel(graph) { DocString = $"Aigc.MLNet {generator.GetType().Name}: z -> image in [0, 1]" };
    }

    /// <summary>The VAE encoder as ONNX: <c>pixels</c> → <c>mean</c>, <c>log_variance</c>.</summary>
    public static OnnxModel Encoder(ImageVae vae)
    {
        ArgumentNullException.ThrowIfNull(vae);
        var graph = new OnnxGraph("encoder");
        string x = graph.AddInput("pixels", OnnxElementType.Float, ["batch", vae.PixelCount]);
        string mean, logVariance;
        switch (vae)
        {
            case MlpVae mlp:
            {
                string h = graph.Apply("Relu", [OnnxLayers.Linear(graph, x, mlp.EncoderHidden, "fc1")]);
                for (int i = 0; i < mlp.EncoderDeepLayers.Count; i++)
                    h = graph.Apply("Relu", [OnnxLayers.Linear(graph, h, mlp.EncoderDeepLayers[i], $"enc_deep{i}")]);
                mean = OnnxLayers.Linear(graph, h, mlp.EncoderMean, "fc21");
                logVariance = OnnxLayers.Linear(graph, h, mlp.EncoderLogVariance, "fc22");
                break;
            }
            case ConvVae conv:
            {
                string h = OnnxLayers.Reshape(graph, x, -1, 1, 28, 28);
                h = graph.Apply("Relu", [OnnxLayers.Convolution(graph, h, conv.EncoderConvolutions.First, "enc1")]);
                h = graph.Apply("Relu", [OnnxLayers.Convolution(graph, h, conv.EncoderConvolutions.Second, "enc2")]);
                h = graph.Apply("Flatten", [h], OnnxAttribute.Int("axis", 1));
                h = graph.Apply("Relu", [OnnxLayers.Linear(graph, h, conv.EncoderDense.Hidden, "enc_hidden")]);
                mean = OnnxLayers.Linear(graph, h, conv.EncoderDense.Mean, "enc_mean");
                logVariance = OnnxLayers.Linear(graph, h, conv.EncoderDense.LogVariance, "enc_log_variance");
                break;
            }
            default:
                throw new NotSupportedException($"No ONNX export for VAE type {vae.GetType().Name}.");
        }
        graph.AddNode("Identity", [mean], ["mean"]);
        graph.AddNode("Identity", [logVariance], ["log_variance"]);
        graph.AddOutput("mean", OnnxElementType.Float, ["batch", vae.LatentSize]);
        graph.AddOutput("log_variance", OnnxElementType.Float, ["batch", vae.LatentSize]);
        return new OnnxModel(graph) { DocString = $"Aigc.MLNet {vae.GetType().Name} encoder" };
    }

    /// <summary>The VAE decoder as ONNX: <c>z</c> → <c>image</c> (sigmoid of the logits).</summary>
    public static OnnxModel Decoder(ImageVae vae)
    {
        ArgumentNullException.ThrowIfNull(vae);
        var graph = new OnnxGraph("decoder");
        string z = graph.AddInput("z", OnnxElementType.Float, ["batch", vae.LatentSize]);
        string logits;
        switch (vae)
        {
            case MlpVae mlp:
            {
                string h = graph.Apply("Relu", [OnnxLayers.Linear(graph, z, mlp.DecoderHidden, "fc3")]);
                for (int i = 0; i < mlp.DecoderDeepLayers.Count; i++)
                    h = graph.Apply("Relu", [OnnxLayers.Linear(graph, h, mlp.DecoderDeepLayers[i], $"dec_deep{i}")]);
                logits = OnnxLayers.Linear(graph, h, mlp.DecoderOutput, "fc4");
                break;
            }
            case ConvVae conv:
            {
                string h = graph.Apply("Relu", [OnnxLayers.Linear(graph, z, conv.DecoderDense.Hidden, "dec_hidden")]);
                h = graph.Apply("Relu", [OnnxLayers.Linear(graph, h, conv.DecoderDense.Project, "dec_project")]);
                h = OnnxLayers.Reshape(graph, h, -1, 64, 7, 7);
                h = graph.Apply("Relu", [OnnxLayers.Convolution(graph, h, conv.DecoderConvolutions.First, "dec1")]);
                logits = OnnxLayers.Reshape(graph, OnnxLayers.Convolution(graph, h, conv.DecoderConvolutions.Second, "dec2"), -1, vae.PixelCount);
                break;
            }
            default:
                throw new NotSupportedException($"No ONNX export for VAE type {vae.GetType().Name}.");
        }
        graph.AddNode("Sigmoid", [logits], ["image"]);
        graph.AddOutput("image", OnnxElementType.Float, ["batch", vae.PixelCount]);
        return new OnnxModel(graph) { DocString = $"Aigc.MLNet {vae.GetType().Name} decoder" };
    }
}
