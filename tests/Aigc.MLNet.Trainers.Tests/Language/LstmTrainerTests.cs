using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Gpt2;
using Aigc.MLNet.Onnx.Runtime;
using Aigc.MLNet.Testing;
using Aigc.MLNet.Trainers.Export;
using Aigc.MLNet.Trainers.Language;
using Aigc.MLNet.Transforms;
using Aigc.MLNet.Transforms.Data;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using TorchSharp;

namespace Aigc.MLNet.Trainers.Tests.Language;

[TestClass]
public sealed class LstmTrainerTests
{
    private const string Sentence = "the quick brown fox jumps over the lazy dog.";

    private static string Folder() => Path.Combine(Path.GetTempPath(), "aigc-tests", Guid.NewGuid().ToString("N"));

    private static IDataView Rows(MLContext ml, IEnumerable<string> texts) => ml.Data.LoadFromEnumerable(texts.Select(t => new TextRow { Text = t }).ToArray());

    [TestMethod]
    public void OnnxLogitsEqualTorchSharpLogits()
    {
        torch.manual_seed(11);
        using var model = new LstmLanguageModel(vocabSize: 11, embeddingSize: 8, hiddenSize: 16, layers: 2);
        model.eval();
        string folder = Folder();
        var chars = "abcdefghij\u0003".Select(c => c.ToString());
        string path = LstmOnnxExport.Export(model, Gpt2TokenizerFiles.CharacterLevel(chars), 10, folder);
        Assert.AreEqual(Path.Combine(folder, "onnx", "model.onnx"), path);

        long[] ids = [1, 5, 7, 2, 9, 10, 0, 3, 3, 8];     // batch 2 × 5
        using var input = torch.tensor(ids, 2, 5);
        using var expectedTensor = model.forward(input);
        float[] expected = expectedTensor.data<float>().ToArray();

        using var session = new InferenceSession(path);
        using var idsValue = OrtValue.CreateTensorValueFromMemory(ids, [2, 5]);
        using var outputs = session.Run(new RunOptions(), ["input_ids"], [idsValue], ["logits"]);
        CollectionAssert.AreEqual(new long[] { 2, 5, 11 }, outputs[0].GetTensorTypeAndShape().Shape);
        var actual = outputs[0].GetTensorDataAsSpan<float>().ToArray();
        Assert.AreEqual(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.AreEqual(expected[i], actual[i], 1e-4f, $"logit {i}");

        using var lm = CausalLM.Load(folder);
        Assert.AreEqual(11, lm.Config.VocabSize);
        Assert.IsNull(lm.Config.MaxPositions);
        CollectionAssert.AreEqual(new[] { 10 }, lm.Config.EosTokenIds.ToArray());
    }

    [TestMethod]
    public void MemorisesASentenceServesItThroughGenerateTextAndReloadsInAFreshProcess()
    {
        var ml = new MLContext(seed: 1);
        string folder = Folder();
        var trainer = ml.Generative().Trainers.Lstm(new LstmTrainerOptions
        {
            OutputFolder = folder, EmbeddingSize = 16, HiddenSize = 64, NumLayers = 1, BlockSize = 48, BatchSize = 8,
            MaxIterations = 150, WarmupIterations = 10, LearningRate = 1e-2, MinLearningRate = 1e-3, EvalInterval = 75, EvalIterations = 4,
            Generation = new GenerationOptions { MaxNewTokens = 30 },
        });
        var model = trainer.Fit(Rows(ml, Enumerable.Repeat(Sentence, 40)));
        Assert.AreEqual(150, trainer.LastResult!.Value.Iterations);
        Assert.IsLessThan(0.3f, trainer.LastResult.Value.BestValidationLoss, $"validation loss {trainer.LastResult.Value.BestValidationLoss}");

        var prompts = ml.Data.LoadFromEnumerable(new[] { new PromptRow { Prompt = "the quick" } });
        string completion = model.Transform(prompts).GetColumn<string>("Completion").Single();
        Assert.AreEqual(" brown fox jumps over the lazy", completion);   // 30 new characters, greedy

        string zip = folder + ".zip";
        ml.Model.Save(model, prompts.Schema, zip);
        string[] columns = ["Prompt", "Completion"];
        var input = new Dictionary<string, string?[]> { ["Prompt"] = ["the quick", "over the"] };
        string inProcess = PipelineJson.Dump(model.Transform(PipelineJson.Input(ml, PipelineJson.InputJson(input))), columns);
        string fresh = PipelineJson.RunInFreshProcess(zip, input, columns);
        Assert.AreEqual(inProcess, fresh);
        StringAssert.Contains(fresh, " lazy dog.");
    }

    [TestMethod]
    public void TrainsWithTheGpt2BpeVocabulary()
    {
        var ml = new MLContext(seed: 1);
        string folder = Folder();
        var trainer = ml.Generative().Trainers.Lstm(new LstmTrainerOptions
        {
            OutputFolder = folder, Vocabulary = LanguageModelVocabulary.Gpt2Bpe, Gpt2VocabularyFolder = Path.GetDirectoryName(DatasetPaths.Gpt2VocabFile),
            EmbeddingSize = 16, HiddenSize = 32, NumLayers = 1, BlockSize = 16, BatchSize = 8, MaxIterations = 80, WarmupIterations = 2,
            LearningRate = 5e-2, MinLearningRate = 5e-3, ValidationFraction = 0, Generation = new GenerationOptions { MaxNewTokens = 6 },
        });
        var model = trainer.Fit(Rows(ml, Enumerable.Repeat("Hello world, hello ML.NET.", 30)));
        Assert.IsLessThan(1.0f, trainer.LastResult!.Value.FinalTrainLoss, $"loss {trainer.LastResult.Value.FinalTrainLoss}");
        using (var lm = CausalLM.Load(folder))
            Assert.AreEqual(50257, lm.Config.VocabSize);
        Assert.IsTrue(File.Exists(Path.Combine(folder, "tokenizer.json")));
        string completion = model.Transform(ml.Data.LoadFromEnumerable(new[] { new PromptRow { Prompt = "Hello world," } })).GetColumn<string>("Completion").Single();
        Assert.AreEqual(" hello ML.NET.\n", completion[..15], completion);
    }

    [TestMethod]
    public void CancellingAndResumingExportsTheSameModelBytes()
    {
        var ml = new MLContext(seed: 1);
        var corpus = Rows(ml, Enumerable.Repeat("abcabd abcabe", 20));
        LstmTrainerOptions Options(string output, string? checkpoints) => new()
        {
            OutputFolder = output, EmbeddingSize = 4, HiddenSize = 8, NumLayers = 2, BlockSize = 12, BatchSize = 4, MaxIterations = 30,
            WarmupIterations = 3, EvalInterval = 10, EvalIterations = 2, CheckpointFolder = checkpoints, Seed = 5,
            Generation = new GenerationOptions { MaxNewTokens = 4 },
        };
        string straight = Folder();
        ml.Generative().Trainers.Lstm(Options(straight, null)).Fit(corpus);

        string checkpoints = Folder(), resumed = Folder();
        using var cts = new CancellationTokenSource();
        var first = Options(resumed, checkpoints);
        first.CancellationToken = cts.Token;
        first.Progress = new Sink(p => { if (p.Iteration == 10) cts.Cancel(); });
        Assert.ThrowsExactly<OperationCanceledException>(() => ml.Generative().Trainers.Lstm(first).Fit(corpus));
        var second = Options(resumed, checkpoints);
        second.Resume = true;
        var trainer = ml.Generative().Trainers.Lstm(second);
        trainer.Fit(corpus);
        Assert.AreEqual(30, trainer.LastResult!.Value.Iterations);
        CollectionAssert.AreEqual(File.ReadAllBytes(Path.Combine(straight, "onnx", "model.onnx")), File.ReadAllBytes(Path.Combine(resumed, "onnx", "model.onnx")));
    }

    [TestMethod]
    public void BadInputsAreNamed()
    {
        var ml = new MLContext(seed: 1);
        var options = new LstmTrainerOptions { OutputFolder = Folder(), BlockSize = 16, MaxIterations = 1, HiddenSize = 8, EmbeddingSize = 4, NumLayers = 1 };
        var empty = Assert.ThrowsExactly<ArgumentException>(() => ml.Generative().Trainers.Lstm(options).Fit(Rows(ml, [])));
        StringAssert.Contains(empty.Message, "no text in column 'Text'");
        var shortText = Assert.ThrowsExactly<ArgumentException>(() => ml.Generative().Trainers.Lstm(options).Fit(Rows(ml, ["tiny text"])));
        StringAssert.Contains(shortText.Message, "LstmTrainer needs more than BlockSize (16)");
        var unknown = Assert.ThrowsExactly<ArgumentException>(() => ml.Generative().Trainers.Lstm(options)
            .Fit(Rows(ml, [new string('a', 100)]), Rows(ml, ["abc" + new string('a', 40)])));
        StringAssert.Contains(unknown.Message, "validation data");
        var missing = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Generative().Trainers.Lstm(new LstmTrainerOptions { OutputFolder = Folder(), TextColumnName = "Body" })
            .Fit(Rows(ml, ["x"])));
        StringAssert.Contains(missing.Message, "'Body' was not found");
        var schema = Sequence.SchemaShapeOf.Row<TextRow>(ml);
        var missingShape = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Generative().Trainers.Lstm(new LstmTrainerOptions { OutputFolder = Folder(), TextColumnName = "Body" }).GetOutputSchema(schema));
        StringAssert.Contains(missingShape.Message, "LstmTrainer: text column 'Body' was not found");
        Assert.AreSame(schema, ml.Generative().Trainers.Lstm(Folder()).GetOutputSchema(schema));
        var noFolder = Assert.ThrowsExactly<ArgumentException>(() => ml.Generative().Trainers.Lstm(new LstmTrainerOptions()));
        StringAssert.Contains(noFolder.Message, "OutputFolder");
        var hidden = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Generative().Trainers.Lstm(new LstmTrainerOptions { OutputFolder = "x", HiddenSize = 0 }));
        StringAssert.Contains(hidden.Message, "HiddenSize");
        var bpe = Assert.ThrowsExactly<ArgumentException>(() => ml.Generative().Trainers.Lstm(new LstmTrainerOptions { OutputFolder = Folder(), Vocabulary = LanguageModelVocabulary.Gpt2Bpe })
            .Fit(Rows(ml, ["some text"])));
        StringAssert.Contains(bpe.Message, "LstmTrainerOptions.Gpt2VocabularyFolder");
    }

    private sealed class Sink(Action<LanguageModelTrainingProgress> action) : IProgress<LanguageModelTrainingProgress>
    {
        public void Report(LanguageModelTrainingProgress value) => action(value);
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
