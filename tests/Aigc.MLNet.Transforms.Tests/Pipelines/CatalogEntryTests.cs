using System.Collections.Concurrent;
using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Tokenization;
using Aigc.MLNet.Testing;
using Aigc.MLNet.Transforms.Data;
using Aigc.MLNet.Transforms.Images;
using Aigc.MLNet.Transforms.Tests.Images;
using Aigc.MLNet.Transforms.Tests.Text;
using Aigc.MLNet.Transforms.Text;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Transforms.Tests.Pipelines;

/// <summary>Catalog entries: built from the caller's context, flat and Options overloads in pairs.</summary>
[TestClass]
public sealed class CatalogEntryTests
{
    [TestMethod]
    public void TransformsAreBuiltFromTheCallersContext()
    {
        // ML.NET's own transforms inside the chains log to the context they were made from: the caller's, not a private one.
        var ml = new MLContext(seed: 1);
        var sources = new ConcurrentBag<string>();
        ml.Log += (_, e) => sources.Add(e.Source);
        var prompts = ml.Data.LoadFromEnumerable(new[] { new GenerateTextTests.PromptRow { Prompt = "ROMEO:" } });
        using (var generate = ml.Transforms.GenerateText("Completion", "Prompt", TextModels.CharModel, new GenerationOptions { MaxNewTokens = 2 }).Fit(prompts))
            Assert.HasCount(1, generate.Transform(prompts).GetColumn<string>("Completion").ToArray());
        Assert.Contains("ExpressionEstimator", sources.Select(s => s.Split(';')[0]).ToHashSet());

        var other = new MLContext(seed: 1);
        var otherSources = new ConcurrentBag<string>();
        other.Log += (_, e) => otherSources.Add(e.Source);
        var seeds = SavedPipelineProbe.Input(other, "seeds", 1);
        string gan = new TinyImageModels().WriteGan(TinyImageModels.TempFolder("catalog-gan"));
        using (var images = other.Transforms.GenerateImages(gan).Fit(seeds))
            Assert.HasCount(1, images.Transform(seeds).GetColumn<float[]>("Image").ToArray());
        var tokens = other.Transforms.TokenizeText("Ids", "Prompt", TextModels.CharModel).Fit(prompts);
        Assert.HasCount(1, tokens.Transform(prompts).GetColumn<int[]>("Ids").ToArray());
        Assert.Contains("ExpressionEstimator", otherSources.Select(s => s.Split(';')[0]).ToHashSet());
    }

