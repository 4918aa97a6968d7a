using Aigc.MLNet.Transforms.Evaluation.Text;

namespace Aigc.MLNet.Transforms.Tests.Evaluation;

[TestClass]
public sealed class BleuTests
{
    private const double Tol = 1e-9;

    private static IReadOnlyList<IReadOnlyList<string>> Refs(params string[][] perRow) => perRow;

    [TestMethod]
    public void Tokenizer13aSplitsAsciiPunctuationButKeepsNumbersAndApostrophes()
    {
        // Rule 1 splits ! (in the mteval class); ' , . - are not in it. Rule 2 splits "o," and "s." (non-digit before);
        // "3.14" and "2,000" keep their separators (digits on both sides); "&amp;" is unescaped then split.
        CollectionAssert.AreEqual(
            new[] { "Hello", ",", "world", "!", "It's", "3.14", "-", "2,000", "dollars", "." },
            BleuTokenization.Tokenize("Hello, world! It's 3.14 - 2,000 dollars.", BleuTokenizer.Mteval13a));
        CollectionAssert.AreEqual(new[] { "AT", "&", "T", "1990", "-", "2000" },
            BleuTokenization.Tokenize("AT&amp;T 1990-2000", BleuTokenizer.Mteval13a));
        CollectionAssert.AreEqual(new[] { "Hello,", "world" }, BleuTokenization.Tokenize("  Hello,\tworld ", BleuTokenizer.None));
    }

    [TestMethod]
    public void Tokenizer13aCharacterClassIsExactlyMtevals()
    {
        // mteval-v13a's class [\{-\~\[-\` -\&\(-\+\:-\@\/]: every member is split off between letters ...
        foreach (char c in "{|}~[\\]^_`!\"#$%&()*+:;<=>?@/")
            CollectionAssert.AreEqual(new[] { "x", c.ToString(), "y" }, BleuTokenization.Tokenize($"x{c}y", BleuTokenizer.Mteval13a), $"'{c}'");
        // ... while apostrophe and dash (outside the class, no digit before the dash) stay inside the word.
        CollectionAssert.AreEqual(new[] { "x'y", "x-y" }, BleuTokenization.Tokenize("x'y x-y", BleuTokenizer.Mteval13a));
    }

    [TestMethod]
    public void TokenizerIntlSplitsUnicodePunctuationAndSymbols()
    {
        // (\P{N})(\p{P}) splits "o," "d!" "t'" " «" "d»"; "3.14" stays (digit before the dot); \p{S} splits "€";
        // "2000." stays whole: a number followed by a final dot is not split (mteval-v14's known quirk).
        CollectionAssert.AreEqual(
            new[] { "Hello", ",", "world", "!", "It", "'", "s", "3.14", "«", "quoted", "»", "5", "€", "2000." },
            BleuTokenization.Tokenize("Hello, world! It's 3.14 «quoted» 5€ 2000.", BleuTokenizer.International));
        // CJK full-width punctuation (Po) and an astral symbol (U+1F44D, So, a surrogate pair in UTF-16).
        CollectionAssert.AreEqual(new[] { "你好", "，", "世界", "。", "ok", "👍" },
            BleuTokenization.Tokenize("你好，世界。ok👍", BleuTokenizer.International));
    }

    [TestMethod]
    public void IdenticalSentenceScores100WithSacrebleuLineAndSignature()
    {
        var score = BleuMetric.Corpus(["The cat sat on the mat."], Refs(["The cat sat on the mat."]));
        Assert.AreEqual(100.0, score.Score, Tol);
        Assert.AreEqual("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.5.1", score.Signature);
        Assert.AreEqual("BLEU = 100.00 100.0/100.0/100.0/100.0 (BP = 1.000 ratio = 1.000 hyp_len = 7 ref_len = 7)", score.ToString());
    }

    // hyp "the cat is on the mat" (6 tokens), ref "there is a cat on the mat" (7 tokens):
    //  1-grams: the x2 (ref has 1 -> clipped 1), cat, is, on, mat -> 5 / 6
    //  2-grams: the cat, cat is, is on, on the*, the mat*       -> 2 / 5
    //  3-grams: the cat is, cat is on, is on the, on the mat*   -> 1 / 4
    //  4-grams: the cat is on, cat is on the, is on the mat     -> 0 / 3
    //  BP = exp(1 - 7/6) since 6 < 7.
    private const string Hyp = "the cat is on the mat";
    private const string Ref = "there is a cat on the mat";

    [TestMethod]
    public void CorpusBleuExpSmoothingMatchesHandDerivation()
    {
        var s = BleuMetric.Corpus([Hyp], Refs([Ref]));
        CollectionAssert.AreEqual(new double[] { 5, 2, 1, 0 }, s.Counts.ToArray());
        CollectionAssert.AreEqual(new double[] { 6, 5, 4, 3 }, s.Totals.ToArray());
        Assert.AreEqual(6, s.HypothesisLength);
        Assert.AreEqual(7, s.ReferenceLength);
        double bp = Math.Exp(1 - 7.0 / 6.0);
        Assert.AreEqual(bp, s.BrevityPenalty, Tol);
        // exp: the first zero precision becomes 1 / (2 * total) = 1/6.
        double expected = 100 * bp * Math.Pow(5.0 / 6 * 2.0 / 5 * 1.0 / 4 * 1.0 / 6, 0.25); // (1/72)^(1/4)
        Assert.AreEqual(expected, s.Score, Tol);
        Assert.AreEqual(29.059, s.Score, 1e-3);
        Assert.AreEqual(100.0 / 6, s.Precisions[3], Tol);
    }

