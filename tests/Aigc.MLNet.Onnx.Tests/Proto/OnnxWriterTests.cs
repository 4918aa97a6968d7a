using Aigc.MLNet.Onnx.Proto;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Aigc.MLNet.Onnx.Tests.Proto;

[TestClass]
public sealed class OnnxWriterTests
{
    private static float[] RunFloat(byte[] model, string output, params NamedOnnxValue[] inputs)
    {
        using var session = new InferenceSession(model);
        using var results = session.Run(inputs);
        return results.First(r => r.Name == output).AsTensor<float>().ToArray();
    }

    [TestMethod]
    public void AddWithSymbolicBatch_RunsInOnnxRuntime()
    {
        var g = new OnnxGraph("add");
        g.AddInput("x", OnnxElementType.Float, ["batch", 3]);
        g.AddInitializer("b", [1f, 2f, 3f], [3]);
        g.AddNode("Add", ["x", "b"], ["y"]);
        g.AddOutput("y", OnnxElementType.Float, ["batch", 3]);
        byte[] bytes = new OnnxModel(g).ToArray();

        var x = new DenseTensor<float>(new float[] { 10, 20, 30, 40, 50, 60 }, [2, 3]);
        float[] y = RunFloat(bytes, "y", NamedOnnxValue.CreateFromTensor("x", x));
        CollectionAssert.AreEqual(new float[] { 11, 22, 33, 41, 52, 63 }, y);

        using var session = new InferenceSession(bytes);
        Assert.AreEqual(-1, session.InputMetadata["x"].Dimensions[0]);
        Assert.AreEqual("batch", session.InputMetadata["x"].SymbolicDimensions[0]);
        Assert.AreEqual(3, session.InputMetadata["x"].Dimensions[1]);
        Assert.AreEqual("Aigc.MLNet", session.ModelMetadata.ProducerName);
    }

    [TestMethod]
    public void MatMulAndGemmWithAttributes_MatchHandComputedValues()
    {
        var g = new OnnxGraph("mm");
        g.AddInput("a", OnnxElementType.Float, [2, 2]);
        g.AddInitializer("w", [1f, 2f, 3f, 4f], [2, 2]);
        g.AddInitializer("c", [0.5f, -0.5f], [2]);
        string mm = g.Apply("MatMul", ["a", "w"]);
        g.AddNode("Gemm", ["a", "w", "c"], ["gemm"],
            OnnxAttribute.Int("transB", 1), OnnxAttribute.Float("alpha", 2f), OnnxAttribute.Float("beta", 1f));
        g.AddNode("Identity", [mm], ["mm"]);
        g.AddOutput("mm", OnnxElementType.Float, [2, 2]);
        g.AddOutput("gemm", OnnxElementType.Float, [2, 2]);
        byte[] bytes = new OnnxModel(g).ToArray();

        var a = NamedOnnxValue.CreateFromTensor("a", new DenseTensor<float>(new float[] { 1, 2, 3, 4 }, [2, 2]));
        // a·w = [[7,10],[15,22]]; 2·a·wᵀ + c = 2·[[5,11],[11,25]] + c = [[10.5,21.5],[22.5,49.5]]
        CollectionAssert.AreEqual(new float[] { 7, 10, 15, 22 }, RunFloat(bytes, "mm", a));
        CollectionAssert.AreEqual(new float[] { 10.5f, 21.5f, 22.5f, 49.5f }, RunFloat(bytes, "gemm", a));
    }

    [TestMethod]
    public void Int64OpsAndIntsAttributes_RunInOnnxRuntime()
    {
        var g = new OnnxGraph("ints");
        g.AddInput("ids", OnnxElementType.Int64, ["b", "s"]);
        string shape = g.Apply("Shape", ["ids"]);
        string one = g.AddConstant("one", 1);
        string seq = g.Apply("Gather", [shape, one], OnnxAttribute.Int("axis", 0));
        string cum = g.Apply("CumSum", ["ids", g.AddScalar("axis", 1L)]);
        string plus = g.Apply("Add", [cum, g.Apply("Unsqueeze", [seq, g.AddConstant("ax", 0)])]);
        g.AddNode("Transpose", [plus], ["out"], OnnxAttribute.Ints("perm", 1, 0));
        g.AddOutput("out", OnnxElementType.Int64, ["s", "b"]);
        byte[] bytes = new OnnxModel(g).ToArray();

        using var session = new InferenceSession(bytes);
        var ids = new DenseTensor<long>(new long[] { 1, 2, 3, -5, 10, 1000000000000 }, [2, 3]);
        using var r = session.Run([NamedOnnxValue.CreateFromTensor("ids", ids)]);
        var t = r.First().AsTensor<long>();
        CollectionAssert.AreEqual(new[] { 3, 2 }, t.Dimensions.ToArray());
        // cumsum rows: [1,3,6] and [-5,5,1000000000005]; +3; transposed
        CollectionAssert.AreEqual(new long[] { 4, -2, 6, 8, 9, 1000000000008 }, t.ToArray());
    }

