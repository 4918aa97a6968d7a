using Aigc.MLNet.Onnx.Gpt2;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using static Aigc.MLNet.Onnx.Tests.Gpt2.Gpt2TestModels;

namespace Aigc.MLNet.Onnx.Tests.Gpt2;

[TestClass]
public sealed class Gpt2GraphBuilderTests
{
    private static readonly long[] Prompt = [5, 17, 3, 96, 42, 8, 0];

    [TestMethod]
    public void OptimumLayout_LogitsMatchManagedReference()
    {
        Gpt2Weights w = TinyWeights();
        using var session = Session(new Gpt2GraphBuilder(w).Build());
        int S = Prompt.Length, V = w.Config.VocabSize;
        var o = Run(session, w.Config, 1, Prompt, Enumerable.Repeat(1L, S).ToArray(), Enumerable.Range(0, S).Select(i => (long)i).ToArray());
        CollectionAssert.AreEqual(new[] { 1, S, V }, o.LogitsShape);
        CollectionAssert.AreEqual(new[] { 1, w.Config.NumHeads, S, w.Config.HeadSize }, o.PresentShape);
        float[,] expected = Gpt2Reference.Forward(w, Prompt);
        float maxAbs = 0;
        for (int t = 0; t < S; t++)
            for (int v = 0; v < V; v++)
            {
                AssertClose(expected[t, v], o.Logits[t * V + v], 1e-4f, $"logit[{t},{v}]");
                maxAbs = Math.Max(maxAbs, Math.Abs(expected[t, v]));
            }
        Assert.IsTrue(maxAbs > 0.5f, "the test model must produce non-trivial logits");
    }

    [TestMethod]
    public void WithPast_OneTokenEqualsFullRecompute()
    {
        Gpt2Weights w = TinyWeights(seed: 2);
        Gpt2Config c = w.Config;
        using var session = Session(new Gpt2GraphBuilder(w).Build());
        int S = Prompt.Length, V = c.VocabSize;
        long[] prefix = Prompt[..(S - 1)];
        var first = Run(session, c, 1, prefix, Enumerable.Repeat(1L, S - 1).ToArray(), Enumerable.Range(0, S - 1).Select(i => (long)i).ToArray());
        var step = Run(session, c, 1, [Prompt[^1]], Enumerable.Repeat(1L, S).ToArray(), [S - 1], first.Keys, first.Values, S - 1);
        var full = Run(session, c, 1, Prompt, Enumerable.Repeat(1L, S).ToArray(), Enumerable.Range(0, S).Select(i => (long)i).ToArray());

        CollectionAssert.AreEqual(new[] { 1, 1, V }, step.LogitsShape);
        CollectionAssert.AreEqual(new[] { 1, c.NumHeads, S, c.HeadSize }, step.PresentShape);
        for (int v = 0; v < V; v++)
            AssertClose(full.Logits[(S - 1) * V + v], step.Logits[v], 1e-4f, $"last logit {v}");
        for (int i = 0; i < c.NumLayers; i++)
            for (int j = 0; j < full.Keys[i].Length; j++)
            {
                AssertClose(full.Keys[i][j], step.Keys[i][j], 1e-4f, $"present.{i}.key[{j}]");
                AssertClose(full.Values[i][j], step.Values[i][j], 1e-4f, $"present.{i}.value[{j}]");
            }
    }

    [TestMethod]
    public void LeftPadding_GivesSameLastTokenLogitsAsUnpaddedRow_AndNoNaN()
    {
        Gpt2Weights w = TinyWeights(seed: 3);
        Gpt2Config c = w.Config;
        using var session = Session(new Gpt2GraphBuilder(w).Build());
        int V = c.VocabSize;
        long[] shortRow = [11, 12, 13];
        int S = Prompt.Length, pad = S - shortRow.Length;
        // Row 0: the full prompt. Row 1: short row left-padded with token 0; positions = cumsum(mask) - 1, padded → 1 (as HF).
        long[] ids = [.. Prompt, .. Enumerable.Repeat(0L, pad), .. shortRow];
        long[] mask = [.. Enumerable.Repeat(1L, S), .. Enumerable.Repeat(0L, pad), .. Enumerable.Repeat(1L, shortRow.Length)];
        long[] pos = [.. Enumerable.Range(0, S).Select(i => (long)i), .. Enumerable.Repeat(1L, pad), 0, 1, 2];
        var batch = Run(session, c, 2, ids, mask, pos);
        Assert.IsFalse(batch.Logits.Any(float.IsNaN), "fully padded query rows must not produce NaN");

        var alone = Run(session, c, 1, shortRow, [1, 1, 1], [0, 1, 2]);
        var fullAlone = Run(session, c, 1, Prompt, Enumerable.Repeat(1L, S).ToArray(), Enumerable.Range(0, S).Select(i => (long)i).ToArray());
        for (int v = 0; v < V; v++)
        {
            AssertClose(alone.Logits[2 * V + v], batch.Logits[(S + S - 1) * V + v], 1e-4f, $"padded row last logit {v}");
            AssertClose(fullAlone.Logits[(S - 1) * V + v], batch.Logits[(S - 1) * V + v], 1e-4f, $"full row last logit {v}");
        }

        // Continue the padded batch with one token each through the cache: still equal to the unpadded computation.
        long[] next = [7, 9];
        long[] mask2 = [.. mask[..S], 1, .. mask[S..], 1];
        var step = Run(session, c, 2, next, mask2, [S, shortRow.Length], batch.Keys, batch.Values, S);
        var aloneNext = Run(session, c, 1, [.. shortRow, 9], [1, 1, 1, 1], [0, 1, 2, 3]);
        for (int v = 0; v < V; v++)
            AssertClose(aloneNext.Logits[3 * V + v], step.Logits[V + v], 1e-4f, $"padded row next-token logit {v}");
    }

