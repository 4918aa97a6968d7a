using Aigc.MLNet.Onnx.Proto;
using Aigc.MLNet.Trainers.Models;
using TorchSharp.Modules;

namespace Aigc.MLNet.Trainers.Export;

/// <summary>
/// Exports a <see cref="DiffusionUNet"/> as the ONNX denoiser of a diffusion model folder: <c>x</c> float [b, 784],
/// <c>t</c> int64 [b] (+ <c>label</c> int64 [b], ClassCount meaning "no class") → <c>epsilon</c> float [b, 784].
/// </summary>
/// <remarks>
/// The sinusoidal timestep code is the module's own table (a Gather by t); GroupNorm is written as Reshape →
/// InstanceNormalization → Reshape → affine; SiLU as x · Sigmoid(x). Opset 17.
/// </remarks>
public static class DiffusionModelExport
{
    /// <summary>The denoiser as ONNX.</summary>
    public static OnnxModel Denoiser(DiffusionUNet model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var graph = new OnnxGraph("denoiser");
        string x = graph.AddInput("x", OnnxElementType.Float, ["batch", model.PixelCount]);
        string t = graph.AddInput("t", OnnxElementType.Int64, ["batch"]);

        var time = model.Time;
        string table = graph.AddInitializer("time.table", time.SinusoidalTable, [time.Timesteps, time.SinusoidalSize]);
        string code = graph.Apply("Gather", [table, t], OnnxAttribute.Int("axis", 0));
        string conditioning = OnnxLayers.Linear(graph, SiLU(graph, OnnxLayers.Linear(graph, code, time.Hidden, "time.hidden")), time.Output, "time.output");
        if (model.Classes is { } classes)
        {
            string labels = graph.AddInput("label", OnnxElementType.Int64, ["batch"]);
            var weight = classes.weight!.detach().cpu();
            string embedding = graph.AddInitializer("classes.weight", weight.data<float>().ToArray(), weight.shape);
            conditioning = graph.Apply("Add", [conditioning, graph.Apply("Gather", [embedding, labels], OnnxAttribute.Int("axis", 0))]);
        }

        var blocks = model.Blocks;
        string h = OnnxLayers.Convolution(graph, OnnxLayers.Reshape(graph, x, -1, 1, DiffusionUNet.Side, DiffusionUNet.Side), model.Input, "input");
        string skip0 = ResidualBlock(graph, h, conditioning, blocks[0], "down0");
        string skip1 = ResidualBlock(graph, OnnxLayers.Convolution(graph, skip0, model.Downsamples.First, "downsample0"), conditioning, blocks[1], "down1");
        h = OnnxLayers.Convolution(graph, skip1, model.Downsamples.Second, "downsample1");
        h = ResidualBlock(graph, h, conditioning, blocks[2], "middle0");
        h = ResidualBlock(graph, h, conditioning, blocks[3], "middle1");
        h = graph.Apply("Concat", [OnnxLayers.Convolution(graph, h, model.Upsamples.First, "upsample1"), skip1], OnnxAttribute.Int("axis", 1));
        h = ResidualBlock(graph, h, conditioning, blocks[4], "up1");
        h = graph.Apply("Concat", [OnnxLayers.Convolution(graph, h, model.Upsamples.Second, "upsample0"), skip0], OnnxAttribute.Int("axis", 1));
        h = ResidualBlock(graph, h, conditioning, blocks[5], "up0");
        h = SiLU(graph, GroupNorm(graph, h, model.OutputNorm, DiffusionUNet.GroupCount, model.BaseChannels, "output_norm"));
        h = OnnxLayers.Convolution(graph, h, model.Output, "output");
        graph.AddNode("Reshape", [h, graph.AddConstant("shape", -1, model.PixelCount)], ["epsilon"]);
        graph.AddOutput("epsilon", OnnxElementType.Float, ["batch", model.PixelCount]);
        return new OnnxModel(graph)
        {
            DocString = $"Aigc.MLNet DiffusionUNet C={model.BaseChannels} T={model.Timesteps} classes={model.ClassCount}: (x, t[, label]) -> epsilon",
        };
    }

    private static string ResidualBlock(OnnxGraph graph, string x, string conditioning, DiffusionResidualBlock block, string name)
    {
        string h = SiLU(graph, GroupNorm(graph, x, block.Norm1, block.Groups, block.InChannels, $"{name}.norm1"));
        h = OnnxLayers.Convolution(graph, h, block.Conv1, $"{name}.conv1");
        string shift = OnnxLayers.Linear(graph, SiLU(graph, conditioning), block.Embedding, $"{name}.embedding");
        h = graph.Apply("Add", [h, OnnxLayers.Reshape(graph, shift, -1, block.OutChannels, 1, 1)]);
        h = SiLU(graph, GroupNorm(graph, h, block.Norm2, block.Groups, block.OutChannels, $"{name}.norm2"));
        h = OnnxLayers.Convolution(graph, h, block.Conv2, $"{name}.conv2");
        string shortcut = block.Skip is null ? x : OnnxLayers.Convolution(graph, x, block.Skip, $"{name}.skip");
        return graph.Apply("Add", [h, shortcut]);
    }

    private static string SiLU(OnnxGraph graph, string x) => graph.Apply("Mul", [x, graph.Apply("Sigmoid", [x])]);

    /// <summary>GroupNorm over [b, C, H, W]: normalise [b, G, C/G·H·W] per (b, g) with InstanceNormalization, then γ, β per channel.</summary>
    private static string GroupNorm(OnnxGraph graph, string x, GroupNorm norm, int groups, int channels, string name)
    {
        float[] Data(TorchSharp.torch.Tensor tensor) => tensor.detach().cpu().data<float>().ToArray();
        string grouped = OnnxLayers.Reshape(graph, x, 0, groups, -1);
        string normalised = graph.Apply("InstanceNormalization",
            [grouped, graph.AddInitializer(graph.NewName($"{name}.ones"), Enumerable.Repeat(1f, groups).ToArray(), [groups]),
             graph.AddInitializer(graph.NewName($"{name}.zeros"), new float[groups], [groups])],
            OnnxAttribute.Float("epsilon", (float)Models.DiffusionResidualBlock.NormEpsilon));
        string restored = graph.Apply("Reshape", [normalised, graph.Apply("Shape", [x])]);
        string scaled = graph.Apply("Mul", [restored, graph.AddInitializer($"{name}.weight", Data(norm.weight!), [channels, 1, 1])]);
        return graph.Apply("Add", [scaled, graph.AddInitializer($"{name}.bias", Data(norm.bias!), [channels, 1, 1])]);
    }
}
