using System.Collections.Concurrent;
using Aigc.MLNet.Trainers.Language;
using Aigc.MLNet.Transforms;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Trainers.Tests.Language;

[TestClass]
public sealed class GptCatalogTests
{
    [TestMethod]
    public void FlatGptOverloadFillsTheOptionsAndServesThroughTheCallersContext()
    {
        var ml = new MLContext(seed: 1);
        var sources = new ConcurrentBag<string>();
        ml.Log += (_, e) => sources.Add(e.Source.Split(';')[0]);
        string folder = Path.Combine(Path.GetTempPath(), "aigc-tests", Guid.NewGuid().ToString("N"));
        var trainer = ml.Generative().Trainers.Gpt(folder, textColumnName: "Text", numLayers: 1, numHeads: 2, embeddingSize: 16, blockSize: 16,
            maxIterations: 3, seed: 7);
        var o = trainer.Options;
        Assert.AreEqual((folder, "Text", 1, 2, 16, 16, 3, 7), (o.OutputFolder, o.TextColumnName, o.NumLayers, o.NumHeads, o.EmbeddingSize, o.BlockSize, o.MaxIterations, o.Seed));
        // The other settings keep the Options type's defaults.
        var defaults = new GptTrainerOptions();
        Assert.AreEqual((defaults.BatchSize, defaults.LearningRate, defaults.Vocabulary), (o.BatchSize, o.LearningRate, o.Vocabulary));

        var corpus = ml.Data.LoadFromEnumerable(Enumerable.Repeat(new GptTrainerTests.TextRow { Text = "the quick brown fox jumps over the lazy dog." }, 20).ToArray());
        using var model = trainer.Fit(corpus);
        Assert.AreEqual(3, trainer.LastResult!.Value.Iterations);
        var prompts = ml.Data.LoadFromEnumerable(new[] { new GptTrainerTests.PromptRow { Prompt = "the" } });
        Assert.HasCount(1, model.Transform(prompts).GetColumn<string>("Completion").ToArray());
        // The serving chain was built in the caller's context: its transforms log there.
        Assert.Contains("ExpressionEstimator", sources.ToHashSet());
        model.Dispose();
        Assert.IsFalse(model.IsModelLoaded);
    }
}