    [TestMethod]
    public void IfWithSubgraphsReadingOuterScope_PicksBranch()
    {
        var g = new OnnxGraph("main");
        g.AddInput("cond", OnnxElementType.Bool, [1]);
        g.AddInput("x", OnnxElementType.Float, [3]);
        g.AddInitializer("two", [2f], [1]);

        var thenG = new OnnxGraph("then");
        thenG.AddNode("Mul", ["x", "two"], ["then_out"]);
        thenG.AddOutput("then_out", OnnxElementType.Float, [3]);
        var elseG = new OnnxGraph("else");
        elseG.AddInitializer("ten", [10f], [1]);
        elseG.AddNode("Add", ["x", "ten"], ["else_out"]);
        elseG.AddOutput("else_out", OnnxElementType.Float, [3]);

        g.AddNode("If", ["cond"], ["y"], OnnxAttribute.Graph("then_branch", thenG), OnnxAttribute.Graph("else_branch", elseG));
        g.AddOutput("y", OnnxElementType.Float, [3]);
        byte[] bytes = new OnnxModel(g).ToArray();

        var x = NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(new float[] { 1, 2, 3 }, [3]));
        var yes = NamedOnnxValue.CreateFromTensor("cond", new DenseTensor<bool>(new[] { true }, [1]));
        var no = NamedOnnxValue.CreateFromTensor("cond", new DenseTensor<bool>(new[] { false }, [1]));
        CollectionAssert.AreEqual(new float[] { 2, 4, 6 }, RunFloat(bytes, "y", yes, x));
        CollectionAssert.AreEqual(new float[] { 11, 12, 13 }, RunFloat(bytes, "y", no, x));
    }

    [TestMethod]
    public void TensorAttributeFloat16Int32AndBool_RoundTrip()
    {
        var g = new OnnxGraph("consts");
        g.AddNode("Constant", [], ["c"], OnnxAttribute.Tensor("value", OnnxTensor.Create<int>("", [7, -8], [2])));
        g.AddInitializer("h", [(Half)1.5f, (Half)(-2f)], [2]);
        g.AddInitializer("flag", [true, false], [2]);
        g.AddNode("Cast", ["h"], ["hf"], OnnxAttribute.Int("to", (long)OnnxElementType.Float));
        g.AddNode("Not", ["flag"], ["nf"]);
        g.AddOutput("c", OnnxElementType.Int32, [2]);
        g.AddOutput("hf", OnnxElementType.Float, [2]);
        g.AddOutput("nf", OnnxElementType.Bool, [2]);
        g.AddOutput("h", OnnxElementType.Float16, [2]);
        var model = new OnnxModel(g);
        model.Metadata["purpose"] = "test";
        byte[] bytes = model.ToArray();

        using var session = new InferenceSession(bytes);
        using var r = session.Run(Array.Empty<NamedOnnxValue>());
        CollectionAssert.AreEqual(new[] { 7, -8 }, r.First(v => v.Name == "c").AsTensor<int>().ToArray());
        CollectionAssert.AreEqual(new[] { 1.5f, -2f }, r.First(v => v.Name == "hf").AsTensor<float>().ToArray());
        CollectionAssert.AreEqual(new[] { false, true }, r.First(v => v.Name == "nf").AsTensor<bool>().ToArray());
        Assert.AreEqual("test", session.ModelMetadata.CustomMetadataMap["purpose"]);
    }

    [TestMethod]
    public void ExternalData_RoundTripsThroughOnnxRuntime()
    {
        string dir = Path.Combine(Path.GetTempPath(), "aigc-proto-" + Guid.NewGuid().ToString("N"));
        try
        {
            var w = new float[64 * 32];
            for (int i = 0; i < w.Length; i++) w[i] = (i % 97) * 0.01f - 0.3f;
            var g = new OnnxGraph("ext");
            g.AddInput("x", OnnxElementType.Float, ["n", 64]);
            g.AddInitializer(OnnxTensor.Wrap("w", w, [64, 32]));
            g.AddInitializer("small", [1f], [1]);
            string mm = g.Apply("MatMul", ["x", "w"]);
            g.AddNode("Add", [mm, "small"], ["y"]);
            g.AddOutput("y", OnnxElementType.Float, ["n", 32]);
            string path = Path.Combine(dir, "model.onnx");
            string? data = new OnnxModel(g).Save(path, new OnnxSaveOptions { ExternalData = OnnxExternalDataMode.Always });

            Assert.AreEqual(Path.Combine(dir, "model.onnx_data"), data);
            Assert.AreEqual(64L * 32 * 4, new FileInfo(data!).Length);
            Assert.IsTrue(new FileInfo(path).Length < 1024, "weights must not be inline");
            Assert.AreEqual(2, Directory.GetFiles(dir).Length, "no temporary files left behind");

            var x = new float[64];
            x[0] = 1; x[5] = 2;
            using var session = new InferenceSession(path);
            using var r = session.Run([NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(x, [1, 64]))]);
            float[] y = r.First().AsTensor<float>().ToArray();
            for (int j = 0; j < 32; j++)
                Assert.AreEqual(w[j] + 2 * w[5 * 32 + j] + 1f, y[j], 1e-5f);

            // Saving again inline removes the stale side file.
            new OnnxModel(g).Save(path);
            Assert.IsFalse(File.Exists(data));
            using var inline = new InferenceSession(path);
            Assert.AreEqual(1, inline.OutputMetadata.Count);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }

    [TestMethod]
    public void AutoExternalData_SwitchesOnPastTheThreshold()
    {
        string dir = Path.Combine(Path.GetTempPath(), "aigc-proto-" + Guid.NewGuid().ToString("N"));
        try
        {
            var g = new OnnxGraph("auto");
            g.AddInput("x", OnnxElementType.Float, [512]);
            g.AddInitializer(OnnxTensor.Wrap("w", Enumerable.Range(0, 512).Select(i => (float)i).ToArray(), [512]));
            g.AddNode("Add", ["x", "w"], ["y"]);
            g.AddOutput("y", OnnxElementType.Float, [512]);
            var model = new OnnxModel(g);
            string path = Path.Combine(dir, "m.onnx");
            Assert.IsNull(model.Save(path, new OnnxSaveOptions { AutoExternalThresholdBytes = 4096 }));
            Assert.IsFalse(File.Exists(path + "_data"));
            string? data = model.Save(path, new OnnxSaveOptions { AutoExternalThresholdBytes = 1000, ExternalDataFileName = "weights.bin" });
            Assert.AreEqual(Path.Combine(dir, "weights.bin"), data);
            Assert.AreEqual(2048L, new FileInfo(data!).Length);
            using var session = new InferenceSession(path);
            using var r = session.Run([NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(new float[512], [512]))]);
            Assert.AreEqual(511f, r.First().AsTensor<float>()[511]);
            Assert.ThrowsExactly<ArgumentException>(() => model.Save(path, new OnnxSaveOptions { ExternalDataFileName = "../w.bin" }));
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }

    [TestMethod]
    public void InvalidGraphs_FailWithTheValueName()
    {
        var g = new OnnxGraph("bad");
        g.AddInput("x", OnnxElementType.Float, [1]);
        g.AddNode("Add", ["x", "missing"], ["y"]);
        g.AddOutput("y", OnnxElementType.Float, [1]);
        var ex = Assert.ThrowsExactly<InvalidOperationException>(() => new OnnxModel(g).ToArray());
        StringAssert.Contains(ex.Message, "'missing'");

        var dup = Assert.ThrowsExactly<ArgumentException>(() => g.AddInitializer("x", [1f], [1]));
        StringAssert.Contains(dup.Message, "'x'");

        var shape = Assert.ThrowsExactly<ArgumentException>(() => OnnxTensor.Create<float>("w", [1f, 2f, 3f], [2, 2]));
        StringAssert.Contains(shape.Message, "'w'");
        StringAssert.Contains(shape.Message, "[2, 2]");
    }

    [TestMethod]
    public void ExtraOpsetDomain_IsWritten()
    {
        var g = new OnnxGraph("ms");
        g.AddInput("x", OnnxElementType.Float, ["n", 4]);
        g.AddNode(new OnnxNode("Gelu", ["x"], ["y"], domain: "com.microsoft"));
        g.AddOutput("y", OnnxElementType.Float, ["n", 4]);
        var model = new OnnxModel(g);
        model.OpsetImports["com.microsoft"] = 1;
        float[] y = RunFloat(model.ToArray(), "y",
            NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(new float[] { 0, 1, -1, 2 }, [1, 4])));
        Assert.AreEqual(0f, y[0], 1e-6f);
        Assert.AreEqual(0.841345f, y[1], 1e-4f);
        Assert.AreEqual(-0.158655f, y[2], 1e-4f);
        Assert.AreEqual(1.954500f, y[3], 1e-4f);
    }
}
