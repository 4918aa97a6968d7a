using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Gpt2;
using Aigc.MLNet.Onnx.Proto;
using Aigc.MLNet.Onnx.Quantization;
using Aigc.MLNet.Onnx.Runtime;
using Microsoft.ML.OnnxRuntime;
using static Aigc.MLNet.Onnx.Tests.Runtime.EngineTestModels;

namespace Aigc.MLNet.Onnx.Tests.Quantization;

[TestClass]
public sealed class BlockQuantizerTests
{
    private static float[] RandomWeights(int count, int seed)
    {
        var rng = new Random(seed);
        var w = new float[count];
        for (int i = 0; i < count; i++) w[i] = (float)(rng.NextDouble() * 2 - 1) * (i % 7 == 0 ? 3f : 0.5f);
        return w;
    }

    public static IEnumerable<object[]> Settings =>
    [
        [4, 32, true], [4, 32, false], [4, 64, true], [8, 32, true], [8, 128, false], [4, 16, false],
    ];

    [TestMethod]
    [DynamicData(nameof(Settings))]
    public void EveryWeight_DequantizesWithinHalfAStepOfItsBlock(int bits, int block, bool symmetric)
    {
        const int K = 96, N = 10;   // 96 is not a multiple of 64 or 128: the last block is partial
        float[] w = RandomWeights(K * N, bits * 100 + block);
        w[5] = 0;                    // a zero weight
        var q = BlockQuantizer.QuantizeKxN(w, K, N, new BlockQuantizationOptions { Bits = bits, BlockSize = block, Symmetric = symmetric });
        Assert.AreEqual(N, q.N);
        Assert.AreEqual(K, q.K);
        Assert.AreEqual((K + block - 1) / block, q.BlocksPerRow);
        Assert.HasCount(N * q.BlocksPerRow * block * bits / 8, q.Data);
        Assert.AreEqual(symmetric, q.ZeroPoints is null);
        float[] rows = q.DequantizeRows();
        for (int k = 0; k < K; k++)
            for (int n = 0; n < N; n++)
            {
                float scale = q.Scales[n * q.BlocksPerRow + k / block];
                float error = Math.Abs(w[k * N + n] - rows[n * K + k]);
                Assert.IsLessThanOrEqualTo(scale / 2 * 1.0001f + 1e-7f, error, $"w[{k},{n}] = {w[k * N + n]}, scale {scale}");
            }
        Assert.AreEqual(0f, rows[5 % N * K + 5 / N], "zero stays exactly zero");
        // The largest weight of a symmetric block is exact up to rounding of the scale: |w| = (2^(bits-1) - 1) * scale.
        if (symmetric)
        {
            float absMax = Enumerable.Range(0, Math.Min(block, K)).Max(k => Math.Abs(w[k * N]));
            Assert.AreEqual(absMax, q.Scales[0] * ((1 << (bits - 1)) - 1), absMax * 1e-6f);
        }
    }

