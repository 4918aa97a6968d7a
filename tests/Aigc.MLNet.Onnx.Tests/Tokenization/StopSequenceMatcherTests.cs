using System.Text;
using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Tokenization;
using Microsoft.ML.Tokenizers;

namespace Aigc.MLNet.Onnx.Tests.Tokenization;

[TestClass]
public sealed class StopSequenceMatcherTests
{
    private static (string Emitted, StopSequenceMatcher Matcher, int TokensUsed) StreamGpt2(int[] ids, params string[] stops)
    {
        var detokenizer = new StreamingDetokenizer(TokenizationTestData.Gpt2);
        var matcher = new StopSequenceMatcher(stops);
        var emitted = new StringBuilder();
        int used = 0;
        foreach (int id in ids)
        {
            used++;
            emitted.Append(matcher.Append(detokenizer.Append(id)));
            if (matcher.IsStopped)
                break;
        }
        if (!matcher.IsStopped)
            emitted.Append(matcher.Append(detokenizer.Flush())).Append(matcher.Flush());
        return (emitted.ToString(), matcher, used);
    }

    [TestMethod]
    public void DoubleNewline_AsTwoTokens198_198_StopsAtTheRightCharacter()
    {
        int[] ids = TokenizationTestData.Gpt2.EncodeToIds("Hello\n\nWorld").ToArray();
        CollectionAssert.AreEqual(new[] { 15496, 198, 198, 10603 }, ids);
        var (emitted, matcher, used) = StreamGpt2(ids, "\n\n");
        Assert.IsTrue(matcher.IsStopped);
        Assert.AreEqual(3, used, "stops on the second 198, before World");
        Assert.AreEqual(5, matcher.StopIndex);
        Assert.AreEqual("Hello", emitted);
        Assert.AreEqual("\n\n", matcher.MatchedStopSequence);
    }

    [TestMethod]
    public void DoubleNewline_AsOneToken628_Stops()
    {
        var (emitted, matcher, used) = StreamGpt2([15496, 628, 10603], "\n\n");
        Assert.IsTrue(matcher.IsStopped);
        Assert.AreEqual(2, used);
        Assert.AreEqual(5, matcher.StopIndex);
        Assert.AreEqual("Hello", emitted);
    }

    [TestMethod]
    public void StopInsideAToken_CutsMidToken()
    {
        // " world" is one token; the stop string "wor" ends inside it.
        var (emitted, matcher, _) = StreamGpt2([15496, 995, 0], "wor");
        Assert.AreEqual("Hello ", emitted);
        Assert.AreEqual(6, matcher.StopIndex);
    }

    [TestMethod]
    public void PrefixThatDoesNotComplete_IsReleasedLater()
    {
        var matcher = new StopSequenceMatcher(["\n\n", "END"]);
        Assert.AreEqual("a", matcher.Append("a\n"));   // "\n" could start "\n\n": held back
        Assert.AreEqual("\nb", matcher.Append("b"));   // it did not: released
        Assert.AreEqual("", matcher.Append("E"));
        Assert.AreEqual("", matcher.Append("N"));
        Assert.AreEqual("ENx", matcher.Append("x"));
        Assert.AreEqual("", matcher.Append("EN"));
        Assert.AreEqual("EN", matcher.Flush());
        Assert.IsFalse(matcher.IsStopped);
        Assert.AreEqual(-1, matcher.StopIndex);
        Assert.AreEqual(matcher.TextLength, matcher.EmittedLength);
    }

    [TestMethod]
    public void EarliestStopWins_AndTextAfterStopIsIgnored()
    {
        var matcher = new StopSequenceMatcher(["xbcd", "cd", "b"]);
        Assert.AreEqual("a", matcher.Append("abcd"));
        Assert.AreEqual(1, matcher.StopIndex);
        Assert.AreEqual("b", matcher.MatchedStopSequence);
        Assert.AreEqual("", matcher.Append("more"));
        Assert.AreEqual("", matcher.Flush());
    }

