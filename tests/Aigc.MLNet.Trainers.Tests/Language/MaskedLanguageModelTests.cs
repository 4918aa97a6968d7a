using Aigc.MLNet.Onnx.Runtime;
using Aigc.MLNet.Onnx.Tokenization;
using Aigc.MLNet.Trainers.Export;
using Aigc.MLNet.Trainers.Language;
using Aigc.MLNet.Trainers.Language.Masked;
using Aigc.MLNet.Transforms;
using Aigc.MLNet.Transforms.Evaluation;
using Microsoft.ML;
using TorchSharp;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Tests.Language;

[TestClass]
public sealed class MaskedLanguageModelTests
{
    private const string Alphabet = "abcdefghijklmnopqrs";   // 19 characters + [MASK] = 20 ids

    private static MaskedLMConfig Config(int positions = 12) => new()
    {
        VocabSize = Alphabet.Length + 1, MaskTokenId = Alphabet.Length, MaxPositions = positions,
        NumLayers = 2, NumHeads = 2, EmbeddingSize = 16, MlpSize = 32,
    };

    private static MaskedLMTokenizer Tokenizer() => MaskedLMTokenizer.ForCharacters(CharTokenizer.FromCorpus(Alphabet));

    private static MaskedLanguageModel NewModel(int seed, int positions = 12)
    {
        torch.manual_seed(seed);
        var model = new MaskedLanguageModel(Config(positions));
        model.eval();
        return model;
    }

    private static string Folder() => Path.Combine(Path.GetTempPath(), "aigc-tests", Guid.NewGuid().ToString("N"));

    private int _threads;

    // One TorchSharp thread: on the shared 2-core machine two OpenMP threads spin-wait and run several times slower.
    [TestInitialize]
    public void OneThread()
    {
        _threads = torch.get_num_threads();
        torch.set_num_threads(1);
    }

    [TestCleanup]
    public void RestoreThreads() => torch.set_num_threads(_threads);

    [TestMethod]
    public void MaskingRatesMatchBertOverOneHundredThousandTokens()
    {
        var masking = new MlmMasking(MaskTokenId: 50, RandomVocabularySize: 50);
        using var source = new torch.Generator(7);
        using var ids = torch.randint(50, [100, 1000], generator: source, dtype: ScalarType.Int64);
        using var generator = new torch.Generator(11);
        var (inputs, labels) = masking.Apply(ids, generator);
        using (inputs)
        using (labels)
        {
            long[] x = ids.data<long>().ToArray(), corrupted = inputs.data<long>().ToArray(), y = labels.data<long>().ToArray();
            Assert.AreEqual(100_000, x.Length);
            int chosen = 0, masked = 0, kept = 0, replaced = 0;
            for (int i = 0; i < x.Length; i++)
            {
                if (y[i] == MaskedLanguageModel.IgnoreIndex)
                {
                    Assert.AreEqual(x[i], corrupted[i], "an unchosen position changed");
                    continue;
                }
                Assert.AreEqual(x[i], y[i]);
                chosen++;
                if (corrupted[i] == 50) masked++;
                else if (corrupted[i] == x[i]) kept++;
                else { replaced++; Assert.IsTrue(corrupted[i] is >= 0 and < 50); }
            }
            double chosenRate = chosen / 100_000.0, maskRate = (double)masked / chosen, keepRate = (double)kept / chosen, randomRate = (double)replaced / chosen;
            Assert.AreEqual(0.15, chosenRate, 0.01, $"chosen {chosenRate:F4}");
            Assert.AreEqual(0.80, maskRate, 0.01, $"mask {maskRate:F4}");
            // A random replacement equals the original token 1 time in 50, so "unchanged" is 0.1 + 0.1/50.
            Assert.AreEqual(0.10, keepRate, 0.01, $"kept {keepRate:F4}");
            Assert.AreEqual(0.10, randomRate, 0.01, $"random {randomRate:F4}");
        }
        using var again = new torch.Generator(11);
        var (inputs2, _) = masking.Apply(ids, again);
        Assert.IsTrue(inputs2.data<long>().ToArray().AsSpan().SequenceEqual(masking.Apply(ids, new torch.Generator(11)).Inputs.data<long>().ToArray()), "same seed, same masks");
    }

