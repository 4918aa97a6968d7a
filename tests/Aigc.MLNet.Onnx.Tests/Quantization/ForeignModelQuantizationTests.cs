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
        Assert.AreEqual($"generic MatMul/Gemm weights: q{bits}-b32-sym-acc0", reader.Metadata["aigc.quantization"]);
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
    [DataRow(8)]
    [DataRow(4)]
    public void GemmWeights_BecomeMatMulNBitsAndTheBiasAdd_ComputingWithTheDequantizedWeights(int bits)
    {
        // x [3, 64] → Gemm(x, W [64, 24], b [24]) = y (a Conv1D as PyTorch exports it); Gemm(x, V [20, 64], transB 1) = z;
        // Gemm(x, S [64, 8], alpha 0.5) = u is not a plain product (kept fp32).
        string folder = Path.Combine(Path.GetTempPath(), "aigc-tests", "foreign-gemm-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        float[] w = Random(64 * 24, 11), b = Random(24, 12), v = Random(20 * 64, 13), sw = Random(64 * 8, 14), x = Random(3 * 64, 15);
        var g = new OnnxGraph("foreign-gemm");
        g.AddInput("x", OnnxElementType.Float, [OnnxDim.Fixed(3), OnnxDim.Fixed(64)]);
        g.AddInitializer("W", w, [64, 24]);
        g.AddInitializer("b", b, [24]);
        g.AddInitializer("V", v, [20, 64]);
        g.AddInitializer("S", sw, [64, 8]);
        g.AddNode(new OnnxNode("Gemm", ["x", "W", "b"], ["y"], name: "conv1d"));
        g.AddNode(new OnnxNode("Gemm", ["x", "V"], ["z"], [OnnxAttribute.Int("transB", 1)], "head"));
        g.AddNode(new OnnxNode("Gemm", ["x", "S"], ["u"], [OnnxAttribute.Float("alpha", 0.5f)], "scaled"));
        g.AddOutput("y", OnnxElementType.Float, [OnnxDim.Fixed(3), OnnxDim.Fixed(24)]);
        g.AddOutput("z", OnnxElementType.Float, [OnnxDim.Fixed(3), OnnxDim.Fixed(20)]);
        g.AddOutput("u", OnnxElementType.Float, [OnnxDim.Fixed(3), OnnxDim.Fixed(8)]);
        string path = Path.Combine(folder, "model.onnx");
        new OnnxModel(g).Save(path);

        var options = new BlockQuantizationOptions { Bits = bits, BlockSize = 32, AccuracyLevel = 0 };
        var result = OnnxGraphQuantizer.Rewrite(path, options);
        Assert.AreEqual(2, result.Quantized);
        CollectionAssert.AreEqual(new[] { "S" }, result.LeftFp32.ToArray());
        string quantized = Path.Combine(folder, "quantized.onnx");
        File.WriteAllBytes(quantized, result.Model);
        CollectionAssert.AreEqual(new[] { "MatMulNBits", "Add", "MatMulNBits", "Gemm" }, OpTypes(result.Model).ToArray());
        var floats = OnnxInitializerReader.Read(quantized).FloatInitializers;
        Assert.IsFalse(floats.ContainsKey("W") || floats.ContainsKey("V"), "the fp32 weights are gone");
        CollectionAssert.AreEqual(b, floats["b"].Data, "the bias is kept");

        // Reference: the quantizer's own dequantized rows (of Wᵀ for the [in, out] weight, of V itself for transB).
        float[] dw = BlockQuantizer.QuantizeKxN(w, 64, 24, options).DequantizeRows(), dv = BlockQuantizer.QuantizeRows(v, 20, 64, options).DequantizeRows();
        using var session = new InferenceSession(quantized);
        using var xv = OrtValue.CreateTensorValueFromMemory(x, [3, 64]);
        using var outputs = session.Run(new RunOptions(), ["x"], [xv], ["y", "z", "u"]);
        float[] y = outputs[0].GetTensorDataAsSpan<float>().ToArray(), z = outputs[1].GetTensorDataAsSpan<float>().ToArray();
        for (int r = 0; r < 3; r++)
        {
            for (int n = 0; n < 24; n++)
            {
                double sum = b[n];
                for (int k = 0; k < 64; k++) sum += x[r * 64 + k] * dw[n * 64 + k];
                Assert.AreEqual((float)sum, y[r * 24 + n], 1e-3f, $"y[{r}, {n}]");
            }
            for (int n = 0; n < 20; n++)
            {
                double sum = 0;
                for (int k = 0; k < 64; k++) sum += x[r * 64 + k] * dv[n * 64 + k];
                Assert.AreEqual((float)sum, z[r * 20 + n], 1e-3f, $"z[{r}, {n}]");
            }
        }
        // The scaled Gemm still reads S in fp32: u = 0.5 · x · S exactly as the source computes it.
        using var source = new InferenceSession(path);
        using var reference = source.Run(new RunOptions(), ["x"], [xv], ["u"]);
        CollectionAssert.AreEqual(reference[0].GetTensorDataAsSpan<float>().ToArray(), outputs[2].GetTensorDataAsSpan<float>().ToArray());
    }

    [TestMethod]
    [DataRow(8, true)]
    [DataRow(4, true)]
    [DataRow(4, false)]
    public void AnUntiedTokenEmbedding_BecomesGatherBlockQuantized_UnlessTheHeadIsExcluded(int bits, bool quantizeHead)
    {
        // ids [1, 3] → Gather(E [40, 64]) + Gather(P [16, 64], positions) → MatMul(·, M [64, 64]) → MatMul(·, Hd [64, 40])
        // = logits: the embedding and the head are separate initializers, as PyTorch writes a tied GPT-2 (the head a
        // constant-folded transpose).
        const int vocab = 40, width = 64;
        string folder = Path.Combine(Path.GetTempPath(), "aigc-tests", "foreign-embedding-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        float[] e = Random(vocab * width, 21), pe = Random(16 * width, 22), hd = Random(width * vocab, 23), m = Random(width * width, 24);
        var g = new OnnxGraph("foreign-embedding");
        g.AddInput("input_ids", OnnxElementType.Int64, [OnnxDim.Fixed(1), OnnxDim.Fixed(3)]);
        g.AddInput("position_ids", OnnxElementType.Int64, [OnnxDim.Fixed(1), OnnxDim.Fixed(3)]);
        g.AddInitializer("E", e, [vocab, width]);
        g.AddInitializer("P", pe, [16, width]);
        g.AddInitializer("Hd", hd, [width, vocab]);
        g.AddInitializer("M", m, [width, width]);
        g.AddNode("Gather", ["E", "input_ids"], ["tok"]);
        g.AddNode("Gather", ["P", "position_ids"], ["pos"]);
        g.AddNode("Add", ["tok", "pos"], ["h"]);
        g.AddNode("MatMul", ["h", "M"], ["h2"]);
        g.AddNode("MatMul", ["h2", "Hd"], ["logits"]);
        g.AddOutput("tok", OnnxElementType.Float, [OnnxDim.Fixed(1), OnnxDim.Fixed(3), OnnxDim.Fixed(width)]);
        g.AddOutput("logits", OnnxElementType.Float, [OnnxDim.Fixed(1), OnnxDim.Fixed(3), OnnxDim.Fixed(vocab)]);
        string path = Path.Combine(folder, "model.onnx");
        new OnnxModel(g).Save(path);

        var options = new BlockQuantizationOptions { Bits = bits, BlockSize = 32, AccuracyLevel = 0, QuantizeHead = quantizeHead };
        var result = OnnxGraphQuantizer.Rewrite(path, options, vocabSize: vocab);
        string quantized = Path.Combine(folder, "quantized.onnx");
        File.WriteAllBytes(quantized, result.Model);
        var floats = OnnxInitializerReader.Read(quantized).FloatInitializers;
        Assert.IsTrue(floats.ContainsKey("P"), "the position table (16 rows, not the vocabulary) stays fp32");
        long[] ids = [7, 0, 39];
        using var session = new InferenceSession(quantized);
        using var idsValue = OrtValue.CreateTensorValueFromMemory(ids, [1, 3]);
        using var positions = OrtValue.CreateTensorValueFromMemory(new long[] { 0, 1, 2 }, [1, 3]);
        using var outputs = session.Run(new RunOptions(), ["input_ids", "position_ids"], [idsValue, positions], ["tok", "logits"]);
        float[] tok = outputs[0].GetTensorDataAsSpan<float>().ToArray(), logits = outputs[1].GetTensorDataAsSpan<float>().ToArray();
        if (!quantizeHead)
        {
            // Excluding the head leaves the vocabulary-sized weights fp32: the lookup is the source's, exactly.
            Assert.AreEqual(1, result.Quantized, "the inner layer M only");
            CollectionAssert.AreEqual(new[] { "Hd" }, result.LeftFp32.ToArray());
            Assert.IsTrue(floats.ContainsKey("E") && floats.ContainsKey("Hd"));
            Assert.IsEmpty(result.QuantizedLookups);
            CollectionAssert.AreEqual(ids.SelectMany(t => e.AsSpan((int)t * width, width).ToArray()).ToArray(), tok);
            return;
        }
        Assert.AreEqual(2, result.Quantized);
        CollectionAssert.AreEqual(new[] { "E" }, result.QuantizedLookups.ToArray());
        CollectionAssert.AreEqual(new[] { "GatherBlockQuantized", "Gather", "Add", "MatMulNBits", "MatMulNBits" }, OpTypes(result.Model).ToArray());
        Assert.IsFalse(floats.ContainsKey("E") || floats.ContainsKey("Hd"), "no fp32 copy of the embedding or the head is left");

        // The lookup returns the quantizer's dequantized rows; the head computes with its dequantized weight.
        float[] de = BlockQuantizer.QuantizeRows(e, vocab, width, options).DequantizeRows(), dh = BlockQuantizer.QuantizeKxN(hd, width, vocab, options).DequantizeRows();
        float[] dm = BlockQuantizer.QuantizeKxN(m, width, width, options).DequantizeRows();
        for (int t = 0; t < 3; t++)
            for (int k = 0; k < width; k++)
                Assert.AreEqual(de[ids[t] * width + k], tok[t * width + k], 1e-6f, $"tok[{t}, {k}]");
        for (int t = 0; t < 3; t++)
        {
            var h2 = new double[width];
            for (int j = 0; j < width; j++)
                for (int k = 0; k < width; k++) h2[j] += (de[ids[t] * width + k] + pe[t * width + k]) * dm[j * width + k];
            for (int n = 0; n < vocab; n++)
            {
                double sum = 0;
                for (int k = 0; k < width; k++) sum += h2[k] * dh[n * width + k];
                Assert.AreEqual((float)sum, logits[t * vocab + n], 2e-3f, $"logits[{t}, {n}]");
            }
        }
    }

    [TestMethod]
    [DataRow(Gpt2OnnxLayout.Optimum, "model.onnx", false)]
    [DataRow(Gpt2OnnxLayout.OptimumMergedLegacy, "decoder_model_merged.onnx", false)]
    [DataRow(Gpt2OnnxLayout.Optimum, "model.onnx", true)]
    [DataRow(Gpt2OnnxLayout.OptimumMergedLegacy, "decoder_model_merged.onnx", true)]
    public void AGpt2FolderWithoutThisLibrarysMetadata_IsQuantizedGenerically_AndGenerates(Gpt2OnnxLayout layout, string fileName, bool gemm)
    {
        // A GPT-2 export stripped of this library's metadata stands for a Hugging Face Optimum folder (model.onnx, or the
        // merged decoder whose If branches read the main graph's weights, + config + tokenizer). With `gemm` its Conv1D
        // layers are Reshape → Gemm(x, W, b) → Reshape over [in, out] weights, as PyTorch exports Hugging Face's GPT-2.
        string exported = Path.Combine(Path.GetTempPath(), "aigc-tests", "optimum-like-" + Guid.NewGuid().ToString("N"));
        var tokenizer = Gpt2TokenizerFiles.CharacterLevel("abcdefghij \n".Select(c => c.ToString()).Append("\u0003"));
        var config = new Gpt2Config { NumLayers = 2, NumHeads = 2, EmbeddingSize = 32, MaxPositions = 32, VocabSize = 13, BosTokenId = 12, EosTokenId = 12 };
        var weights = Gpt2Weights.Random(config, seed: 4);
        Gpt2Exporter.Export(weights, tokenizer, exported, new Gpt2ExportOptions { Layout = layout });
        string ours = Path.Combine(exported, Gpt2Exporter.ModelRelativePath(layout));
        if (gemm)
        {
            var model = new Gpt2GraphBuilder(weights) { ConvLayersAsGemm = true }.Build(layout);
            int gemms = model.Graph.Nodes.Count(n => n.OpType == "Gemm")
                + model.Graph.Nodes.SelectMany(n => n.Attributes).Where(a => a.GraphValue is not null).Sum(a => a.GraphValue!.Nodes.Count(n => n.OpType == "Gemm"));
            Assert.AreEqual(layout == Gpt2OnnxLayout.Optimum ? 8 + 1 : 2 * 8 + 2, gemms, "Conv1D layers as Gemm (and the tied head's Gemm)");
            model.Save(ours);
        }
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
        StringAssert.Contains(configJson, "MatMul/Gemm weights of a graph written elsewhere");
        StringAssert.Contains(configJson, "the token embedding transformer.wte.weight (GatherBlockQuantized)");
        StringAssert.Contains(configJson, "position embeddings and every other tensor");
        Assert.IsTrue(File.Exists(Path.Combine(output, "vocab.json")), "tokenizer files are copied");

        // The linear layers (MatMul, or Gemm + bias Add) and the tied head (Gemm with transB over the embedding) became
        // MatMulNBits; the token lookup reads the same rows through GatherBlockQuantized (config.json's vocab_size tells
        // the embedding apart from the position table, which stays fp32).
        var ops = OpTypes(File.ReadAllBytes(written));
        int graphs = layout == Gpt2OnnxLayout.Optimum ? 1 : 2;
        Assert.AreEqual(9 * graphs, ops.Count(o => o == "MatMulNBits"));
        Assert.AreEqual(0, ops.Count(o => o == "Gemm"), "no fp32 Gemm is left");
        Assert.AreEqual(graphs, ops.Count(o => o == "GatherBlockQuantized"), "the token lookup");
        Assert.AreEqual(graphs, ops.Count(o => o == "Gather"), "the position lookup stays a Gather");
        Assert.IsFalse(floats.ContainsKey("transformer.wte.weight"), "no fp32 copy of the token embedding is left");
        Assert.IsTrue(floats.ContainsKey("transformer.wpe.weight"), "the position embedding stays fp32");

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
        StringAssert.Contains(again.Message, "is already quantized (generic MatMul/Gemm weights: q8-b32-sym-acc4)");
        Assert.IsFalse(Directory.Exists(output + "-again"));
    }

    // Operator types of every node of the model's graph and its subgraphs (NodeProto op_type = 4, attribute g = 6).
    private static List<string> OpTypes(byte[] bytes)
    {
        var ops = new List<string>();
        void Graph(OnnxInitializerReader.Span graph)
        {
            while (graph.More)
            {
                var (field, wire) = graph.Tag();
                if (field != 1 || wire != 2) { graph.Skip(wire); continue; }
                var node = graph.Sub();
                while (node.More)
                {
                    var (f, w) = node.Tag();
                    if (f == 4 && w == 2) ops.Add(node.Sub().Text());
                    else if (f == 5 && w == 2)
                    {
                        var attribute = node.Sub();
                        while (attribute.More)
                        {
                            var (af, aw) = attribute.Tag();
                            if (af == 6 && aw == 2) Graph(attribute.Sub());
                            else attribute.Skip(aw);
                        }
                    }
                    else node.Skip(w);
                }
            }
        }
        var model = new OnnxInitializerReader.Span(bytes, 0, bytes.Length);
        while (model.More)
        {
            var (field, wire) = model.Tag();
            if (field == 7 && wire == 2) Graph(model.Sub());
            else model.Skip(wire);
        }
        return ops;
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
