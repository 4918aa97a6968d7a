using Aigc.MLNet.Onnx.Generation;

namespace Aigc.MLNet.Onnx.Tests.Logits;

[TestClass]
public sealed class LogitsPipelineTests
{
    [TestMethod]
    public void ArgMax_ReturnsFirstMaximum()
    {
        Assert.AreEqual(1, LogitsPipeline.ArgMax([1f, 5f, 5f, 2f]));
        Assert.AreEqual(0, LogitsPipeline.ArgMax([float.NegativeInfinity, float.NegativeInfinity]));
        Assert.AreEqual(2, LogitsPipeline.ArgMax([float.NegativeInfinity, -3f, -1f]));
    }

    [TestMethod]
    public void LogSoftmax_HandComputed()
    {
        float[] scores = [0f, (float)Math.Log(3), float.NegativeInfinity];
        LogitsPipeline.LogSoftmax(scores);
        Assert.AreEqual(Math.Log(0.25), scores[0], 1e-6);
        Assert.AreEqual(Math.Log(0.75), scores[1], 1e-6);
        Assert.IsTrue(float.IsNegativeInfinity(scores[2]));

        float[] large = [1000f, 1000f];
        LogitsPipeline.LogSoftmax(large);
        Assert.AreEqual(-Math.Log(2), large[0], 1e-6);
    }

    [TestMethod]
    public void Softmax_HandComputed()
    {
        float[] scores = [0f, (float)Math.Log(3), float.NegativeInfinity];
        LogitsPipeline.Softmax(scores);
        Assert.AreEqual(0.25f, scores[0], 1e-6f);
        Assert.AreEqual(0.75f, scores[1], 1e-6f);
        Assert.AreEqual(0f, scores[2]);
    }

    [TestMethod]
    public void Sample_FrequenciesMatchSoftmax()
    {
        double[] probs = [0.1, 0.2, 0.3, 0.4];
        float[] scores = [.. probs.Select(p => (float)Math.Log(p) + 7f), float.NegativeInfinity];
        // put the impossible token in the middle
        scores = [scores[0], scores[1], float.NegativeInfinity, scores[2], scores[3]];
        var pipeline = new LogitsPipeline(new GenerationOptions { DoSample = true }, [0]);
        var rng = new Random(1234);
        int[] counts = new int[5];
        const int draws = 20_000;
        for (int i = 0; i < draws; i++)
            counts[pipeline.Sample(scores, rng)]++;
        Assert.AreEqual(0, counts[2]);
        double[] expected = [0.1, 0.2, 0, 0.3, 0.4];
        for (int i = 0; i < 5; i++)
            Assert.AreEqual(expected[i], counts[i] / (double)draws, 0.012, $"token {i}"); // ~3.5 standard deviations
    }

    [TestMethod]
    public void Sample_AllBanned_Throws()
    {
        var pipeline = new LogitsPipeline(new GenerationOptions { DoSample = true }, [0]);
        Assert.ThrowsExactly<ArgumentException>(() => pipeline.Sample([float.NegativeInfinity, float.NegativeInfinity], new Random(1)));
    }

    [TestMethod]
    public void Sample_SingleFiniteToken_AlwaysChosen()
    {
        var pipeline = new LogitsPipeline(new GenerationOptions { DoSample = true }, [0]);
        var rng = new Random(5);
        for (int i = 0; i < 100; i++)
            Assert.AreEqual(3, pipeline.Sample([float.NegativeInfinity, float.NegativeInfinity, float.NegativeInfinity, -50f], rng));
    }

    [TestMethod]
    public void Pipeline_Greedy_HasNoWarpers_AndAppliesProcessorsInHfOrder()
    {
        var options = new GenerationOptions
        {
            RepetitionPenalty = 2.0,
            NoRepeatNgramSize = 2,
            BadWordsIds = [[4]],
            MinNewTokens = 3,
            Temperature = 0.5, // ignored: not sampling
        };
        var pipeline = new LogitsPipeline(options, [5]);
        CollectionAssert.AreEqual(
            new[] { typeof(RepetitionPenaltyLogitsProcessor), typeof(NoRepeatNGramLogitsProcessor), typeof(NoBadWordsLogitsProcessor), typeof(MinNewTokensLengthLogitsProcessor) },
            pipeline.Processors.Select(p => p.GetType()).ToArray());
        Assert.IsEmpty(pipeline.Warpers);

        // sequence [1, 2, 1], prompt 2: repetition halves ids 1 and 2; bigram (1,2) bans 2; 4 is bad; eos 5 banned (1 new < 3).
        float[] scores = [1f, 8f, 6f, 3.5f, 9f, 10f];
        int next = pipeline.NextToken([1, 2, 1], 2, scores, rng: null);
        // After: [1, 4, -inf, 3.5, -inf, -inf] -> arg-max is id 1.
        Assert.AreEqual(1, next);
        Assert.AreEqual(4f, scores[1]);
        Assert.AreEqual(3.5f, scores[3]);
    }

