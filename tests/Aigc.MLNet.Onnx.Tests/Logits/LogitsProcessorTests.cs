using Aigc.MLNet.Onnx.Generation;

namespace Aigc.MLNet.Onnx.Tests.Logits;

[TestClass]
public sealed class LogitsProcessorTests
{
    private const float NegInf = float.NegativeInfinity;

    private static void AssertScores(float[] expected, float[] actual, float tolerance = 1e-6f)
    {
        Assert.HasCount(expected.Length, actual);
        for (int i = 0; i < expected.Length; i++)
        {
            if (float.IsNegativeInfinity(expected[i]))
                Assert.IsTrue(float.IsNegativeInfinity(actual[i]), $"index {i}: expected -inf, got {actual[i]}");
            else
                Assert.AreEqual(expected[i], actual[i], tolerance, $"index {i}");
        }
    }

    [TestMethod]
    public void RepetitionPenalty_DividesPositiveMultipliesNegative_OncePerDistinctId()
    {
        float[] scores = [2f, -1f, 0.5f, 3f];
        new RepetitionPenaltyLogitsProcessor(2.0).Process([0, 1, 1], promptLength: 2, scores);
        // id 0: 2/2 = 1; id 1 (twice in the sequence, penalised once): -1*2 = -2; ids 2, 3 untouched.
        AssertScores([1f, -2f, 0.5f, 3f], scores);
    }

    [TestMethod]
    public void RepetitionPenalty_CoversPromptTokens_AndZeroStaysZero()
    {
        float[] scores = [0f, 4f, -3f];
        new RepetitionPenaltyLogitsProcessor(1.5).Process([0, 1, 2], promptLength: 3, scores);
        AssertScores([0f, 4f / 1.5f, -4.5f], scores);
    }

    [TestMethod]
    public void RepetitionPenalty_IdOutsideVocabulary_Throws()
    {
        var p = new RepetitionPenaltyLogitsProcessor(1.2);
        var ex = Assert.ThrowsExactly<ArgumentException>(() => p.Process([7], 1, new float[3]));
        StringAssert.Contains(ex.Message, "7");
    }

    [TestMethod]
    public void NoRepeatNGram_Bigram_BansContinuationOfEarlierOccurrence()
    {
        float[] scores = [1f, 1f, 1f, 1f, 1f];
        // Last token 1 was followed by 2 earlier: (1, 2) would repeat.
        new NoRepeatNGramLogitsProcessor(2).Process([1, 2, 3, 1], 1, scores);
        AssertScores([1f, 1f, NegInf, 1f, 1f], scores);
    }

    [TestMethod]
    public void NoRepeatNGram_Trigram_BansAllMatchingContinuations()
    {
        float[] scores = [0f, 0f, 0f, 0f, 0f];
        // Prefix (1, 2) occurred followed by 3 and by 4.
        new NoRepeatNGramLogitsProcessor(3).Process([1, 2, 3, 1, 2, 4, 1, 2], 1, scores);
        AssertScores([0f, 0f, 0f, NegInf, NegInf], scores);
    }

    [TestMethod]
    public void NoRepeatNGram_SequenceTooShort_ChangesNothing()
    {
        float[] scores = [0f, 0f, 0f];
        new NoRepeatNGramLogitsProcessor(3).Process([1], 1, scores);
        AssertScores([0f, 0f, 0f], scores);
        new NoRepeatNGramLogitsProcessor(1).Process([2], 1, scores);
        AssertScores([0f, 0f, NegInf], scores); // unigrams: every seen token is banned
    }

    [TestMethod]
    public void BadWords_SingleAndMultiToken()
    {
        var p = new NoBadWordsLogitsProcessor([[3], [1, 2], [0, 0, 4]]);
        float[] scores = [1f, 1f, 1f, 1f, 1f];
        p.Process([4, 1], 1, scores);
        AssertScores([1f, 1f, NegInf, NegInf, 1f], scores);

        scores = [1f, 1f, 1f, 1f, 1f];
        p.Process([0, 0], 1, scores);
        AssertScores([1f, 1f, 1f, NegInf, NegInf], scores);

        scores = [1f, 1f, 1f, 1f, 1f];
        p.Process([0], 1, scores); // too short for [0, 0, 4]
        AssertScores([1f, 1f, 1f, NegInf, 1f], scores);
    }

    [TestMethod]
    public void BadWords_SingleEosIsIgnored_AsHuggingFace()
    {
        var p = new NoBadWordsLogitsProcessor([[4], [2]], eosTokenIds: [4]);
        float[] scores = [0f, 0f, 0f, 0f, 0f];
        p.Process([0], 1, scores);
        AssertScores([0f, 0f, NegInf, 0f, 0f], scores);
    }

    [TestMethod]
    public void BadWords_EmptyEntry_ThrowsNamingIndex()
    {
        var ex = Assert.ThrowsExactly<ArgumentException>(() => new NoBadWordsLogitsProcessor([[1], []]));
        StringAssert.Contains(ex.Message, "badWordsIds[1]");
    }

