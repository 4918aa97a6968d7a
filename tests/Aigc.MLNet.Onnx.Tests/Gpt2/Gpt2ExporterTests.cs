using System.Text.Json;
using Aigc.MLNet.Onnx.Gpt2;
using Microsoft.ML.OnnxRuntime;
using static Aigc.MLNet.Onnx.Tests.Gpt2.Gpt2TestModels;

namespace Aigc.MLNet.Onnx.Tests.Gpt2;

[TestClass]
public sealed class Gpt2ExporterTests
{
    private static (string Vocab, string Merges) TinyBpe(TempFolder tmp, int size)
    {
        // 256 would be the byte alphabet; a few tokens are enough to check the files.
        var vocab = new Dictionary<string, int>();
        string[] tokens = ["a", "b", "c", "Ġ", "ab", "Ġa", "abc"];
        foreach (string t in tokens) vocab[t] = vocab.Count;
        while (vocab.Count < size - 1) vocab["x" + vocab.Count] = vocab.Count;
        vocab["<|endoftext|>"] = vocab.Count;
        File.WriteAllText(tmp.File("vocab.json"), JsonSerializer.Serialize(vocab));
        File.WriteAllText(tmp.File("merges.txt"), "#version: 0.2\na b\nĠ a\nab c\n");
        return (tmp.File("vocab.json"), tmp.File("merges.txt"));
    }

