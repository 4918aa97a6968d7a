using Aigc.MLNet.Onnx.Tokenization;
using Aigc.MLNet.Testing;
using Aigc.MLNet.Transforms.Data;
using Aigc.MLNet.Transforms.Text;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Transforms.Tests.Text;

[TestClass]
public sealed class TokenizeTextTests
{
    private static string Gpt2Folder => Path.GetDirectoryName(DatasetPaths.Gpt2VocabFile)!;

    private static readonly Lazy<string> s_charFolder = new(() =>
    {
        string folder = Path.Combine(Path.GetTempPath(), "aigc-tests", "char-vocab-" + Environment.ProcessId);
        CharTokenizer.FromCorpusFile(DatasetPaths.TinyShakespeareFile).SaveToFolder(folder);
        return folder;
    });

    private static IDataView Lines(MLContext ml) => ml.Data.LoadTextCorpus(DatasetPaths.TinyShakespeareFile, new TextCorpusOptions { KeepEmptyLines = true });

    [TestMethod]
    public void Gpt2GoldenIdsAndCounts()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(new[] { new TextRow { Text = "Hello world" }, new TextRow { Text = "Hello  world" }, new TextRow { Text = null } });
        var output = ml.Transforms.TokenizeText("Ids", "Text", Gpt2Folder, countColumnName: "Count").Fit(data).Transform(data);
        var ids = output.GetColumn<int[]>("Ids").ToArray();
        CollectionAssert.AreEqual(new[] { 15496, 995 }, ids[0]);
        CollectionAssert.AreEqual(new[] { 15496, 220, 995 }, ids[1]);
        Assert.AreEqual(0, ids[2].Length);
        CollectionAssert.AreEqual(new[] { 2, 3, 0 }, output.GetColumn<int>("Count").ToArray());
        Assert.AreEqual(new VectorDataViewType(NumberDataViewType.Int32), output.Schema["Ids"].Type);
    }

    [TestMethod]
    public void EveryTinyShakespeareLineRoundTripsWithGpt2Bpe() => RoundTrip(Gpt2Folder);

    [TestMethod]
    public void EveryTinyShakespeareLineRoundTripsWithCharacters() => RoundTrip(s_charFolder.Value);

    private static void RoundTrip(string folder)
    {
        var ml = new MLContext(seed: 1);
        var lines = Lines(ml);
        var pipeline = ml.Transforms.TokenizeText("Ids", "Text", folder).Append(ml.Transforms.DetokenizeText("Back", "Ids", folder));
        var output = pipeline.Fit(lines).Transform(lines);
        var original = lines.GetColumn<string>("Text").ToArray();
        var back = output.GetColumn<string>("Back").ToArray();
        Assert.AreEqual(40_000, original.Length);
        CollectionAssert.AreEqual(original, back);
    }

    [TestMethod]
    public void RegisteredTokenizerInstanceWorks()
    {
        var ml = new MLContext(seed: 1);
        var tokenizer = CharTokenizer.FromCorpus("abc ");
        var data = ml.Data.LoadFromEnumerable(new[] { new TextRow { Text = "cab a" } });
        var output = ml.Transforms.TokenizeText("Ids", "Text", tokenizer, "abc")
            .Append(ml.Transforms.DetokenizeText("Back", "Ids", tokenizer, "abc")).Fit(data).Transform(data);
        CollectionAssert.AreEqual(new[] { 3, 1, 2, 0, 1 }, output.GetColumn<int[]>("Ids").Single());
        Assert.AreEqual("cab a", output.GetColumn<string>("Back").Single());
    }

    [TestMethod]
    public void DetokenizeTextRejectsIdsOutsideTheVocabularyNamingColumnIdAndPosition()
    {
        var ml = new MLContext(seed: 1);
        foreach (var (bad, position) in new[] { (-1, 1), (999_999, 2), (50_257, 0) })
        {
            int[] ids = position switch { 0 => [bad, 995], 1 => [15496, bad], _ => [15496, 995, bad] };
            var data = ml.Data.LoadFromEnumerable(new[] { new IdsRow { Ids = [15496, 995] }, new IdsRow { Ids = ids } });
            var model = ml.Transforms.DetokenizeText("Back", "Ids", Gpt2Folder).Fit(data);
            Assert.AreEqual($"DetokenizeText: column 'Ids' holds id {bad} at position {position}; the tokenizer's ids are 0 to 50256.",
                RowError(() => model.Transform(data).GetColumn<string>("Back").ToArray()));
        }
        // The last id (<|endoftext|>) and the character tokenizer's range are accepted and decoded.
        var good = ml.Data.LoadFromEnumerable(new[] { new IdsRow { Ids = [15496, 50256] } });
        Assert.AreEqual("Hello<|endoftext|>", ml.Transforms.DetokenizeText("Back", "Ids", Gpt2Folder).Fit(good).Transform(good).GetColumn<string>("Back").Single());
        var chars = CharTokenizer.FromCorpus("abc");
        var charData = ml.Data.LoadFromEnumerable(new[] { new IdsRow { Ids = [2, 0, 3] } });
        Assert.AreEqual("DetokenizeText: column 'Ids' holds id 3 at position 2; the tokenizer's ids are 0 to 2.",
            RowError(() => ml.Transforms.DetokenizeText("Back", "Ids", chars, "abc-range").Fit(charData).Transform(charData).GetColumn<string>("Back").ToArray()));
    }

    /// <summary>The message of a row error; ML.NET's CustomMapping delivers it inside its InvalidOperationException.</summary>
    private static string RowError(Action read)
    {
        var e = Assert.ThrowsExactly<InvalidOperationException>(read);
        Assert.IsInstanceOfType<ArgumentException>(e.InnerException);
        return e.InnerException.Message;
    }

    private sealed class IdsRow
    {
        [VectorType]
        public int[] Ids { get; set; } = [];
    }

    [TestMethod]
    public void SavedTokenizerPipelineGivesTheSameIdsInAFreshProcess()
    {
        var ml = new MLContext(seed: 1);
        string[] texts = ["Hello world", "First Citizen:", "naïve café 😀"];
        var data = ml.Data.LoadFromEnumerable(texts.Select(t => new TextRow { Text = t }).ToArray());
        var model = ml.Transforms.TokenizeText("Ids", "Text", Gpt2Folder, countColumnName: "Count")
            .Append(ml.Transforms.DetokenizeText("Back", "Ids", Gpt2Folder)).Fit(data);
        string zip = Path.Combine(Path.GetTempPath(), "aigc-tests", Guid.NewGuid().ToString("N") + ".zip");
        Directory.CreateDirectory(Path.GetDirectoryName(zip)!);
        ml.Model.Save(model, data.Schema, zip);
        string[] columns = ["Ids", "Count", "Back"];
        string expected = PipelineJson.Dump(model.Transform(data), columns);
        Assert.AreEqual(expected, PipelineJson.RunInFreshProcess(zip, new Dictionary<string, string?[]> { ["Text"] = texts }, columns));
        StringAssert.Contains(expected, "[[15496,995],2,\"Hello world\"]");
    }

    [TestMethod]
    public void SchemasAgreeAndBadColumnsAreNamed()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(new[] { new TextRow { Text = "x" } });
        var estimator = ml.Transforms.TokenizeText("Ids", "Text", Gpt2Folder, countColumnName: "Count");
        var shape = estimator.GetOutputSchema(SchemaShapes.Of<TextRow>(ml));
        var schema = estimator.Fit(data).GetOutputSchema(data.Schema);
        CollectionAssert.AreEqual(new[] { "Text", "Ids", "Count" }, schema.Select(c => c.Name).ToArray());
        CollectionAssert.AreEqual(schema.Select(c => c.Name).ToArray(), shape.Select(c => c.Name).ToArray());

        var both = estimator.Append(ml.Transforms.DetokenizeText("Back", "Ids", Gpt2Folder));
        var bothShape = both.GetOutputSchema(SchemaShapes.Of<TextRow>(ml));
        var bothSchema = both.Fit(data).GetOutputSchema(data.Schema);
        CollectionAssert.AreEqual(new[] { "Text", "Ids", "Count", "Back" }, bothSchema.Select(c => c.Name).ToArray());
        CollectionAssert.AreEqual(bothSchema.Select(c => c.Name).ToArray(), bothShape.Select(c => c.Name).ToArray());
        Assert.AreEqual(TextDataViewType.Instance, bothSchema["Back"].Type);

        var wrong = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.DetokenizeText("Back", "Text", Gpt2Folder).Fit(data));
        StringAssert.Contains(wrong.Message, "'Text' must be a variable-length vector of Int32");
        var missing = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.TokenizeText("Ids", "Body", Gpt2Folder).Fit(data));
        StringAssert.Contains(missing.Message, "'Body' was not found");
        var folder = Assert.ThrowsExactly<DirectoryNotFoundException>(() => ml.Transforms.TokenizeText("Ids", "Text", "/nonexistent/tok"));
        StringAssert.Contains(folder.Message, "/nonexistent/tok");
        var unknown = Assert.ThrowsExactly<KeyNotFoundException>(() => TokenizerRegistry.Get("never-registered"));
        StringAssert.Contains(unknown.Message, "TokenizerRegistry.Register(\"never-registered\"");
    }

    public sealed class TextRow
    {
        public string? Text { get; set; }
    }
}
