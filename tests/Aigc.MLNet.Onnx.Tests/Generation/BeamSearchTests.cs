using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Gpt2;
using Aigc.MLNet.Onnx.Runtime;
using static Aigc.MLNet.Onnx.Tests.Runtime.EngineTestModels;

namespace Aigc.MLNet.Onnx.Tests.Generation;

[TestClass]
public sealed class BeamSearchTests
{
    private const int V = 5;
    private const int Eos = 4;

    /// <summary>A random next-token table (row = last token), spread wide so scores are well separated.</summary>
    private static float[] Table(int seed)
    {
        var rng = new Random(seed);
        var table = new float[V * V];
        for (int i = 0; i < table.Length; i++) table[i] = (float)(rng.NextDouble() * 6 - 3);
        return table;
    }

    private static double LogProb(float[] table, int last, int next)
    {
        double max = double.NegativeInfinity;
        for (int u = 0; u < V; u++) max = Math.Max(max, table[last * V + u]);
        double sum = 0;
        for (int u = 0; u < V; u++) sum += Math.Exp(table[last * V + u] - max);
        return table[last * V + next] - max - Math.Log(sum);
    }

    /// <summary>Every sequence of up to <paramref name="maxNew"/> tokens that ends at EOS or at the length limit, with its HF beam score.</summary>
    private static List<(int[] Tokens, double Score)> Exhaustive(float[] table, int last, int maxNew, double lengthPenalty)
    {
        var all = new List<(int[], double)>();
        void Walk(List<int> prefix, int previous, double sum)
        {
            for (int t = 0; t < V; t++)
            {
                double s = sum + LogProb(table, previous, t);
                prefix.Add(t);
                if (t == Eos || prefix.Count == maxNew) all.Add((prefix.ToArray(), s / Math.Pow(prefix.Count, lengthPenalty)));
                else Walk(prefix, t, s);
                prefix.RemoveAt(prefix.Count - 1);
            }
        }
        Walk([], last, 0);
        return all.OrderByDescending(x => x.Item2).ToList();
    }

    [TestMethod]
    [DataRow(1, 0.0)]
    [DataRow(2, 1.0)]
    [DataRow(3, 2.0)]
    [DataRow(4, -1.0)]
    public void EnoughBeams_EqualExhaustiveSearch(int seed, double lengthPenalty)
    {
        float[] table = Table(seed);
        using var model = CausalLM.Load(LookupFolder($"beam-{seed}", table, V, Eos));
        var options = new GenerationOptions { NumBeams = 25, NumReturnSequences = 6, MaxNewTokens = 3, LengthPenalty = lengthPenalty, OutputScores = true };
        var results = new TextGenerator(model).GenerateTokens([[2]], options, BeamEarlyStopping.Never);
        var expected = Exhaustive(table, 2, 3, lengthPenalty);
        Assert.AreEqual(6, results.Count);
        for (int j = 0; j < 6; j++)
        {
            // A last-token model makes permutations tie exactly (e.g. 1,2,2 and 2,1,2): any sequence of the rank's score is right.
            var tied = expected.Where(e => Math.Abs(e.Score - expected[j].Score) < 1e-6).Select(e => string.Join(",", e.Tokens)).ToList();
            CollectionAssert.Contains(tied, string.Join(",", results[j].TokenIds), $"rank {j}");
            Assert.AreEqual(expected[j].Score, results[j].Score!.Value, 1e-4, $"score of rank {j}");
            Assert.AreEqual(expected[j].Tokens[^1] == Eos ? FinishReason.EndOfSequence : FinishReason.Length, results[j].FinishReason);
            // The per-token log-probs add up to the unnormalised score.
            double sum = results[j].TokenLogProbs!.Sum(x => (double)x);
            Assert.AreEqual(expected[j].Score * Math.Pow(results[j].TokenIds.Count, lengthPenalty), sum, 1e-4);
        }
    }

