using Aigc.MLNet.Onnx.Gpt2;
using Microsoft.ML.OnnxRuntime;
using static Aigc.MLNet.Onnx.Tests.Gpt2.Gpt2TestModels;

namespace Aigc.MLNet.Onnx.Tests.Gpt2;

[TestClass]
public sealed class Gpt2CheckpointTests
{
    private static Gpt2TokenizerFiles CharVocab(int count) =>
        Gpt2TokenizerFiles.CharacterLevel(Enumerable.Range(0, count).Select(i => ((char)('!' + i)).ToString()));

    [TestMethod]
    public void SafeTensorsCheckpoint_ConvertsToOnnxWhoseLogitsMatchTheReference()
    {
        using var tmp = new TempFolder();
        Gpt2Weights w = TinyWeights(seed: 5, vocab: 80);
        string st = tmp.File("hf/model.safetensors");
        Directory.CreateDirectory(tmp.File("hf"));
        Gpt2Checkpoint.SaveSafeTensors(w, st);
        w.Config.Save(tmp.File("hf/config.json"));

        string onnx = Gpt2Checkpoint.Convert(st, CharVocab(80), tmp.File("out"));
        Assert.AreEqual(tmp.File("out/onnx/model.onnx"), onnx);
        using var session = new InferenceSession(onnx);
        long[] ids = [1, 79, 40, 2, 2, 33];
        var o = Run(session, w.Config, 1, ids, [1, 1, 1, 1, 1, 1], [0, 1, 2, 3, 4, 5]);
        float[,] expected = Gpt2Reference.Forward(w, ids);
        for (int t = 0; t < ids.Length; t++)
            for (int v = 0; v < 80; v++)
                AssertClose(expected[t, v], o.Logits[t * 80 + v], 1e-4f, $"logit[{t},{v}]");
    }

    [TestMethod]
    public void Checkpoint_WithoutPrefixWithBuffersAndF16_Loads()
    {
        using var tmp = new TempFolder();
        Gpt2Weights w = TinyWeights(seed: 6, vocab: 50);
        Gpt2Config c = w.Config;
        var writer = new SafeTensorsWriter();
        foreach (var (name, shape) in Gpt2Weights.ExpectedShapes(c))
            writer.Add(name["transformer.".Length..], w.Get(name), shape.Select(d => (long)d).ToArray(), "F16");
        for (int i = 0; i < c.NumLayers; i++)
        {
            writer.Add($"h.{i}.attn.bias", new float[c.MaxPositions * c.MaxPositions], [1, 1, c.MaxPositions, c.MaxPositions]);
            writer.Add($"h.{i}.attn.masked_bias", [-1e4f], []);
        }
        writer.Add("lm_head.weight", w.Get("transformer.wte.weight"), [c.VocabSize, c.EmbeddingSize]);
        string path = tmp.File("model.safetensors");
        writer.Save(path);

        Gpt2Weights loaded = Gpt2Checkpoint.LoadWeights(path, c);
        float[] a = w.Get("transformer.h.1.mlp.c_fc.weight"), b = loaded.Get("h.1.mlp.c_fc.weight");
        for (int i = 0; i < a.Length; i++) Assert.AreEqual(a[i], b[i], 1e-3f, $"c_fc[{i}]");
        Assert.AreEqual(Gpt2Weights.ExpectedShapes(c).Count, loaded.Names.Count);
    }