    [TestMethod]
    public void OtherSmoothingMethodsMatchHandDerivation()
    {
        double bp = Math.Exp(1 - 7.0 / 6.0);
        // none: p4 = 0 -> log taken as -9999999999 -> BLEU 0.
        var none = BleuMetric.Corpus([Hyp], Refs([Ref]), new BleuOptions { Smoothing = BleuSmoothing.None });
        Assert.AreEqual(0.0, none.Score, Tol);
        Assert.AreEqual("nrefs:1|case:mixed|eff:no|tok:13a|smooth:none|version:2.5.1", none.Signature);

        // floor (0.1): p4 = 0.1 / 3.
        var floor = BleuMetric.Corpus([Hyp], Refs([Ref]), new BleuOptions { Smoothing = BleuSmoothing.Floor });
        Assert.AreEqual(100 * bp * Math.Pow(5.0 / 6 * 2.0 / 5 * 1.0 / 4 * (0.1 / 3), 0.25), floor.Score, Tol);
        Assert.AreEqual("nrefs:1|case:mixed|eff:no|tok:13a|smooth:floor[0.10]|version:2.5.1", floor.Signature);

        // add-k (1): orders >= 2 get +1 on matches and totals: 3/6, 2/5, 1/4; order 1 stays 5/6.
        var addK = BleuMetric.Corpus([Hyp], Refs([Ref]), new BleuOptions { Smoothing = BleuSmoothing.AddK });
        Assert.AreEqual(100 * bp * Math.Pow(5.0 / 6 * 3.0 / 6 * 2.0 / 5 * 1.0 / 4, 0.25), addK.Score, Tol);
        CollectionAssert.AreEqual(new double[] { 5, 3, 2, 1 }, addK.Counts.ToArray());
        Assert.AreEqual("nrefs:1|case:mixed|eff:no|tok:13a|smooth:add-k[1.00]|version:2.5.1", addK.Signature);

        // add-k with k = 0.5: 2.5/5.5, 1.5/4.5, 0.5/3.5.
        var addHalf = BleuMetric.Corpus([Hyp], Refs([Ref]), new BleuOptions { Smoothing = BleuSmoothing.AddK, SmoothingValue = 0.5 });
        Assert.AreEqual(100 * bp * Math.Pow(5.0 / 6 * 2.5 / 5.5 * 1.5 / 4.5 * 0.5 / 3.5, 0.25), addHalf.Score, Tol);
        Assert.AreEqual("nrefs:1|case:mixed|eff:no|tok:13a|smooth:add-k[0.50]|version:2.5.1", addHalf.Signature);
    }

    [TestMethod]
    public void EmptyHypothesisScoresZeroAndCountsInCorpusLength()
    {
        // Alone: no tokens, no matches -> 0 with BP 0 (sacrebleu: bp = 0 when sys_len == 0).
        var alone = BleuMetric.Corpus([""], Refs(["hello world"]));
        Assert.AreEqual(0.0, alone.Score);
        Assert.AreEqual(0.0, alone.BrevityPenalty);
        Assert.AreEqual(0, alone.HypothesisLength);
        Assert.AreEqual(2, alone.ReferenceLength);
        Assert.AreEqual(0.0, BleuMetric.Sentence("", ["hello world"]).Score);

        // In a corpus it adds 2 reference tokens and nothing else: BP = exp(1 - 9/6), precisions as above.
        var corpus = BleuMetric.Corpus([Hyp, ""], Refs([Ref], ["hello world"]));
        Assert.AreEqual(9, corpus.ReferenceLength);
        Assert.AreEqual(100 * Math.Exp(1 - 9.0 / 6) * Math.Pow(1.0 / 72, 0.25), corpus.Score, Tol);
    }

