using System.Text;
using Aigc.MLNet.Onnx.Tokenization;
using Microsoft.ML.Tokenizers;

namespace Aigc.MLNet.Onnx.Tests.Tokenization;

[TestClass]
public sealed class Gpt2TokenizerTests
{
    private static void AssertIds(string text, params int[] expected)
    {
        IReadOnlyList<int> ids = TokenizationTestData.Gpt2.EncodeToIds(text);
        CollectionAssert.AreEqual(expected, ids.ToArray(), $"ids of {System.Text.Json.JsonSerializer.Serialize(text)}: [{string.Join(", ", ids)}]");
        Assert.AreEqual(text, TokenizationTestData.Gpt2.Decode(ids));
    }

    [TestMethod]
    public void GoldenIds_FromTheBrief()
    {
        AssertIds("Hello world", 15496, 995);
        AssertIds("Hello  world", 15496, 220, 995);
        AssertIds("a\t\tb", 64, 197, 197, 65);
        AssertIds("<|endoftext|>", 50256);
    }

    [TestMethod]
    public void GoldenIds_VerifiedAgainstVocabulary()
    {
        AssertIds(" the", 262);
        AssertIds("The quick brown fox", 464, 2068, 7586, 21831);
        AssertIds("It's", 1026, 338);
        AssertIds("Hello world!", 15496, 995, 0);
        // "\n\n" at the end is one token (628); between words the whitespace regex splits it into 198, 198.
        AssertIds("\n\n", 628);
        AssertIds("Hello\n\nWorld", 15496, 198, 198, 10603);
        // GPT-2 has no multi-space tokens: "   " before a word is "  " (two 220s) then " b".
        AssertIds("a   b", 64, 220, 220, 275);
        // Byte-level: CJK characters split across tokens.
        AssertIds("你好", 19526, 254, 25001, 121);
        AssertIds("Hello<|endoftext|>world", 15496, 50256, 6894);
        AssertIds("<|endoftext|><|endoftext|>", 50256, 50256);
    }

    [TestMethod]
    public void Files_HaveExpectedSizes()
    {
        BpeTokenizer tokenizer = TokenizationTestData.Gpt2;
        Assert.AreEqual(50257, tokenizer.Vocabulary.Count);
        string[] lines = File.ReadAllLines(TokenizationTestData.Gpt2MergesPath);
        Assert.StartsWith("#version", lines[0]);
        Assert.AreEqual(50000, lines.Skip(1).Count(l => l.Length > 0));
        Assert.IsTrue(tokenizer.ByteLevel);
        Assert.AreEqual(Gpt2Tokenizer.EndOfTextTokenId, tokenizer.SpecialTokens![Gpt2Tokenizer.EndOfTextToken]);
    }

    [TestMethod]
    public void StreamOverload_GivesSameIdsAsFiles()
    {
        using FileStream vocab = File.OpenRead(TokenizationTestData.Gpt2VocabPath);
        using FileStream merges = File.OpenRead(TokenizationTestData.Gpt2MergesPath);
        BpeTokenizer fromStreams = Gpt2Tokenizer.Create(vocab, merges);
        string text = File.ReadAllText(TokenizationTestData.TinyShakespearePath)[..20_000] + " 😀 你好 <|endoftext|>";
        CollectionAssert.AreEqual(TokenizationTestData.Gpt2.EncodeToIds(text).ToArray(), fromStreams.EncodeToIds(text).ToArray());
    }

    [TestMethod]
    public void MissingOrBadFiles_ThrowNamingTheFile()
    {
        string missing = Path.Combine(Path.GetTempPath(), "no-such-dir-aigc", "vocab.json");
        var ex = Assert.ThrowsExactly<FileNotFoundException>(() => Gpt2Tokenizer.Create(missing, TokenizationTestData.Gpt2MergesPath));
        StringAssert.Contains(ex.Message, missing);

        using var badVocab = new MemoryStream("[1, 2]"u8.ToArray());
        using var merges = new MemoryStream("a b\n"u8.ToArray());
        var bad = Assert.ThrowsExactly<InvalidDataException>(() => Gpt2Tokenizer.Create(badVocab, merges));
        StringAssert.Contains(bad.Message, "vocabJson");

        using var vocab = new MemoryStream("{\"a\": 0, \"b\": 1, \"ab\": 2}"u8.ToArray());
        using var badMerges = new MemoryStream("#version: 0.2\na b c\n"u8.ToArray());
        var badM = Assert.ThrowsExactly<InvalidDataException>(() => Gpt2Tokenizer.Create(vocab, badMerges));
        StringAssert.Contains(badM.Message, "line 2");
    }

    [TestMethod]
    public void RoundTrip_10000RandomUnicodeStrings()
    {
        BpeTokenizer tokenizer = TokenizationTestData.Gpt2;
        var rng = new Random(20261123);
        var sb = new StringBuilder();
        for (int n = 0; n < 10_000; n++)
        {
            string text = RandomText(rng, sb, rng.Next(0, 40));
            string decoded = tokenizer.Decode(tokenizer.EncodeToIds(text));
            if (decoded != text)
                Assert.Fail($"Round trip #{n} failed for {System.Text.Json.JsonSerializer.Serialize(text)}: got {System.Text.Json.JsonSerializer.Serialize(decoded)}");
        }
    }

    /// <summary>A random string of well-formed UTF-16 mixing ASCII, whitespace runs, Latin, CJK, emoji, combining marks and random code points.</summary>
    internal static string RandomText(Random rng, StringBuilder sb, int runes)
    {
        sb.Clear();
        for (int i = 0; i < runes; i++)
        {
            int kind = rng.Next(10);
            int cp = kind switch
            {
                0 => rng.Next(0x20, 0x7F),                                          // printable ASCII
                1 => " \t\n\r\u00A0\u3000\u2028"[rng.Next(7)],                     // whitespace
                2 => rng.Next('a', 'z' + 1),
                3 => rng.Next(0x4E00, 0xA000),                                      // CJK
                4 => rng.Next(0x1F600, 0x1F650),                                    // emoji
                5 => rng.Next(0x0300, 0x0370),                                      // combining marks
                6 => rng.Next(0x00A0, 0x0500),                                      // Latin-1, Greek, Cyrillic
                7 => RandomScalar(rng, 0x10000),                                    // any BMP scalar
                8 => rng.Next(0x10000, 0x110000),                                   // any supplementary scalar
                _ => "<|>' 0123456789"[rng.Next(15)],
            };
            if (kind == 1 && rng.Next(2) == 0)
                sb.Append((char)cp, rng.Next(2, 5)); // whitespace runs
            else
                sb.Append(char.ConvertFromUtf32(cp));
        }
        return sb.ToString();
    }

    private static int RandomScalar(Random rng, int limit)
    {
        while (true)
        {
            int cp = rng.Next(0, limit);
            if (cp is < 0xD800 or > 0xDFFF)
                return cp;
        }
    }
}
