using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Gpt2;
using Aigc.MLNet.Onnx.Runtime;
using static Aigc.MLNet.Onnx.Tests.Runtime.EngineTestModels;

namespace Aigc.MLNet.Onnx.Tests.Generation;

[TestClass]
public sealed class GreedyAndSamplingTests
{
    private static readonly int[][] Prompts = [[3, 14, 15], [92], [65, 35, 89, 79, 32, 38]];

    /// <summary>Greedy search by full recompute, no cache, no batching: the reference.</summary>
    private static List<int> ReferenceGreedy(CausalLM model, int[] prompt, int maxNew, int eos)
    {
        var seq = new List<int>(prompt);
        var generated = new List<int>();
        for (int i = 0; i < maxNew; i++)
        {
            float[] logits = model.ComputeLogits(seq);
            int v = model.Config.VocabSize;
            int best = LogitsPipeline.ArgMax(logits.AsSpan((seq.Count - 1) * v, v));
            generated.Add(best);
            seq.Add(best);
            if (best == eos) break;
        }
        return generated;
    }

    [TestMethod]
    public void Greedy_LeftPaddedBatch_EqualsEachPromptAlone_AndReferenceLoop()
    {
        using var model = CausalLM.Load(Gpt2Folder(Gpt2OnnxLayout.Optimum));
        var generator = new TextGenerator(model);
        var options = new GenerationOptions { MaxNewTokens = 12 };
        var batch = generator.GenerateTokens(Prompts, options);
        Assert.AreEqual(3, batch.Count);
        for (int p = 0; p < Prompts.Length; p++)
        {
            var alone = generator.GenerateTokens(Prompts[p], options)[0];
            var reference = ReferenceGreedy(model, Prompts[p], 12, Gpt2Eos);
            CollectionAssert.AreEqual(reference, alone.TokenIds.ToList(), $"prompt {p} alone vs reference");
            CollectionAssert.AreEqual(reference, batch[p].TokenIds.ToList(), $"prompt {p} batched vs reference");
            Assert.AreEqual(p, batch[p].PromptIndex);
            Assert.AreEqual(reference[^1] == Gpt2Eos ? FinishReason.EndOfSequence : FinishReason.Length, batch[p].FinishReason);
        }
        Assert.IsTrue(batch.Select(b => string.Join(",", b.TokenIds)).Distinct().Count() > 1, "prompts should continue differently");
    }

    [TestMethod]
    public void Greedy_SameTokensForEveryLayout()
    {
        IReadOnlyList<int>[] expected = [];
        foreach (var (layout, int32) in new[] { (Gpt2OnnxLayout.Optimum, false), (Gpt2OnnxLayout.OptimumMergedLegacy, false), (Gpt2OnnxLayout.OnnxRuntimeGpt2, true), (Gpt2OnnxLayout.OnnxRuntimeGpt2, false) })
        {
            using var model = CausalLM.Load(Gpt2Folder(layout, int32));
            var results = new TextGenerator(model).GenerateTokens(Prompts, new GenerationOptions { MaxNewTokens = 10 });
            var tokens = results.Select(r => r.TokenIds).ToArray();
            if (expected.Length == 0) expected = tokens;
            else
                for (int p = 0; p < Prompts.Length; p++)
                    CollectionAssert.AreEqual(expected[p].ToList(), tokens[p].ToList(), $"{layout} int32={int32}, prompt {p}");
        }
    }

    /// <summary>Lookup model: token t is followed by t+1 (strongly), and 4 is EOS; vocab 6.</summary>
    private static string CountingFolder()
    {
        const int V = 6;
        var table = new float[V * V];
        for (int t = 0; t < V; t++)
            for (int u = 0; u < V; u++) table[t * V + u] = u == (t + 1) % V ? 5f : -(u + 1) * 0.1f;
        return LookupFolder("counting", table, V, eos: 4);
    }