    [TestMethod]
    public void OneBeam_EqualsGreedy()
    {
        using var model = CausalLM.Load(Gpt2Folder(Gpt2OnnxLayout.Optimum));
        int[][] prompts = [[3, 14, 15], [92], [65, 35, 89, 79]];
        var greedy = new TextGenerator(model).GenerateTokens(prompts, new GenerationOptions { MaxNewTokens = 10 });
        // Run the beam-search machinery itself with one beam (the public API routes NumBeams = 1 to greedy).
        var request = new DecodingRequest(model, prompts, new GenerationOptions { MaxNewTokens = 10 }, null, null);
        using var beam = new BeamSearch(request, default);
        var beamed = beam.Run();
        for (int p = 0; p < prompts.Length; p++)
            CollectionAssert.AreEqual(greedy[p].TokenIds.ToList(), beamed[p].TokenIds.ToList(), $"prompt {p}");

        float[] table = Table(9);
        using var lookup = CausalLM.Load(LookupFolder("beam-9", table, V, Eos));
        var lookupGreedy = new TextGenerator(lookup).GenerateTokens([[0], [1], [3]], new GenerationOptions { MaxNewTokens = 6 });
        using var lookupBeam = new BeamSearch(new DecodingRequest(lookup, [[0], [1], [3]], new GenerationOptions { MaxNewTokens = 6 }, null, null), default);
        var lookupBeamed = lookupBeam.Run();
        for (int p = 0; p < 3; p++)
        {
            CollectionAssert.AreEqual(lookupGreedy[p].TokenIds.ToList(), lookupBeamed[p].TokenIds.ToList(), $"lookup prompt {p}");
            Assert.AreEqual(lookupGreedy[p].FinishReason, lookupBeamed[p].FinishReason);
        }
    }

    [TestMethod]
    public void BatchedPromptsWithPadding_EqualEachPromptAlone()
    {
        using var model = CausalLM.Load(Gpt2Folder(Gpt2OnnxLayout.OnnxRuntimeGpt2));
        var generator = new TextGenerator(model);
        int[][] prompts = [[3, 14, 15, 9, 2], [92]];
        var options = new GenerationOptions { NumBeams = 4, NumReturnSequences = 2, MaxNewTokens = 8 };
        var batch = generator.GenerateTokens(prompts, options);
        Assert.AreEqual(4, batch.Count);
        for (int p = 0; p < 2; p++)
        {
            var alone = generator.GenerateTokens(prompts[p], options);
            for (int j = 0; j < 2; j++)
            {
                CollectionAssert.AreEqual(alone[j].TokenIds.ToList(), batch[p * 2 + j].TokenIds.ToList(), $"prompt {p} rank {j}");
                Assert.AreEqual(alone[j].Score!.Value, batch[p * 2 + j].Score!.Value, 1e-4);
                Assert.AreEqual(p, batch[p * 2 + j].PromptIndex);
            }
            Assert.IsTrue(alone[0].Score >= alone[1].Score);
        }
    }

    [TestMethod]
    public void BeamSample_NearZeroTemperature_FollowsBeamSearch_AndSeedsReproduce()
    {
        // Table entries on a 0.5 grid: with temperature 0.001 score gaps are >= 500, far beyond the Gumbel noise.
        var rng = new Random(17);
        var table = Enumerable.Range(0, V * V).Select(_ => rng.Next(-6, 7) * 0.5f).ToArray();
        for (int t = 0; t < V; t++) table[t * V + t] += 0.25f; // break exact ties between tokens of one row
        using var model = CausalLM.Load(LookupFolder("beam-sample", table, V, Eos));
        var generator = new TextGenerator(model);
        var search = generator.GenerateTokens([[1], [3]], new GenerationOptions { NumBeams = 3, NumReturnSequences = 2, MaxNewTokens = 4, LengthPenalty = 0 });
        var sampled = generator.GenerateTokens([[1], [3]], new GenerationOptions { NumBeams = 3, NumReturnSequences = 2, MaxNewTokens = 4, LengthPenalty = 0, DoSample = true, Temperature = 0.001, TopK = 0, Seed = 8 });
        for (int i = 0; i < 4; i++)
        {
            CollectionAssert.AreEqual(search[i].TokenIds.ToList(), sampled[i].TokenIds.ToList(), $"sequence {i}");
            Assert.AreEqual(search[i].Score!.Value / 0.001, sampled[i].Score!.Value, 1.0, "beam-sample scores are the warped (temperature-scaled) log-probs");
        }

        // At temperature 1 the draws are random but reproducible, and a prompt's result does not depend on the batch.
        var options = new GenerationOptions { NumBeams = 3, MaxNewTokens = 5, DoSample = true, TopK = 0, Seed = 99 };
        var a = generator.GenerateTokens([[1], [3]], options);
        var again = generator.GenerateTokens([[1], [3]], options);
        var alone = generator.GenerateTokens([[3]], options);
        Assert.AreEqual(string.Join(",", a[1].TokenIds), string.Join(",", again[1].TokenIds));
        Assert.AreEqual(string.Join(",", a[1].TokenIds), string.Join(",", alone[0].TokenIds));
        var seeds = Enumerable.Range(0, 12).Select(seed => string.Join(",", generator.GenerateTokens([[1]], new GenerationOptions { NumBeams = 3, MaxNewTokens = 5, DoSample = true, TopK = 0, Temperature = 3, Seed = seed })[0].TokenIds)).Distinct().Count();
        Assert.IsTrue(seeds > 1, "different seeds should give different beam samples at a high temperature");
    }

