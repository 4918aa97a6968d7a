using System.Buffers;
using System.Text;
using Aigc.MLNet.Onnx.Tokenization;
using Microsoft.ML.Tokenizers;

namespace Aigc.MLNet.Onnx.Tests.Tokenization;

[TestClass]
public sealed class StreamingDetokenizerTests
{
    private const string EmojiAndCjk = "Hi 😀👍🏽 你好，世界！ café naïve 🇫🇷 — ∑ x² 𝔘𝔫𝔦 done";

    private static void AssertWellFormed(string delta, string context)
    {
        for (int i = 0; i < delta.Length;)
        {
            Assert.AreEqual(OperationStatus.Done, Rune.DecodeFromUtf16(delta.AsSpan(i), out Rune r, out int n), $"lone surrogate in delta {context}");
            Assert.AreNotEqual(0xFFFD, r.Value, $"U+FFFD in delta {context}");
            i += n;
        }
    }

    [TestMethod]
    public void Gpt2_EmojiAndCjk_DeltasAreWholeCharacters_AndConcatenateToText()
    {
        BpeTokenizer gpt2 = TokenizationTestData.Gpt2;
        int[] ids = gpt2.EncodeToIds(EmojiAndCjk).ToArray();
        var detokenizer = new StreamingDetokenizer(gpt2);
        var sb = new StringBuilder();
        int emptyDeltas = 0;
        for (int i = 0; i < ids.Length; i++)
        {
            string delta = detokenizer.Append(ids[i]);
            AssertWellFormed(delta, $"after token {i} ({ids[i]})");
            if (delta.Length == 0)
                emptyDeltas++;
            sb.Append(delta);
        }
        sb.Append(detokenizer.Flush());
        Assert.AreEqual(EmojiAndCjk, sb.ToString());
        Assert.AreEqual(gpt2.Decode(ids), sb.ToString());
        Assert.IsGreaterThan(0, emptyDeltas, "GPT-2 splits these characters across tokens, so some tokens must be held back");
    }

    [TestMethod]
    public void Gpt2_SplitEmoji_IsHeldBackUntilComplete()
    {
        BpeTokenizer gpt2 = TokenizationTestData.Gpt2;
        int[] ids = gpt2.EncodeToIds(" 😀").ToArray(); // " 😀" is [30325 ' \xF0\x9F\x98', 222 '\x80']
        CollectionAssert.AreEqual(new[] { 30325, 222 }, ids);
        var detokenizer = new StreamingDetokenizer(gpt2);
        Assert.AreEqual(" ", detokenizer.Append(30325)); // the space is complete, the emoji's first three bytes are not
        Assert.AreEqual("😀", detokenizer.Append(222));
        Assert.AreEqual("", detokenizer.Flush());
    }

    [TestMethod]
    public void Gpt2_IncompleteCharacterAtEnd_FlushesReplacementCharacter()
    {
        BpeTokenizer gpt2 = TokenizationTestData.Gpt2;
        var detokenizer = new StreamingDetokenizer(gpt2);
        Assert.AreEqual(" ", detokenizer.Append(30325));
        Assert.AreEqual("\uFFFD", detokenizer.Flush());
        Assert.AreEqual(" \uFFFD", gpt2.Decode([30325]));
    }

    [TestMethod]
    public void Gpt2_SpecialTokens_KeptOrSkipped()
    {
        BpeTokenizer gpt2 = TokenizationTestData.Gpt2;
        int[] ids = gpt2.EncodeToIds("Hello<|endoftext|> 你好").ToArray();
        Assert.AreEqual("Hello<|endoftext|> 你好", Stream(new StreamingDetokenizer(gpt2), ids));
        Assert.AreEqual("Hello 你好", Stream(new StreamingDetokenizer(gpt2, skipSpecialTokens: true), ids));
        Assert.AreEqual(gpt2.Decode(ids, considerSpecialTokens: false), Stream(new StreamingDetokenizer(gpt2, skipSpecialTokens: true), ids));
    }

    [TestMethod]
    public void Gpt2_RandomUnicode_StreamEqualsDecode()
    {
        BpeTokenizer gpt2 = TokenizationTestData.Gpt2;
        var rng = new Random(7);
        var sb = new StringBuilder();
        var detokenizer = new StreamingDetokenizer(gpt2);
        for (int n = 0; n < 500; n++)
        {
            string text = Gpt2TokenizerTests.RandomText(rng, sb, rng.Next(1, 30));
            int[] ids = gpt2.EncodeToIds(text).ToArray();
            var output = new StringBuilder();
            foreach (int id in ids)
            {
                string delta = detokenizer.Append(id);
                Assert.IsFalse(delta.Length > 0 && char.IsHighSurrogate(delta[^1]), "delta ends with a high surrogate");
                output.Append(delta);
            }
            output.Append(detokenizer.Flush());
            Assert.AreEqual(text, output.ToString(), $"text #{n}");
        }
    }

    [TestMethod]
    public void Gpt2_RandomIds_IncludingInvalidUtf8_StreamEqualsDecode()
    {
        BpeTokenizer gpt2 = TokenizationTestData.Gpt2;
        var rng = new Random(11);
        for (int n = 0; n < 300; n++)
        {
            // Bias towards the byte tokens (ids below 256 include lone UTF-8 lead and continuation bytes).
            int[] ids = Enumerable.Range(0, rng.Next(1, 25)).Select(_ => rng.Next(2) == 0 ? rng.Next(0, 256) : rng.Next(0, 50257)).ToArray();
            Assert.AreEqual(gpt2.Decode(ids), Stream(new StreamingDetokenizer(gpt2), ids), $"ids [{string.Join(", ", ids)}]");
        }
    }

    [TestMethod]
    public void CharTokenizer_StreamsEachCharacter()
    {
        var tokenizer = CharTokenizer.FromCorpus("ab😀");
        var detokenizer = new StreamingDetokenizer(tokenizer);
        Assert.AreEqual("😀", detokenizer.Append(2));
        Assert.AreEqual("a", detokenizer.Append(0));
        Assert.AreEqual("", detokenizer.Flush());
    }

    [TestMethod]
    public void OtherTokenizer_UsesDecodeWindow()
    {
        // A plain BPE tokenizer (not byte-level) exercises the generic path.
        var vocab = new Dictionary<string, int> { ["a"] = 0, ["b"] = 1, ["ab"] = 2, ["é"] = 3 };
        BpeTokenizer plain = BpeTokenizer.Create(new BpeOptions(vocab) { Merges = ["a b"] });
        var detokenizer = new StreamingDetokenizer(plain);
        int[] ids = [2, 0, 3, 1];
        var sb = new StringBuilder();
        foreach (int id in ids)
            sb.Append(detokenizer.Append(id));
        sb.Append(detokenizer.Flush());
        Assert.AreEqual(plain.Decode(ids), sb.ToString());
        Assert.AreEqual("abaéb", sb.ToString());
    }

    private static string Stream(StreamingDetokenizer detokenizer, IEnumerable<int> ids)
    {
        var sb = new StringBuilder();
        foreach (int id in ids)
            sb.Append(detokenizer.Append(id));
        return sb.Append(detokenizer.Flush()).ToString();
    }
}
