using Aigc.MLNet.Onnx.Proto;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using TorchSharp;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Tests;

[TestClass]
public sealed class RuntimeStackTests
{
    /// <summary>
    /// TorchSharp, ONNX Runtime and ML.NET in one process: a TorchSharp layer is trained, written to ONNX with the
    /// project's writer, run by ONNX Runtime on rows read from an ML.NET IDataView, and matches TorchSharp's output.
    /// </summary>
    [TestMethod]
    public void TorchSharpOnnxRuntimeAndMLNetShareOneProcess()
    {
        torch.manual_seed(11);
        using var layer = nn.Linear(4, 2);
        using (var optimizer = optim.Adam(layer.parameters(), lr: 0.01))
        using (var scope = torch.NewDisposeScope())
        {
            var x = torch.randn(8, 4);
            var loss = layer.forward(x).pow(2).mean();
            loss.backward();
            optimizer.step();
        }

        float[] weight = layer.weight!.detach().data<float>().ToArray();   // [2, 4]
        float[] bias = layer.bias!.detach().data<float>().ToArray();       // [2]
        var graph = new OnnxGraph("linear");
        graph.AddInput("features", OnnxElementType.Float, ["batch", 4]);
        graph.AddInitializer("weight", weight, [2, 4]);
        graph.AddInitializer("bias", bias, [2]);
        graph.AddNode("Gemm", ["features", "weight", "bias"], ["scores"], OnnxAttribute.Int("transB", 1));
        graph.AddOutput("scores", OnnxElementType.Float, ["batch", 2]);
        byte[] model = new OnnxModel(graph).ToArray();

        var ml = new MLContext(seed: 1);
        var rows = Enumerable.Range(0, 5).Select(i => new Row { Features = [i, 1 - i, 0.5f * i, -2] }).ToArray();
        IDataView data = ml.Data.LoadFromEnumerable(rows);
        var features = ml.Data.CreateEnumerable<Row>(data, reuseRowObject: false).SelectMany(r => r.Features).ToArray();
        Assert.AreEqual(20, features.Length);

        using var session = new InferenceSession(model);
        using var input = OrtValue.CreateTensorValueFromMemory(features, [5, 4]);
        using var outputs = session.Run(new RunOptions(), ["features"], [input], ["scores"]);
        float[] onnx = outputs[0].GetTensorDataAsSpan<float>().ToArray();

        using var reference = layer.forward(torch.tensor(features, 5, 4));
        float[] torchOut = reference.detach().data<float>().ToArray();
        Assert.AreEqual(10, onnx.Length);
        for (int i = 0; i < onnx.Length; i++)
            Assert.AreEqual(torchOut[i], onnx[i], 1e-5f, $"element {i}");
        // Hand check of one element: row 2 = [2, -1, 1, -2].
        float expected = bias[1] + 2 * weight[4] - weight[5] + weight[6] - 2 * weight[7];
        Assert.AreEqual(expected, onnx[5], 1e-5f);
    }

    private sealed class Row
    {
        [VectorType(4)]
        public float[] Features { get; set; } = [];
    }
}
