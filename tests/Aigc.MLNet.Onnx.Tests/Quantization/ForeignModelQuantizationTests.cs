using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Gpt2;
using Aigc.MLNet.Onnx.Proto;
using Aigc.MLNet.Onnx.Quantization;
using Aigc.MLNet.Onnx.Runtime;
using Microsoft.ML.OnnxRuntime;

namespace Aigc.MLNet.Onnx.Tests.Quantization;

/// <summary>Quantizing ONNX files this library did not write: the generic MatMul rewrite.</summary>
[TestClass]
public sealed class ForeignModelQuantizationTests
{
    private static float[] Random(int count, int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => (float)(rng.NextDouble() * 2 - 1))];
    }

    // x [2, 64] → MatMul W1 [64, 32] → Relu → MatMul W2 [32, 48] = y; W3 [64, 16] feeds a MatMul and an Add (kept fp32);
    // W4 [40, 8] has K = 40, not a multiple of 32 (kept fp32). Initializers of at least 1 KB go to external data when asked.
    private static (string Path, float[] W1, float[] W2) WriteForeignGraph(string folder, bool external)
    {
        float[] w1 = Random(64 * 32, 1), w2 = Random(32 * 48, 2), w3 = Random(64 * 16, 3), w4 = Random(40 * 8, 4);
        var g = new OnnxGraph("foreign");
        g.AddInput("x", OnnxElementType.Float, [OnnxDim.Fixed(2), OnnxDim.Fixed(64)]);
        g.AddInput("x40", OnnxElementType.Float, [OnnxDim.Fixed(2), OnnxDim.Fixed(40)]);
        g.AddInitializer("W1", w1, [64, 32]);
        g.AddInitializer("W2", w2, [32, 48]);
        g.AddInitializer("W3", w3, [64, 16]);
        g.AddInitializer("W4", w4, [40, 8]);
        g.AddNode("MatMul", ["x", "W1"], ["h"]);
        g.AddNode("Relu", ["h"], ["r"]);
        g.AddNode("MatMul", ["r", "W2"], ["y"]);
        g.AddNode("MatMul", ["x", "W3"], ["z"]);
        g.AddNode("Add", ["z", "W3_row"], ["z2"]);
        g.AddInitializer("W3_row", w3.AsSpan(0, 16), [16]);
        g.AddNode("Add", ["W3", "W3"], ["w3twice"]);
        g.AddNode("MatMul", ["x40", "W4"], ["u"]);
        g.AddOutput("y", OnnxElementType.Float, [OnnxDim.Fixed(2), OnnxDim.Fixed(48)]);
        g.AddOutput("z2", OnnxElementType.Float, [OnnxDim.Fixed(2), OnnxDim.Fixed(16)]);
        g.AddOutput("w3twice", OnnxElementType.Float, [OnnxDim.Fixed(64), OnnxDim.Fixed(16)]);
        g.AddOutput("u", OnnxElementType.Float, [OnnxDim.Fixed(2), OnnxDim.Fixed(8)]);
        var model = new OnnxModel(g) { ProducerName = "not-aigc" };
        model.Metadata["source"] = "hand-built";
        Directory.CreateDirectory(folder);
        string path = Path.Combine(folder, "model.onnx");
        model.Save(path, new OnnxSaveOptions { ExternalData = external ? OnnxExternalDataMode.Always : OnnxExternalDataMode.Never, MinExternalTensorBytes = 1024 });
        return (path, w1, w2);
    }

    private static float[] Run(string path, string output, float[] x, float[] x40)
    {
        using var session = new InferenceSession(path);
        using var xv = OrtValue.CreateTensorValueFromMemory(x, [2, 64]);
        using var x40v = OrtValue.CreateTensorValueFromMemory(x40, [2, 40]);
        using var results = session.Run(new RunOptions(), ["x", "x40"], [xv, x40v], [output]);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }

    [TestMethod]
    [DataRow(false, 8)]
    [DataRow(true, 4)]
    public void MatMulWeights_BecomeMatMulNBits_ComputingWithTheDequantizedWeights_AndTheRestIsUnchanged(bool external, int bits)
    {
        string folder = Path.Combine(Path.GetTempPath(), "aigc-tests", "foreign-" + Guid.NewGuid().ToString("N"));
        var (path, w1, w2) = WriteForeignGraph(folder, external);
        long sourceBytes = Directory.GetFiles(folder).Sum(f => new FileInfo(f).Length);
        Assert.AreEqual(external, Directory.GetFiles(folder).Length > 1, "external data written when asked");
        // Accuracy level 0: fp32 arithmetic on the dequantized weights, so the result is the reference's up to rounding.
        var options = new BlockQuantizationOptions { Bits = bits, BlockSize = 32, AccuracyLevel = 0 };
        var result = OnnxGraphQuantizer.Rewrite(path, options);
        Assert.AreEqual(2, result.Quantized);
        CollectionAssert.AreEquivalent(new[] { "W3", "W4" }, result.LeftFp32.ToArray());
        string quantized = Path.Combine(folder, "quantized.onnx");
        File.WriteAllBytes(quantized, result.Model);

        var reader = OnnxInitializerReader.Read(quantized);
        Assert.IsFalse(reader.FloatInitializers.ContainsKey("W1"), "the fp32 weight is gone");
        Assert.IsFalse(reader.FloatInitializers.ContainsKey("W2"));
        CollectionAssert.AreEqual(reader.FloatInitializers["W3"].Data, OnnxInitializerReader.Read(path).FloatInitializers["W3"].Data, "other initializers are kept (inlined if they were external)");
        Assert.AreEqual("hand-built", reader.Metadata["source"]);
        Assert.AreEqual($"generic MatMul weights: q{bits}-b32-sym-acc0", reader.Metadata["aigc.quantization"]);
        Assert.IsLessThan(sourceBytes, result.Model.LongLength, "smaller than the fp32 file and its external data");

        float[] x = Random(2 * 64, 5), x40 = Random(2 * 40, 6);
        // Reference: y = relu(x · dq(W1)) · dq(W2) with the quantizer's own dequantization (rows of Wᵀ).
        float[] d1 = BlockQuantizer.QuantizeKxN(w1, 64, 32, options).DequantizeRows(), d2 = BlockQuantizer.QuantizeKxN(w2, 32, 48, options).DequantizeRows();
        var expected = new float[2 * 48];
        for (int r = 0; r < 2; r++)
        {
            var h = new float[32];
            for (int n = 0; n < 32; n++)
            {
                double s = 0;
                for (int k = 0; k < 64; k++) s += x[r * 64 + k] * d1[n * 64 + k];
                h[n] = (float)Math.Max(0, s);
            }
            for (int n = 0; n < 48; n++)
            {
                double s = 0;
                for (int k = 0; k < 32; k++) s += h[k] * d2[n * 32 + k];
                expected[r * 48 + n] = (float)s;
            }
        }
        float[] y = Run(quantized, "y", x, x40);
        for (int i = 0; i < y.Length; i++) Assert.AreEqual(expected[i], y[i], 1e-3f, $"y[{i}]");
        float[] fp32 = Run(path, "y", x, x40);
        Assert.IsGreaterThan(0.0, fp32.Zip(y, (a, b) => Math.Abs(a - b)).Max(), "the weights really are quantized");
        foreach (string output in new[] { "z2", "w3twice", "u" })
            CollectionAssert.AreEqual(Run(path, output, x, x40), Run(quantized, output, x, x40), $"'{output}' reads only fp32 weights");
    }

    [TestMethod]
    [DataRow(Gpt2OnnxLayout.Optimum, "model.onnx")]
    [DataRow(Gpt2OnnxLayout.OptimumMergedLegacy, "decoder_model_merged.onnx")]
    public void AGpt2FolderWithoutThisLibrarysMetadata_IsQuantizedGenerically_AndGenerates(Gpt2OnnxLayout layout, string fileName)
    {
        // A GPT-2 export stripped of this library's metadata stands for a Hugging Face Optimum folder (model.onnx, or the
        // merged decoder whose If branches read the main graph's weights, + config + tokenizer).
        string exported = Path.Combine(Path.GetTempPath(), "aigc-tests", "optimum-like-" + Guid.NewGuid().ToString("N"));
        var tokenizer = Gpt2TokenizerFiles.CharacterLevel("abcdefghij \n".Select(c => c.ToString()).Append("\u0003"));
        var config = new Gpt2Config { NumLayers = 2, NumHeads = 2, EmbeddingSize = 32, MaxPositions = 32, VocabSize = 13, BosTokenId = 12, EosTokenId = 12 };
        Gpt2Exporter.Export(Gpt2Weights.Random(config, seed: 4), tokenizer, exported, new Gpt2ExportOptions { Layout = layout });
        string ours = Path.Combine(exported, Gpt2Exporter.ModelRelativePath(layout));
        byte[] stripped = WithoutMetadata(File.ReadAllBytes(ours));
        File.Delete(ours);
        File.WriteAllBytes(Path.Combine(exported, fileName), stripped);
        if (Directory.Exists(Path.Combine(exported, "onnx"))) Directory.Delete(Path.Combine(exported, "onnx"), recursive: true);

        string output = exported + "-q8";
        string written = Gpt2Quantizer.QuantizeFolder(exported, output, new BlockQuantizationOptions { Bits = 8, BlockSize = 32 });
        Assert.AreEqual(Path.Combine(output, fileName), written);
        // Every linear weight of both blocks became MatMulNBits (4 per block), whether in the main graph or in the branches.
        var floats = OnnxInitializerReader.Read(written).FloatInitializers;
        Assert.IsFalse(floats.Keys.Any(k => k.EndsWith(".weight", StringComparison.Ordinal) && (k.Contains(".attn.", StringComparison.Ordinal) || k.Contains(".mlp.", StringComparison.Ordinal))),
            "fp32 linear weights left: " + string.Join(", ", floats.Keys.Where(k => k.EndsWith(".weight", StringComparison.Ordinal))));
        Assert.AreEqual(8, floats.Keys.Count(k => k.EndsWith(".weight_scales", StringComparison.Ordinal) && (k.Contains(".attn.", StringComparison.Ordinal) || k.Contains(".mlp.", StringComparison.Ordinal))));
        string configJson = File.ReadAllText(Path.Combine(output, "config.json"));
        StringAssert.Contains(configJson, "MatMul weights of a graph written elsewhere");
        StringAssert.Contains(configJson, "embedding lookups");
        Assert.IsTrue(File.Exists(Path.Combine(output, "vocab.json")), "tokenizer files are copied");

        using var fp32 = CausalLM.Load(exported);
        using var q8 = CausalLM.Load(output);
        int[] prompt = [1, 2, 3, 4, 5, 6, 7];
        float[] a = fp32.ComputeLogits(prompt), b = q8.ComputeLogits(prompt);
        double maxError = a.Zip(b, (p, q) => (double)Math.Abs(p - q)).Max();
        Assert.IsGreaterThan(0.0, maxError, "quantized");
        Assert.IsLessThan(0.05, maxError, "q8 stays close to fp32");
        var generated = new TextGenerator(q8).GenerateTokens(prompt, new GenerationOptions { MaxNewTokens = 10, EosTokenIds = [] })[0].TokenIds;
        Assert.HasCount(10, generated);

        // Already quantized (the generic tag) and an existing output folder are refused; nothing is written.
        var again = Assert.ThrowsExactly<InvalidDataException>(() => Gpt2Quantizer.QuantizeFolder(output, output + "-again", new BlockQuantizationOptions { Bits = 4 }));
        StringAssert.Contains(again.Message, "is already quantized (generic MatMul weights: q8-b32-sym-acc4)");
        Assert.IsFalse(Directory.Exists(output + "-again"));
    }

    // The model without its metadata_props (ModelProto field 14): no trace of this library's exporter is left.
    private static byte[] WithoutMetadata(byte[] bytes)
    {
        using var output = new MemoryStream();
        var model = new OnnxInitializerReader.Span(bytes, 0, bytes.Length);
        while (model.More)
        {
            int start = model.Position;
            var (field, wire) = model.Tag();
            model.Skip(wire);
            if (field != 14) output.Write(bytes, start, model.Position - start);
        }
        return output.ToArray();
    }

    [TestMethod]
    public void TheAutomaticBlockSize_IsTheLargestOf128To16ThatDividesTheWidth()
    {
        var automatic = new BlockQuantizationOptions { Bits = 4 };
        Assert.AreEqual(BlockQuantizationOptions.Automatic, automatic.BlockSize, "automatic is the default");
        Assert.AreEqual("q4-bauto-sym-acc4", automatic.Tag);
        Assert.AreEqual(128, automatic.ForWidth(768)!.BlockSize);
        Assert.AreEqual(64, automatic.ForWidth(192)!.BlockSize);
        Assert.AreEqual(32, automatic.ForWidth(96)!.BlockSize);
        Assert.AreEqual(16, automatic.ForWidth(48)!.BlockSize);
        Assert.IsNull(automatic.ForWidth(8));
        Assert.AreEqual(32, new BlockQuantizationOptions { BlockSize = 32 }.ForWidth(768)!.BlockSize, "an explicit size is kept");

        // An export with the default options writes the chosen size into the graph's tag and config.json.
        string folder = Path.Combine(Path.GetTempPath(), "aigc-tests", "auto-block-" + Guid.NewGuid().ToString("N"));
        var tokenizer = Gpt2TokenizerFiles.CharacterLevel("abcdefghij \n".Select(c => c.ToString()).Append("\u0003"));
        var config = new Gpt2Config { NumLayers = 1, NumHeads = 2, EmbeddingSize = 64, MaxPositions = 16, VocabSize = 13, BosTokenId = 12, EosTokenId = 12 };
        string model = Gpt2Exporter.Export(Gpt2Weights.Random(config, seed: 5), tokenizer, folder, new Gpt2ExportOptions { Quantization = automatic });
        Assert.AreEqual("q4-b64-sym-acc4", OnnxInitializerReader.Read(model).Metadata["aigc.quantization"]);
        StringAssert.Contains(File.ReadAllText(Path.Combine(folder, "config.json")), "\"block_size\": 64");
        // ONNX Runtime loads it (every MatMulNBits / GatherBlockQuantized node carries the chosen size) and it generates.
        using (var lm = CausalLM.Load(folder))
            Assert.HasCount(5, new TextGenerator(lm).GenerateTokens([1, 2, 3], new GenerationOptions { MaxNewTokens = 5, EosTokenIds = [] })[0].TokenIds);

        // The generic rewrite chooses the size that quantizes the most weights, the largest on ties: W1 has K 64, W2 32,
        // W4 40 (none fits it; W3 is not a candidate), so 32 and 16 both take two: 32.
        var (path, _, _) = WriteForeignGraph(folder + "-foreign", external: false);
        var rewritten = OnnxGraphQuantizer.Rewrite(path, automatic);
        Assert.AreEqual(32, rewritten.Options.BlockSize);
    }

    [TestMethod]
    public void AForeignModelThatIsNotACausalLM_IsRefused_AndNothingIsWritten()
    {
        string folder = Path.Combine(Path.GetTempPath(), "aigc-tests", "foreign-notlm-" + Guid.NewGuid().ToString("N"));
        WriteForeignGraph(folder, external: false);
        File.WriteAllText(Path.Combine(folder, "config.json"), "{}");
        string output = folder + "-q4";
        var e = Assert.ThrowsExactly<InvalidDataException>(() => Gpt2Quantizer.QuantizeFolder(folder, output, new BlockQuantizationOptions()));
        StringAssert.Contains(e.Message, Path.Combine(folder, "model.onnx"));
        StringAssert.Contains(e.Message, "is not a causal language model");
        Assert.IsFalse(Directory.Exists(output));
        Assert.IsEmpty(Directory.GetDirectories(Path.GetDirectoryName(folder)!, Path.GetFileName(output) + "*"), "no staging folder left");
    }
}