    [TestMethod]
    public void TooFewBeams_FollowHuggingFaceRules_NotTheExhaustiveOptimum()
    {
        // From token 0: "1" (2.0), "2" (1.9), EOS (1.8). From 1 and 2: "3" (0.5) over a flat rest.
        float[] table =
        [
            -10, 2.0f, 1.9f, -10, 1.8f,
            0, 0, 0, 0.5f, 0,
            0, 0, 0, 0.5f, 0,
            0, 0, 0, 0, 0,
            0, 0, 0, 0, 0,
        ];
        using var model = CausalLM.Load(LookupFolder("beam-hf-rules", table, V, Eos));
        var results = new TextGenerator(model).GenerateTokens([[0]], new GenerationOptions { NumBeams = 2, NumReturnSequences = 2, MaxNewTokens = 2, LengthPenalty = 0 });
        // Step 1 fills both beams with "1" and "2" before reaching EOS (rank 2), so the lone EOS — the best sequence
        // overall (-1.20 against -2.23) — is never a hypothesis, exactly as in HF's BeamSearchScorer.
        CollectionAssert.AreEqual(new[] { Eos }, Exhaustive(table, 0, 2, 0)[0].Tokens);
        CollectionAssert.AreEqual(new[] { 1, 3 }, results[0].TokenIds.ToArray());
        CollectionAssert.AreEqual(new[] { 2, 3 }, results[1].TokenIds.ToArray());
        Assert.AreEqual(LogProb(table, 0, 1) + LogProb(table, 1, 3), results[0].Score!.Value, 1e-5);
        Assert.AreEqual(LogProb(table, 0, 2) + LogProb(table, 2, 3), results[1].Score!.Value, 1e-5);
        Assert.AreEqual(FinishReason.Length, results[0].FinishReason);
    }

    [TestMethod]
    [DataRow(Gpt2OnnxLayout.Optimum)]
    [DataRow(Gpt2OnnxLayout.OnnxRuntimeGpt2)]
    public void BeamScores_EqualLogProbsRecomputedWithoutCache(Gpt2OnnxLayout layout)
    {
        // If a reordered cache row were wrong, the log-probs seen during the search would differ from a full recompute.
        using var model = CausalLM.Load(Gpt2Folder(layout));
        int[][] prompts = [[3, 14, 15, 9], [92, 6]];
        var results = new TextGenerator(model).GenerateTokens(prompts, new GenerationOptions { NumBeams = 4, NumReturnSequences = 4, MaxNewTokens = 8, OutputScores = true });
        Assert.AreEqual(8, results.Count);
        foreach (var r in results)
        {
            int[] prompt = prompts[r.PromptIndex];
            float[] reference = model.ComputeTokenLogProbs([.. prompt, .. r.TokenIds]);
            double sum = 0;
            for (int t = 0; t < r.TokenIds.Count; t++)
            {
                float expected = reference[prompt.Length - 1 + t];
                Assert.AreEqual(expected, r.TokenLogProbs![t], 1e-4, $"prompt {r.PromptIndex}, token {t}");
                sum += expected;
            }
            Assert.AreEqual(sum / r.TokenIds.Count, r.Score!.Value, 1e-4);
        }
        Assert.IsTrue(results.Take(4).Select(r => string.Join(",", r.TokenIds)).Distinct().Count() == 4);
    }

