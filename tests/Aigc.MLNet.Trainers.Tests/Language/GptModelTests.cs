using Aigc.MLNet.Onnx.Gpt2;
using Aigc.MLNet.Trainers.Language;
using Microsoft.ML.OnnxRuntime;
using TorchSharp;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Tests.Language;

[TestClass]
public sealed class GptModelTests
{
    private static readonly Gpt2Config Tiny = new() { NumLayers = 2, NumHeads = 2, EmbeddingSize = 16, MaxPositions = 32, VocabSize = 40, BosTokenId = 0, EosTokenId = 0 };

    [TestMethod]
    public void ParametersCarryGpt2NamesAndShapes()
    {
        torch.manual_seed(1);
        using var model = new GptModel(Tiny);
        var names = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape.Select(d => (int)d).ToArray());
        var expected = Gpt2Weights.ExpectedShapes(Tiny);
        CollectionAssert.AreEquivalent(expected.Keys.ToArray(), names.Keys.ToArray());
        foreach (var (name, shape) in expected)
            CollectionAssert.AreEqual(shape, names[name], name);
        CollectionAssert.AreEqual(new[] { 16, 48 }, names["transformer.h.1.attn.c_attn.weight"]);
    }

    [TestMethod]
    public void OnnxGraphFromTheModelGivesTheSameLogits()
    {
        torch.manual_seed(2);
        using var model = new GptModel(Tiny);
        model.eval();
        long[] ids = [3, 17, 5, 39, 0, 12, 8];
        using var input = torch.tensor(ids, 1, ids.Length);
        using var logits = model.forward(input);
        float[] expected = logits.data<float>().ToArray();

        byte[] onnx = new Gpt2GraphBuilder(model.ToGpt2Weights()).Build().ToArray();
        using var session = new InferenceSession(onnx);
        float[] actual = RunOptimum(session, ids);
        Assert.AreEqual(expected.Length, actual.Length);
        for (int i = 0; i < actual.Length; i++)
            Assert.AreEqual(expected[i], actual[i], 1e-4f, $"logit {i}");
    }

    [TestMethod]
    public void ModelLoadedFromASafetensorsFileMatchesTheOnnxGraphBuiltFromIt()
    {
        string folder = Path.Combine(Path.GetTempPath(), "aigc-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        string file = Path.Combine(folder, "model.safetensors");
        Gpt2Checkpoint.SaveSafeTensors(Gpt2Weights.Random(Tiny, seed: 8), file);
        var fromFile = Gpt2Checkpoint.LoadWeights(file, Tiny);

        torch.manual_seed(9);
        using var model = new GptModel(Tiny);
        model.Load(fromFile);
        model.eval();
        long[] ids = [0, 5, 39, 12, 7, 7, 21, 3, 30];
        using var input = torch.tensor(ids, 1, ids.Length);
        using var logits = model.forward(input);
        float[] expected = logits.data<float>().ToArray();

        using var session = new InferenceSession(new Gpt2GraphBuilder(Gpt2Checkpoint.LoadWeights(file, Tiny)).Build().ToArray());
        float[] actual = RunOptimum(session, ids);
        Assert.AreEqual(ids.Length * Tiny.VocabSize, actual.Length);
        for (int i = 0; i < actual.Length; i++)
            Assert.AreEqual(expected[i], actual[i], 1e-4f, $"logit {i}");
    }

    [TestMethod]
    public void WeightsRoundTripThroughGpt2Weights()
    {
        torch.manual_seed(3);
        using var a = new GptModel(Tiny);
        torch.manual_seed(4);
        using var b = new GptModel(Tiny);
        b.Load(a.ToGpt2Weights());
        using var ids = torch.tensor(new long[] { 1, 2, 3, 4 }, 1, 4);
        a.eval();
        b.eval();
        using var la = a.forward(ids);
        using var lb = b.forward(ids);
        CollectionAssert.AreEqual(la.data<float>().ToArray(), lb.data<float>().ToArray());
    }

    [TestMethod]
    public void TooLongInputIsRejected()
    {
        using var model = new GptModel(Tiny);
        using var ids = torch.zeros(1, 33, ScalarType.Int64);
        var ex = Assert.ThrowsExactly<ArgumentException>(() => model.forward(ids));
        StringAssert.Contains(ex.Message, "33");
        StringAssert.Contains(ex.Message, "32");
    }

    internal static float[] RunOptimum(InferenceSession session, long[] ids)
    {
        int n = ids.Length;
        var config = Tiny;
        var names = new List<string> { Gpt2GraphBuilder.InputIds, Gpt2GraphBuilder.AttentionMask, Gpt2GraphBuilder.PositionIds };
        var values = new List<OrtValue>
        {
            OrtValue.CreateTensorValueFromMemory(ids.ToArray(), [1, n]),
            OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(1L, n).ToArray(), [1, n]),
            OrtValue.CreateTensorValueFromMemory(Enumerable.Range(0, n).Select(i => (long)i).ToArray(), [1, n]),
        };
        for (int layer = 0; layer < config.NumLayers; layer++)
        {
            names.Add(Gpt2GraphBuilder.PastKey(layer));
            values.Add(OrtValue.CreateTensorValueFromMemory(Array.Empty<float>(), [1, config.NumHeads, 0, config.HeadSize]));
            names.Add(Gpt2GraphBuilder.PastValue(layer));
            values.Add(OrtValue.CreateTensorValueFromMemory(Array.Empty<float>(), [1, config.NumHeads, 0, config.HeadSize]));
        }
        try
        {
            using var outputs = session.Run(new RunOptions(), names, values, [Gpt2GraphBuilder.Logits]);
            return outputs[0].GetTensorDataAsSpan<float>().ToArray();
        }
        finally
        {
            foreach (var v in values)
                v.Dispose();
        }
    }
}