    [TestMethod]
    public void ABatchWithNothingChosenStillScoresOnePosition()
    {
        var masking = new MlmMasking(MaskTokenId: 9, RandomVocabularySize: 9, ChooseProbability: 1e-9);
        using var ids = torch.tensor(new long[] { 1, 2, 3, 4 }, [2, 2]);
        var (inputs, labels) = masking.Apply(ids, new torch.Generator(1));
        CollectionAssert.AreEqual(new long[] { 1, -100, -100, -100 }, labels.data<long>().ToArray());
        CollectionAssert.AreEqual(new long[] { 2, 3, 4 }, inputs.data<long>().ToArray()[1..]);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new MlmMasking(9, 9, MaskFraction: 0.95, RandomFraction: 0.1).Validate());
    }

    [TestMethod]
    public void OneTrainingStepLowersTheLossOnFixedData()
    {
        using var model = NewModel(3);
        model.train();
        var masking = new MlmMasking(Alphabet.Length, Alphabet.Length);
        using var ids = torch.tensor(Enumerable.Range(0, 4 * 12).Select(i => (long)(i * 5 % Alphabet.Length)).ToArray(), [4, 12]);
        var (inputs, labels) = masking.Apply(ids, new torch.Generator(5));
        using var optimizer = torch.optim.AdamW(model.parameters(), lr: 1e-2);
        using var before = model.Loss(inputs, labels);
        float initial = before.item<float>();
        optimizer.zero_grad();
        before.backward();
        optimizer.step();
        using var after = model.Loss(inputs, labels);
        Assert.IsLessThan(initial, after.item<float>(), $"loss {initial} -> {after.item<float>()}");
        // An untrained model is near uniform: loss ≈ ln(20).
        Assert.AreEqual(Math.Log(20), initial, 0.3);
    }

    [TestMethod]
    public void OnnxExportMatchesTorchSharpLogits()
    {
        using var model = NewModel(4);
        string folder = Folder();
        MaskedLanguageModelExport.Export(model, Tokenizer(), folder);
        using var lm = MaskedLM.Load(folder);
        long[] ids = Enumerable.Range(0, 2 * 10).Select(i => (long)((i * 7 + 3) % 20)).ToArray();   // includes the mask id 19
        float[] onnx = lm.Forward(ids, 2, 10);
        using var input = torch.tensor(ids, [2, 10]);
        using var noGrad = torch.no_grad();
        using var logits = model.forward(input);
        float[] torchLogits = logits.data<float>().ToArray();
        Assert.HasCount(torchLogits.Length, onnx);
        double maxDiff = onnx.Zip(torchLogits, (a, b) => Math.Abs(a - b)).Max();
        Assert.IsLessThan(1e-4, maxDiff, $"max |ONNX - TorchSharp| = {maxDiff}");
        Assert.AreEqual("MaskedLM:L2:H2:E16:M32:P12:V20", lm.Config.Architecture);
    }

    [TestMethod]
    public void ResumedTrainingContinuesBitForBit()
    {
        long[] ids = Enumerable.Range(0, 400).Select(i => (long)(i * 7 % Alphabet.Length)).ToArray();
        var masking = new MlmMasking(Alphabet.Length, Alphabet.Length);
        LanguageModelTrainingSettings Settings(int steps, string? folder, bool resume) => new()
        {
            BatchSize = 4, BlockSize = 12, MaxIterations = steps, EvalInterval = 0, Seed = 9,
            Schedule = new WarmupCosineSchedule(3e-3, 3e-4, 3, 20), CheckpointFolder = folder, Resume = resume,
        };
        float[] Weights(MaskedLanguageModel m) => m.parameters().SelectMany(p => p.detach().data<float>().ToArray()).ToArray();

        using var straight = NewModel(5);
        var full = MaskedLanguageModelTraining.Run(straight, ids, null, Settings(20, null, false), masking);

        string folder = Folder();
        using (var first = NewModel(5))
            MaskedLanguageModelTraining.Run(first, ids, null, Settings(10, folder, false), masking);
        using var resumed = NewModel(77);   // different initialisation: everything must come from the checkpoint
        var rest = MaskedLanguageModelTraining.Run(resumed, ids, null, Settings(20, folder, true), masking);

        Assert.AreEqual(20, rest.Iterations);
        Assert.AreEqual(full.FinalTrainLoss, rest.FinalTrainLoss);
        CollectionAssert.AreEqual(Weights(straight), Weights(resumed));
    }

    [TestMethod]
    public void ANonFiniteLossStopsTrainingNamingTheStep()
    {
        long[] ids = Enumerable.Range(0, 100).Select(i => (long)(i % Alphabet.Length)).ToArray();
        using var model = NewModel(6);
        using (torch.no_grad())
            model.parameters().First().fill_(float.NaN);
        var settings = new LanguageModelTrainingSettings { BatchSize = 2, BlockSize = 12, MaxIterations = 5, EvalInterval = 0 };
        var e = Assert.ThrowsExactly<Aigc.MLNet.Trainers.Training.NonFiniteLossException>(() =>
            MaskedLanguageModelTraining.Run(model, ids, null, settings, new MlmMasking(Alphabet.Length, Alphabet.Length)));
        StringAssert.Contains(e.Message, "masked-LM loss");
    }

    [TestMethod]
    public void CancellationWritesACheckpointAndThrows()
    {
        long[] ids = Enumerable.Range(0, 100).Select(i => (long)(i % Alphabet.Length)).ToArray();
        string folder = Folder();
        using var model = NewModel(6);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var settings = new LanguageModelTrainingSettings { BatchSize = 2, BlockSize = 12, MaxIterations = 5, EvalInterval = 0, CheckpointFolder = folder };
        Assert.ThrowsExactly<OperationCanceledException>(() =>
            MaskedLanguageModelTraining.Run(model, ids, null, settings, new MlmMasking(Alphabet.Length, Alphabet.Length), null, cts.Token));
        Assert.IsTrue(File.Exists(Path.Combine(folder, "checkpoint.bin")));
    }

    [TestMethod]
    public void PseudoLogLikelihoodMatchesAHandComputationWithTorchSharp()
    {
        using var model = NewModel(8);
        string folder = Folder();
        MaskedLanguageModelExport.Export(model, Tokenizer(), folder);
        using var lm = MaskedLM.Load(folder);
        string[] texts = ["abcabc", "srqponm", "a"];

        // By hand: mask each position in turn, log-softmax at that position, sum the true token's log-probability.
        double handTotal = 0;
        long tokens = 0;
        var handRows = new List<double>();
        using (torch.no_grad())
        {
            foreach (string text in texts)
            {
                long[] ids = text.Select(ch => (long)(ch - 'a')).ToArray();
                double row = 0;
                for (int i = 0; i < ids.Length; i++)
                {
                    long[] copy = (long[])ids.Clone();
                    copy[i] = Alphabet.Length;
                    using var logits = model.forward(torch.tensor(copy, [1, copy.Length]));
                    using var logProbs = nn.functional.log_softmax(logits.to_type(ScalarType.Float64), -1);
                    row += logProbs[0, i, ids[i]].item<double>();
                }
                handRows.Add(row);
                handTotal += row;
                tokens += ids.Length;
            }
        }

        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(texts.Select(t => new TextRow { Text = t }).ToArray());
        var metrics = ml.GenerativeEvaluation().EvaluatePseudoLogLikelihood(data, lm, batchSize: 4);
        Assert.AreEqual(tokens, metrics.TokenCount);
        Assert.AreEqual(3, metrics.RowCount);
        Assert.AreEqual(handTotal, metrics.PseudoLogLikelihood, 1e-3);
        for (int r = 0; r < texts.Length; r++)
            Assert.AreEqual(handRows[r], metrics.RowPseudoLogLikelihood[r], 1e-4);
        Assert.AreEqual(Math.Exp(-handTotal / tokens), metrics.PseudoPerplexity, 1e-3);
        // Same through mlContext.Generative().Evaluation.
        Assert.AreEqual(metrics.PseudoLogLikelihood, ml.Generative().Evaluation.EvaluatePseudoLogLikelihood(data, lm).PseudoLogLikelihood, 1e-9);

        var masked = ml.Data.LoadFromEnumerable(new[] { new TextRow { Text = "ab[MASK]" } });
        var e = Assert.ThrowsExactly<ArgumentException>(() => ml.GenerativeEvaluation().EvaluatePseudoLogLikelihood(masked, lm));
        StringAssert.Contains(e.Message, "mask token");
        var tooLong = ml.Data.LoadFromEnumerable(new[] { new TextRow { Text = new string('a', 13) } });
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ml.GenerativeEvaluation().EvaluatePseudoLogLikelihood(tooLong, lm)).Message, "context");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.GenerativeEvaluation().EvaluatePseudoLogLikelihood(data, lm, "Missing"));
    }

    [TestMethod]
    public void TokenizerEncodesTheLiteralMaskText()
    {
        var chars = Tokenizer();
        CollectionAssert.AreEqual(new[] { 0, 19, 2, 19 }, chars.Encode("a[MASK]c[MASK]"));
        Assert.AreEqual("a[MASK]c", chars.Decode([0, 19, 2]));
        var e = Assert.ThrowsExactly<ArgumentException>(() => chars.Encode("aZ"));
        StringAssert.Contains(e.Message, "Z");

        string vocabFolder = Path.GetDirectoryName(Aigc.MLNet.Transforms.Data.DatasetPaths.Gpt2VocabFile)!;
        var bpe = MaskedLMTokenizer.ForGpt2(Path.Combine(vocabFolder, "vocab.json"), Path.Combine(vocabFolder, "merges.txt"));
        Assert.AreEqual(50257, bpe.MaskTokenId);
        int[] ids = bpe.Encode("The [MASK] sat.");
        CollectionAssert.AreEqual(new[] { 464, 50257, 3332, 13 }, ids);   // "The", mask (absorbs the space), " sat", "."
        Assert.AreEqual(" sat", bpe.Decode(3332));
    }

    private sealed class TextRow
    {
        public string Text { get; set; } = "";
    }
}
