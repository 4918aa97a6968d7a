using Aigc.MLNet.Onnx.Gpt2;
using Aigc.MLNet.Onnx.Runtime;
using static Aigc.MLNet.Onnx.Tests.Runtime.EngineTestModels;

namespace Aigc.MLNet.Onnx.Tests.Runtime;

[TestClass]
public sealed class KeyValueCacheTests
{
    [TestMethod]
    [DataRow(Gpt2OnnxLayout.Optimum)]
    [DataRow(Gpt2OnnxLayout.OptimumMergedLegacy)]
    [DataRow(Gpt2OnnxLayout.OnnxRuntimeGpt2)]
    public void CachedSteps_EqualFullRecompute_Over20Steps(Gpt2OnnxLayout layout)
    {
        using var model = CausalLM.Load(Gpt2Folder(layout, int32Inputs: layout == Gpt2OnnxLayout.OnnxRuntimeGpt2));
        var sequence = new List<int> { 3, 14, 15, 92, 65 };
        using var session = new DecoderSession(model, 1, 32, default);
        session.Prefill([sequence.ToArray()], 0);
        var rng = new Random(11);
        for (int step = 0; step < 20; step++)
        {
            float[] full = model.ComputeLogits(sequence);
            var cached = session.Logits(0);
            int v = session.VocabSize;
            Assert.AreEqual(Gpt2Vocab, v);
            float maxAbs = 0;
            for (int j = 0; j < v; j++)
            {
                float expected = full[(sequence.Count - 1) * v + j];
                Assert.AreEqual(expected, cached[j], 1e-4f, $"step {step}, logit {j}");
                maxAbs = Math.Max(maxAbs, Math.Abs(expected));
            }
            Assert.IsTrue(maxAbs > 1f, "logits must be non-trivial");
            int next = rng.Next(Gpt2Vocab);
            sequence.Add(next);
            session.Append([next]);
        }
        Assert.AreEqual(25, session.Length);
    }

    [TestMethod]
    public void ReorderRows_MovesCacheWithTheRow()
    {
        using var model = CausalLM.Load(Gpt2Folder(Gpt2OnnxLayout.OnnxRuntimeGpt2));
        int[] a = [5, 6, 7], b = [40, 41, 42, 43];
        using var session = new DecoderSession(model, 2, 16, default);
        session.Prefill([a, b], Gpt2Eos);
        session.ReorderRows([1, 1]);
        session.Append([9, 9]);
        float[] expected = model.ComputeLogits([.. b, 9]);
        int v = session.VocabSize;
        for (int row = 0; row < 2; row++)
            for (int j = 0; j < v; j++)
                Assert.AreEqual(expected[4 * v + j], session.Logits(row)[j], 1e-4f, $"row {row} logit {j}");
    }

    [TestMethod]
    public void LeftPaddedRows_MatchEachSequenceAlone()
    {
        using var model = CausalLM.Load(Gpt2Folder(Gpt2OnnxLayout.Optimum));
        int[] shortPrompt = [8], longPrompt = [1, 2, 3, 4, 5, 6];
        using var session = new DecoderSession(model, 2, 16, default);
        session.Prefill([shortPrompt, longPrompt], Gpt2Eos);
        session.Append([20, 30]);
        float[] s = model.ComputeLogits([8, 20]);
        float[] l = model.ComputeLogits([1, 2, 3, 4, 5, 6, 30]);
        int v = session.VocabSize;
        for (int j = 0; j < v; j++)
        {
            Assert.AreEqual(s[1 * v + j], session.Logits(0)[j], 1e-4f);
            Assert.AreEqual(l[6 * v + j], session.Logits(1)[j], 1e-4f);
        }
    }

    [TestMethod]
    public void HistoryBuffersGrowPastTheInitialCapacity()
    {
        using var model = CausalLM.Load(Gpt2Folder(Gpt2OnnxLayout.OptimumMergedLegacy));
        var sequence = new List<int> { 4, 5, 6 };
        using var session = new DecoderSession(model, 1, 2, default);
        session.Prefill([sequence.ToArray()], 0);
        for (int step = 0; step < 12; step++)
        {
            int next = (step * 31 + 7) % Gpt2Vocab;
            sequence.Add(next);
            session.Append([next]);
        }
        float[] full = model.ComputeLogits(sequence);
        int v = session.VocabSize;
        for (int j = 0; j < v; j++) Assert.AreEqual(full[(sequence.Count - 1) * v + j], session.Logits(0)[j], 1e-4f);
    }

    [TestMethod]
    [DataRow(Gpt2OnnxLayout.Optimum)]
    [DataRow(Gpt2OnnxLayout.OptimumMergedLegacy)]
    [DataRow(Gpt2OnnxLayout.OnnxRuntimeGpt2)]
    public void ChunkedPrefill_GivesTheSameLogitsAsOneRun(Gpt2OnnxLayout layout)
    {
        using var model = CausalLM.Load(Gpt2Folder(layout));
        int[][] prompts = [[5, 6, 7, 8, 9, 10, 11], [40, 41, 42]];
        float[][] Last(int chunk)
        {
            using var session = new DecoderSession(model, 2, 16, default) { PrefillChunk = chunk };
            session.Prefill(prompts, Gpt2Eos);
            session.Append([1, 2]);
            return [session.Logits(0).ToArray(), session.Logits(1).ToArray()];
        }
        var whole = Last(100);
        foreach (int chunk in new[] { 1, 2, 3 })
        {
            var chunked = Last(chunk);
            for (int row = 0; row < 2; row++)
                for (int j = 0; j < whole[row].Length; j++)
                    Assert.AreEqual(whole[row][j], chunked[row][j], 1e-4f, $"chunk {chunk}, row {row}, logit {j}");
        }
        float[] reference = model.ComputeLogits([40, 41, 42, 2]);
        for (int j = 0; j < Gpt2Vocab; j++) Assert.AreEqual(reference[3 * Gpt2Vocab + j], whole[1][j], 1e-4f);
    }
}