    [TestMethod]
    public void FirstCompletedStopWins_IndependentOfChunking()
    {
        // "xyz" starts earlier but "y" completes first, whether the text comes in one piece or two.
        var whole = new StopSequenceMatcher(["xyz", "y"]);
        Assert.AreEqual("ax", whole.Append("axyz"));
        Assert.AreEqual(2, whole.StopIndex);
        var pieces = new StopSequenceMatcher(["xyz", "y"]);
        Assert.AreEqual("ax", pieces.Append("ax") + pieces.Append("yz"));
        Assert.AreEqual(2, pieces.StopIndex);
        // Same end: the longer (earlier-starting) one.
        Assert.AreEqual(1, StopSequenceMatcher.IndexOfAny("axyz", ["yz", "xyz"], out string? matched));
        Assert.AreEqual("xyz", matched);
    }

    [TestMethod]
    public void StopSpanningManyAppends_ReportsAbsoluteIndex()
    {
        var matcher = new StopSequenceMatcher(["<stop>"]);
        var emitted = new StringBuilder();
        foreach (string piece in new[] { "0123", "45<s", "t", "o", "p>tail" })
            emitted.Append(matcher.Append(piece));
        Assert.AreEqual("012345", emitted.ToString());
        Assert.AreEqual(6, matcher.StopIndex);
        Assert.AreEqual(12, matcher.TextLength);
    }

    [TestMethod]
    public void NoStops_PassesEverythingThrough()
    {
        var matcher = new StopSequenceMatcher([]);
        Assert.AreEqual("abc", matcher.Append("abc"));
        Assert.IsFalse(matcher.IsStopped);
    }

    [TestMethod]
    public void IndexOfAny_AndValidation()
    {
        Assert.AreEqual(3, StopSequenceMatcher.IndexOfAny("abc\n\nd", ["\n\n", "d"], out string? matched));
        Assert.AreEqual("\n\n", matched);
        Assert.AreEqual(-1, StopSequenceMatcher.IndexOfAny("abc", ["x"], out matched));
        Assert.IsNull(matched);
        var ex = Assert.ThrowsExactly<ArgumentException>(() => new StopSequenceMatcher(["a", ""]));
        StringAssert.Contains(ex.Message, "Stop sequence 1");
    }

    [TestMethod]
    public void RandomChunking_MatchesWholeTextSearch()
    {
        var rng = new Random(99);
        string[] stops = ["aab", "ba", "abbad", "c", "bb"]; // "abbad" contains "bb" and "ba", which complete earlier
        for (int n = 0; n < 2000; n++)
        {
            var text = new string(Enumerable.Range(0, rng.Next(1, 20)).Select(_ => "abcd"[rng.Next(rng.Next(2) == 0 ? 2 : 4)]).ToArray());
            var matcher = new StopSequenceMatcher(stops);
            var emitted = new StringBuilder();
            for (int i = 0; i < text.Length && !matcher.IsStopped;)
            {
                int len = Math.Min(rng.Next(1, 4), text.Length - i);
                emitted.Append(matcher.Append(text.Substring(i, len)));
                i += len;
            }
            emitted.Append(matcher.Flush());
            // Reference: the stop string completed first; among those, the earliest start.
            int expected = ReferenceStop(text, stops);
            Assert.AreEqual(expected, matcher.StopIndex == -1 ? -1 : matcher.StopIndex, $"text {text}");
            Assert.AreEqual(expected < 0 ? text : text[..expected], emitted.ToString(), $"text {text}");
        }
    }

    private static int ReferenceStop(string text, string[] stops)
    {
        // Checking after every character: the first stop string to complete, earliest start on a tie.
        for (int end = 1; end <= text.Length; end++)
        {
            int best = -1;
            foreach (string s in stops)
                if (end >= s.Length && text.AsSpan(end - s.Length, s.Length).SequenceEqual(s) && (best < 0 || end - s.Length < best))
                    best = end - s.Length;
            if (best >= 0)
                return best;
        }
        return -1;
    }
}
