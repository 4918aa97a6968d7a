using System.Text;
using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Gpt2;
using Aigc.MLNet.Onnx.Runtime;
using static Aigc.MLNet.Onnx.Tests.Runtime.EngineTestModels;

namespace Aigc.MLNet.Onnx.Tests.Generation;

/// <summary>Folders written by <see cref="Gpt2Exporter"/> load with their tokenizer and generate text end to end.</summary>
[TestClass]
public sealed class ExportedModelTests
{
    private static Gpt2Weights Weights(int vocab)
    {
        var c = new Gpt2Config { NumLayers = 1, NumHeads = 2, EmbeddingSize = 16, MaxPositions = 48, VocabSize = vocab, BosTokenId = vocab - 1, EosTokenId = vocab - 1, InitializerRange = 0.5f };
        return Gpt2Weights.Random(c, 3);
    }

    [TestMethod]
    public void Gpt2BpeExport_OptimumAndOrtLayoutsGenerateTheSameText()
    {
        var weights = Weights(50257);
        var files = Gpt2TokenizerFiles.Bpe(Path.Combine(DataDir(), "gpt2", "vocab.json"), Path.Combine(DataDir(), "gpt2", "merges.txt"));
        string? expected = null;
        // (The merged layout is compared with these in GreedyAndSamplingTests.Greedy_SameTokensForEveryLayout.)
        foreach (var layout in new[] { Gpt2OnnxLayout.Optimum, Gpt2OnnxLayout.OnnxRuntimeGpt2 })
        {
            string dir = TempDir("export-" + layout);
            Gpt2Exporter.Export(weights, files, dir, new Gpt2ExportOptions { Layout = layout, UseInt32Inputs = layout == Gpt2OnnxLayout.OnnxRuntimeGpt2 });
            using var model = CausalLM.Load(dir);
            Assert.IsNotNull(model.Tokenizer, $"{layout}: tokenizer loaded from the folder");
            CollectionAssert.AreEqual(new[] { 50256 }, model.Config.EosTokenIds.ToArray());
            var generator = new TextGenerator(model);
            var r = generator.Generate(["The quick brown fox", "Hi"], new GenerationOptions { MaxNewTokens = 8 });
            var ids = r[0].TokenIds.Where(t => t != 50256).ToArray();
            Assert.AreEqual(model.Tokenizer!.Decode(ids), r[0].Text, $"{layout}: text is the decoded ids");
            string rendered = string.Join("|", r.Select(x => x.Text + "#" + string.Join(",", x.TokenIds)));
            expected ??= rendered;
            Assert.AreEqual(expected, rendered, $"{layout} differs");
        }
    }

    [TestMethod]
    public async Task CharacterExport_StreamsAndGeneratesText()
    {
        const string corpus = "to be or not to be, that is the question. 你好!";
        var files = Gpt2TokenizerFiles.CharacterLevelFromText(corpus);
        int vocab = files.Count();
        var weights = Weights(vocab + 1);
        string dir = TempDir("export-char");
        Gpt2Exporter.Export(weights, files, dir);
        using var model = CausalLM.Load(dir);
        Assert.IsNotNull(model.Tokenizer);
        var generator = new TextGenerator(model);
        var options = new GenerationOptions { MaxNewTokens = 12, DoSample = true, Seed = 4, MinNewTokens = 12 };
        string text = generator.GenerateText("to be", options);
        Assert.AreEqual(12, text.EnumerateRunes().Count(), "one character per token");
        var sb = new StringBuilder();
        await foreach (var delta in generator.GenerateStreamingAsync("to be", options)) sb.Append(delta);
        Assert.AreEqual(text, sb.ToString());
    }
}