    [TestMethod]
    public void OptimumFolder_HasModelConfigGenerationConfigAndBpeTokenizer()
    {
        using var tmp = new TempFolder();
        var (vocab, merges) = TinyBpe(tmp, 60);
        Gpt2Weights w = TinyWeights(seed: 8, vocab: 60);
        var cfg = new Gpt2Config { NumLayers = 2, NumHeads = 2, EmbeddingSize = 16, MaxPositions = 32, VocabSize = 60, BosTokenId = 59, EosTokenId = 59 };
        var w2 = new Gpt2Weights(cfg);
        foreach (string n in w.Names) w2.Set(n, w.Get(n), Gpt2Weights.ExpectedShapes(cfg)[n]);
        string outDir = tmp.File("out");
        string model = Gpt2Exporter.Export(w2, Gpt2TokenizerFiles.Bpe(vocab, merges), outDir);

        Assert.AreEqual(Path.Combine(outDir, "onnx", "model.onnx"), model);
        foreach (string f in new[] { "config.json", "generation_config.json", "vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json" })
            Assert.IsTrue(File.Exists(Path.Combine(outDir, f)), f);
        Assert.IsFalse(Directory.EnumerateFiles(outDir, "*.tmp", SearchOption.AllDirectories).Any(), "no temporary files left");

        using (var session = new InferenceSession(model))
        {
            CollectionAssert.AreEquivalent(
                new[] { "input_ids", "attention_mask", "position_ids", "past_key_values.0.key", "past_key_values.0.value", "past_key_values.1.key", "past_key_values.1.value" },
                session.InputMetadata.Keys.ToArray());
            Assert.AreEqual("logits", session.OutputMetadata.Keys.First());
        }

        Gpt2Config back = Gpt2Config.Load(Path.Combine(outDir, "config.json"));
        Assert.AreEqual(2, back.NumLayers);
        Assert.AreEqual(16, back.EmbeddingSize);
        Assert.AreEqual(59, back.EosTokenId);
        using var gen = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "generation_config.json")));
        Assert.AreEqual(59, gen.RootElement.GetProperty("bos_token_id").GetInt32());
        Assert.AreEqual(59, gen.RootElement.GetProperty("eos_token_id").GetInt32());
        Assert.AreEqual(59, gen.RootElement.GetProperty("pad_token_id").GetInt32());

        using var tok = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "tokenizer.json")));
        JsonElement m = tok.RootElement.GetProperty("model");
        Assert.AreEqual("BPE", m.GetProperty("type").GetString());
        Assert.AreEqual(60, m.GetProperty("vocab").EnumerateObject().Count());
        Assert.AreEqual(4, m.GetProperty("vocab").GetProperty("ab").GetInt32());
        CollectionAssert.AreEqual(new[] { "a b", "Ġ a", "ab c" }, m.GetProperty("merges").EnumerateArray().Select(x => x.GetString()).ToArray());
        Assert.AreEqual("ByteLevel", tok.RootElement.GetProperty("pre_tokenizer").GetProperty("type").GetString());
        Assert.AreEqual("ByteLevel", tok.RootElement.GetProperty("decoder").GetProperty("type").GetString());
        JsonElement added = tok.RootElement.GetProperty("added_tokens")[0];
        Assert.AreEqual(59, added.GetProperty("id").GetInt32());
        Assert.AreEqual("<|endoftext|>", added.GetProperty("content").GetString());
        Assert.IsTrue(added.GetProperty("special").GetBoolean());
        using var tc = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "tokenizer_config.json")));
        Assert.AreEqual("GPT2Tokenizer", tc.RootElement.GetProperty("tokenizer_class").GetString());
        Assert.AreEqual("<|endoftext|>", tc.RootElement.GetProperty("eos_token").GetString());
    }

    [TestMethod]
    public void RealGpt2Vocabulary_GivesFullTokenizerJson()
    {
        string? data = TempFolder.Gpt2DataFolder();
        if (data is null) Assert.Inconclusive("GPT-2 vocabulary not fetched (run eng/fetch-data.sh).");
        using var tmp = new TempFolder();
        var c = new Gpt2Config { NumLayers = 1, NumHeads = 2, EmbeddingSize = 8, MaxPositions = 16 };
        Gpt2Exporter.Export(Gpt2Weights.Random(c, 1),
            Gpt2TokenizerFiles.Bpe(Path.Combine(data, "vocab.json"), Path.Combine(data, "merges.txt")), tmp.Path);
        using var tok = JsonDocument.Parse(File.ReadAllBytes(tmp.File("tokenizer.json")));
        JsonElement m = tok.RootElement.GetProperty("model");
        Assert.AreEqual(50257, m.GetProperty("vocab").EnumerateObject().Count());
        Assert.AreEqual(50000, m.GetProperty("merges").GetArrayLength());
        Assert.AreEqual(262, m.GetProperty("vocab").GetProperty("Ġthe").GetInt32());
        Assert.AreEqual("Ġ t", m.GetProperty("merges")[0].GetString());
        Assert.AreEqual(50256, tok.RootElement.GetProperty("added_tokens")[0].GetProperty("id").GetInt32());
        CollectionAssert.AreEqual(File.ReadAllBytes(Path.Combine(data, "merges.txt")), File.ReadAllBytes(tmp.File("merges.txt")));
    }

    [TestMethod]
    public void CharLevelFolder_HasOneCharacterKeysAndNoMerges()
    {
        using var tmp = new TempFolder();
        File.WriteAllText(tmp.File("merges.txt"), "stale");
        const string text = "hello world!\nHi";
        var chars = Gpt2TokenizerFiles.CharacterLevelFromText(text);
        Assert.AreEqual(12, chars.Count());
        var c = new Gpt2Config { NumLayers = 1, NumHeads = 1, EmbeddingSize = 8, MaxPositions = 16, VocabSize = 12, BosTokenId = 0, EosTokenId = 0 };
        Gpt2Exporter.Export(Gpt2Weights.Random(c, 3), chars, tmp.Path);

        Assert.IsFalse(File.Exists(tmp.File("merges.txt")));
        Assert.IsFalse(File.Exists(tmp.File("tokenizer.json")));
        using var vocab = JsonDocument.Parse(File.ReadAllText(tmp.File("vocab.json")));
        var entries = vocab.RootElement.EnumerateObject().ToList();
        CollectionAssert.AreEqual(new[] { "\n", " ", "!", "H", "d", "e", "h", "i", "l", "o", "r", "w" }, entries.Select(e => e.Name).ToArray());
        CollectionAssert.AreEqual(Enumerable.Range(0, 12).ToArray(), entries.Select(e => e.Value.GetInt32()).ToArray());
        using var tc = JsonDocument.Parse(File.ReadAllText(tmp.File("tokenizer_config.json")));
        Assert.AreEqual("AigcCharTokenizer", tc.RootElement.GetProperty("tokenizer_class").GetString());

        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => Gpt2TokenizerFiles.CharacterLevel(["a", "bc"])).Message, "exactly one character");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => Gpt2TokenizerFiles.CharacterLevel(["a", "a"])).Message, "duplicate");
        var small = new Gpt2Config { NumLayers = 1, NumHeads = 1, EmbeddingSize = 8, MaxPositions = 16, VocabSize = 5, BosTokenId = 0, EosTokenId = 0 };
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(
            () => Gpt2Exporter.Export(Gpt2Weights.Random(small, 1), chars, tmp.File("x"))).Message, "vocab_size is 5");
    }

    [TestMethod]
    public void LegacyAndOrtFolders_UseTheirPathsAndGenAiConfig()
    {
        using var tmp = new TempFolder();
        Gpt2Weights w = TinyWeights(seed: 9, vocab: 40);
        var chars = Gpt2TokenizerFiles.CharacterLevel(Enumerable.Range(0, 40).Select(i => ((char)('A' + i)).ToString()));
        string merged = Gpt2Exporter.Export(w, chars, tmp.File("legacy"), new Gpt2ExportOptions { Layout = Gpt2OnnxLayout.OptimumMergedLegacy });
        Assert.AreEqual(tmp.File("legacy/decoder_model_merged.onnx"), merged);
        string ort = Gpt2Exporter.Export(w, chars, tmp.File("ort"), new Gpt2ExportOptions { Layout = Gpt2OnnxLayout.OnnxRuntimeGpt2, UseInt32Inputs = true });
        Assert.AreEqual(tmp.File("ort/model.onnx"), ort);
        using var genai = JsonDocument.Parse(File.ReadAllText(tmp.File("ort/genai_config.json")));
        JsonElement dec = genai.RootElement.GetProperty("model").GetProperty("decoder");
        Assert.AreEqual("model.onnx", dec.GetProperty("filename").GetString());
        Assert.AreEqual(8, dec.GetProperty("head_size").GetInt32());
        Assert.AreEqual(2, dec.GetProperty("num_hidden_layers").GetInt32());
        Assert.AreEqual("past_%d", dec.GetProperty("inputs").GetProperty("past_names").GetString());
        Assert.AreEqual("gpt2", genai.RootElement.GetProperty("model").GetProperty("type").GetString());
        using var s1 = new InferenceSession(merged);
        using var s2 = new InferenceSession(ort);
        Assert.IsTrue(s1.InputMetadata.ContainsKey("use_cache_branch"));
        Assert.IsTrue(s2.InputMetadata.ContainsKey("past_1"));
    }

    [TestMethod]
    public void ExternalData_ExportLoadsAndMatches()
    {
        using var tmp = new TempFolder();
        Gpt2Weights w = TinyWeights(seed: 10, vocab: 64);
        var chars = Gpt2TokenizerFiles.CharacterLevel(Enumerable.Range(0, 64).Select(i => ((char)('0' + i)).ToString()));
        string model = Gpt2Exporter.Export(w, chars, tmp.Path, new Gpt2ExportOptions
        {
            Save = new Aigc.MLNet.Onnx.Proto.OnnxSaveOptions { ExternalData = Aigc.MLNet.Onnx.Proto.OnnxExternalDataMode.Always },
        });
        Assert.IsTrue(File.Exists(model + "_data"));
        using var session = new InferenceSession(model);
        long[] ids = [3, 1, 4, 1, 5];
        var o = Run(session, w.Config, 1, ids, [1, 1, 1, 1, 1], [0, 1, 2, 3, 4]);
        float[,] expected = Gpt2Reference.Forward(w, ids);
        for (int v = 0; v < 64; v++) AssertClose(expected[4, v], o.Logits[4 * 64 + v], 1e-4f, $"logit {v}");
    }
}
