using Aigc.MLNet.Onnx.Gpt2;
using Aigc.MLNet.Onnx.Runtime;
using static Aigc.MLNet.Onnx.Tests.Runtime.EngineTestModels;

namespace Aigc.MLNet.Onnx.Tests.Runtime;

[TestClass]
public sealed class CausalLMTests
{
    [TestMethod]
    [DataRow(Gpt2OnnxLayout.Optimum, false, DecoderLayout.Optimum)]
    [DataRow(Gpt2OnnxLayout.OptimumMergedLegacy, false, DecoderLayout.OptimumMerged)]
    [DataRow(Gpt2OnnxLayout.OnnxRuntimeGpt2, false, DecoderLayout.OrtGpt2)]
    [DataRow(Gpt2OnnxLayout.OnnxRuntimeGpt2, true, DecoderLayout.OrtGpt2)]
    public void Load_DetectsLayoutAndReadsConfig(Gpt2OnnxLayout written, bool int32, DecoderLayout expected)
    {
        using var model = CausalLM.Load(Gpt2Folder(written, int32));
        Assert.AreEqual(expected, model.Layout);
        Assert.AreEqual(2, model.LayerCount);
        CollectionAssert.AreEqual(new[] { Gpt2Eos }, model.Config.EosTokenIds.ToArray());
        Assert.AreEqual(0, model.Config.BosTokenId);
        Assert.AreEqual(64, model.Config.MaxPositions);
        Assert.AreEqual(Gpt2Vocab, model.Config.VocabSize);
        Assert.AreEqual(2, model.Config.NumHeads);
        Assert.AreEqual(ExecutionProvider.Cpu, model.ExecutionProvider);
        Assert.IsNull(model.Tokenizer);
    }

    [TestMethod]
    public void Load_OrtLayoutReadsPadFromGenAiConfig_AndFileInsideOnnxFolderFindsParentConfig()
    {
        using (var ort = CausalLM.Load(Gpt2Folder(Gpt2OnnxLayout.OnnxRuntimeGpt2)))
        {
            Assert.AreEqual(Gpt2Eos, ort.Config.PadTokenId);
            StringAssert.EndsWith(ort.ModelPath, "decoder.onnx");
        }
        string folder = Gpt2Folder(Gpt2OnnxLayout.Optimum);
        using var file = CausalLM.Load(Path.Combine(folder, "onnx", "model.onnx"));
        Assert.AreEqual(Path.GetFullPath(folder), file.ModelFolder);
        Assert.AreEqual(64, file.Config.DefaultMaxLength);
    }