    [TestMethod]
    public void RowsFinishIndependently_FinishedRowsArePadded_AndReasonsReported()
    {
        using var model = CausalLM.Load(CountingFolder());
        var results = new TextGenerator(model).GenerateTokens([[0], [2], [5, 5, 5]], new GenerationOptions { MaxNewTokens = 3 });
        CollectionAssert.AreEqual(new[] { 1, 2, 3 }, results[0].TokenIds.ToArray());
        Assert.AreEqual(FinishReason.Length, results[0].FinishReason);
        CollectionAssert.AreEqual(new[] { 3, 4 }, results[1].TokenIds.ToArray());
        Assert.AreEqual(FinishReason.EndOfSequence, results[1].FinishReason);
        CollectionAssert.AreEqual(new[] { 0, 1, 2 }, results[2].TokenIds.ToArray());
        Assert.IsNull(results[0].Text);
        Assert.IsNull(results[0].Score);
    }

    [TestMethod]
    public void MaxLength_CountsEachRowsOwnPrompt_AndMinNewTokensBlocksEos()
    {
        using var model = CausalLM.Load(CountingFolder());
        var generator = new TextGenerator(model);
        var results = generator.GenerateTokens([[0], [0, 1, 2]], new GenerationOptions { MaxLength = 4 });
        CollectionAssert.AreEqual(new[] { 1, 2, 3 }, results[0].TokenIds.ToArray());
        CollectionAssert.AreEqual(new[] { 3 }, results[1].TokenIds.ToArray());
        // With EOS banned for 3 tokens, 3 is followed by the next-best token (0: -0.1) instead of 4.
        var min = generator.GenerateTokens([2], new GenerationOptions { MaxNewTokens = 3, MinNewTokens = 3 })[0];
        CollectionAssert.AreEqual(new[] { 3, 0, 1 }, min.TokenIds.ToArray());
    }

    [TestMethod]
    public void OutputScores_GivesLogProbsOfChosenTokens()
    {
        using var model = CausalLM.Load(CountingFolder());
        var r = new TextGenerator(model).GenerateTokens([0], new GenerationOptions { MaxNewTokens = 2, OutputScores = true })[0];
        // Row 0 of the table: logits [-0.1, 5, -0.3, -0.4, -0.5, -0.6]; log p(1) = 5 - log(sum exp).
        double lse = Math.Log(new[] { -0.1, 5, -0.3, -0.4, -0.5, -0.6 }.Sum(Math.Exp));
        Assert.AreEqual(5 - lse, r.TokenLogProbs![0], 1e-5);
        Assert.AreEqual(2, r.TokenLogProbs.Count);
        Assert.AreEqual(r.TokenLogProbs[0] + r.TokenLogProbs[1], r.Score!.Value, 1e-5);
    }

    [TestMethod]
    public void Sampling_SameSeedReproduces_AndRowsAreBatchIndependent()
    {
        using var model = CausalLM.Load(Gpt2Folder(Gpt2OnnxLayout.Optimum));
        var generator = new TextGenerator(model);
        GenerationOptions Options(int seed) => new() { DoSample = true, TopK = 0, Temperature = 1.5, MaxNewTokens = 15, Seed = seed, NumReturnSequences = 3 };
        var alone = generator.GenerateTokens([Prompts[2]], Options(42));
        var again = generator.GenerateTokens([Prompts[2]], Options(42));
        var batched = generator.GenerateTokens([Prompts[0], Prompts[1], Prompts[2]], Options(42));
        var other = generator.GenerateTokens([Prompts[2]], Options(43));
        Assert.AreEqual(3, alone.Count);
        Assert.AreEqual(9, batched.Count);
        for (int j = 0; j < 3; j++)
        {
            CollectionAssert.AreEqual(alone[j].TokenIds.ToList(), again[j].TokenIds.ToList(), $"sequence {j} repeat");
            CollectionAssert.AreEqual(alone[j].TokenIds.ToList(), batched[6 + j].TokenIds.ToList(), $"sequence {j} in a batch");
            Assert.AreEqual(2, batched[6 + j].PromptIndex);
        }
        Assert.AreEqual(3, alone.Select(a => string.Join(",", a.TokenIds)).Distinct().Count(), "the return sequences should differ");
        Assert.IsFalse(Enumerable.Range(0, 3).All(j => alone[j].TokenIds.SequenceEqual(other[j].TokenIds)), "another seed should change the samples");
        // Prompt 0's first sequence is the same whether or not prompt 2 is in the batch.
        var first = generator.GenerateTokens([Prompts[0]], Options(42));
        CollectionAssert.AreEqual(first[0].TokenIds.ToList(), batched[0].TokenIds.ToList());
    }

