using System.Diagnostics;
using Aigc.MLNet.Onnx.Runtime;
using Aigc.MLNet.Testing;
using Aigc.MLNet.Trainers.Language;
using Aigc.MLNet.Trainers.Language.Masked;
using Aigc.MLNet.Transforms;
using Aigc.MLNet.Transforms.Text;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Trainers.Tests.Language;

[TestClass]
public sealed class MaskedLanguageModelTrainerTests
{
    private const string Sentence = "the quick brown fox jumps over the lazy dog.";

    private static string? s_folder;
    private static FillMaskTransformer? s_model;
    private static LanguageModelTrainingResult s_result;
    private static TimeSpan s_trainTime;

    private static string Folder() => Path.Combine(Path.GetTempPath(), "aigc-tests", Guid.NewGuid().ToString("N"));

    private static IDataView Rows(MLContext ml, IEnumerable<string?> texts) =>
        ml.Data.LoadFromEnumerable(texts.Select(t => new TextRow { Text = t }).ToArray());

    /// <summary>A tiny masked LM memorising one sentence (trained once for the class).</summary>
    private static (string Folder, FillMaskTransformer Model) Memorised()
    {
        if (s_model is not null)
            return (s_folder!, s_model);
        var ml = new MLContext(seed: 1);
        s_folder = Folder();
        var trainer = ml.Generative().Trainers.MaskedLanguageModel(new MaskedLanguageModelTrainerOptions
        {
            OutputFolder = s_folder, NumLayers = 1, NumHeads = 2, EmbeddingSize = 32, BlockSize = 16, BatchSize = 64,
            MaxIterations = 300, WarmupIterations = 20, LearningRate = 1e-2, MinLearningRate = 1e-3, WeightDecay = 0, EvalInterval = 150, EvalIterations = 4,
            TopK = 3, Seed = 42, Threads = 1,
        });
        // One TorchSharp thread: on a shared 2-core machine two OpenMP threads spin-wait and run ~10x slower; restored afterwards.
        int threads = TorchSharp.torch.get_num_threads();
        var clock = Stopwatch.StartNew();
        try
        {
            s_model = trainer.Fit(Rows(ml, Enumerable.Repeat(Sentence, 40)));
        }
        finally
        {
            TorchSharp.torch.set_num_threads(threads);
        }
        s_trainTime = clock.Elapsed;
        s_result = trainer.LastResult!.Value;
        return (s_folder, s_model);
    }

    [TestMethod]
    public void FillMaskRecoversAMaskedCharacterInAMemorisedSentence()
    {
        var (folder, model) = Memorised();
        Console.WriteLine($"trained in {s_trainTime.TotalSeconds:F1} s; final train loss {s_result.FinalTrainLoss:F4}, best validation {s_result.BestValidationLoss:F4}");
        Assert.AreEqual(300, s_result.Iterations);
        Assert.IsLessThan(1.0f, s_result.BestValidationLoss);
        Assert.IsTrue(File.Exists(Path.Combine(folder, "onnx", "model.onnx")));
        Assert.IsTrue(File.Exists(Path.Combine(folder, "mlm_config.json")));
        Assert.IsTrue(File.Exists(Path.Combine(folder, "vocab.json")));

        var ml = new MLContext(seed: 1);
        var output = model.Transform(Rows(ml, ["quick br[MASK]wn f", "the l[MASK]zy d[MASK]g."]));
        var candidates = output.GetColumn<string[]>("Candidates").ToArray();
        var probabilities = output.GetColumn<float[]>("Probabilities").ToArray();
        Assert.HasCount(3, candidates[0]);                 // one mask × TopK 3
        Assert.AreEqual("o", candidates[0][0]);
        Assert.HasCount(6, candidates[1]);                 // two masks × TopK 3, mask by mask
        Assert.AreEqual("a", candidates[1][0]);
        Assert.AreEqual("o", candidates[1][3]);
        Assert.IsGreaterThan(0.5f, probabilities[0][0]);
        for (int row = 0; row < 2; row++)
            for (int i = 1; i < probabilities[row].Length; i++)
                if (i % 3 != 0)
                    Assert.IsLessThanOrEqualTo(probabilities[row][i - 1], probabilities[row][i], "candidates are sorted by probability");
    }