    [TestMethod]
    public void InvalidSettings_AreRefused_NamingTheSetting()
    {
        var w = new float[64];
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => BlockQuantizer.QuantizeRows(w, 2, 32, new BlockQuantizationOptions { Bits = 3 })).Message, "Bits");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => BlockQuantizer.QuantizeRows(w, 2, 32, new BlockQuantizationOptions { BlockSize = 48 })).Message, "BlockSize");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => BlockQuantizer.QuantizeRows(w, 2, 32, new BlockQuantizationOptions { AccuracyLevel = 5 })).Message, "AccuracyLevel");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => BlockQuantizer.QuantizeRows(w, 3, 32, new BlockQuantizationOptions())).Message, "expected 3 × 32 = 96");
    }

    /// <summary>ONNX Runtime's own MatMulNBits kernel reads the packed codes, scales and zero points as this library writes them.</summary>
    [TestMethod]
    [DynamicData(nameof(Settings))]
    public void OnnxRuntimeMatMulNBits_EqualsTheDequantizedMatMul(int bits, int block, bool symmetric)
    {
        const int M = 3, K = 128, N = 24;
        float[] w = RandomWeights(K * N, 7 + bits + block);
        float[] a = RandomWeights(M * K, 99);
        var q = BlockQuantizer.QuantizeKxN(w, K, N, new BlockQuantizationOptions { Bits = bits, BlockSize = block, Symmetric = symmetric, AccuracyLevel = 0 });
        float[] deq = q.DequantizeRows();
        var expected = new float[M * N];
        for (int m = 0; m < M; m++)
            for (int n = 0; n < N; n++)
            {
                double sum = 0;
                for (int k = 0; k < K; k++) sum += a[m * K + k] * deq[n * K + k];
                expected[m * N + n] = (float)sum;
            }

        foreach (int accuracy in new[] { 0, 4 })
        {
            var g = new OnnxGraph("nbits");
            g.AddInput("a", OnnxElementType.Float, ["m", K]);
            g.AddInitializer(OnnxTensor.Create<byte>("b", q.Data, [N, q.BlocksPerRow, q.BlobSize]));
            g.AddInitializer(OnnxTensor.Create<float>("scales", q.Scales, [q.Scales.Length]));
            List<string> inputs = ["a", "b", "scales"];
            if (q.ZeroPoints is { } zp)
            {
                g.AddInitializer(OnnxTensor.Create<byte>("zero_points", zp, [zp.Length]));
                inputs.Add("zero_points");
            }
            g.AddNode(new OnnxNode("MatMulNBits", inputs, ["y"],
                [OnnxAttribute.Int("K", K), OnnxAttribute.Int("N", N), OnnxAttribute.Int("bits", bits), OnnxAttribute.Int("block_size", block),
                 OnnxAttribute.Int("accuracy_level", accuracy)], "y", Gpt2GraphBuilder.ContribDomain));
            g.AddOutput("y", OnnxElementType.Float, ["m", N]);
            var model = new OnnxModel(g);
            model.OpsetImports[Gpt2GraphBuilder.ContribDomain] = 1;
            using var session = new InferenceSession(model.ToArray());
            using var input = OrtValue.CreateTensorValueFromMemory(a, [M, K]);
            using var runOptions = new RunOptions();
            using var outputs = session.Run(runOptions, ["a"], [input], ["y"]);
            var actual = outputs[0].GetTensorDataAsSpan<float>();
            double worst = 0, scale = expected.Max(Math.Abs);
            for (int i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs(actual[i] - expected[i]));
            // accuracy_level 0 dequantizes to fp32; level 4 also quantizes the activations to int8 blocks.
            double tolerance = accuracy == 0 ? 1e-4 * scale : 2e-2 * scale;
            Assert.IsLessThanOrEqualTo(tolerance, worst, $"q{bits} b{block} {(symmetric ? "sym" : "asym")} accuracy {accuracy}: max error {worst}, max |y| {scale}");
        }
    }

    /// <summary>The token lookup reads the head's codes as [rows, K·bits/8]: ONNX Runtime's GatherBlockQuantized returns the dequantized rows.</summary>
    [TestMethod]
    [DynamicData(nameof(Settings))]
    public void OnnxRuntimeGatherBlockQuantized_ReturnsTheDequantizedRows(int bits, int block, bool symmetric)
    {
        const int Rows = 12, K = 128;   // whole blocks only, as in a GPT-2 (the block size must divide the width)
        float[] table = RandomWeights(Rows * K, 11 + bits);
        var q = BlockQuantizer.QuantizeRows(table, Rows, K, new BlockQuantizationOptions { Bits = bits, BlockSize = block, Symmetric = symmetric });
        float[] deq = q.DequantizeRows();
        long[] ids = [3, 0, 11, 3];
        var g = new OnnxGraph("gbq");
        g.AddInput("ids", OnnxElementType.Int64, ["n"]);
        g.AddInitializer(OnnxTensor.Create<byte>("data", q.Data, [Rows, q.BlocksPerRow * q.BlobSize]));
        g.AddInitializer(OnnxTensor.Create<float>("scales", q.Scales, [Rows, q.BlocksPerRow]));
        List<string> inputs = ["data", "ids", "scales"];
        if (q.ZeroPoints is { } zp)
        {
            g.AddInitializer(OnnxTensor.Create<byte>("zero_points", zp, [Rows, q.ZeroPointBytesPerRow]));
            inputs.Add("zero_points");
        }
        g.AddNode(new OnnxNode("GatherBlockQuantized", inputs, ["rows"],
            [OnnxAttribute.Int("gather_axis", 0), OnnxAttribute.Int("quantize_axis", 1), OnnxAttribute.Int("block_size", block), OnnxAttribute.Int("bits", bits)],
            "rows", Gpt2GraphBuilder.ContribDomain));
        g.AddOutput("rows", OnnxElementType.Float, ["n", K]);
        var model = new OnnxModel(g);
        model.OpsetImports[Gpt2GraphBuilder.ContribDomain] = 1;
        using var session = new InferenceSession(model.ToArray());
        using var input = OrtValue.CreateTensorValueFromMemory(ids, [ids.Length]);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, ["ids"], [input], ["rows"]);
        var actual = outputs[0].GetTensorDataAsSpan<float>();
        for (int i = 0; i < ids.Length; i++)
            for (int k = 0; k < K; k++)
                Assert.AreEqual(deq[ids[i] * K + k], actual[i * K + k], 1e-6f, $"row {ids[i]}, column {k}");
    }

    [TestMethod]
    public void QuantizedGpt2Export_RunsInEveryLayout_AndQ8StaysCloserToFp32ThanQ4()
    {
        var weights = TinyGpt2Weights();
        int[] prompt = [3, 14, 15, 92, 65];
        float[] Logits(Gpt2OnnxLayout layout, BlockQuantizationOptions? q)
        {
            string dir = Path.Combine(Path.GetTempPath(), $"aigc-quant-{Environment.ProcessId}", $"{layout}-{q?.Tag ?? "fp32"}");
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
            var chars = Gpt2TokenizerFiles.CharacterLevel(Enumerable.Range(0, Gpt2Vocab - 1).Select(i => ((char)('!' + i)).ToString()));
            Gpt2Exporter.Export(weights, chars, dir, new Gpt2ExportOptions { Layout = layout, Quantization = q });
            using var lm = CausalLM.Load(dir, new CausalLMOptions { LoadTokenizer = false });
            Assert.AreEqual(Gpt2Vocab, lm.Config.VocabSize);
            if (q is not null)
            {
                string config = File.ReadAllText(Path.Combine(dir, "config.json"));
                StringAssert.Contains(config, "\"quantization\"");
                StringAssert.Contains(config, $"\"bits\": {q.Bits}");
                // Generation runs through the KV-cache engine on the quantized graph.
                Assert.HasCount(8, new TextGenerator(lm).GenerateTokens(prompt, new GenerationOptions { MaxNewTokens = 8, EosTokenIds = [] })[0].TokenIds);
            }
            return lm.ComputeLogits(prompt);
        }

        float[] fp32 = Logits(Gpt2OnnxLayout.Optimum, null);
        double Error(float[] x) => x.Zip(fp32, (p, r) => Math.Abs(p - r)).Max();
        double range = fp32.Max(Math.Abs);
        var q8 = new BlockQuantizationOptions { Bits = 8, BlockSize = 16, AccuracyLevel = 0 };
        var q4 = new BlockQuantizationOptions { Bits = 4, BlockSize = 16, AccuracyLevel = 0 };
        double e8 = Error(Logits(Gpt2OnnxLayout.Optimum, q8)), e4 = Error(Logits(Gpt2OnnxLayout.Optimum, q4));
        Assert.IsLessThan(e4, e8, $"q8 error {e8} below q4 error {e4}");
        Assert.IsLessThan(0.02 * range, e8, $"q8 logits within 2 % of the fp32 range ({range}): {e8}");
        // The other layouts carry the same quantized weights: their logits equal the Optimum layout's.
        float[] q4Optimum = Logits(Gpt2OnnxLayout.Optimum, q4);
        foreach (var layout in new[] { Gpt2OnnxLayout.OnnxRuntimeGpt2, Gpt2OnnxLayout.OptimumMergedLegacy })
        {
            float[] other = Logits(layout, q4);
            Assert.IsLessThan(1e-4 * range, other.Zip(q4Optimum, (x, y) => (double)Math.Abs(x - y)).Max(), layout.ToString());
        }
    }
}

