using Aigc.MLNet.Onnx.Gpt2;
using Aigc.MLNet.Onnx.Proto;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Aigc.MLNet.Onnx.Tests.Gpt2;

/// <summary>Tiny GPT-2s with every tensor random (biases and layer-norm gains too), and a runner for their sessions.</summary>
internal static class Gpt2TestModels
{
    public static Gpt2Config TinyConfig(int vocab = 97) => new()
    {
        NumLayers = 2, NumHeads = 2, EmbeddingSize = 16, MaxPositions = 32, VocabSize = vocab, BosTokenId = 0, EosTokenId = 0,
    };

    public static Gpt2Weights TinyWeights(int seed = 1, int vocab = 97)
    {
        Gpt2Config c = TinyConfig(vocab);
        var w = Gpt2Weights.Random(c, seed);
        var rng = new Random(seed + 1000);
        foreach (string name in w.Names.ToList())
        {
            float[] data = w.Get(name);
            for (int i = 0; i < data.Length; i++)
            {
                double n = rng.NextDouble() * 2 - 1;
                data[i] = name.Contains(".ln_") && name.EndsWith(".weight") ? (float)(1 + 0.3 * n) : (float)(0.4 * n);
            }
        }
        return w;
    }

    public sealed record Output(float[] Logits, int[] LogitsShape, float[][] Keys, float[][] Values, int[] PresentShape);

    /// <summary>Runs an Optimum-layout (or merged) session. ids/mask/pos are [batch, len] row-major.</summary>
    public static Output Run(InferenceSession session, Gpt2Config c, int batch, long[] ids, long[] mask, long[] pos,
        float[][]? pastK = null, float[][]? pastV = null, int pastLen = 0, bool? useCacheBranch = null)
    {
        int S = ids.Length / batch, T = mask.Length / batch;
        int H = c.NumHeads, D = c.HeadSize;
        var inputs = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(ids, [batch, S])),
            NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(mask, [batch, T])),
            NamedOnnxValue.CreateFromTensor("position_ids", new DenseTensor<long>(pos, [batch, S])),
        };
        for (int i = 0; i < c.NumLayers; i++)
        {
            inputs.Add(NamedOnnxValue.CreateFromTensor(Gpt2GraphBuilder.PastKey(i), new DenseTensor<float>(pastK?[i] ?? [], [batch, H, pastLen, D])));
            inputs.Add(NamedOnnxValue.CreateFromTensor(Gpt2GraphBuilder.PastValue(i), new DenseTensor<float>(pastV?[i] ?? [], [batch, H, pastLen, D])));
        }
        if (useCacheBranch is bool b)
            inputs.Add(NamedOnnxValue.CreateFromTensor("use_cache_branch", new DenseTensor<bool>(new[] { b }, [1])));
        using var r = session.Run(inputs);
        var logits = r.First(x => x.Name == "logits").AsTensor<float>();
        var keys = new float[c.NumLayers][];
        var values = new float[c.NumLayers][];
        int[] presentShape = [];
        for (int i = 0; i < c.NumLayers; i++)
        {
            var k = r.First(x => x.Name == Gpt2GraphBuilder.PresentKey(i)).AsTensor<float>();
            keys[i] = k.ToArray();
            values[i] = r.First(x => x.Name == Gpt2GraphBuilder.PresentValue(i)).AsTensor<float>().ToArray();
            presentShape = k.Dimensions.ToArray();
        }
        return new Output(logits.ToArray(), logits.Dimensions.ToArray(), keys, values, presentShape);
    }

    public static InferenceSession Session(OnnxModel model) => new(model.ToArray());

    public static void AssertClose(float expected, float actual, float tol, string what)
    {
        if (!(Math.Abs(expected - actual) <= tol))
            Assert.Fail($"{what}: expected {expected}, got {actual} (tolerance {tol}).");
    }
}
