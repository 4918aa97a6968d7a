using System.Text.Json;
using Aigc.MLNet.Onnx.Tokenization;
using Microsoft.ML.Tokenizers;

namespace Aigc.MLNet.Onnx.Tests.Tokenization;

[TestClass]
public sealed class CharTokenizerTests
{
    [TestMethod]
    public void FromCorpus_SortedDistinctCharacters()
    {
        var tokenizer = CharTokenizer.FromCorpus("hello world");
        // sorted(set("hello world")) = [' ', 'd', 'e', 'h', 'l', 'o', 'r', 'w']
        CollectionAssert.AreEqual(new[] { " ", "d", "e", "h", "l", "o", "r", "w" }, Enumerable.Range(0, tokenizer.VocabularySize).Select(tokenizer.GetToken).ToArray());
        CollectionAssert.AreEqual(new[] { 3, 2, 4, 4, 5, 0, 7, 5, 6, 4, 1 }, tokenizer.EncodeToIds("hello world").ToArray());
        Assert.AreEqual("world", tokenizer.Decode([7, 5, 6, 4, 1]));
    }

    [TestMethod]
    public void SupplementaryCharactersAreOneToken_OrderedByCodePoint()
    {
        var tokenizer = CharTokenizer.FromCorpus("b😀a\uFFFD");
        // code points: a 0x61, b 0x62, U+FFFD, U+1F600 (a UTF-16 ordinal sort would put the emoji before U+FFFD)
        CollectionAssert.AreEqual(new[] { "a", "b", "\uFFFD", "😀" }, Enumerable.Range(0, 4).Select(tokenizer.GetToken).ToArray());
        CollectionAssert.AreEqual(new[] { 3, 0, 3 }, tokenizer.EncodeToIds("😀a😀").ToArray());
        IReadOnlyList<EncodedToken> tokens = tokenizer.EncodeToTokens("a😀b", out _);
        Assert.AreEqual(new Range(1, 3), tokens[1].Offset);
        Assert.AreEqual(3, tokenizer.CountTokens("a😀b"));
    }

    [TestMethod]
    public void UnknownCharacter_ThrowsNamingCharacterAndPosition()
    {
        var tokenizer = CharTokenizer.FromCorpus("abc");
        var ex = Assert.ThrowsExactly<ArgumentException>(() => tokenizer.EncodeToIds("abxc"));
        StringAssert.Contains(ex.Message, "'x'");
        StringAssert.Contains(ex.Message, "U+0078");
        StringAssert.Contains(ex.Message, "position 2");

        var lone = Assert.ThrowsExactly<ArgumentException>(() => tokenizer.EncodeToIds("a\uD83D"));
        StringAssert.Contains(lone.Message, "U+D83D");
    }

    [TestMethod]
    public void UnknownTokenId_MapsUnknownCharacters()
    {
        var tokenizer = CharTokenizer.FromCorpus("?abc", unknownTokenId: 0);
        CollectionAssert.AreEqual(new[] { 1, 0, 3 }, tokenizer.EncodeToIds("axc").ToArray());
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => CharTokenizer.FromCorpus("ab", unknownTokenId: 2));
    }

    [TestMethod]
    public void MaxTokenCount_AndIndexByTokenCount()
    {
        var tokenizer = CharTokenizer.FromCorpus("ab😀");
        IReadOnlyList<int> ids = tokenizer.EncodeToIds("a😀b", 2, out _, out int consumed);
        CollectionAssert.AreEqual(new[] { 0, 2 }, ids.ToArray());
        Assert.AreEqual(3, consumed);
        Assert.AreEqual(3, tokenizer.GetIndexByTokenCount("a😀b", 2, out _, out int count));
        Assert.AreEqual(2, count);
        Assert.AreEqual(1, tokenizer.GetIndexByTokenCountFromEnd("a😀b", 2, out _, out count));
        Assert.AreEqual(2, count);
    }

    [TestMethod]
    public void DecodeIntoSpan_ReportsStatus()
    {
        var tokenizer = CharTokenizer.FromCorpus("ab😀");
        Span<char> small = stackalloc char[2];
        Assert.AreEqual(System.Buffers.OperationStatus.DestinationTooSmall, tokenizer.Decode([0, 2], small, out int consumed, out int written));
        Assert.AreEqual(1, consumed);
        Assert.AreEqual(1, written);
        Span<char> big = stackalloc char[8];
        Assert.AreEqual(System.Buffers.OperationStatus.Done, tokenizer.Decode([0, 2, 1], big, out consumed, out written));
        Assert.AreEqual("a😀b", big[..written].ToString());
        Assert.AreEqual(System.Buffers.OperationStatus.InvalidData, tokenizer.Decode([9], big, out _, out _));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => tokenizer.Decode([9]));
    }

    [TestMethod]
    public void TinyShakespeare_RoundTripsExactly_With65Characters()
    {
        string text = File.ReadAllText(TokenizationTestData.TinyShakespearePath);
        Assert.AreEqual(1_115_394, text.Length);
        var tokenizer = CharTokenizer.FromCorpus(text);
        Assert.AreEqual(65, tokenizer.VocabularySize); // nanoGPT shakespeare_char: vocab size 65
        Assert.AreEqual("\n", tokenizer.GetToken(0));
        Assert.AreEqual(" ", tokenizer.GetToken(1));
        Assert.AreEqual("z", tokenizer.GetToken(64));
        IReadOnlyList<int> ids = tokenizer.EncodeToIds(text);
        Assert.HasCount(text.Length, ids);
        Assert.AreEqual(text, tokenizer.Decode(ids));
    }

    [TestMethod]
    public void SaveAndLoad_VocabJson()
    {
        var tokenizer = CharTokenizer.FromCorpus("ab\n\"\\😀é");
        using var stream = new MemoryStream();
        tokenizer.Save(stream);
        string json = System.Text.Encoding.UTF8.GetString(stream.ToArray());
        var parsed = JsonSerializer.Deserialize<Dictionary<string, int>>(json)!;
        Assert.AreEqual(tokenizer.VocabularySize, parsed.Count);
        Assert.AreEqual(tokenizer.Vocabulary["😀"], parsed["😀"]);
        StringAssert.Contains(json, "\"é\""); // BMP letters written readable, not escaped

        stream.Position = 0;
        var loaded = CharTokenizer.FromVocabulary(stream);
        CollectionAssert.AreEqual(tokenizer.Vocabulary.OrderBy(kv => kv.Value).ToArray(), loaded.Vocabulary.OrderBy(kv => kv.Value).ToArray());
    }

    [TestMethod]
    public void BadVocabulary_ThrowsNamingTheProblem()
    {
        var multi = Assert.ThrowsExactly<InvalidDataException>(() => CharTokenizer.FromVocabulary(new MemoryStream("{\"ab\": 0}"u8.ToArray())));
        StringAssert.Contains(multi.Message, "not exactly one Unicode character");
        var gap = Assert.ThrowsExactly<InvalidDataException>(() => CharTokenizer.FromVocabulary(new MemoryStream("{\"a\": 0, \"b\": 5}"u8.ToArray())));
        StringAssert.Contains(gap.Message, "id 5");
        var dup = Assert.ThrowsExactly<ArgumentException>(() => new CharTokenizer(["a", "b", "a"]));
        StringAssert.Contains(dup.Message, "repeats");
        Assert.ThrowsExactly<FileNotFoundException>(() => CharTokenizer.FromVocabularyFile("/nonexistent/vocab.json"));
    }
}
