using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Gpt2;
using Aigc.MLNet.Onnx.Runtime;
using static Aigc.MLNet.Onnx.Tests.Runtime.EngineTestModels;

namespace Aigc.MLNet.Onnx.Tests.Generation;

[TestClass]
public sealed class ConcurrencyTests
{
    [TestMethod]
    public void EightThreadsOnOneModel_GiveTheSameOutputsAsSerial()
    {
        using var model = CausalLM.Load(Gpt2Folder(Gpt2OnnxLayout.Optimum), new CausalLMOptions { IntraOpNumThreads = 1 });
        var generator = new TextGenerator(model);
        // A mix of greedy, seeded sampling and beam search over different prompt batches.
        var jobs = Enumerable.Range(0, 8).Select(i => (
            Prompts: Enumerable.Range(0, 1 + i % 3).Select(p => (IReadOnlyList<int>)Enumerable.Range(0, 2 + (i + p) % 5).Select(t => (t * 7 + i * 13 + p) % Gpt2Vocab).ToArray()).ToArray(),
            Options: (i % 3) switch
            {
                0 => new GenerationOptions { MaxNewTokens = 12 },
                1 => new GenerationOptions { MaxNewTokens = 12, DoSample = true, TopP = 0.9, Seed = i },
                _ => new GenerationOptions { MaxNewTokens = 8, NumBeams = 3, NumReturnSequences = 2 },
            })).ToArray();

        string Render(IReadOnlyList<GeneratedSequence> results) =>
            string.Join(" | ", results.Select(r => $"{r.PromptIndex}:{string.Join(",", r.TokenIds)}:{r.FinishReason}:{r.Score:R}"));

        var serial = jobs.Select(j => Render(generator.GenerateTokens(j.Prompts, j.Options))).ToArray();
        var parallel = new string[jobs.Length];
        using var start = new Barrier(jobs.Length);
        var threads = Enumerable.Range(0, jobs.Length).Select(i => new Thread(() =>
        {
            start.SignalAndWait();
            for (int repeat = 0; repeat < 3; repeat++)
            {
                string r = Render(generator.GenerateTokens(jobs[i].Prompts, jobs[i].Options));
                if (repeat > 0 && r != parallel[i]) { parallel[i] = "unstable: " + r; return; }
                parallel[i] = r;
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        for (int i = 0; i < jobs.Length; i++) Assert.AreEqual(serial[i], parallel[i], $"job {i}");
        Assert.IsTrue(serial.Distinct().Count() == serial.Length);
    }
}
