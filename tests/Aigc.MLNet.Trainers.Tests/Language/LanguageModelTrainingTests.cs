using Aigc.MLNet.Onnx.Gpt2;
using Aigc.MLNet.Trainers.Language;
using TorchSharp;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Tests.Language;

[TestClass]
public sealed class LanguageModelTrainingTests
{
    private const string Sentence = "the quick brown fox jumps over the lazy dog. ";

    [TestMethod]
    public void MemorisesARepeatedSentenceAndGreedyDecodingReproducesIt()
    {
        string text = string.Concat(Enumerable.Repeat(Sentence, 30));
        char[] vocab = text.Distinct().Order().ToArray();
        long[] ids = text.Select(c => (long)Array.IndexOf(vocab, c)).ToArray();
        var config = new Gpt2Config { NumLayers = 2, NumHeads = 2, EmbeddingSize = 32, MaxPositions = 64, VocabSize = vocab.Length, BosTokenId = 0, EosTokenId = 0 };
        torch.manual_seed(5);
        using var model = new GptModel(config);
        var settings = new LanguageModelTrainingSettings
        {
            BatchSize = 8, BlockSize = 48, MaxIterations = 200, EvalInterval = 0, Seed = 5,
            Schedule = new WarmupCosineSchedule(3e-3, 3e-4, 20, 200),
        };
        var reports = new List<LanguageModelTrainingProgress>();
        var result = LanguageModelTraining.Run(model, ids, null, settings, new Progress(reports));
        Assert.AreEqual(200, result.Iterations);
        // Windows that start mid-sentence cannot tell "the quick" from "the lazy" at first, so the loss floor is above 0.
        Assert.IsLessThan(0.15f, result.FinalTrainLoss, $"final loss {result.FinalTrainLoss}");
        Assert.AreEqual(20, reports.Count);
        Assert.IsLessThan(reports[0].TrainLoss, reports[^1].TrainLoss);

        // Greedy continuation of "the quick" reproduces the sentence.
        var generated = new List<long>(ids.Take(9));
        using (torch.no_grad())
        {
            while (generated.Count < 9 + 60)
            {
                using var scope = torch.NewDisposeScope();
                var window = generated.Skip(Math.Max(0, generated.Count - 48)).ToArray();
                var logits = model.forward(torch.tensor(window, 1, window.Length));
                generated.Add(logits[0, -1].argmax().item<long>());
            }
        }
        string continuation = new(generated.Select(i => vocab[i]).ToArray());
        Assert.AreEqual(text[..69], continuation);
    }

    [TestMethod]
    public void SameSeedGivesTheSameLosses()
    {
        long[] ids = Enumerable.Range(0, 400).Select(i => (long)(i * 7 % 13)).ToArray();
        var config = new Gpt2Config { NumLayers = 1, NumHeads = 2, EmbeddingSize = 16, MaxPositions = 16, VocabSize = 13, BosTokenId = 0, EosTokenId = 0 };
        float[] Run()
        {
            torch.manual_seed(9);
            using var model = new GptModel(config);
            var reports = new List<LanguageModelTrainingProgress>();
            LanguageModelTraining.Run(model, ids, ids, new LanguageModelTrainingSettings
            {
                BatchSize = 4, BlockSize = 16, MaxIterations = 30, EvalInterval = 10, EvalIterations = 2, Seed = 9,
                Schedule = new WarmupCosineSchedule(1e-3, 1e-4, 5, 30),
            }, new Progress(reports));
            return reports.SelectMany(r => new[] { r.TrainLoss, r.ValidationLoss ?? -1 }).ToArray();
        }
        var first = Run();
        Assert.AreEqual(6, first.Length);
        CollectionAssert.AreEqual(first, Run());
    }

    [TestMethod]
    public void ScheduleWarmsUpThenDecaysToTheMinimum()
    {
        var s = new WarmupCosineSchedule(1e-3, 1e-4, warmupIterations: 9, decayIterations: 109);
        Assert.AreEqual(1e-4, s.At(0), 1e-12);          // 1e-3 * 1/10
        Assert.AreEqual(1e-3, s.At(9), 1e-12);          // end of warm-up: cos(0) = 1
        Assert.AreEqual(5.5e-4, s.At(59), 1e-12);       // half way: cos(pi/2) = 0 -> min + (max-min)/2
        Assert.AreEqual(1e-4, s.At(109), 1e-12);
        Assert.AreEqual(1e-4, s.At(500), 1e-12);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new WarmupCosineSchedule(0, 0, 0, 0));
    }

    [TestMethod]
    public void TextShorterThanTheBlockIsRejected()
    {
        var config = new Gpt2Config { NumLayers = 1, NumHeads = 1, EmbeddingSize = 8, MaxPositions = 16, VocabSize = 5, BosTokenId = 0, EosTokenId = 0 };
        using var model = new GptModel(config);
        var ex = Assert.ThrowsExactly<ArgumentException>(() => LanguageModelTraining.Run(model, [1, 2, 3], null, new LanguageModelTrainingSettings { BlockSize = 16 }));
        StringAssert.Contains(ex.Message, "BlockSize (16)");
    }

    /// <summary>Synchronous progress sink (System.Progress posts to the thread pool).</summary>
    private sealed class Progress(List<LanguageModelTrainingProgress> sink) : IProgress<LanguageModelTrainingProgress>
    {
        public void Report(LanguageModelTrainingProgress value) => sink.Add(value);
    }
}
