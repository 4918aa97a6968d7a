using Aigc.MLNet.Transforms.Evaluation.Text;

namespace Aigc.MLNet.Transforms.Tests.Evaluation;

[TestClass]
public sealed class ChrFAndDiversityTests
{
    private const double Tol = 1e-9;

    [TestMethod]
    public void ChrFMatchesHandDerivation()
    {
        // hyp "a b" -> "ab" (whitespace removed), ref "abc".
        //  1-grams: hyp a,b (2); ref a,b,c (3); matches 2.   2-grams: hyp ab (1); ref ab,bc (2); matches 1.
        //  3-grams: hyp none -> order skipped (effective order 2); 4..6: none.
        //  avgP = (2/2 + 1/1)/2 = 1; avgR = (2/3 + 1/2)/2 = 7/12; F2 = 5 * 1 * 7/12 / (4 * 1 + 7/12) = 7/11.
        var metric = new ChrFMetric();
        var s = metric.SentenceScore("a b", ["abc"]);
        Assert.AreEqual(100.0 * 7 / 11, s.Score, Tol);
        Assert.AreEqual("nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.5.1", s.Signature);
        Assert.AreEqual("chrF2 = 63.64", s.ToString());
        // Best reference wins; corpus statistics are sums (two equal segments give the same score).
        Assert.AreEqual(100.0 * 7 / 11, metric.SentenceScore("a b", ["xyz", "abc"]).Score, Tol);
        Assert.AreEqual(100.0 * 7 / 11, metric.CorpusScore(["ab", "ab"], [["abc"], ["abc"]]).Score, Tol);
        Assert.AreEqual(100.0, metric.CorpusScore(["Hello, world!"], [["Hello,world!"]]).Score, Tol);
        Assert.AreEqual(0.0, metric.SentenceScore("", ["abc"]).Score, Tol);
        Assert.ThrowsExactly<ArgumentException>(() => metric.CorpusScore(["a"], []));
    }

    [TestMethod]
    public void DistinctNAndRepetitionRateMatchHandCounts()
    {
        // Tokens: [the cat the cat] and [a dog].
        //  unigrams 6, distinct {the, cat, a, dog} = 4 -> 4/6;  bigrams: the cat, cat the, the cat, a dog = 4, distinct 3 -> 3/4.
        //  seq-rep-2: text 1 has 3 bigrams, 2 distinct -> 1/3; text 2 has 1 bigram, 1 distinct -> 0; mean 1/6.
        //  seq-rep-4: text 1 has one 4-gram -> 0; text 2 is too short and skipped -> 0.
        string[] texts = ["the cat the cat", "a dog"];
        Assert.AreEqual(4.0 / 6, TextDiversity.DistinctN(texts, 1), Tol);
        Assert.AreEqual(3.0 / 4, TextDiversity.DistinctN(texts, 2), Tol);
        Assert.AreEqual(1.0 / 6, TextDiversity.RepetitionRate(texts, 2), Tol);
        Assert.AreEqual(0.0, TextDiversity.RepetitionRate(texts, 4), Tol);

        var all = TextDiversity.Evaluate(texts, new TextDiversityOptions { RepetitionNgramOrder = 2 });
        Assert.AreEqual(2, all.TextCount);
        Assert.AreEqual(6, all.TokenCount);
        Assert.AreEqual(4.0 / 6, all.Distinct1, Tol);
        Assert.AreEqual(3.0 / 4, all.Distinct2, Tol);
        Assert.AreEqual(1.0 / 6, all.RepetitionRate, Tol);
    }

    [TestMethod]
    public void SelfBleuAveragesSentenceBleuAgainstTheOthers()
    {
        // Texts 0 and 1 are identical: each scores 100 against the others; text 2 shares nothing: 0. Mean 200/3.
        Assert.AreEqual(200.0 / 3, TextDiversity.SelfBleu(["a b c d", "a b c d", "e f g h"]), Tol);
        Assert.AreEqual(100.0, TextDiversity.SelfBleu(["x y z", "x y z"]), Tol);
        Assert.IsTrue(double.IsNaN(TextDiversity.SelfBleu(["only one"])));
        Assert.ThrowsExactly<ArgumentException>(() => TextDiversity.Evaluate([]));
    }
}