    [TestMethod]
    public void AllThreeLayouts_LoadInOrtAndGiveSameLogits()
    {
        Gpt2Weights w = TinyWeights(seed: 4);
        Gpt2Config c = w.Config;
        int S = Prompt.Length, V = c.VocabSize, L = c.NumLayers, H = c.NumHeads, D = c.HeadSize;
        long[] mask = Enumerable.Repeat(1L, S).ToArray(), pos = Enumerable.Range(0, S).Select(i => (long)i).ToArray();

        using var optimum = Session(new Gpt2GraphBuilder(w).Build());
        var reference = Run(optimum, c, 1, Prompt, mask, pos);

        // Merged legacy: the no-cache branch is fed a dummy past of length 1 and a mask covering it, as some runners do.
        using var merged = Session(new Gpt2GraphBuilder(w).Build(Gpt2OnnxLayout.OptimumMergedLegacy));
        Assert.IsTrue(merged.InputMetadata.ContainsKey("use_cache_branch"));
        var dummy = Enumerable.Range(0, L).Select(_ => new float[H * D]).ToArray();
        var noCache = Run(merged, c, 1, Prompt, [1, .. mask], pos, dummy, dummy, 1, useCacheBranch: false);
        CollectionAssert.AreEqual(reference.LogitsShape, noCache.LogitsShape);
        for (int j = 0; j < reference.Logits.Length; j++) AssertClose(reference.Logits[j], noCache.Logits[j], 1e-5f, $"merged/no-cache logit {j}");
        var first = Run(merged, c, 1, Prompt[..(S - 1)], mask[..(S - 1)], pos[..(S - 1)], null, null, 0, useCacheBranch: false);
        var cached = Run(merged, c, 1, [Prompt[^1]], mask, [S - 1], first.Keys, first.Values, S - 1, useCacheBranch: true);
        for (int v = 0; v < V; v++) AssertClose(reference.Logits[(S - 1) * V + v], cached.Logits[v], 1e-4f, $"merged/cache logit {v}");

        // ONNX Runtime GPT-2 layout with int32 inputs and stacked [2, b, H, past, D] caches.
        using var ort = Session(new Gpt2GraphBuilder(w) { UseInt32Inputs = true }.Build(Gpt2OnnxLayout.OnnxRuntimeGpt2));
        Assert.AreEqual(typeof(int), ort.InputMetadata["input_ids"].ElementType);
        CollectionAssert.AreEqual(new[] { 2, -1, H, -1, D }, ort.InputMetadata["past_0"].Dimensions);
        var inputs = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<int>(Prompt.Select(x => (int)x).ToArray(), [1, S])),
            NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<int>(Enumerable.Repeat(1, S).ToArray(), [1, S])),
            NamedOnnxValue.CreateFromTensor("position_ids", new DenseTensor<int>(Enumerable.Range(0, S).ToArray(), [1, S])),
        };
        for (int i = 0; i < L; i++) inputs.Add(NamedOnnxValue.CreateFromTensor($"past_{i}", new DenseTensor<float>(Array.Empty<float>(), [2, 1, H, 0, D])));
        using var r = ort.Run(inputs);
        float[] logits = r.First(x => x.Name == "logits").AsTensor<float>().ToArray();
        for (int j = 0; j < logits.Length; j++) AssertClose(reference.Logits[j], logits[j], 1e-5f, $"ort logit {j}");
        var present0 = r.First(x => x.Name == "present_0").AsTensor<float>();
        CollectionAssert.AreEqual(new[] { 2, 1, H, S, D }, present0.Dimensions.ToArray());
        float[] stacked = present0.ToArray();
        for (int j = 0; j < reference.Keys[0].Length; j++)
        {
            AssertClose(reference.Keys[0][j], stacked[j], 1e-5f, $"present_0 key {j}");
            AssertClose(reference.Values[0][j], stacked[reference.Keys[0].Length + j], 1e-5f, $"present_0 value {j}");
        }

        // Each stacked past is read once, by the Concat along the sequence axis that writes its present: the cache is
        // copied into present_N once per step (not split, appended per half and restacked).
        var graph = new Gpt2GraphBuilder(w) { UseInt32Inputs = true }.Build(Gpt2OnnxLayout.OnnxRuntimeGpt2).Graph;
        for (int i = 0; i < L; i++)
        {
            var readers = graph.Nodes.Where(n => n.Inputs.Contains($"past_{i}")).ToList();
            Assert.HasCount(1, readers, $"past_{i} readers");
            Assert.AreEqual("Concat", readers[0].OpType);
            CollectionAssert.AreEqual(new[] { $"present_{i}" }, readers[0].Outputs.ToArray());
            Assert.AreEqual(3L, readers[0].Attributes.Single(a => a.Name == "axis").IntValue);
            // Attention reads present_N itself: the score matmul through a transpose of its last two axes (which ONNX
            // Runtime folds into the matmul) and the context matmul directly; nothing splits or slices the cache.
            var presentReaders = graph.Nodes.Where(n => n.Inputs.Contains($"present_{i}")).Select(n => n.OpType).Order(StringComparer.Ordinal).ToArray();
            CollectionAssert.AreEqual(new[] { "MatMul", "Transpose" }, presentReaders, $"present_{i} readers");
            var keysT = graph.Nodes.Single(n => n.OpType == "Transpose" && n.Inputs.Contains($"present_{i}"));
            CollectionAssert.AreEqual(new long[] { 0, 1, 2, 4, 3 }, keysT.Attributes.Single(a => a.Name == "perm").IntsValue!.ToArray());
        }
    }
}