    [TestMethod]
    public void ShortHypothesisMultipleReferencesAndEffectiveOrder()
    {
        // hyp "a b c" (3 tokens); refs "a b c d" (4) and "a b" (2): both 1 away, ties go to the shorter -> ref_len 2,
        // so BP = 1 (3 >= 2). Clipped counts against the max over refs: 3/3, 2/2, 1/1, and no 4-gram at all (total 0).
        var refs = new[] { "a b c d", "a b" };
        var sentence = BleuMetric.Sentence("a b c", refs);
        Assert.AreEqual(2, sentence.ReferenceLength);
        Assert.AreEqual(1.0, sentence.BrevityPenalty);
        // Effective order 3: exp(mean(log 100, log 100, log 100)) = 100.
        Assert.AreEqual(100.0, sentence.Score, Tol);
        Assert.AreEqual("nrefs:2|case:mixed|eff:yes|tok:13a|smooth:exp|version:2.5.1", sentence.Signature);
        // Without effective order the zero-total 4th order stays at precision 0 -> BLEU 0.
        Assert.AreEqual(0.0, BleuMetric.Sentence("a b c", refs, new BleuOptions { EffectiveOrder = false }).Score, Tol);
        Assert.AreEqual(0.0, BleuMetric.Corpus(["a b c"], Refs(refs)).Score, Tol);

        // A hypothesis shorter than its only reference: "a b" vs "a b c d": p1 = 2/2, p2 = 1/1, effective order 2,
        // BP = exp(1 - 4/2) = e^-1.
        var shortHyp = BleuMetric.Sentence("a b", ["a b c d"]);
        Assert.AreEqual(100 * Math.Exp(-1), shortHyp.Score, Tol);
    }

    [TestMethod]
    public void ClippingTakesMaximumCountOverReferences()
    {
        // hyp "the the the the"; refs "the cat" and "the the dog".
        //  1-grams: the x4, max ref count 2 -> 2/4;  2-grams: "the the" x3, max ref count 1 -> 1/3;
        //  3-grams 0/2 and 4-grams 0/1 -> exp smoothing 1/(2*2) and 1/(4*1).
        //  ref lengths 2 and 3; hyp 4 -> closest 3; BP 1.
        var s = BleuMetric.Corpus(["the the the the"], Refs(["the cat", "the the dog"]));
        CollectionAssert.AreEqual(new double[] { 2, 1, 0, 0 }, s.Counts.ToArray());
        Assert.AreEqual(3, s.ReferenceLength);
        Assert.AreEqual(100 * Math.Pow(0.5 * (1.0 / 3) * 0.25 * 0.25, 0.25), s.Score, Tol);
        Assert.AreEqual("nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|version:2.5.1", s.Signature);
    }

    [TestMethod]
    public void VariableReferenceCountsDropEmptyReferencesAndSignVar()
    {
        var s = BleuMetric.Corpus(["a b c d", "e f g h"], Refs(["a b c d", ""], ["e f g h", "e f"]));
        Assert.AreEqual(100.0, s.Score, Tol);
        StringAssert.StartsWith(s.Signature, "nrefs:var|");
    }

    [TestMethod]
    public void UnicodePunctuationUnderIntlDiffersFrom13a()
    {
        const string hyp = "Bonjour, «monde»!";
        const string reference = "Bonjour, « monde » !";
        // intl: both become "Bonjour , « monde » !" -> identical -> 100.
        var intl = BleuMetric.Corpus([hyp], Refs([reference]), new BleuOptions { Tokenizer = BleuTokenizer.International });
        Assert.AreEqual(100.0, intl.Score, Tol);
        Assert.AreEqual("nrefs:1|case:mixed|eff:no|tok:intl|smooth:exp|version:2.5.1", intl.Signature);
        // 13a leaves « » attached: hyp "Bonjour , «monde» !" (4), ref "Bonjour , « monde » !" (6).
        //  p1 = 3/4 (Bonjour , !), p2 = 1/3 ("Bonjour ,"), p3 = 0/2 -> 1/4, p4 = 0/1 -> 1/4; BP = exp(1 - 6/4).
        var t13a = BleuMetric.Corpus([hyp], Refs([reference]));
        Assert.AreEqual(100 * Math.Exp(-0.5) * Math.Pow(0.75 * (1.0 / 3) * 0.25 * 0.25, 0.25), t13a.Score, Tol);
    }

    [TestMethod]
    public void LowercaseOptionAndTrailingWhitespace()
    {
        var mixed = BleuMetric.Corpus(["THE CAT SAT ON MATS  "], Refs(["the cat sat on mats"]));
        Assert.AreEqual(0.0, mixed.Score);
        var lc = BleuMetric.Corpus(["THE CAT SAT ON MATS  "], Refs(["the cat sat on mats"]), new BleuOptions { Lowercase = true });
        Assert.AreEqual(100.0, lc.Score, Tol);
        StringAssert.Contains(lc.Signature, "|case:lc|");
    }

    [TestMethod]
    public void BadInputThrowsClearErrors()
    {
        var ex = Assert.ThrowsExactly<ArgumentException>(() => BleuMetric.Corpus(["a", "b"], Refs(["a"])));
        StringAssert.Contains(ex.Message, "2 hypotheses and 1 reference lists");
        ex = Assert.ThrowsExactly<ArgumentException>(() => BleuMetric.Corpus(["a"], Refs(["", ""])));
        StringAssert.Contains(ex.Message, "Segment 0 has no reference");
        ex = Assert.ThrowsExactly<ArgumentException>(() => new BleuMetric(new BleuOptions { MaxNgramOrder = 0 }));
        StringAssert.Contains(ex.Message, "MaxNgramOrder");
        Assert.ThrowsExactly<ArgumentException>(() => BleuTokenization.Parse("zh"));
    }
}
