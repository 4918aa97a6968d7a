using Aigc.MLNet.Trainers.Language;
using TorchSharp;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Tests.Language;

[TestClass]
public sealed class LstmLanguageModelTests
{
    [TestMethod]
    public void StepwiseStateGivesTheSameLogitsAsOneForwardPass()
    {
        torch.manual_seed(4);
        using var model = new LstmLanguageModel(vocabSize: 11, embeddingSize: 8, hiddenSize: 16, layers: 2);
        model.eval();
        using var ids = torch.tensor(new long[] { 1, 5, 7, 2, 9, 10 }, 1, 6);
        using var full = model.forward(ids);
        var (first, state) = model.Step(ids[.., ..4], null);
        var (second, _) = model.Step(ids[.., 4..], state);
        using var joined = torch.cat([first, second], 1);
        var a = full.data<float>().ToArray();
        var b = joined.data<float>().ToArray();
        Assert.AreEqual(6 * 11, a.Length);
        for (int i = 0; i < a.Length; i++)
            Assert.AreEqual(a[i], b[i], 1e-5f, $"logit {i}");
    }

    [TestMethod]
    public void LearnsACyclicSequence()
    {
        // 0 1 2 3 4 0 1 2 3 4 ...: after training, greedy decoding continues the cycle exactly.
        long[] ids = Enumerable.Range(0, 500).Select(i => (long)(i % 5)).ToArray();
        torch.manual_seed(6);
        using var model = new LstmLanguageModel(vocabSize: 5, embeddingSize: 8, hiddenSize: 32, layers: 1);
        var result = LanguageModelTraining.Run(model, ids, null, new LanguageModelTrainingSettings
        {
            BatchSize = 8, BlockSize = 20, MaxIterations = 120, EvalInterval = 0, Seed = 6,
            Schedule = new WarmupCosineSchedule(1e-2, 1e-3, 10, 120),
        });
        Assert.IsLessThan(0.05f, result.FinalTrainLoss, $"final loss {result.FinalTrainLoss}");
        using var prompt = torch.tensor(new long[] { 2, 3 }, 1, 2);
        var (logits, state) = model.Step(prompt, null);
        var produced = new List<long>();
        long next = logits[0, -1].argmax().item<long>();
        for (int i = 0; i < 8; i++)
        {
            produced.Add(next);
            using var input = torch.tensor(new[] { next }, 1, 1);
            (logits, state) = model.Step(input, state);
            next = logits[0, -1].argmax().item<long>();
        }
        CollectionAssert.AreEqual(new long[] { 4, 0, 1, 2, 3, 4, 0, 1 }, produced);
    }

    [TestMethod]
    public void BadSizesAreRejected()
    {
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new LstmLanguageModel(vocabSize: 1));
        StringAssert.Contains(ex.Message, "vocabSize");
    }
}