    [TestMethod]
    public void EarlyStoppingModes_HeuristicStopsEarly_NeverFindsTheLongerBetterSequence()
    {
        // 0 → EOS (3.0) or 1 (2.9); 1 → EOS (3.0) or 3 (2.9); 3 → 3 almost surely. With length penalty 1, "1 3 3 3"
        // (≈ -1.64 / 4) beats the lone EOS (≈ -0.72), but after step 2 the heuristic bound (best running sum / 2) says stop.
        float[] table =
        [
            0, 2.9f, 0, 0, 3.0f,
            0, 0, 0, 2.9f, 3.0f,
            0, 0, 0, 0, 0,
            0, 0, 0, 10, 0,
            0, 0, 0, 0, 0,
        ];
        using var model = CausalLM.Load(LookupFolder("beam-early-modes", table, V, Eos));
        var generator = new TextGenerator(model);
        var options = new GenerationOptions { NumBeams = 2, NumReturnSequences = 2, MaxNewTokens = 4, LengthPenalty = 1 };
        string Render(IReadOnlyList<GeneratedSequence> r) => string.Join(" | ", r.Select(x => string.Join(",", x.TokenIds)));
        Assert.AreEqual("4 | 1,4", Render(generator.GenerateTokens([[0]], options, BeamEarlyStopping.Heuristic)));
        Assert.AreEqual("4 | 1,4", Render(generator.GenerateTokens([[0]], options, BeamEarlyStopping.WhenBeamsFinished)));
        Assert.AreEqual("1,3,3,3 | 4", Render(generator.GenerateTokens([[0]], options, BeamEarlyStopping.Never)));
        // GenerationOptions.EarlyStopping = false is the heuristic.
        Assert.AreEqual("4 | 1,4", Render(generator.GenerateTokens([[0]], options)));
    }

    [TestMethod]
    public void EarlyStoppingTrue_StopsWhenNumBeamsHypothesesAreFinished()
    {
        // Every token leads to EOS strongly except from token 0; with 2 beams, two finished hypotheses appear at step 1.
        var table = new float[V * V];
        for (int t = 0; t < V; t++)
            for (int u = 0; u < V; u++) table[t * V + u] = u == Eos ? 3f : (u == 1 ? 2.5f : 0f);
        using var model = CausalLM.Load(LookupFolder("beam-early", table, V, Eos));
        var generator = new TextGenerator(model);
        var options = new GenerationOptions { NumBeams = 2, NumReturnSequences = 2, MaxNewTokens = 5, LengthPenalty = 0, EarlyStopping = true };
        var results = generator.GenerateTokens([[0]], options);
        // Step 1: EOS (rank 0) is a hypothesis, "1" a beam; step 2: "1 EOS" is the second hypothesis → done.
        CollectionAssert.AreEqual(new[] { Eos }, results[0].TokenIds.ToArray());
        CollectionAssert.AreEqual(new[] { 1, Eos }, results[1].TokenIds.ToArray());
        Assert.IsTrue(results[0].Score > results[1].Score);
    }
}

[TestClass]
public sealed class HalfPrecisionTests
{
    [TestMethod]
    public void Float16LogitsAndCache_GenerateLikeFloat32()
    {
        const int V = 5;
        var rng = new Random(21);
        var table = Enumerable.Range(0, V * V).Select(_ => (float)Math.Round(rng.NextDouble() * 6 - 3, 2)).ToArray();
        using var full = CausalLM.Load(LookupFolder("fp32-twin", table, V, 4));
        using var half = CausalLM.Load(LookupFolder("fp16", table, V, 4, half: true));
        var options = new GenerationOptions { MaxNewTokens = 6, OutputScores = true };
        var a = new TextGenerator(full).GenerateTokens([[0], [1, 2], [3]], options);
        var b = new TextGenerator(half).GenerateTokens([[0], [1, 2], [3]], options);
        for (int p = 0; p < 3; p++)
        {
            CollectionAssert.AreEqual(a[p].TokenIds.ToList(), b[p].TokenIds.ToList(), $"greedy prompt {p}");
            Assert.AreEqual(a[p].Score!.Value, b[p].Score!.Value, 0.05, $"score prompt {p}");
        }
        var beams = new GenerationOptions { MaxNewTokens = 3, NumBeams = 3, NumReturnSequences = 2 };
        var c = new TextGenerator(full).GenerateTokens([[2]], beams);
        var d = new TextGenerator(half).GenerateTokens([[2]], beams);
        CollectionAssert.AreEqual(c[0].TokenIds.ToList(), d[0].TokenIds.ToList());
        float[] logits = half.ComputeLogits([1, 2]);
        Assert.AreEqual((float)(Half)table[2 * V + 3], logits[V + 3], 1e-6);
    }
}