    [TestMethod]
    public void SavedPipelineGivesTheSameOutputsInAFreshProcess()
    {
        var (_, model) = Memorised();
        var ml = new MLContext(seed: 1);
        string?[] texts = ["quick br[MASK]wn f", "no mask here", null, "[MASK]"];
        var input = Rows(ml, texts);
        string zip = Path.Combine(Folder(), "fillmask.zip");
        Directory.CreateDirectory(Path.GetDirectoryName(zip)!);
        ml.Model.Save(model, input.Schema, zip);

        string inProcess = PipelineJson.Dump(model.Transform(input), ["Candidates", "Probabilities"]);
        string fresh = PipelineJson.RunInFreshProcess(zip, new Dictionary<string, string?[]> { ["Text"] = texts }, ["Candidates", "Probabilities"]);
        Assert.AreEqual(inProcess, fresh);
        StringAssert.Contains(inProcess, "[[],[]]");       // rows without a mask give empty vectors

        // Loaded in this process too, through a prediction engine.
        var loaded = ml.Model.Load(zip, out _);
        var engine = ml.Model.CreatePredictionEngine<TextRow, FillMaskPrediction>(loaded);
        var prediction = engine.Predict(new TextRow { Text = "quick br[MASK]wn f" });
        Assert.AreEqual("o", prediction.Candidates[0]);
    }

