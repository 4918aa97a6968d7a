using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Gpt2;
using Aigc.MLNet.Onnx.Runtime;
using Aigc.MLNet.Trainers.Language;
using Aigc.MLNet.Transforms;
using Aigc.MLNet.Transforms.Data;
using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;

namespace Aigc.MLNet.Trainers.Tests.Language;

[TestClass]
public sealed class GptTrainerTests
{
    private const string Sentence = "the quick brown fox jumps over the lazy dog.";

    private static string Folder() => Path.Combine(Path.GetTempPath(), "aigc-tests", Guid.NewGuid().ToString("N"));

    private static IDataView Rows(MLContext ml, IEnumerable<string> texts) => ml.Data.LoadFromEnumerable(texts.Select(t => new TextRow { Text = t }).ToArray());

    [TestMethod]
    public void TrainsOnACorpusExportsAndServesThroughGenerateText()
    {
        var ml = new MLContext(seed: 1);
        var corpus = Rows(ml, Enumerable.Repeat(Sentence, 40));
        string folder = Folder();
        var trainer = ml.Generative().Trainers.Gpt(new GptTrainerOptions
        {
            OutputFolder = folder, NumLayers = 2, NumHeads = 2, EmbeddingSize = 32, BlockSize = 48, BatchSize = 8,
            MaxIterations = 200, WarmupIterations = 20, LearningRate = 3e-3, MinLearningRate = 3e-4, EvalInterval = 100, EvalIterations = 4,
            Generation = new GenerationOptions { MaxNewTokens = 30 },
        });
        var model = trainer.Fit(corpus);
        Assert.AreEqual(200, trainer.LastResult!.Value.Iterations);
        Assert.IsLessThan(0.2f, trainer.LastResult.Value.BestValidationLoss);
        Assert.IsTrue(File.Exists(Path.Combine(folder, "onnx", "model.onnx")));

        var prompts = ml.Data.LoadFromEnumerable(new[] { new PromptRow { Prompt = "the quick" } });
        string completion = model.Transform(prompts).GetColumn<string>("Completion").Single();
        Assert.AreEqual(" brown fox jumps over the lazy", completion);   // 30 new characters
    }