    [TestMethod]
    public void Sampling_TopK1_EqualsGreedy()
    {
        using var model = CausalLM.Load(Gpt2Folder(Gpt2OnnxLayout.OptimumMergedLegacy));
        var generator = new TextGenerator(model);
        var greedy = generator.GenerateTokens(Prompts, new GenerationOptions { MaxNewTokens = 8 });
        var sampled = generator.GenerateTokens(Prompts, new GenerationOptions { MaxNewTokens = 8, DoSample = true, TopK = 1, Seed = 3 });
        for (int p = 0; p < Prompts.Length; p++)
            CollectionAssert.AreEqual(greedy[p].TokenIds.ToList(), sampled[p].TokenIds.ToList());
    }

    [TestMethod]
    public void RepetitionPenaltyAndNoRepeatNgram_ChangeGreedyOutputThroughPipeline()
    {
        using var model = CausalLM.Load(CountingFolder());
        var generator = new TextGenerator(model);
        // Counting with EOS (4) banned by MinNewTokens (HF never bans EOS through BadWordsIds): 3 is followed by the next best, 0 (-0.1).
        var plain = generator.GenerateTokens([0], new GenerationOptions { MaxNewTokens = 8, MinNewTokens = 8 })[0];
        CollectionAssert.AreEqual(new[] { 1, 2, 3, 0, 1, 2, 3, 0 }, plain.TokenIds.ToArray());
        // No repeated bigram: after "0 1 2 3 0", "0 1" is banned so 0 follows (−0.1); then "0 1" and "0 0" are banned: 2.
        var noRepeat = generator.GenerateTokens([0], new GenerationOptions { MaxNewTokens = 6, MinNewTokens = 8, NoRepeatNgramSize = 2 })[0];
        CollectionAssert.AreEqual(new[] { 1, 2, 3, 0, 0, 2 }, noRepeat.TokenIds.ToArray());
        // Repetition penalty 100: after 3, the seen 0 drops to −10 so the unseen 5 (−0.6) wins; after 5, 0 (5/100) beats the penalised rest.
        var penalised = generator.GenerateTokens([0], new GenerationOptions { MaxNewTokens = 6, MinNewTokens = 8, RepetitionPenalty = 100 })[0];
        CollectionAssert.AreEqual(new[] { 1, 2, 3, 5, 0, 1 }, penalised.TokenIds.ToArray());
    }