    [TestMethod]
    public void FillMaskCatalogServesAFolderAndNamesBadInputs()
    {
        var (folder, _) = Memorised();
        var ml = new MLContext(seed: 1);
        var data = Rows(ml, ["the l[MASK]zy dog."]);
        var fitted = ml.Transforms.FillMask("Guess", "Text", folder, topK: 2, probabilitiesColumnName: null).Fit(data);
        var output = fitted.Transform(data);
        Assert.IsNull(output.Schema.GetColumnOrNull("Probabilities"));
        CollectionAssert.AreEqual(new[] { "a" }, output.GetColumn<string[]>("Guess").Single()[..1]);
        Assert.IsNull(output.Schema.GetColumnOrNull("__AigcCandidates"));

        var shape = ml.Transforms.FillMask("Guess", "Text", folder).GetOutputSchema(Sequence.SchemaShapeOf.Row<TextRow>(ml));
        var guess = shape.Single(c => c.Name == "Guess");
        Assert.AreEqual(SchemaShape.Column.VectorKind.VariableVector, guess.Kind);
        Assert.AreEqual(TextDataViewType.Instance, guess.ItemType);
        Assert.AreEqual(NumberDataViewType.Single, shape.Single(c => c.Name == "Probabilities").ItemType);

        string notMlm = Folder();
        Directory.CreateDirectory(notMlm);
        StringAssert.Contains(Assert.ThrowsExactly<FileNotFoundException>(() => MaskedLM.Load(notMlm)).Message, "not a masked-LM model folder");

        var topK = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.FillMask("Guess", "Text", folder, topK: 0));
        StringAssert.Contains(topK.Message, "TopK");
        var column = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.FillMask("Guess", "Missing", folder).Fit(data));
        StringAssert.Contains(column.Message, "'Missing'");
        Assert.ThrowsExactly<DirectoryNotFoundException>(() => ml.Transforms.FillMask("Guess", "Text", Path.Combine(folder, "nope")));

        var tooLong = Rows(ml, [new string('o', 16) + "[MASK]"]);
        var length = RowError(() => fitted.Transform(tooLong).GetColumn<string[]>("Guess").ToArray());
        StringAssert.Contains(length.Message, "column 'Text'");
        StringAssert.Contains(length.Message, "17 tokens");
        StringAssert.Contains(length.Message, "is 16");
        var unknown = RowError(() => fitted.Transform(Rows(ml, ["QQ[MASK]"])).GetColumn<string[]>("Guess").ToArray());
        StringAssert.Contains(unknown.Message, "column 'Text'");

        using var lm = MaskedLM.Load(folder);
        Assert.IsEmpty(lm.FillMask("no mask", 3));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => lm.FillMask("[MASK]", 0));
    }

    [TestMethod]
    public void TrainsWithGpt2BpeAndServesTokenCandidates()
    {
        var ml = new MLContext(seed: 1);
        string folder = Folder();
        var trainer = ml.Generative().Trainers.MaskedLanguageModel(new MaskedLanguageModelTrainerOptions
        {
            OutputFolder = folder, Vocabulary = LanguageModelVocabulary.Gpt2Bpe,
            Gpt2VocabularyFolder = Path.GetDirectoryName(Aigc.MLNet.Transforms.Data.DatasetPaths.Gpt2VocabFile)!,
            NumLayers = 1, NumHeads = 2, EmbeddingSize = 16, BlockSize = 8, BatchSize = 4, MaxIterations = 3, EvalInterval = 0, ValidationFraction = 0, TopK = 2,
        });
        var model = trainer.Fit(Rows(ml, Enumerable.Repeat("Hello world, hello ML.NET.", 10)));
        Assert.AreEqual(3, trainer.LastResult!.Value.Iterations);
        Assert.IsTrue(File.Exists(Path.Combine(folder, "merges.txt")));
        using var lm = MaskedLM.Load(folder);
        Assert.AreEqual(50258, lm.Config.VocabSize);
        Assert.AreEqual(50257, lm.Config.MaskTokenId);
        Assert.AreEqual("gpt2_bpe", lm.Config.Vocabulary);
        var candidates = model.Transform(Rows(ml, ["Hello [MASK], hello ML.NET."])).GetColumn<string[]>("Candidates").Single();
        Assert.HasCount(2, candidates);
        Assert.IsFalse(candidates.Contains("[MASK]"));
    }

    [TestMethod]
    public void TrainerNamesBadInputs()
    {
        var ml = new MLContext(seed: 1);
        var options = new MaskedLanguageModelTrainerOptions { OutputFolder = Folder(), BlockSize = 16, MaxIterations = 1 };
        var missing = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
            ml.Generative().Trainers.MaskedLanguageModel(new MaskedLanguageModelTrainerOptions { OutputFolder = Folder(), TextColumnName = "Body" }).Fit(Rows(ml, [Sentence])));
        StringAssert.Contains(missing.Message, "'Body'");
        var shortText = Assert.ThrowsExactly<ArgumentException>(() => ml.Generative().Trainers.MaskedLanguageModel(options).Fit(Rows(ml, ["tiny"])));
        StringAssert.Contains(shortText.Message, "BlockSize (16)");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ml.Generative().Trainers.MaskedLanguageModel(new MaskedLanguageModelTrainerOptions())).Message, "OutputFolder");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
            ml.Generative().Trainers.MaskedLanguageModel(new MaskedLanguageModelTrainerOptions { OutputFolder = "x", TopK = 0 })).Message, "TopK");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
            ml.Generative().Trainers.MaskedLanguageModel(new MaskedLanguageModelTrainerOptions { OutputFolder = "x", EmbeddingSize = 30, NumHeads = 4 })).Message, "NumHeads");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
            ml.Generative().Trainers.MaskedLanguageModel(new MaskedLanguageModelTrainerOptions { OutputFolder = "x", MaskProbability = 0 }));
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() =>
            ml.Generative().Trainers.MaskedLanguageModel(new MaskedLanguageModelTrainerOptions { OutputFolder = Folder(), Vocabulary = LanguageModelVocabulary.Gpt2Bpe, BlockSize = 4 })
                .Fit(Rows(ml, [Sentence]))).Message, "Gpt2VocabularyFolder");
    }

    /// <summary>The ArgumentException a row raised (ML.NET's parallel cursors wrap it in InvalidOperationException).</summary>
    private static ArgumentException RowError(Action action)
    {
        var thrown = Assert.Throws<Exception>(action);
        for (Exception? e = thrown; e is not null; e = e.InnerException)
            if (e is ArgumentException argument)
                return argument;
        throw new AssertFailedException($"Expected an ArgumentException in the chain; got {thrown}");
    }

    private sealed class TextRow
    {
        public string? Text { get; set; }
    }

    private sealed class FillMaskPrediction
    {
        public string[] Candidates { get; set; } = [];

        public float[] Probabilities { get; set; } = [];
    }
}