[TestClass]
public sealed class Gpt2QuantizerTests
{
    private static string Temp(string name)
    {
        string dir = Path.Combine(Path.GetTempPath(), $"aigc-q-{Environment.ProcessId}", name + "-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(Path.GetDirectoryName(dir)!);
        return dir;
    }

    private static (Gpt2Weights Weights, Gpt2TokenizerFiles Chars) Tiny(int width = 32)
    {
        var config = new Gpt2Config { NumLayers = 2, NumHeads = 2, EmbeddingSize = width, MaxPositions = 32, VocabSize = 41, BosTokenId = 40, EosTokenId = 40 };
        var chars = Gpt2TokenizerFiles.CharacterLevel(Enumerable.Range(0, 40).Select(i => ((char)('A' + i)).ToString()));
        return (Gpt2Weights.Random(config, 3), chars);
    }

    [TestMethod]
    [DataRow(Gpt2OnnxLayout.Optimum, false)]
    [DataRow(Gpt2OnnxLayout.OnnxRuntimeGpt2, true)]
    [DataRow(Gpt2OnnxLayout.OptimumMergedLegacy, false)]
    public void QuantizingAnExportedFolder_GivesTheGraphOfAQuantizedExport_ByteForByte(Gpt2OnnxLayout layout, bool int32)
    {
        var (weights, chars) = Tiny();
        string fp32 = Temp("fp32"), direct = Temp("direct"), quantized = Temp("quantized");
        // External data for the fp32 source, so the reader's external-data path is exercised too.
        var save = new OnnxSaveOptions { ExternalData = OnnxExternalDataMode.Always, MinExternalTensorBytes = 1024 };
        Gpt2Exporter.Export(weights, chars, fp32, new Gpt2ExportOptions { Layout = layout, UseInt32Inputs = int32, Save = save, ContextOverflow = ContextOverflow.SlideWindow });
        var q = new BlockQuantizationOptions { Bits = 4, BlockSize = 16 };
        Gpt2Exporter.Export(weights, chars, direct, new Gpt2ExportOptions { Layout = layout, UseInt32Inputs = int32, Quantization = q, ContextOverflow = ContextOverflow.SlideWindow });

        string model = Gpt2Quantizer.QuantizeFolder(fp32, quantized, q);
        string relative = Gpt2Exporter.ModelRelativePath(layout);
        Assert.AreEqual(Path.Combine(quantized, relative), model);
        CollectionAssert.AreEqual(File.ReadAllBytes(Path.Combine(direct, relative)), File.ReadAllBytes(model), "same weights, same graph");
        foreach (string file in new[] { "config.json", "generation_config.json", "vocab.json", "tokenizer_config.json" })
            Assert.AreEqual(File.ReadAllText(Path.Combine(direct, file)), File.ReadAllText(Path.Combine(quantized, file)), file);
        Assert.IsFalse(Directory.EnumerateFiles(quantized, "*.data", SearchOption.AllDirectories).Any(), "the fp32 external data is not copied");
        StringAssert.Contains(File.ReadAllText(Path.Combine(quantized, "config.json")), "\"block_size\": 16");
        using var lm = CausalLM.Load(quantized);
        Assert.HasCount(40, new TextGenerator(lm).GenerateTokens([1, 2, 3], new GenerationOptions { MaxNewTokens = 40, EosTokenIds = [] })[0].TokenIds,
            "the copied generation_config.json still slides the 32-position window");
    }

    [TestMethod]
    public void BadInputs_AreRefused_NamingTheInput_AndLeaveNothingBehind()
    {
        var (weights, chars) = Tiny();
        string fp32 = Temp("src"), q = Temp("q4");
        Gpt2Exporter.Export(weights, chars, fp32);
        var options = new BlockQuantizationOptions();

        string empty = Temp("empty");
        Directory.CreateDirectory(empty);
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => Gpt2Quantizer.QuantizeFolder(empty, q, options)).Message, "has no config.json");
        Assert.ThrowsExactly<DirectoryNotFoundException>(() => Gpt2Quantizer.QuantizeFolder(empty + "-missing", q, options));

