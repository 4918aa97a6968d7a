using System.Text.Json;
using Aigc.MLNet.Transforms.Data;

namespace Aigc.MLNet.Transforms.Tests.Data;

[TestClass]
public sealed class VocabularyFileTests
{
    [TestMethod]
    public void Gpt2VocabularyHas50257EntriesAnd50000Merges()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(DatasetPaths.Gpt2VocabFile));
        var ids = doc.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
        Assert.AreEqual(50_257, ids.Count);
        Assert.AreEqual(50_256, ids["<|endoftext|>"]);
        Assert.AreEqual(15496, ids["Hello"]);
        CollectionAssert.AreEquivalent(Enumerable.Range(0, 50_257).ToArray(), ids.Values.ToArray());

        var lines = File.ReadAllLines(DatasetPaths.Gpt2MergesFile);
        Assert.IsTrue(lines[0].StartsWith("#version"), "merges.txt starts with a #version header");
        var merges = lines.Skip(1).Where(l => l.Length > 0).ToArray();
        Assert.AreEqual(50_000, merges.Length);
        Assert.AreEqual("Ġ t", merges[0]);
    }

    [TestMethod]
    public void TinyShakespeareIsTheKnownCorpus()
    {
        Assert.AreEqual(1_115_394L, new FileInfo(DatasetPaths.TinyShakespeareFile).Length);
        Assert.IsTrue(File.ReadAllText(DatasetPaths.TinyShakespeareFile).StartsWith("First Citizen:"));
    }
}
