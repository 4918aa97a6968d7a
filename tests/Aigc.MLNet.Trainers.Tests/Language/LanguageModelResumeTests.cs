using Aigc.MLNet.Onnx.Gpt2;
using Aigc.MLNet.Trainers.Language;
using Aigc.MLNet.Trainers.Training;
using TorchSharp;

namespace Aigc.MLNet.Trainers.Tests.Language;

[TestClass]
public sealed class LanguageModelResumeTests
{
    private static readonly Gpt2Config Config = new() { NumLayers = 1, NumHeads = 2, EmbeddingSize = 16, MaxPositions = 16, VocabSize = 13, BosTokenId = 0, EosTokenId = 0 };
    private static readonly long[] Ids = Enumerable.Range(0, 600).Select(i => (long)(i * 7 % 13)).ToArray();

    private static LanguageModelTrainingSettings Settings(int iterations, string? folder, bool resume = false, int every = 0) => new()
    {
        BatchSize = 4, BlockSize = 16, MaxIterations = iterations, EvalInterval = 0, Seed = 21,
        Schedule = new WarmupCosineSchedule(2e-3, 2e-4, 5, 40),
        CheckpointFolder = folder, Resume = resume, CheckpointEveryNSteps = every,
    };

    private static GptModel NewModel(int initSeed)
    {
        torch.manual_seed(initSeed);
        return new GptModel(Config);
    }

    private static float[] Weights(GptModel model) =>
        model.parameters().SelectMany(p => p.detach().cpu().data<float>().ToArray()).ToArray();

    private static string Folder() => Path.Combine(Path.GetTempPath(), "aigc-tests", Guid.NewGuid().ToString("N"));

    [TestMethod]
    public void ResumeFromACheckpointGivesBitIdenticalWeights()
    {
        using var straight = NewModel(1);
        LanguageModelTraining.Run(straight, Ids, null, Settings(40, null));

        string folder = Folder();
        using (var first = NewModel(1))
        {
            var half = LanguageModelTraining.Run(first, Ids, null, Settings(20, folder, every: 10));
            Assert.AreEqual(20, half.Iterations);
            Assert.AreEqual(TrainingCheckpoint.PathIn(folder), half.CheckpointPath);
        }
        using var resumed = NewModel(99);   // different initial weights: the checkpoint replaces them
        var result = LanguageModelTraining.Run(resumed, Ids, null, Settings(40, folder, resume: true));
        Assert.AreEqual(40, result.Iterations);
        CollectionAssert.AreEqual(Weights(straight), Weights(resumed));
    }

    [TestMethod]
    public void CancellingThenResumingGivesTheSameFinalWeights()
    {
        using var straight = NewModel(2);
        LanguageModelTraining.Run(straight, Ids, null, Settings(40, null));

        string folder = Folder();
        using var cts = new CancellationTokenSource();
        using (var first = NewModel(2))
        {
            var progress = new Sink(p => { if (p.Iteration == 13) cts.Cancel(); });
            var settings = Settings(40, folder);
            settings.ReportEveryNSteps = 1;
            var ex = Assert.ThrowsExactly<OperationCanceledException>(() => LanguageModelTraining.Run(first, Ids, null, settings, progress, cts.Token));
            StringAssert.Contains(ex.Message, "before step 13");
        }
        using var resumed = NewModel(3);
        LanguageModelTraining.Run(resumed, Ids, null, Settings(40, folder, resume: true));
        CollectionAssert.AreEqual(Weights(straight), Weights(resumed));
    }

    [TestMethod]
    public void NonFiniteLossStopsNamingTheStepAndLastCheckpoint()
    {
        string folder = Folder();
        using var model = NewModel(4);
        // After step 7 the weights turn NaN, so step 7 (0-based) has a NaN loss; the last checkpoint was written after step 5.
        var poison = new Sink(p =>
        {
            if (p.Iteration == 7)
                using (torch.no_grad())
                    model.parameters().First().fill_(float.NaN);
        });
        var settings = Settings(20, folder, every: 5);
        settings.ReportEveryNSteps = 1;
        var ex = Assert.ThrowsExactly<NonFiniteLossException>(() => LanguageModelTraining.Run(model, Ids, null, settings, poison));
        Assert.AreEqual(7L, ex.Step);
        Assert.AreEqual(TrainingCheckpoint.PathIn(folder), ex.LastGoodCheckpoint);
        StringAssert.Contains(ex.Message, "step 7");
        StringAssert.Contains(ex.Message, folder);
    }

    [TestMethod]
    public void ResumingWithAnotherSeedIsRefused()
    {
        string folder = Folder();
        using var model = NewModel(5);
        LanguageModelTraining.Run(model, Ids, null, Settings(5, folder));
        var settings = Settings(10, folder, resume: true);
        settings.Seed = 22;
        var ex = Assert.ThrowsExactly<ArgumentException>(() => LanguageModelTraining.Run(NewModel(5), Ids, null, settings));
        StringAssert.Contains(ex.Message, "Seed 21");
    }

    private sealed class Sink(Action<LanguageModelTrainingProgress> onReport) : IProgress<LanguageModelTrainingProgress>
    {
        public void Report(LanguageModelTrainingProgress value) => onReport(value);
    }
}