    [TestMethod]
    public void BadCheckpoints_FailWithTheTensorNameAndShapes()
    {
        using var tmp = new TempFolder();
        Gpt2Weights w = TinyWeights(seed: 7, vocab: 50);
        Gpt2Config c = w.Config;

        // Missing tensor.
        var missing = new SafeTensorsWriter();
        foreach (var (name, shape) in Gpt2Weights.ExpectedShapes(c))
            if (name != "transformer.h.1.ln_2.bias") missing.Add(name, w.Get(name), shape.Select(d => (long)d).ToArray());
        missing.Save(tmp.File("missing.safetensors"));
        var e1 = Assert.ThrowsExactly<InvalidDataException>(() => Gpt2Checkpoint.LoadWeights(tmp.File("missing.safetensors"), c));
        StringAssert.Contains(e1.Message, "transformer.h.1.ln_2.bias");
        StringAssert.Contains(e1.Message, "missing.safetensors");

        // Transposed c_attn (nn.Linear layout instead of Conv1D).
        var transposed = new SafeTensorsWriter();
        foreach (var (name, shape) in Gpt2Weights.ExpectedShapes(c))
            transposed.Add(name, w.Get(name), name.EndsWith("h.0.attn.c_attn.weight") ? [shape[1], shape[0]] : shape.Select(d => (long)d).ToArray());
        transposed.Save(tmp.File("transposed.safetensors"));
        var e2 = Assert.ThrowsExactly<InvalidDataException>(() => Gpt2Checkpoint.LoadWeights(tmp.File("transposed.safetensors"), c));
        StringAssert.Contains(e2.Message, "'transformer.h.0.attn.c_attn.weight' has shape [48, 16]");
        StringAssert.Contains(e2.Message, "expects [16, 48]");

        // Unknown tensor (e.g. a different architecture).
        var unknown = new SafeTensorsWriter();
        unknown.Add("model.layers.0.self_attn.q_proj.weight", new float[4], [2, 2]);
        unknown.Save(tmp.File("unknown.safetensors"));
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(
            () => Gpt2Checkpoint.LoadWeights(tmp.File("unknown.safetensors"), c)).Message, "'model.layers.0.self_attn.q_proj.weight' is not a GPT-2 parameter");

        // Direct Set with a wrong shape or length.
        var fresh = new Gpt2Weights(c);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(
            () => fresh.Set("transformer.wpe.weight", new float[16 * 16], [16, 16])).Message, "expects [32, 16]");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(
            () => fresh.Set("transformer.ln_f.bias", new float[3], [16])).Message, "3 values");
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => new Gpt2GraphBuilder(fresh)).Message, "missing");
        Assert.ThrowsExactly<FileNotFoundException>(() => Gpt2Checkpoint.LoadWeights(tmp.File("nope.safetensors"), c));
    }

    [TestMethod]
    public void RandomWeights_AreSeededWithGpt2InitAndSmallHasGpt2SmallSize()
    {
        Assert.AreEqual(124_439_808L, new Gpt2Weights(Gpt2Config.Small).ParameterCount);
        var c = new Gpt2Config { NumLayers = 4, NumHeads = 4, EmbeddingSize = 128, MaxPositions = 64, VocabSize = 2000, BosTokenId = 0, EosTokenId = 0 };
        Gpt2Weights a = Gpt2Weights.Random(c, 42), b = Gpt2Weights.Random(c, 42), d = Gpt2Weights.Random(c, 43);
        CollectionAssert.AreEqual(a.Get("transformer.wte.weight"), b.Get("transformer.wte.weight"));
        CollectionAssert.AreNotEqual(a.Get("transformer.wte.weight"), d.Get("transformer.wte.weight"));
        float[] wte = a.Get("transformer.wte.weight");
        double mean = wte.Average(x => (double)x), std = Math.Sqrt(wte.Average(x => (double)x * x) - mean * mean);
        Assert.AreEqual(0.0, mean, 0.001);
        Assert.AreEqual(0.02, std, 0.0005);
        float[] proj = a.Get("transformer.h.0.mlp.c_proj.weight");
        Assert.AreEqual(0.02 / Math.Sqrt(8), Math.Sqrt(proj.Average(x => (double)x * x)), 0.0003);
        Assert.IsTrue(a.Get("transformer.h.3.ln_1.weight").All(x => x == 1f));
        Assert.IsTrue(a.Get("transformer.h.3.attn.c_attn.bias").All(x => x == 0f));
    }
}
