using System.Text;
using Aigc.MLNet.Transforms.Data;
using Microsoft.ML;

namespace Aigc.MLNet.Transforms.Tests.Data;

[TestClass]
public sealed class TextCorpusTests
{
    private static string[] Read(IDataView data, string column = "Text")
    {
        var rows = new List<string>();
        using var cursor = data.GetRowCursor(data.Schema);
        var getter = cursor.GetGetter<ReadOnlyMemory<char>>(data.Schema[column]);
        ReadOnlyMemory<char> value = default;
        while (cursor.MoveNext())
        {
            getter(ref value);
            rows.Add(value.ToString());
        }
        return rows.ToArray();
    }

    private static string Write(string text)
    {
        string path = Path.Combine(Path.GetTempPath(), "aigc-tests", Guid.NewGuid().ToString("N") + ".txt");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text, new UTF8Encoding(false));
        return path;
    }

    [TestMethod]
    public void LinesSkipEmptyLinesByDefault()
    {
        string path = Write("first\n\nsecond\r\nthird");
        var ml = new MLContext();
        CollectionAssert.AreEqual(new[] { "first", "second", "third" }, Read(ml.Data.LoadTextCorpus(path)));
        CollectionAssert.AreEqual(new[] { "first", "", "second", "third" },
            Read(ml.Data.LoadTextCorpus(path, new TextCorpusOptions { KeepEmptyLines = true })));
    }

    [TestMethod]
    public void ParagraphsJoinLinesBetweenBlankLines()
    {
        string path = Write("a\nb\n\n\nc\n  \nd\ne\n");
        var ml = new MLContext();
        CollectionAssert.AreEqual(new[] { "a\nb", "c", "d\ne" }, Read(ml.Data.LoadTextCorpus(path, TextCorpusUnit.Paragraphs)));
    }

    [TestMethod]
    public void ChunksConcatenateToTheFileAndNeverSplitSurrogatePairs()
    {
        string text = "ab😀cd😀😀e" + new string('x', 10);
        string path = Write(text);
        var ml = new MLContext();
        var chunks = Read(ml.Data.LoadTextCorpus(path, TextCorpusUnit.Chunks, chunkLength: 3));
        Assert.AreEqual(text, string.Concat(chunks));
        Assert.AreEqual("ab", chunks[0]);   // "ab" + high surrogate would split the emoji
        foreach (string chunk in chunks)
        {
            Assert.IsFalse(char.IsHighSurrogate(chunk[^1]), $"chunk '{chunk}' ends inside a surrogate pair");
            Assert.IsLessThanOrEqualTo(3, chunk.Length);
        }
    }

    [TestMethod]
    public void TinyShakespeareAsDocumentAndLines()
    {
        var ml = new MLContext();
        var doc = ml.Data.LoadTextCorpus(DatasetPaths.TinyShakespeareFile, TextCorpusUnit.Document);
        Assert.AreEqual(1L, doc.GetRowCount());
        Assert.AreEqual(1_115_394, Read(doc).Single().Length);
        var lines = Read(ml.Data.LoadTextCorpus(DatasetPaths.TinyShakespeareFile, new TextCorpusOptions { KeepEmptyLines = true, ColumnName = "Line" }), "Line");
        Assert.AreEqual(40_000, lines.Length);
        Assert.AreEqual("First Citizen:", lines[0]);
    }

    [TestMethod]
    public void BadArgumentsNameTheInput()
    {
        var ml = new MLContext();
        var missing = Assert.ThrowsExactly<FileNotFoundException>(() => ml.Data.LoadTextCorpus("/nonexistent/corpus.txt"));
        StringAssert.Contains(missing.Message, "/nonexistent/corpus.txt");
        var chunk = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Data.LoadTextCorpus(Write("x"), TextCorpusUnit.Chunks, chunkLength: 1));
        StringAssert.Contains(chunk.Message, "ChunkLength");
    }
}