    [TestMethod]
    public void TokenizeAndDetokenizeHaveOptionsOverloads()
    {
        var ml = new MLContext(seed: 1);
        string folder = Path.GetDirectoryName(DatasetPaths.Gpt2VocabFile)!;
        var data = ml.Data.LoadFromEnumerable(new[] { new TokenizeTextTests.TextRow { Text = "Hello  world" } });
        var pipeline = ml.Transforms.TokenizeText(new TokenizeTextOptions { InputColumnName = "Text", OutputColumnName = "Ids", TokenizerFolder = folder, CountColumnName = "Count" })
            .Append(ml.Transforms.DetokenizeText(new DetokenizeTextOptions { InputColumnName = "Ids", OutputColumnName = "Back", TokenizerFolder = folder }));
        var output = pipeline.Fit(data).Transform(data);
        CollectionAssert.AreEqual(new[] { 15496, 220, 995 }, output.GetColumn<int[]>("Ids").Single());
        Assert.AreEqual(3, output.GetColumn<int>("Count").Single());
        Assert.AreEqual("Hello  world", output.GetColumn<string>("Back").Single());

        // An instance instead of a folder, registered under a name for saved pipelines.
        var chars = CharTokenizer.FromCorpus("Helo wrd");
        var byInstance = ml.Transforms.TokenizeText(new TokenizeTextOptions { InputColumnName = "Text", OutputColumnName = "Ids", Tokenizer = chars, TokenizerName = "catalog-test-chars" })
            .Fit(data).Transform(data);
        CollectionAssert.AreEqual(chars.EncodeToIds("Hello  world").ToArray(), byInstance.GetColumn<int[]>("Ids").Single());
        Assert.AreSame(chars, TokenizerRegistry.Get("catalog-test-chars"));

        var both = Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.TokenizeText(new TokenizeTextOptions { TokenizerFolder = folder, Tokenizer = chars }));
        StringAssert.Contains(both.Message, "exactly one of TokenizerFolder and Tokenizer");
        var neither = Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.DetokenizeText(new DetokenizeTextOptions()));
        StringAssert.Contains(neither.Message, "DetokenizeText: set exactly one of TokenizerFolder and Tokenizer");
        var sameColumns = Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.TokenizeText(new TokenizeTextOptions { TokenizerFolder = folder, OutputColumnName = "X", CountColumnName = "X" }));
        StringAssert.Contains(sameColumns.Message, "both are 'X'");
        var missing = Assert.ThrowsExactly<DirectoryNotFoundException>(() => ml.Transforms.TokenizeText(new TokenizeTextOptions { TokenizerFolder = "/nonexistent/tokenizer" }));
        StringAssert.Contains(missing.Message, "TokenizeText: tokenizer folder '/nonexistent/tokenizer' was not found");
    }

    [TestMethod]
    public void LoadMnistHasAnOptionsOverload()
    {
        var ml = new MLContext(seed: 1);
        var flat = ml.Data.CreateEnumerable<MnistRow>(ml.Data.LoadMnist(DatasetPaths.MnistFolder, MnistSplit.Test, maxRows: 3), reuseRowObject: false).ToArray();
        var viaOptions = ml.Data.CreateEnumerable<MnistRow>(ml.Data.LoadMnist(DatasetPaths.MnistFolder, new MnistLoaderOptions { Split = MnistSplit.Test, MaxRows = 3 }),
            reuseRowObject: false).ToArray();
        Assert.HasCount(3, viaOptions);
        CollectionAssert.AreEqual(flat.Select(r => r.Label).ToArray(), viaOptions.Select(r => r.Label).ToArray());
        CollectionAssert.AreEqual(flat[2].Pixels, viaOptions[2].Pixels);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Data.LoadMnist(DatasetPaths.MnistFolder, new MnistLoaderOptions { MaxRows = -1 }));
    }

    private sealed class MnistRow
    {
        public uint Label { get; set; }

        [VectorType(784)]
        public float[] Pixels { get; set; } = [];
    }

    [TestMethod]
    public void TokenizerFolderFilesAreAllFingerprinted()
    {
        // tokenizer_config.json changes what a character tokenizer does with unknown characters: it is fingerprinted too.
        var ml = new MLContext(seed: 1);
        string folder = SavedPipelineTests.NewFolder("tokenizer-files");
        CharTokenizer.FromCorpus("abc ").SaveToFolder(folder);
        var data = ml.Data.LoadFromEnumerable(new[] { new TokenizeTextTests.TextRow { Text = "abc" } });
        var model = ml.Transforms.TokenizeText("Ids", "Text", folder).Fit(data);
        string zip = Path.Combine(folder + "-zip", "tokens.zip");
        Directory.CreateDirectory(Path.GetDirectoryName(zip)!);
        ml.Model.Save(model, data.Schema, zip);
        File.AppendAllText(Path.Combine(folder, AutoTokenizer.TokenizerConfigFileName), " ");
        var ml2 = new MLContext(seed: 2);
        ml2.ComponentCatalog.RegisterAssembly(typeof(TextGenerationCatalog).Assembly);
        var loaded = ml2.Model.Load(zip, out _);
        Transforms.Serving.ServingCache.Clear();
        var error = Innermost(Assert.Throws<Exception>(() => loaded.Transform(data).GetColumn<int[]>("Ids").ToArray()));
        Assert.IsInstanceOfType<InvalidDataException>(error);
        StringAssert.Contains(error.Message, "TokenizeText: model file 'tokenizer_config.json'");
        StringAssert.Contains(error.Message, "changed since this pipeline was built");
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }
}
