using System.Text.RegularExpressions;
using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Gpt2;
using Aigc.MLNet.Onnx.Proto;
using Aigc.MLNet.Testing;
using Aigc.MLNet.Transforms.Images;
using Aigc.MLNet.Transforms.Serving;
using Aigc.MLNet.Transforms.Tests.Images;
using Aigc.MLNet.Transforms.Tests.Text;
using Aigc.MLNet.Transforms.Text;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Transforms.Tests.Pipelines;

/// <summary>Saved pipelines that travel: every file fingerprinted, moved folders found, model files embedded in the zip.</summary>
[TestClass]
public sealed class SavedPipelineTests
{
    private static readonly GenerationOptions Greedy = new() { MaxNewTokens = 8 };
    private static readonly GenerationOptions Sampling = new() { MaxNewTokens = 8, DoSample = true, TopK = 10, Temperature = 0.8, Seed = 3 };

    /// <summary>Fresh processes see no search roots and use a cache folder of their own unless a test says otherwise.</summary>
    private static Dictionary<string, string?> Environment(string? cache = null, string? searchPath = null) => new()
    {
        [ModelSearch.SearchPathVariable] = searchPath,
        [ModelSearch.CacheFolderVariable] = cache ?? NewFolder("cache"),
    };

    [TestMethod]
    public void EmbeddedPipelineRunsFromTheZipAloneInAFreshProcess()
    {
        var ml = new MLContext(seed: 1);
        string model = NewFolder("embed-model");
        GenerateTextTests.CopyFolder(TextModels.BpeModel, model);
        string[] prompts = TextModels.Prompts(5);
        var data = Prompts(ml, prompts);
        string[] columns = ["Prompt", "Completion", "Ids", "Reason"];
        string built = NewFolder("embed-built");
        Directory.CreateDirectory(built);
        string zip = Path.Combine(built, "pipeline.zip");
        string expected;
        using (var transformer = ml.Transforms.GenerateText(new GenerateTextOptions
        {
            ModelPath = model, Generation = Sampling, BatchSize = 4, EmbedModel = true, TokenIdsColumnName = "Ids", FinishReasonColumnName = "Reason",
        }).Fit(data))
        {
            expected = PipelineJson.Dump(transformer.Transform(data), columns);
            ml.Model.Save(transformer, data.Schema, zip);
        }
        long modelBytes = Directory.GetFiles(model, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        Assert.IsGreaterThan(new FileInfo(Path.Combine(model, "onnx", "model.onnx")).Length, new FileInfo(zip).Length, "the zip carries the ONNX bytes");

        // Only the zip travels: the model folder is deleted, the zip is copied to a new folder, the cache starts empty.
        Directory.Delete(model, recursive: true);
        string machine = NewFolder("embed-machine");
        Directory.CreateDirectory(machine);
        string copied = Path.Combine(machine, "pipeline.zip");
        File.Copy(zip, copied);
        Directory.Delete(built, recursive: true);
        string cache = Path.Combine(machine, "cache");
        var input = new Dictionary<string, string?[]> { ["Prompt"] = prompts };
        string fresh = PipelineJson.RunInFreshProcess(copied, input, columns, Environment(cache), machine);
        Assert.AreEqual(expected, fresh);
        Assert.IsTrue(expected.Contains("\"length\"", StringComparison.Ordinal) || expected.Contains("\"eos\"", StringComparison.Ordinal));

        // Extracted once, to one content-addressed folder holding exactly the files the model reads; no temporary left.
        string[] entries = Directory.GetDirectories(cache);
        Assert.HasCount(1, entries);
        Assert.MatchesRegex(new Regex("^[0-9a-f]{64}$"), Path.GetFileName(entries[0]));
        var files = Directory.GetFiles(entries[0], "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(entries[0], f).Replace('\\', '/')).Order().ToArray();
        CollectionAssert.AreEqual(new[] { "config.json", "generation_config.json", "merges.txt", "onnx/model.onnx", "tokenizer_config.json", "vocab.json" }, files);
        Assert.IsEmpty(Directory.GetFileSystemEntries(cache).Where(e => Path.GetFileName(e).StartsWith('.')).ToArray(), "no half-written entry");
        Assert.IsLessThan(modelBytes, Directory.GetFiles(entries[0], "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length) + 1);

        // A damaged cache entry is detected by hash and rewritten from the zip; the outputs do not change.
        string vocab = Path.Combine(entries[0], "vocab.json");
        string sha = FileFingerprint.Sha256(vocab);
        byte[] bytes = File.ReadAllBytes(vocab);
        bytes[100] ^= 0x20;
        File.WriteAllBytes(vocab, bytes);
        Assert.AreEqual(expected, PipelineJson.RunInFreshProcess(copied, input, columns, Environment(cache), machine));
        Assert.AreEqual(sha, FileFingerprint.Sha256(vocab));
        Assert.HasCount(1, Directory.GetDirectories(cache));
    }

    [TestMethod]
    public void EmbeddedPipelineLoadsInThisProcessAndCarriesExternalData()
    {
        var ml = new MLContext(seed: 1);
        string model = NewFolder("external");
        var tokenizer = Gpt2TokenizerFiles.CharacterLevelFromText(TextModels.Corpus);
        var config = new Gpt2Config { NumLayers = 1, NumHeads = 2, EmbeddingSize = 16, MaxPositions = 32, VocabSize = tokenizer.Count(), BosTokenId = 0, EosTokenId = 0 };
        Gpt2Exporter.Export(Gpt2Weights.Random(config, seed: 5), tokenizer, model,
            new Gpt2ExportOptions { Save = new OnnxSaveOptions { ExternalData = OnnxExternalDataMode.Always } });
        string onnx = Path.Combine(model, "onnx", "model.onnx");
        CollectionAssert.AreEqual(new[] { "model.onnx_data" }, OnnxExternalData.ListFiles(onnx).ToArray());

        string[] prompts = TextModels.Prompts(3);
        var data = Prompts(ml, prompts);
        string zip = Path.Combine(NewFolder("external-zip"), "pipeline.zip");
        string plainZip = Path.Combine(Path.GetDirectoryName(zip)!, "plain.zip");
        Directory.CreateDirectory(Path.GetDirectoryName(zip)!);
        string[] expected;
        using (var transformer = ml.Transforms.GenerateText("Completion", "Prompt", model, Greedy, embedModel: true).Fit(data))
        {
            expected = Column(transformer.Transform(data));
            ml.Model.Save(transformer, data.Schema, zip);
        }
        using (var plain = ml.Transforms.GenerateText("Completion", "Prompt", model, Greedy).Fit(data))
            ml.Model.Save(plain, data.Schema, plainZip);

        // The external data file is fingerprinted: changing it alone is reported by name.
        string dataFile = Path.Combine(model, "onnx", "model.onnx_data");
        byte[] original = File.ReadAllBytes(dataFile);
        byte[] weights = (byte[])original.Clone();
        weights[^8] ^= 0x40;
        File.WriteAllBytes(dataFile, weights);
        var changed = Assert.ThrowsExactly<InvalidOperationException>(() =>
            PipelineJson.RunInFreshProcess(plainZip, new Dictionary<string, string?[]> { ["Prompt"] = prompts }, ["Completion"], Environment()));
        StringAssert.Contains(changed.Message, "GenerateText: model file 'onnx/model.onnx_data'");
        StringAssert.Contains(changed.Message, "changed since this pipeline was built");
        File.WriteAllBytes(dataFile, original);

        // Loaded in this process with the folder gone, through a cache folder of its own.
        Directory.Delete(model, recursive: true);
        string cache = NewFolder("external-cache");
        string previous = ModelSearch.CacheFolder;
        ModelSearch.CacheFolder = cache;
        try
        {
            var ml2 = new MLContext(seed: 2);
            ml2.ComponentCatalog.RegisterAssembly(typeof(TextGenerationCatalog).Assembly);
            var loaded = ml2.Model.Load(zip, out _);
            CollectionAssert.AreEqual(expected, Column(loaded.Transform(Prompts(ml2, prompts))));
            string entry = Directory.GetDirectories(cache).Single();
            Assert.IsTrue(File.Exists(Path.Combine(entry, "onnx", "model.onnx_data")));
            (loaded as IDisposable)?.Dispose();
        }
        finally
        {
            ModelSearch.CacheFolder = previous;
        }
    }

    [TestMethod]
    public void SwappedVocabularyEntriesAreDetectedNamingTheFile()
    {
        var ml = new MLContext(seed: 1);
        string model = NewFolder("swap");
        GenerateTextTests.CopyFolder(TextModels.CharModel, model);
        string[] prompts = TextModels.Prompts(4);
        var data = Prompts(ml, prompts);
        string zip = Path.Combine(NewFolder("swap-zip"), "pipeline.zip");
        Directory.CreateDirectory(Path.GetDirectoryName(zip)!);
        string[] before;
        using (var transformer = ml.Transforms.GenerateText("Completion", "Prompt", model, Sampling).Fit(data))
        {
            before = Column(transformer.Transform(data));
            ml.Model.Save(transformer, data.Schema, zip);
        }

        string vocab = Path.Combine(model, "vocab.json");
        long length = new FileInfo(vocab).Length;
        SwapVocabularyEntries(vocab, "e", "n");
        Assert.AreEqual(length, new FileInfo(vocab).Length, "same size: only the hash can tell");
        // The swap matters: the same pipeline built on the changed folder writes other text.
        using (var rebuilt = ml.Transforms.GenerateText("Completion", "Prompt", model, Sampling).Fit(data))
        {
            string[] after = Column(rebuilt.Transform(data));
            CollectionAssert.AreNotEqual(before, after, string.Join(" | ", before) + " // " + string.Join(" | ", after));
        }

        var ex = Assert.ThrowsExactly<InvalidOperationException>(() =>
            PipelineJson.RunInFreshProcess(zip, new Dictionary<string, string?[]> { ["Prompt"] = prompts }, ["Completion"], Environment()));
        StringAssert.Contains(ex.Message, "GenerateText: model file 'vocab.json'");
        StringAssert.Contains(ex.Message, "changed since this pipeline was built");
        StringAssert.Contains(ex.Message, vocab);

        // A file the model would read appearing later is reported too.
        SwapVocabularyEntries(vocab, "e", "n");
        Assert.AreEqual(before.Length, JsonRows(PipelineJson.RunInFreshProcess(zip, new Dictionary<string, string?[]> { ["Prompt"] = prompts }, ["Completion"], Environment())).Length);
        File.WriteAllText(Path.Combine(model, "merges.txt"), "#version: 0.2\n");
        var appeared = Assert.ThrowsExactly<InvalidOperationException>(() =>
            PipelineJson.RunInFreshProcess(zip, new Dictionary<string, string?[]> { ["Prompt"] = prompts }, ["Completion"], Environment()));
        StringAssert.Contains(appeared.Message, "'merges.txt'");
        StringAssert.Contains(appeared.Message, "appeared since this pipeline was built");
    }

    [TestMethod]
    public void MovedModelFolderIsFoundThroughSearchRootsTheEnvironmentAndRelativePaths()
    {
        var ml = new MLContext(seed: 1);
        // Under the working directory, so the pipeline also records a relative path.
        string relativeRoot = "aigc-relative-" + Guid.NewGuid().ToString("N")[..8];
        string model = Path.GetFullPath(Path.Combine(relativeRoot, "models", "char"));
        GenerateTextTests.CopyFolder(TextModels.CharModel, model);
        string optionRoot = NewFolder("option-root");
        string[] prompts = TextModels.Prompts(3);
        var data = Prompts(ml, prompts);
        string zip = Path.Combine(NewFolder("moved-zip"), "pipeline.zip");
        Directory.CreateDirectory(Path.GetDirectoryName(zip)!);
        string expected;
        using (var transformer = ml.Transforms.GenerateText(new GenerateTextOptions
        {
            ModelPath = model, Generation = Sampling, ModelSearchPaths = [optionRoot],
        }).Fit(data))
        {
            expected = PipelineJson.Dump(transformer.Transform(data), ["Completion"]);
            ml.Model.Save(transformer, data.Schema, zip);
        }
        var input = new Dictionary<string, string?[]> { ["Prompt"] = prompts };
        try
        {
            // 1. Renamed three levels below a root listed in AIGC_MODEL_PATH: found by content.
            string envRoot = NewFolder("env-root");
            string deep = Path.Combine(envRoot, "a", "b", "renamed");
            Directory.CreateDirectory(Path.GetDirectoryName(deep)!);
            Directory.Move(model, deep);
            Assert.AreEqual(expected, PipelineJson.RunInFreshProcess(zip, input, ["Completion"], Environment(searchPath: envRoot)));

            // 2. Under a root from ModelSearchPaths, with its name.
            Directory.CreateDirectory(optionRoot);
            Directory.Move(deep, Path.Combine(optionRoot, "char"));
            Assert.AreEqual(expected, PipelineJson.RunInFreshProcess(zip, input, ["Completion"], Environment()));

            // 3. The application folder moved as a whole: the path relative to the working directory still holds.
            string machine = NewFolder("machine");
            string relocated = Path.Combine(machine, relativeRoot, "models", "char");
            Directory.CreateDirectory(Path.GetDirectoryName(relocated)!);
            Directory.Move(Path.Combine(optionRoot, "char"), relocated);
            Assert.AreEqual(expected, PipelineJson.RunInFreshProcess(zip, input, ["Completion"], Environment(), workingDirectory: machine));

            // 4. Gone everywhere: the error says where it looked and how to fix it.
            Directory.Delete(relocated, recursive: true);
            var ex = Assert.ThrowsExactly<InvalidOperationException>(() => PipelineJson.RunInFreshProcess(zip, input, ["Completion"], Environment(searchPath: envRoot)));
            StringAssert.Contains(ex.Message, $"the model folder '{model}' used by this pipeline was moved or deleted");
            StringAssert.Contains(ex.Message, envRoot);
            StringAssert.Contains(ex.Message, optionRoot);
            StringAssert.Contains(ex.Message, ModelSearch.SearchPathVariable);
            StringAssert.Contains(ex.Message, "EmbedModel = true");
        }
        finally
        {
            if (Directory.Exists(relativeRoot))
                Directory.Delete(relativeRoot, recursive: true);
        }
    }

    [TestMethod]
    public void EmbeddedImagePipelineRunsFromTheZipAloneInAFreshProcess()
    {
        var ml = new MLContext(seed: 1);
        var models = new TinyImageModels();
        string gan = models.WriteGan(TinyImageModels.TempFolder("embed-gan"), conditional: true);
        var input = SavedPipelineProbe.Input(ml, "seeds-labels", 4);
        string zip = Path.Combine(NewFolder("embed-gan-zip"), "model.zip");
        Directory.CreateDirectory(Path.GetDirectoryName(zip)!);
        string expected;
        using (var transformer = ml.Transforms.GenerateImages(gan, labelColumnName: "Label", embedModel: true).Fit(input))
        {
            expected = SavedPipelineProbe.Dump(transformer.Transform(input), ["Image"]);
            ml.Model.Save(transformer, input.Schema, zip);
        }
        Directory.Delete(gan, recursive: true);
        string cache = NewFolder("embed-gan-cache");
        Assert.AreEqual(expected, SavedPipelineProbe.RunInFreshProcess(zip, "seeds-labels", 4, ["Image"], Environment(cache)));
        var files = Directory.GetFiles(Directory.GetDirectories(cache).Single()).Select(Path.GetFileName).Order().ToArray();
        CollectionAssert.AreEqual(new[] { "generator.onnx", "model.json" }, files);
    }

    [TestMethod]
    public void BadSearchPathsAndOversizedEmbeddingFailClearly()
    {
        var ml = new MLContext(seed: 1);
        var empty = Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.GenerateText(new GenerateTextOptions
        {
            ModelPath = TextModels.CharModel, ModelSearchPaths = ["/models", " "],
        }));
        StringAssert.Contains(empty.Message, "ModelSearchPaths[1] is empty");
        Assert.ThrowsExactly<ArgumentException>(() => ModelSearch.CacheFolder = " ");
    }

    internal static string NewFolder(string name) =>
        Path.Combine(Path.GetTempPath(), "aigc-tests", $"{name}-{Guid.NewGuid():N}"[..(name.Length + 13)]);

    private static IDataView Prompts(MLContext ml, IEnumerable<string?> prompts) =>
        ml.Data.LoadFromEnumerable(prompts.Select(p => new GenerateTextTests.PromptRow { Prompt = p }).ToArray());

    private static string[] Column(IDataView data) => data.GetColumn<string>("Completion").ToArray();

    private static System.Text.Json.JsonElement[][] JsonRows(string json) => System.Text.Json.JsonSerializer.Deserialize<System.Text.Json.JsonElement[][]>(json)!;

    /// <summary>Swaps the ids of two single-character entries of a character vocab.json, keeping its size.</summary>
    private static void SwapVocabularyEntries(string path, string a, string b)
    {
        string text = File.ReadAllText(path);
        var ma = Regex.Match(text, $"\"{Regex.Escape(a)}\": (\\d+)");
        var mb = Regex.Match(text, $"\"{Regex.Escape(b)}\": (\\d+)");
        Assert.IsTrue(ma.Success && mb.Success, "both characters are in the vocabulary");
        Assert.AreEqual(ma.Groups[1].Length, mb.Groups[1].Length, "ids of the same width");
        var chars = text.ToCharArray();
        ma.Groups[1].Value.CopyTo(0, chars, mb.Groups[1].Index, mb.Groups[1].Length);
        mb.Groups[1].Value.CopyTo(0, chars, ma.Groups[1].Index, ma.Groups[1].Length);
        File.WriteAllText(path, new string(chars));
    }
}