    [TestMethod]
    public void Load_UnexpectedInput_ThrowsListingInputsAndOutputs()
    {
        var table = new float[5 * 5];
        string folder = LookupFolder("extra-input", table, 5, 4, extraInput: true);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => CausalLM.Load(folder));
        StringAssert.Contains(e.Message, "token_type_ids");
        StringAssert.Contains(e.Message, "Found inputs: ");
        StringAssert.Contains(e.Message, "past_key_values.0.key float32[batch,1,past,1]");
        StringAssert.Contains(e.Message, "input_ids int64[batch,sequence]");
        StringAssert.Contains(e.Message, "Found outputs: ");
        StringAssert.Contains(e.Message, "present.0.value");
    }

    [TestMethod]
    public void Load_MissingPath_NamesIt()
    {
        string path = Path.Combine(Path.GetTempPath(), "no-such-model-" + Guid.NewGuid().ToString("N"));
        var e = Assert.ThrowsExactly<FileNotFoundException>(() => CausalLM.Load(path));
        StringAssert.Contains(e.Message, path);
    }

    [TestMethod]
    public void Load_FolderWithoutModel_ListsWhatWasSearched()
    {
        string dir = TempDir("empty");
        var e = Assert.ThrowsExactly<FileNotFoundException>(() => CausalLM.Load(dir));
        StringAssert.Contains(e.Message, dir);
        StringAssert.Contains(e.Message, "onnx/model.onnx");
        StringAssert.Contains(e.Message, "decoder_model_merged.onnx");
    }

    [TestMethod]
    public void Load_CorruptBytes_ThrowsNamingTheFile()
    {
        string dir = TempDir("corrupt");
        string file = Path.Combine(dir, "model.onnx");
        File.WriteAllBytes(file, [0x08, 0xFF, 0xFF, 0x13, 0x37, 0x42, 0x00, 0x01]);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => CausalLM.Load(dir));
        StringAssert.Contains(e.Message, file);
    }

    [TestMethod]
    public void Load_CorruptConfigJson_ThrowsNamingTheFile()
    {
        string dir = TempDir("badjson");
        LookupModel(new float[9], 3).Save(Path.Combine(dir, "model.onnx"));
        File.WriteAllText(Path.Combine(dir, "config.json"), "{ \"eos_token_id\": ");
        var e = Assert.ThrowsExactly<InvalidDataException>(() => CausalLM.Load(dir));
        StringAssert.Contains(e.Message, Path.Combine(dir, "config.json"));
    }

    [TestMethod]
    public void Cuda_OnCpuBuild_ThrowsClearly_OrFallsBackWhenAllowed()
    {
        string folder = Gpt2Folder(Gpt2OnnxLayout.Optimum);
        var e = Assert.ThrowsExactly<NotSupportedException>(() => CausalLM.Load(folder, new CausalLMOptions { ExecutionProvider = ExecutionProvider.Cuda }));
        StringAssert.Contains(e.Message, "CUDA");
        StringAssert.Contains(e.Message, "AllowCpuFallback");
        using var model = CausalLM.Load(folder, new CausalLMOptions { ExecutionProvider = ExecutionProvider.Cuda, AllowCpuFallback = true });
        Assert.AreEqual(ExecutionProvider.Cpu, model.ExecutionProvider);
    }

    [TestMethod]
    public void Options_Invalid_ThrowNamingTheOption()
    {
        string folder = Gpt2Folder(Gpt2OnnxLayout.Optimum);
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => CausalLM.Load(folder, new CausalLMOptions { IntraOpNumThreads = -1 }));
        Assert.AreEqual("IntraOpNumThreads", e.ParamName);
        var d = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => CausalLM.Load(folder, new CausalLMOptions { DeviceId = -2 }));
        Assert.AreEqual("DeviceId", d.ParamName);
    }
}

[TestClass]
public sealed class ScoringTests
{
    [TestMethod]
    public void TokenLogProbs_MatchLogSoftmaxOfLookupTable_AndBadSequencesThrow()
    {
        const int V = 4;
        float[] table = [1, 2, 3, 4, 0, 0, 0, 0, -1, 5, 2, 0, 3, 3, 3, 3];
        using var model = CausalLM.Load(EngineTestModels.LookupFolder("scoring", table, V, 3));
        float[] lp = model.ComputeTokenLogProbs([0, 3, 1, 2]);
        double Expected(int last, int next) => table[last * V + next] - Math.Log(Enumerable.Range(0, V).Sum(u => Math.Exp(table[last * V + u])));
        Assert.AreEqual(3, lp.Length);
        Assert.AreEqual(Expected(0, 3), lp[0], 1e-5);
        Assert.AreEqual(Expected(3, 1), lp[1], 1e-5);
        Assert.AreEqual(Expected(1, 2), lp[2], 1e-5);
        Assert.AreEqual(Math.Log(0.25), lp[2], 1e-5, "row 1 is uniform");
        Assert.ThrowsExactly<ArgumentException>(() => model.ComputeTokenLogProbs([1]));
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => model.ComputeLogits([1, 9]));
        StringAssert.Contains(e.Message, "Token 1 (9)");
        Assert.ThrowsExactly<ArgumentException>(() => model.ComputeLogits(Enumerable.Repeat(1, 65).ToArray()));
    }
}