    /// <summary>Quantization judged on a trained model (random weights have flat logits and cannot judge it).</summary>
    [TestMethod]
    public void QuantizedExports_KeepTheTrainedModelsHeldOutPerplexity()
    {
        string text = File.ReadAllText(DatasetPaths.TinyShakespeareFile);
        string train = text[..60_000];
        var known = train.ToHashSet();
        string heldOut = new(text[^3_000..].Where(known.Contains).ToArray());   // characters the vocabulary has
        var ml = new MLContext(seed: 1);
        string folder = Folder();
        var q4 = new Aigc.MLNet.Onnx.Quantization.BlockQuantizationOptions { Bits = 4, BlockSize = 32 };
        var trainer = ml.Generative().Trainers.Gpt(new GptTrainerOptions
        {
            OutputFolder = folder, NumLayers = 2, NumHeads = 2, EmbeddingSize = 64, BlockSize = 32, BatchSize = 8,
            MaxIterations = 300, WarmupIterations = 20, LearningRate = 3e-3, MinLearningRate = 3e-4, EvalInterval = 0, ValidationFraction = 0, Seed = 1,
        });
        trainer.Fit(Rows(ml, [train]));
        string q8Folder = folder + "-q8", q4Folder = folder + "-q4";
        var q8 = new Aigc.MLNet.Onnx.Quantization.BlockQuantizationOptions { Bits = 8, BlockSize = 32 };
        Aigc.MLNet.Onnx.Quantization.Gpt2Quantizer.QuantizeFolder(folder, q8Folder, q8);
        Aigc.MLNet.Onnx.Quantization.Gpt2Quantizer.QuantizeFolder(folder, q4Folder, q4);

        double Perplexity(string model)
        {
            using var lm = CausalLM.Load(model);
            return Aigc.MLNet.Transforms.Evaluation.Text.Perplexity.Evaluate(lm, [heldOut]).Perplexity;
        }
        double fp32 = Perplexity(folder), p8 = Perplexity(q8Folder), p4 = Perplexity(q4Folder);
        Console.WriteLine($"held-out perplexity: fp32 {fp32:F4}, q8 {p8:F4} ({p8 / fp32 - 1:P2}), q4 {p4:F4} ({p4 / fp32 - 1:P2})");
        Assert.IsLessThan(20.0, fp32, "the model learned something (uniform over ~60 characters is 60)");
        Assert.IsLessThan(0.01, Math.Abs(p8 / fp32 - 1), $"q8 within 1 %: {p8} vs {fp32}");
        Assert.IsLessThan(0.05, p4 / fp32 - 1, $"q4 within +5 %: {p4} vs {fp32}");

        // Exporting quantized from the trainer gives the same folder as quantizing the fp32 export.
        string direct = Folder();
        var again = ml.Generative().Trainers.Gpt(new GptTrainerOptions
        {
            OutputFolder = direct, NumLayers = 2, NumHeads = 2, EmbeddingSize = 64, BlockSize = 32, BatchSize = 8,
            MaxIterations = 300, WarmupIterations = 20, LearningRate = 3e-3, MinLearningRate = 3e-4, EvalInterval = 0, ValidationFraction = 0, Seed = 1,
            ExportQuantization = q4,
        });
        again.Fit(Rows(ml, [train]));
        CollectionAssert.AreEqual(File.ReadAllBytes(Path.Combine(q4Folder, "onnx", "model.onnx")), File.ReadAllBytes(Path.Combine(direct, "onnx", "model.onnx")),
            "the same seed trains the same weights; quantized in the trainer or afterwards, the graph is the same");
        var bad = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Generative().Trainers.Gpt(new GptTrainerOptions
        {
            OutputFolder = Folder(), EmbeddingSize = 48, ExportQuantization = new Aigc.MLNet.Onnx.Quantization.BlockQuantizationOptions { BlockSize = 32 },
        }));
        StringAssert.Contains(bad.Message, "ExportQuantization.BlockSize (32) must divide EmbeddingSize (48)");
    }

    [TestMethod]
    public void FineTunesAGpt2CheckpointWithBpe()
    {
        // A random GPT-2-shaped checkpoint (tiny width, real 50,257-token vocabulary) stands in for a Hugging Face download.
        string source = Folder();
        Directory.CreateDirectory(source);
        var config = new Gpt2Config { NumLayers = 1, NumHeads = 2, EmbeddingSize = 16, MaxPositions = 32 };
        Gpt2Checkpoint.SaveSafeTensors(Gpt2Weights.Random(config, seed: 3), Path.Combine(source, "model.safetensors"));
        config.Save(Path.Combine(source, "config.json"));
        string vocabFolder = Path.GetDirectoryName(DatasetPaths.Gpt2VocabFile)!;

        var ml = new MLContext(seed: 1);
        string folder = Folder();
        var trainer = ml.Generative().Trainers.Gpt(new GptTrainerOptions
        {
            OutputFolder = folder, InitialCheckpoint = Path.Combine(source, "model.safetensors"), Gpt2VocabularyFolder = vocabFolder,
            BlockSize = 16, BatchSize = 8, MaxIterations = 120, WarmupIterations = 5, LearningRate = 2e-2, MinLearningRate = 2e-3, EvalInterval = 0, ValidationFraction = 0,
            Generation = new GenerationOptions { MaxNewTokens = 6 },
        });
        var model = trainer.Fit(Rows(ml, Enumerable.Repeat("Hello world, hello ML.NET.", 30)));
        Assert.IsLessThan(1.0f, trainer.LastResult!.Value.FinalTrainLoss, $"loss {trainer.LastResult.Value.FinalTrainLoss}");
        using var lm = CausalLM.Load(folder);
        Assert.AreEqual(50257, lm.Config.VocabSize);
        string completion = model.Transform(ml.Data.LoadFromEnumerable(new[] { new PromptRow { Prompt = "Hello world," } })).GetColumn<string>("Completion").Single();
        Assert.AreEqual(" hello ML.NET.\n", completion[..15]);
    }

    [TestMethod]
    public void BadInputsAreNamed()
    {
        var ml = new MLContext(seed: 1);
        var options = new GptTrainerOptions { OutputFolder = Folder(), BlockSize = 16, MaxIterations = 1 };
        var empty = Assert.ThrowsExactly<ArgumentException>(() => ml.Generative().Trainers.Gpt(options).Fit(Rows(ml, [])));
        StringAssert.Contains(empty.Message, "no text in column 'Text'");
        var shortText = Assert.ThrowsExactly<ArgumentException>(() => ml.Generative().Trainers.Gpt(options).Fit(Rows(ml, ["tiny text"])));
        StringAssert.Contains(shortText.Message, "BlockSize (16)");
        var unknown = Assert.ThrowsExactly<ArgumentException>(() => ml.Generative().Trainers.Gpt(options)
            .Fit(Rows(ml, [new string('a', 100)]), Rows(ml, ["abc" + new string('a', 40)])));
        StringAssert.Contains(unknown.Message, "validation data");
        var missing = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Generative().Trainers.Gpt(new GptTrainerOptions { OutputFolder = Folder(), TextColumnName = "Body" })
            .Fit(Rows(ml, ["x"])));
        StringAssert.Contains(missing.Message, "'Body' was not found");
        Assert.ThrowsExactly<ArgumentException>(() => ml.Generative().Trainers.Gpt(new GptTrainerOptions()));
    }

    public sealed class TextRow
    {
        public string Text { get; set; } = "";
    }

    public sealed class PromptRow
    {
        public string Prompt { get; set; } = "";
    }
}