    [TestMethod]
    public void BadOptionsAndPrompts_ThrowClearErrors()
    {
        using var model = CausalLM.Load(CountingFolder());
        var generator = new TextGenerator(model);
        var e1 = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => generator.GenerateTokens([0], new GenerationOptions { TopP = 0 }));
        Assert.AreEqual("TopP", e1.ParamName);
        var e2 = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => generator.GenerateTokens([0], new GenerationOptions { NumBeams = 2, NumReturnSequences = 3 }));
        Assert.AreEqual("NumReturnSequences", e2.ParamName);
        var e3 = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => generator.GenerateTokens([0, 6], null));
        StringAssert.Contains(e3.Message, "position 1");
        StringAssert.Contains(e3.Message, "[0, 6)");
        var e4 = Assert.ThrowsExactly<ArgumentException>(() => generator.GenerateTokens([0], new GenerationOptions { StopSequences = ["x"] }));
        StringAssert.Contains(e4.Message, "tokenizer");
        var e5 = Assert.ThrowsExactly<ArgumentException>(() => generator.GenerateTokens(Array.Empty<IReadOnlyList<int>>()));
        Assert.AreEqual("prompts", e5.ParamName);
        var e6 = Assert.ThrowsExactly<ArgumentException>(() => generator.GenerateTokens(Enumerable.Repeat(1, 64).ToArray()));
        StringAssert.Contains(e6.Message, "n_positions");
        var e7 = Assert.ThrowsExactly<InvalidOperationException>(() => generator.GenerateText("hi"));
        StringAssert.Contains(e7.Message, "tokenizer");
        // An empty prompt starts from BOS (0 here).
        CollectionAssert.AreEqual(new[] { 1, 2 }, generator.GenerateTokens(Array.Empty<int>(), new GenerationOptions { MaxNewTokens = 2 })[0].TokenIds.ToArray());
    }

    [TestMethod]
    public void Cancellation_IsHonoured()
    {
        using var model = CausalLM.Load(Gpt2Folder(Gpt2OnnxLayout.Optimum));
        var generator = new TextGenerator(model);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsExactly<OperationCanceledException>(() => generator.GenerateTokens(Prompts, new GenerationOptions { MaxNewTokens = 5 }, null, cts.Token));
    }

    [TestMethod]
    public void ModelWithoutAttentionMask_BatchesEqualLengths_AndRefusesRaggedBatches()
    {
        const int V = 6;
        var table = new float[V * V];
        for (int t = 0; t < V; t++) table[t * V + (t + 1) % V] = 5f;
        using var model = CausalLM.Load(LookupFolder("nomask", table, V, eos: 4, noMask: true));
        var generator = new TextGenerator(model);
        var ok = generator.GenerateTokens([[0, 1], [2, 5]], new GenerationOptions { MaxNewTokens = 2 });
        CollectionAssert.AreEqual(new[] { 2, 3 }, ok[0].TokenIds.ToArray());
        CollectionAssert.AreEqual(new[] { 0, 1 }, ok[1].TokenIds.ToArray());
        var e = Assert.ThrowsExactly<ArgumentException>(() => generator.GenerateTokens([[0], [2, 5]], new GenerationOptions { MaxNewTokens = 2 }));
        StringAssert.Contains(e.Message, "attention_mask");
    }

    [TestMethod]
    public void ModelReturningLastPositionLogitsOnly_GeneratesTheSame()
    {
        const int V = 6;
        var rng = new Random(5);
        var table = Enumerable.Range(0, V * V).Select(_ => (float)(rng.NextDouble() * 4)).ToArray();
        using var full = CausalLM.Load(LookupFolder("full-logits", table, V, eos: 4));
        using var last = CausalLM.Load(LookupFolder("last-logits", table, V, eos: 4, lastOnly: true));
        var options = new GenerationOptions { MaxNewTokens = 6, NumBeams = 2 };
        int[][] prompts = [[0, 1, 2], [5]];
        var a = new TextGenerator(full).GenerateTokens(prompts, options);
        var b = new TextGenerator(last).GenerateTokens(prompts, options);
        for (int p = 0; p < 2; p++) CollectionAssert.AreEqual(a[p].TokenIds.ToList(), b[p].TokenIds.ToList());
        Assert.ThrowsExactly<NotSupportedException>(() => last.ComputeLogits([0, 1]));
    }

    private sealed class BanTokenProcessor(int token, List<string> seen) : ILogitsProcessor
    {
        public void Process(ReadOnlySpan<int> sequence, int promptLength, Span<float> scores)
        {
            lock (seen) seen.Add($"{sequence.Length - promptLength}:{scores.Length}");
            scores[token] = float.NegativeInfinity;
        }
    }

    [TestMethod]
    public void CustomLogitsProcessors_RunPerRowAndStep_ForGreedyAndBeams()
    {
        using var model = CausalLM.Load(CountingFolder());
        var seen = new List<string>();
        int created = 0;
        var generator = new TextGenerator(model) { LogitsProcessors = [() => { created++; return new BanTokenProcessor(2, seen); }] };
        // Counting 0 → 1 → (2 banned) → next best from row 1: 0 (-0.1) → 1 → 0.
        var greedy = generator.GenerateTokens([0], new GenerationOptions { MaxNewTokens = 4 })[0];
        CollectionAssert.AreEqual(new[] { 1, 0, 1, 0 }, greedy.TokenIds.ToArray());
        CollectionAssert.AreEqual(new[] { "0:6", "1:6", "2:6", "3:6" }, seen);
        Assert.AreEqual(1, created, "one processor instance per call");
        var beams = generator.GenerateTokens([[0]], new GenerationOptions { NumBeams = 2, MaxNewTokens = 3 });
        Assert.IsFalse(beams[0].TokenIds.Contains(2));
        Assert.AreEqual(2, created);
    }
}
