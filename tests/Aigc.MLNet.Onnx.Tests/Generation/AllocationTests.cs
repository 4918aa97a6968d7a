using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Gpt2;
using Aigc.MLNet.Onnx.Runtime;
using static Aigc.MLNet.Onnx.Tests.Runtime.EngineTestModels;

namespace Aigc.MLNet.Onnx.Tests.Generation;

[TestClass]
public sealed class AllocationTests
{
    [TestMethod]
    public void DecodeSteps_AllocateLittleManagedMemoryPerToken()
    {
        // Vocabulary 4096: one managed copy of a row of logits per token would be 16 KB.
        string dir = Path.Combine(TempDir("alloc"));
        var c = new Gpt2Config { NumLayers = 2, NumHeads = 2, EmbeddingSize = 16, MaxPositions = 160, VocabSize = 4096, BosTokenId = 0, EosTokenId = 4095 };
        var model = new Gpt2GraphBuilder(Gpt2Weights.Random(c, 1)).Build(Gpt2OnnxLayout.Optimum);
        model.Save(Path.Combine(dir, "model.onnx"));
        c.Save(Path.Combine(dir, "config.json"));
        using var lm = CausalLM.Load(dir, new CausalLMOptions { IntraOpNumThreads = 1 });
        var generator = new TextGenerator(lm);
        int[] prompt = [1, 2, 3, 4];
        long Measure(int tokens)
        {
            var options = new GenerationOptions { MaxNewTokens = tokens, MinNewTokens = tokens };
            generator.GenerateTokens(prompt, options);
            long before = GC.GetAllocatedBytesForCurrentThread();
            var r = generator.GenerateTokens(prompt, options);
            long after = GC.GetAllocatedBytesForCurrentThread();
            Assert.AreEqual(tokens, r[0].TokenIds.Count);
            return after - before;
        }
        long shortRun = Measure(20), longRun = Measure(120);
        double perToken = (longRun - shortRun) / 100.0;
        Console.WriteLine($"managed bytes per decode step: {perToken:F0}");
        Assert.IsTrue(perToken < 4096, $"{perToken:F0} bytes per token; the logits, ids, positions and scores buffers must be reused");
    }
}