    [TestMethod]
    public void Pipeline_Sampling_WarpersInHfOrder_AndTemperatureBeforeTopK()
    {
        var options = new GenerationOptions { DoSample = true, Temperature = 2.0, TopK = 2, TopP = 0.9 };
        var pipeline = new LogitsPipeline(options, [0]);
        CollectionAssert.AreEqual(
            new[] { typeof(TemperatureLogitsWarper), typeof(TopKLogitsWarper), typeof(TopPLogitsWarper) },
            pipeline.Warpers.Select(p => p.GetType()).ToArray());
        float[] scores = [2f, 6f, 4f, 0f];
        pipeline.ApplyWarpers([], 0, scores);
        // temperature: [1, 3, 2, 0]; top-2: [-inf, 3, 2, -inf]; top-p 0.9: probs e/(e+1)=0.731 < 0.9 so both kept.
        Assert.IsTrue(float.IsNegativeInfinity(scores[0]) && float.IsNegativeInfinity(scores[3]));
        Assert.AreEqual(3f, scores[1], 1e-6f);
        Assert.AreEqual(2f, scores[2], 1e-6f);
    }

    [TestMethod]
    public void Pipeline_DefaultSampling_UsesTopK50Only()
    {
        var pipeline = new LogitsPipeline(new GenerationOptions { DoSample = true }, [0]);
        Assert.HasCount(1, pipeline.Warpers);
        Assert.AreEqual(50, ((TopKLogitsWarper)pipeline.Warpers[0]).TopK);
    }

    [TestMethod]
    public void Pipeline_EosFromOptionsOverridesModel()
    {
        var pipeline = new LogitsPipeline(new GenerationOptions { EosTokenIds = [2], MinNewTokens = 1 }, [0]);
        CollectionAssert.AreEqual(new[] { 2 }, pipeline.EosTokenIds.ToArray());
        float[] scores = [1f, 1f, 5f];
        Assert.AreEqual(0, pipeline.NextToken([1], 1, scores, null));
    }

    [TestMethod]
    public void Pipeline_InvalidOptions_Throw()
    {
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new LogitsPipeline(new GenerationOptions { TopP = 0 }, [0]));
    }

    [TestMethod]
    public void Pipeline_HotPath_DoesNotAllocateAfterWarmUp()
    {
        const int vocab = 50257;
        var options = new GenerationOptions
        {
            DoSample = true, Temperature = 0.8, TopK = 40, TopP = 0.9, RepetitionPenalty = 1.3, NoRepeatNgramSize = 3,
            BadWordsIds = [[7], [8, 9]], MinNewTokens = 2,
        };
        var pipeline = new LogitsPipeline(options, [50256]);
        var rng = new Random(42);
        float[] logits = new float[vocab];
        for (int i = 0; i < vocab; i++)
            logits[i] = (float)(rng.NextDouble() * 10 - 5);
        float[] scores = new float[vocab];
        int[] sequence = Enumerable.Range(0, 200).Select(i => i * 37 % 1000).ToArray();

        logits.CopyTo(scores);
        pipeline.NextToken(sequence, 100, scores, rng); // warm-up sizes the scratch buffers
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int step = 0; step < 20; step++)
        {
            logits.CopyTo(scores);
            int next = pipeline.NextToken(sequence, 100, scores, rng);
            Assert.IsTrue(next >= 0 && next < vocab);
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.AreEqual(0L, allocated);
    }
}

[TestClass]
public sealed class SelectTopKTests
{
    [TestMethod]
    public void SelectTopK_SortedDescending_TiesByLowerIndex_SkipsNonFinite()
    {
        float[] scores = [0.5f, 3f, float.NegativeInfinity, 3f, -1f, 2f, float.NaN];
        int[] indices = new int[4];
        float[] values = new float[4];
        Assert.AreEqual(4, LogitsPipeline.SelectTopK(scores, indices, values));
        CollectionAssert.AreEqual(new[] { 1, 3, 5, 0 }, indices);
        CollectionAssert.AreEqual(new[] { 3f, 3f, 2f, 0.5f }, values);
    }

    [TestMethod]
    public void SelectTopK_FewerFiniteThanK()
    {
        int[] indices = new int[3];
        float[] values = new float[3];
        Assert.AreEqual(2, LogitsPipeline.SelectTopK([float.NegativeInfinity, 1f, 2f], indices, values));
        CollectionAssert.AreEqual(new[] { 2, 1 }, indices[..2]);
    }

    [TestMethod]
    public void SelectTopK_MatchesFullSortOnRandomData()
    {
        var rng = new Random(3);
        for (int trial = 0; trial < 200; trial++)
        {
            float[] scores = Enumerable.Range(0, rng.Next(1, 300)).Select(_ => (float)rng.Next(-20, 20)).ToArray();
            int k = rng.Next(1, 12);
            int[] indices = new int[k];
            float[] values = new float[k];
            int n = LogitsPipeline.SelectTopK(scores, indices, values);
            int[] expected = Enumerable.Range(0, scores.Length).OrderByDescending(i => scores[i]).ThenBy(i => i).Take(k).ToArray();
            CollectionAssert.AreEqual(expected, indices[..n]);
        }
    }
}
