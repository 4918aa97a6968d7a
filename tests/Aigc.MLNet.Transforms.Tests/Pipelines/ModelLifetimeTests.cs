using System.Diagnostics;
using System.Runtime;
using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Gpt2;
using Aigc.MLNet.Testing;
using Aigc.MLNet.Transforms.Data;
using Aigc.MLNet.Transforms.Images;
using Aigc.MLNet.Transforms.Serving;
using Aigc.MLNet.Transforms.Tests.Images;
using Aigc.MLNet.Transforms.Tests.Text;
using Aigc.MLNet.Transforms.Text;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Transforms.Tests.Pipelines;

/// <summary>Disposable transformers over a reference-counted session cache.</summary>
[TestClass]
public sealed class ModelLifetimeTests
{
    private static readonly GenerationOptions Greedy = new() { MaxNewTokens = 6 };

    [TestMethod]
    [DoNotParallelize]
    public void DisposingTheLastTransformerOfAGpt2SmallSizedModelFreesItsMemory()
    {
        string folder = Gpt2SmallSizedModel();
        long fileBytes = Directory.GetFiles(folder, "*.onnx*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        Assert.IsGreaterThan(450L << 20, fileBytes, "a GPT-2-small-sized model");

        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(new[] { new GenerateTextTests.PromptRow { Prompt = "Hello world" } });
        long baseline = ResidentBytes();
        var first = ml.Transforms.GenerateText("Completion", "Prompt", folder, new GenerationOptions { MaxNewTokens = 2 }).Fit(data);
        var second = ml.Transforms.GenerateText("Completion", "Prompt", folder, new GenerationOptions { MaxNewTokens = 3 }).Fit(data);
        string[] completions = first.Transform(data).GetColumn<string>("Completion").ToArray();
        Assert.HasCount(1, completions);
        Assert.HasCount(1, second.Transform(data).GetColumn<string>("Completion").ToArray());
        long loaded = ResidentBytes();

        // Two pipelines with different options share one session.
        Assert.AreEqual(first.SessionKey, second.SessionKey);
        Assert.IsTrue(ServingCache.Contains(first.SessionKey));
        first.Dispose();
        Assert.IsFalse(ServingCache.Contains(first.RuntimeKey));
        Assert.IsTrue(ServingCache.Contains(first.SessionKey), "the second pipeline still holds the session");
        Assert.IsFalse(first.IsModelLoaded);
        second.Dispose();
        Assert.IsFalse(ServingCache.Contains(second.RuntimeKey));
        Assert.IsFalse(ServingCache.Contains(first.SessionKey), "the last user freed the session");
        long released = ResidentBytes();

        long grown = loaded - baseline;
        Console.WriteLine($"RSS: baseline {baseline >> 20} MB, loaded {loaded >> 20} MB (+{grown >> 20}), after Dispose {released >> 20} MB; ONNX files {fileBytes >> 20} MB");
        Assert.IsGreaterThan(fileBytes * 7 / 10, grown, "loading the session takes about the model's size");
        Assert.IsLessThan(baseline + grown / 4, released, "disposing the last user gives at least three quarters of it back");

        // Used again after Dispose (as after a PredictionEngine disposed it): the model is loaded again, same output.
        CollectionAssert.AreEqual(completions, first.Transform(data).GetColumn<string>("Completion").ToArray());
        Assert.IsTrue(first.IsModelLoaded);
        first.Dispose();
        Assert.IsFalse(ServingCache.Contains(first.SessionKey));
    }

    [TestMethod]
    public void ChainsPredictionEnginesAndImageTransformersReleaseTheirModels()
    {
        var ml = new MLContext(seed: 1);
        string folder = SavedPipelineTests.NewFolder("lifetime");
        GenerateTextTests.CopyFolder(TextModels.CharModel, folder);
        // Sessions are shared by content: give this copy its own content so no other test's transformer shares its session.
        string configFile = Path.Combine(folder, "config.json");
        var configJson = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(configFile))!.AsObject();
        configJson["aigc_test_copy"] = Guid.NewGuid().ToString("N");
        File.WriteAllText(configFile, configJson.ToJsonString());
        string[] prompts = TextModels.Prompts(3);
        var data = ml.Data.LoadFromEnumerable(prompts.Select(p => new GenerateTextTests.PromptRow { Prompt = p }).ToArray());

        // A TransformerChain disposes the transformers it holds.
        var chain = ml.Transforms.GenerateText("Completion", "Prompt", folder, Greedy).Append(ml.Transforms.CopyColumns("Copy", "Completion")).Fit(data);
        var generate = (GenerateTextTransformer)chain.First();
        string[] expected = chain.Transform(data).GetColumn<string>("Copy").ToArray();
        Assert.IsTrue(ServingCache.Contains(generate.SessionKey));
        chain.Dispose();
        Assert.IsFalse(generate.IsModelLoaded);
        Assert.IsFalse(ServingCache.Contains(generate.RuntimeKey));
        Assert.IsFalse(ServingCache.Contains(generate.SessionKey));

        // ML.NET's PredictionEngine disposes the transformer it was made from; engines made later still work.
        var model = ml.Transforms.GenerateText("Completion", "Prompt", folder, Greedy).Fit(data);
        using (var engine = ml.Model.CreatePredictionEngine<GenerateTextTests.PromptRow, GenerateTextTests.CompletionRow>(model))
            Assert.AreEqual(expected[1], engine.Predict(new GenerateTextTests.PromptRow { Prompt = prompts[1] }).Completion);
        Assert.IsFalse(model.IsModelLoaded);
        using (var engine = ml.Model.CreatePredictionEngine<GenerateTextTests.PromptRow, GenerateTextTests.CompletionRow>(model))
            Assert.AreEqual(expected[2], engine.Predict(new GenerateTextTests.PromptRow { Prompt = prompts[2] }).Completion);
        model.Dispose();
        Assert.IsFalse(ServingCache.Contains(model.SessionKey));

        // Disposing while a cursor is between batches: the cursor goes on (loading the model again), nothing is torn down under it.
        var batched = ml.Transforms.GenerateText(new GenerateTextOptions { ModelPath = folder, Generation = Greedy, BatchSize = 2 }).Fit(data);
        var view = batched.Transform(data);
        using (var cursor = view.GetRowCursor(view.Schema))
        {
            var getter = cursor.GetGetter<ReadOnlyMemory<char>>(view.Schema["Completion"]);
            var got = new List<string>();
            ReadOnlyMemory<char> value = default;
            while (cursor.MoveNext())
            {
                getter(ref value);
                got.Add(value.ToString());
                if (got.Count == 1)
                    batched.Dispose();
            }
            CollectionAssert.AreEqual(expected, got);
        }
        batched.Dispose();
        Assert.IsFalse(ServingCache.Contains(batched.SessionKey));

        // Image transformers too.
        var models = new TinyImageModels();
        string gan = models.WriteGan(TinyImageModels.TempFolder("lifetime-gan"));
        var seeds = SavedPipelineProbe.Input(ml, "seeds", 2);
        var images = ml.Transforms.GenerateImages(gan).Fit(seeds);
        Assert.IsTrue(ServingCache.Contains(images.RuntimeKey));
        Assert.AreEqual(2, images.Transform(seeds).GetColumn<float[]>("Image").Count());
        images.Dispose();
        Assert.IsFalse(images.IsModelLoaded);
        Assert.IsFalse(ServingCache.Contains(images.RuntimeKey));
    }

    private static readonly Lazy<string> s_small = new(() =>
    {
        // GPT-2 small's shape (12 layers, 12 heads, 768 wide, 1,024 positions, 50,257 tokens) with random weights, written once.
        var tokenizer = Gpt2TokenizerFiles.Bpe(DatasetPaths.Gpt2VocabFile, DatasetPaths.Gpt2MergesFile);
        var config = new Gpt2Config
        {
            NumLayers = 12, NumHeads = 12, EmbeddingSize = 768, MaxPositions = 1024, VocabSize = tokenizer.Count(), BosTokenId = 50256, EosTokenId = 50256,
        };
        string folder = Path.Combine(Path.GetTempPath(), "aigc-tests", "text-models", $"gpt2-small-{Environment.ProcessId}");
        if (Directory.Exists(folder))
            Directory.Delete(folder, recursive: true);
        Gpt2Exporter.Export(Gpt2Weights.Random(config, seed: 3), tokenizer, folder);
        return folder;
    });

    private static string Gpt2SmallSizedModel() => s_small.Value;

    /// <summary>Resident set size after a full, compacting collection (managed garbage must not blur the native numbers).</summary>
    private static long ResidentBytes()
    {
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        return process.WorkingSet64;
    }
}