        var wide = Assert.ThrowsExactly<ArgumentException>(() => Gpt2Quantizer.QuantizeFolder(fp32, q, new BlockQuantizationOptions { BlockSize = 64 }));
        StringAssert.Contains(wide.Message, "BlockSize 64 does not divide the model width 32");
        Assert.IsFalse(Directory.Exists(q), "nothing written");
        Assert.IsFalse(Directory.EnumerateDirectories(Path.GetDirectoryName(q)!, Path.GetFileName(q) + ".tmp-*").Any(), "no staging folder left");

        Gpt2Quantizer.QuantizeFolder(fp32, q, options);
        StringAssert.Contains(Assert.ThrowsExactly<IOException>(() => Gpt2Quantizer.QuantizeFolder(fp32, q, options)).Message, "already exists");
        string again = Temp("again");
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => Gpt2Quantizer.QuantizeFolder(q, again, options)).Message, "is already quantized (q4-b32-sym-acc4)");

        // An ONNX file this library did not write goes through the generic MatMul rewrite: here there is nothing to quantize.
        string foreign = Temp("foreign");
        Directory.CreateDirectory(Path.Combine(foreign, "onnx"));
        File.Copy(Path.Combine(fp32, "config.json"), Path.Combine(foreign, "config.json"));
        var g = new OnnxGraph("other");
        g.AddInput("input_ids", OnnxElementType.Int64, ["b", "s"]);
        g.AddNode("Identity", ["input_ids"], ["logits"]);
        g.AddOutput("logits", OnnxElementType.Int64, ["b", "s"]);
        new OnnxModel(g).Save(Path.Combine(foreign, "onnx", "model.onnx"));
        string refused = Temp("f");
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => Gpt2Quantizer.QuantizeFolder(foreign, refused, options)).Message, "has no MatMul or Gemm over a constant weight: nothing to quantize");
        Assert.IsFalse(Directory.Exists(refused));
        File.WriteAllBytes(Path.Combine(foreign, "onnx", "model.onnx"), [0x0A, 0xFF, 0xFF]);
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => Gpt2Quantizer.QuantizeFolder(foreign, Temp("f"), options)).Message, "not a well-formed ONNX model");
    }
}