    [TestMethod]
    public void MinNewTokens_BansEosUntilEnoughNewTokens()
    {
        var p = new MinNewTokensLengthLogitsProcessor(2, [3, 1]);
        float[] scores = [5f, 5f, 5f, 5f];
        p.Process([1, 0, 2, 2, 0], promptLength: 4, scores); // one new token < 2
        AssertScores([5f, NegInf, 5f, NegInf], scores);

        scores = [5f, 5f, 5f, 5f];
        p.Process([1, 0, 2, 2, 0], promptLength: 3, scores); // two new tokens
        AssertScores([5f, 5f, 5f, 5f], scores);
    }

    [TestMethod]
    public void Temperature_DividesScores()
    {
        float[] scores = [2f, 4f, -6f, NegInf];
        new TemperatureLogitsWarper(2.0).Process([], 0, scores);
        AssertScores([1f, 2f, -3f, NegInf], scores);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new TemperatureLogitsWarper(0));
    }

    [TestMethod]
    public void TopK_KeepsKLargest()
    {
        float[] scores = [1f, 4f, 3f, 2f, -1f];
        new TopKLogitsWarper(2).Process([], 0, scores);
        AssertScores([NegInf, 4f, 3f, NegInf, NegInf], scores);
    }

    [TestMethod]
    public void TopK_KeepsAllTiedWithKth()
    {
        float[] scores = [1f, 3f, 3f, 2f, 3f];
        new TopKLogitsWarper(2).Process([], 0, scores);
        AssertScores([NegInf, 3f, 3f, NegInf, 3f], scores);
    }

    [TestMethod]
    public void TopK_KAtLeastVocab_OrMinTokensToKeep()
    {
        float[] scores = [1f, 2f];
        new TopKLogitsWarper(5).Process([], 0, scores);
        AssertScores([1f, 2f], scores);

        scores = [1f, 2f, 0f];
        new TopKLogitsWarper(1, minTokensToKeep: 2).Process([], 0, scores);
        AssertScores([1f, 2f, NegInf], scores);
    }

    [TestMethod]
    public void TopK_FewerFiniteThanK_KeepsFinite()
    {
        float[] scores = [NegInf, 2f, NegInf, NegInf];
        new TopKLogitsWarper(2).Process([], 0, scores);
        AssertScores([NegInf, 2f, NegInf, NegInf], scores);
    }

    private static float[] Logs(params double[] probs) => probs.Select(p => (float)Math.Log(p) + 3f).ToArray();

    [TestMethod]
    public void TopP_KeepsSmallestPrefixReachingP()
    {
        // Probabilities (shuffled): id0 0.15, id1 0.5, id2 0.05, id3 0.3. Sorted: 1 (0.5), 3 (0.3), 0 (0.15), 2 (0.05).
        float[] scores = Logs(0.15, 0.5, 0.05, 0.3);
        new TopPLogitsWarper(0.7).Process([], 0, scores); // 0.5 < 0.7, 0.5+0.3 = 0.8 >= 0.7 -> keep {1, 3}
        AssertScores([NegInf, Logs(0.5)[0], NegInf, Logs(0.3)[0]], scores, 1e-5f);

        scores = Logs(0.15, 0.5, 0.05, 0.3);
        new TopPLogitsWarper(0.85).Process([], 0, scores); // 0.8 < 0.85, 0.95 >= 0.85 -> keep {1, 3, 0}
        Assert.IsTrue(float.IsFinite(scores[0]) && float.IsFinite(scores[1]) && float.IsFinite(scores[3]));
        Assert.IsTrue(float.IsNegativeInfinity(scores[2]));

        scores = Logs(0.15, 0.5, 0.05, 0.3);
        new TopPLogitsWarper(0.3).Process([], 0, scores); // the top token alone reaches 0.3
        Assert.AreEqual(1, scores.Count(float.IsFinite));
        Assert.IsTrue(float.IsFinite(scores[1]));

        scores = Logs(0.15, 0.5, 0.05, 0.3);
        new TopPLogitsWarper(1.0).Process([], 0, scores);
        Assert.AreEqual(4, scores.Count(float.IsFinite));
    }

    [TestMethod]
    public void TopP_MinTokensToKeep_AndIgnoresBannedTokens()
    {
        float[] scores = Logs(0.15, 0.5, 0.05, 0.3);
        new TopPLogitsWarper(0.3, minTokensToKeep: 2).Process([], 0, scores);
        Assert.IsTrue(float.IsFinite(scores[1]) && float.IsFinite(scores[3]));
        Assert.AreEqual(2, scores.Count(float.IsFinite));

        // With id1 banned, the rest renormalise to 0.3, 0.6, 0.1 -> p = 0.5 keeps only id3.
        scores = [(float)Math.Log(0.15), NegInf, (float)Math.Log(0.05), (float)Math.Log(0.3)];
        new TopPLogitsWarper(0.5).Process([], 0, scores);
        AssertScores([NegInf, NegInf, NegInf, (float)Math.Log(0.3)], scores, 1e-6f);
    }

    [TestMethod]
    public void TopP_TiesOrderedByTokenId()
    {
        float[] scores = [0f, 0f, 0f, 0f]; // each 0.25: p = 0.5 keeps the two lowest ids
        new TopPLogitsWarper(0.5).Process([], 0, scores);
        AssertScores([0f, 0f, NegInf, NegInf], scores);
    }

    [TestMethod]
    public void TopP_OutOfRange_Throws()
    {
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new TopPLogitsWarper(0));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new TopPLogitsWarper(1.01));
    }
}
