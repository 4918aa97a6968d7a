using System.Text.Json;
using Aigc.MLNet.Cli.Jobs;
using Aigc.MLNet.Onnx.Gpt2;
using Aigc.MLNet.Onnx.Runtime;
using Aigc.MLNet.Transforms.Data;

namespace Aigc.MLNet.Cli.Tests;

/// <summary>Each verb once on tiny sizes; the files it leaves are real (PNG decodes, ONNX loads).</summary>
[TestClass]
public sealed class VerbTests
{
    private static string Corpus(TempFolder tmp)
    {
        string path = tmp.File("corpus.txt");
        File.WriteAllText(path, string.Concat(Enumerable.Repeat("a bad cab had a bag; a dead fad.\n", 60)));
        return path;
    }

    [TestMethod]
    public void GenerateText_GreedyBatchStreamAndScores()
    {
        using var tmp = new TempFolder();
        TinyModels.CharGpt(tmp.Path);
        var greedy = CliHarness.Run("generate", "text", "-m", tmp.Path, "-p", "abc", "--max-new-tokens", "12");
        Assert.AreEqual(0, greedy.ExitCode, greedy.Error);
        string line = greedy.Out.TrimEnd('\r', '\n');
        StringAssert.StartsWith(line, "abc");
        Assert.IsTrue(line.Length > 3, line);

        var stream = CliHarness.Run("generate", "text", "-m", tmp.Path, "-p", "abc", "--max-new-tokens", "12", "--stream");
        Assert.AreEqual(0, stream.ExitCode, stream.Error);
        Assert.AreEqual(greedy.Out, stream.Out, "streamed text equals the full greedy text");

        var batch = CliHarness.Run("generate", "text", "-m", tmp.Path, "-p", "abc", "-p", "hg", "--do-sample", "--seed", "5", "--top-k", "4",
            "--num-return-sequences", "2", "--max-new-tokens", "6", "--output-scores");
        Assert.AreEqual(0, batch.ExitCode, batch.Error);
        Assert.AreEqual(4, batch.Out.Split("--- prompt", StringSplitOptions.None).Length - 1, batch.Out);
        StringAssert.Contains(batch.Out, "token log-probs");
        var again = CliHarness.Run("generate", "text", "-m", tmp.Path, "-p", "abc", "-p", "hg", "--do-sample", "--seed", "5", "--top-k", "4",
            "--num-return-sequences", "2", "--max-new-tokens", "6", "--output-scores");
        Assert.AreEqual(batch.Out, again.Out, "same seed, same text");

        var beams = CliHarness.Run("generate", "text", "-m", tmp.Path, "-p", "abc", "--num-beams", "3", "--early-stopping", "never", "--max-new-tokens", "5");
        Assert.AreEqual(0, beams.ExitCode, beams.Error);
        Assert.AreEqual(2, CliHarness.Run("generate", "text", "-m", tmp.Path, "-p", "a", "-p", "b", "--stream").ExitCode);
    }

    [TestMethod]
    public void ConvertGpt2_SafetensorsFileAndFolder()
    {
        using var tmp = new TempFolder();
        var config = new Gpt2Config { NumLayers = 1, NumHeads = 2, EmbeddingSize = 8, MaxPositions = 32 };
        string hf = Path.Combine(tmp.Path, "hf");
        Directory.CreateDirectory(hf);
        Gpt2Checkpoint.SaveSafeTensors(Gpt2Weights.Random(config, 1), Path.Combine(hf, "model.safetensors"));
        config.Save(Path.Combine(hf, "config.json"));
        File.Copy(DatasetPaths.Gpt2VocabFile, Path.Combine(hf, "vocab.json"));
        File.Copy(DatasetPaths.Gpt2MergesFile, Path.Combine(hf, "merges.txt"));

        var fromFile = CliHarness.Run("convert", "gpt2", "--safetensors", Path.Combine(hf, "model.safetensors"), "--out", tmp.File("a"));
        Assert.AreEqual(0, fromFile.ExitCode, fromFile.Error);
        var fromFolder = CliHarness.Run("convert", "gpt2", "--safetensors", hf, "--out", tmp.File("b"), "--layout", "OnnxRuntimeGpt2");
        Assert.AreEqual(0, fromFolder.ExitCode, fromFolder.Error);
        using (var lm = CausalLM.Load(tmp.File("a")))
            Assert.AreEqual(DecoderLayout.Optimum, lm.Layout);
        using (var lm = CausalLM.Load(tmp.File("b")))
            Assert.AreEqual(50257, lm.Config.VocabSize);
        var text = CliHarness.Run("generate", "text", "-m", tmp.File("a"), "-p", "Hello world", "--max-new-tokens", "3");
        Assert.AreEqual(0, text.ExitCode, text.Error);
        StringAssert.StartsWith(text.Out, "Hello world");
        var missing = CliHarness.Run("convert", "gpt2", "--safetensors", tmp.File("none.safetensors"), "--out", tmp.File("c"));
        Assert.AreEqual(1, missing.ExitCode);
    }

    [TestMethod]
    public void TrainGpt_ExportsOnnx_LossCurve_ThenExportPerplexityGenerate()
    {
        using var tmp = new TempFolder();
        string corpus = Corpus(tmp);
        string outDir = tmp.File("gpt");
        var r = CliHarness.Run("train", "gpt", "--data", corpus, "--out", outDir, "--iterations", "20", "--batch-size", "4", "--block-size", "16",
            "--layers", "1", "--heads", "2", "--embedding-size", "16", "--eval-interval", "10", "--learning-rate", "0.01", "--threads", "1");
        Assert.AreEqual(0, r.ExitCode, r.Error);
        StringAssert.Contains(r.Out, "20 steps");
        Assert.IsTrue(Pictures.ReadSize(Path.Combine(outDir, "loss-curve.png")).Width > 100);
        string onnx = Path.Combine(outDir, "onnx");
        using (var lm = CausalLM.Load(onnx))
            Assert.AreEqual(13, lm.Config.VocabSize, "12 distinct characters + the EOS id");

        var export = CliHarness.Run("export", "onnx", "--checkpoint", Path.Combine(outDir, "checkpoint"), "--out", tmp.File("re"));
        Assert.AreEqual(0, export.ExitCode, export.Error);
        CollectionAssert.AreEqual(File.ReadAllBytes(Path.Combine(onnx, "onnx", "model.onnx")), File.ReadAllBytes(tmp.File("re/onnx/model.onnx")),
            "checkpoint → ONNX reproduces the training run's export byte for byte");

        var ppl = CliHarness.Run("evaluate", "perplexity", "-m", onnx, "--data", corpus, "--max-chars", "300");
        Assert.AreEqual(0, ppl.ExitCode, ppl.Error);
        var p = EvaluationJob.Perplexity(onnx, File.ReadAllText(corpus)[..300]);
        Assert.IsTrue(p.Perplexity > 1 && p.Perplexity < 10, $"a trained model beats uniform over 10 ids: {p.Perplexity}");
        StringAssert.Contains(ppl.Out, p.Perplexity.ToString("F3", System.Globalization.CultureInfo.InvariantCulture));

        var gen = CliHarness.Run("generate", "text", "-m", onnx, "-p", "a b", "--max-new-tokens", "10");
        Assert.AreEqual(0, gen.ExitCode, gen.Error);

        // Past the 16-character context: a model trained here slides its window by default, so 400 characters come out.
        var sampler = new[] { "--do-sample", "--seed", "3", "--top-k", "0" };
        var longRun = CliHarness.Run(["generate", "text", "-m", onnx, "-p", "a b", "--max-new-tokens", "400", .. sampler]);
        Assert.AreEqual(0, longRun.ExitCode, longRun.Error);
        using (var lm = CausalLM.Load(onnx))
        {
            var expected = new Aigc.MLNet.Onnx.Generation.TextGenerator(lm).Generate("a b", new Aigc.MLNet.Onnx.Generation.GenerationOptions
            {
                MaxNewTokens = 400, DoSample = true, Seed = 3, TopK = 0,
            })[0];
            Assert.AreEqual("a b" + expected.Text + Environment.NewLine, longRun.Out, "the CLI prints what the engine generates");
            Assert.IsGreaterThan(16 * 5, expected.TokenIds.Count, "far past the 16-position context");
        }
        var stopped = CliHarness.Run(["generate", "text", "-m", onnx, "-p", "a b", "--max-new-tokens", "400", "--context-overflow", "stop", .. sampler]);
        Assert.AreEqual(1, stopped.ExitCode, "asking to stop at n_positions with 400 new tokens fails up front");
        StringAssert.Contains(stopped.Error, "--context-overflow slide");
    }

    [TestMethod]
    public void TrainLstm_WritesCheckpointCurveAndOnnx_ExportAndGenerate()
    {
        using var tmp = new TempFolder();
        string outDir = tmp.File("lstm");
        var r = CliHarness.Run("train", "lstm", "--data", Corpus(tmp), "--out", outDir, "--iterations", "10", "--batch-size", "4", "--block-size", "16",
            "--layers", "1", "--embedding-size", "8", "--hidden-size", "16", "--eval-interval", "5", "--threads", "1");
        Assert.AreEqual(0, r.ExitCode, r.Error);
        StringAssert.Contains(r.Out, "10 steps");
        Assert.IsTrue(File.Exists(Path.Combine(outDir, "checkpoint", LanguageModelJob.CheckpointFile)));
        Assert.IsTrue(Pictures.ReadSize(Path.Combine(outDir, "loss-curve.png")).Height > 100);
        string onnx = Path.Combine(outDir, "onnx");
        var export = CliHarness.Run("export", "onnx", "--checkpoint", Path.Combine(outDir, "checkpoint"), "--out", tmp.File("x"));
        Assert.AreEqual(0, export.ExitCode, export.Error);
        CollectionAssert.AreEqual(File.ReadAllBytes(Path.Combine(onnx, "onnx", "model.onnx")), File.ReadAllBytes(tmp.File("x/onnx/model.onnx")));
        var gen = CliHarness.Run("generate", "text", "-m", onnx, "-p", "a b", "--max-new-tokens", "5");
        Assert.AreEqual(0, gen.ExitCode, gen.Error);
        StringAssert.StartsWith(gen.Out, "a b");
    }

    [TestMethod]
    public void CancelledLanguageRun_WritesCheckpointAndOnnxOfTheLastStep_ResumeMatchesAnUninterruptedRun()
    {
        using var tmp = new TempFolder();
        string corpus = Corpus(tmp);
        LanguageModelJobSettings Settings(string folder, bool resume = false) => new()
        {
            CorpusPath = corpus, OutputFolder = folder, Iterations = 20, BatchSize = 2, BlockSize = 8, Layers = 1, Heads = 1,
            EmbeddingSize = 8, EvalInterval = 1000, Threads = 1, Resume = resume,
        };
        using var cts = new CancellationTokenSource();
        var result = LanguageModelJob.Run(Settings(tmp.File("run")), new Reporter(p => { if (p.Iteration >= 10) cts.Cancel(); }), cts.Token);
        Assert.IsTrue(result.Cancelled);
        Assert.AreEqual(10, result.Iterations);
        Assert.IsTrue(result.Parameters > 0);
        Assert.IsTrue(File.Exists(Path.Combine(result.CheckpointFolder, LanguageModelJob.CheckpointFile)));
        using (var lm = CausalLM.Load(result.OnnxFolder!))
            Assert.IsTrue(lm.Config.VocabSize > 0);

        var resumed = LanguageModelJob.Run(Settings(tmp.File("run"), resume: true));
        Assert.IsFalse(resumed.Cancelled);
        Assert.AreEqual(20, resumed.Iterations);
        var straight = LanguageModelJob.Run(Settings(tmp.File("straight")));
        Assert.AreEqual(20, straight.Iterations);
        Assert.AreEqual(straight.TrainLoss, resumed.TrainLoss);
        CollectionAssert.AreEqual(File.ReadAllBytes(Path.Combine(straight.OnnxFolder!, "onnx", "model.onnx")), File.ReadAllBytes(Path.Combine(resumed.OnnxFolder!, "onnx", "model.onnx")),
            "10 steps, Ctrl+C, --resume to 20 gives the same weights as 20 steps in one go");
    }

    [TestMethod]
    public void TrainGanAndVae_SampleGrids_GenerateImages_EvaluateImages()
    {
        using var tmp = new TempFolder();
        var gan = CliHarness.Run("train", "gan", "--out", tmp.File("gan"), "--rows", "256", "--max-steps", "3", "--batch-size", "32", "--samples", "20", "--threads", "1");
        Assert.AreEqual(0, gan.ExitCode, gan.Error);
        var (gw, gh) = Pictures.ReadSize(tmp.File("gan/samples.png"));
        Assert.IsTrue(gw > 10 * 56 && gh > 2 * 56 && gh < 3 * 56 + 40, $"10 columns x 2 rows of 28x28 digits at scale 2: {gw}x{gh}");
        var dcgan = CliHarness.Run("train", "gan", "--architecture", "dcgan", "--out", tmp.File("dcgan"), "--rows", "256", "--max-steps", "3", "--batch-size", "32", "--samples", "10", "--threads", "1");
        Assert.AreEqual(0, dcgan.ExitCode, dcgan.Error);
        StringAssert.Contains(File.ReadAllText(tmp.File("dcgan/model/model.json")), "Dcgan");
        Assert.AreEqual(2, CliHarness.Run("train", "gan", "--architecture", "resnet", "--out", tmp.File("bad")).ExitCode, "an unknown architecture is a usage error");
        var vae = CliHarness.Run("train", "vae", "--out", tmp.File("vae"), "--rows", "256", "--max-steps", "3", "--batch-size", "32", "--samples", "10", "--threads", "1");
        Assert.AreEqual(0, vae.ExitCode, vae.Error);
        Assert.IsTrue(File.Exists(tmp.File("vae/model/model.json")));
        var (vw, vh) = Pictures.ReadSize(tmp.File("vae/samples.png"));
        Assert.IsTrue(vw > 10 * 56 && vh > 56 && vh < 2 * 56, $"one row of ten digits: {vw}x{vh}");

        var images = CliHarness.Run("generate", "images", "-m", tmp.File("vae/model"), "-n", "7", "--seed", "3", "-o", tmp.File("v.png"));
        Assert.AreEqual(0, images.ExitCode, images.Error);
        var again = CliHarness.Run("generate", "images", "-m", tmp.File("vae/model"), "-n", "7", "--seed", "3", "-o", tmp.File("v2.png"));
        Assert.AreEqual(0, again.ExitCode, again.Error);
        CollectionAssert.AreEqual(File.ReadAllBytes(tmp.File("v.png")), File.ReadAllBytes(tmp.File("v2.png")), "same seed, same picture");

        string classifier = tmp.File("lenet.onnx");
        EvaluationJob.LoadOrTrainClassifier(classifier, trainRows: 200).Dispose();
        var eval = CliHarness.Run("evaluate", "images", "-m", tmp.File("gan/model"), "--classifier", classifier, "-n", "50");
        Assert.AreEqual(0, eval.ExitCode, eval.Error);
        StringAssert.Contains(eval.Out, "classifier score");
        StringAssert.Contains(eval.Out, "FID");
        Assert.AreEqual(1, CliHarness.Run("generate", "images", "-m", tmp.Path).ExitCode, "a folder without model.json");
    }

    [TestMethod]
    public void EvaluateBleu_IdenticalIs100_MismatchedLinesFail()
    {
        using var tmp = new TempFolder();
        File.WriteAllLines(tmp.File("hyp.txt"), ["the cat sat on the mat", "a quick brown fox jumps"]);
        File.WriteAllLines(tmp.File("ref.txt"), ["the cat sat on the mat", "a quick brown fox jumps"]);
        File.WriteAllLines(tmp.File("short.txt"), ["only one line"]);
        var r = CliHarness.Run("evaluate", "bleu", "--hypotheses", tmp.File("hyp.txt"), "--references", tmp.File("ref.txt"));
        Assert.AreEqual(0, r.ExitCode, r.Error);
        StringAssert.StartsWith(r.Out, "BLEU = 100.00");
        var bad = CliHarness.Run("evaluate", "bleu", "--hypotheses", tmp.File("hyp.txt"), "--references", tmp.File("short.txt"));
        Assert.AreEqual(1, bad.ExitCode);
        StringAssert.Contains(bad.Error, "1 lines");
    }

    private sealed class Reporter(Action<Trainers.Language.LanguageModelTrainingProgress> report) : IProgress<Trainers.Language.LanguageModelTrainingProgress>
    {
        public void Report(Trainers.Language.LanguageModelTrainingProgress value) => report(value);
    }
}

[TestClass]
public sealed class DataFetchTests
{
    /// <summary>With the data already in the cache, fetch only verifies hashes (the same script CI runs) and succeeds.</summary>
    [TestMethod]
    public void DataFetch_IsIdempotent()
    {
        var r = CliHarness.Run("data", "fetch");
        Assert.AreEqual(0, r.ExitCode, r.Out + r.Error);
        StringAssert.Contains(r.Out, "data ready in");
    }

    [TestMethod]
    public void Quantize_WritesANewFolderThatGenerates_AndRefusesBadInputsWithTheFlagNamed()
    {
        using var tmp = new TempFolder();
        string fp32 = tmp.File("fp32");
        var chars = Gpt2TokenizerFiles.CharacterLevel("abcdefgh ".Select(c => c.ToString()));
        var config = new Gpt2Config { NumLayers = 1, NumHeads = 2, EmbeddingSize = 32, MaxPositions = 64, VocabSize = 10, BosTokenId = 9, EosTokenId = 9 };
        Gpt2Exporter.Export(Gpt2Weights.Random(config, 5), chars, fp32);

        var q = CliHarness.Run("quantize", "-m", fp32, "-o", tmp.File("q8"), "--bits", "8", "--block-size", "16");
        Assert.AreEqual(0, q.ExitCode, q.Error);
        StringAssert.Contains(q.Out, "(q8-b16-sym-acc4)");
        StringAssert.Contains(File.ReadAllText(tmp.File("q8/config.json")), "\"bits\": 8");
        var gen = CliHarness.Run("generate", "text", "-m", tmp.File("q8"), "-p", "abc", "--max-new-tokens", "6");
        Assert.AreEqual(0, gen.ExitCode, gen.Error);
        StringAssert.StartsWith(gen.Out, "abc");

        Assert.AreEqual(2, CliHarness.Run("quantize", "-m", fp32, "-o", tmp.File("x"), "--bits", "3").ExitCode, "bits must be 4 or 8");
        var block = CliHarness.Run("quantize", "-m", fp32, "-o", tmp.File("x"), "--bits", "4", "--block-size", "48");
        Assert.AreEqual(2, block.ExitCode);
        StringAssert.Contains(block.Error, "--block-size");
        var exists = CliHarness.Run("quantize", "-m", fp32, "-o", tmp.File("q8"), "--bits", "4", "--block-size", "16");
        Assert.AreEqual(2, exists.ExitCode);
        StringAssert.Contains(exists.Error, "already exists");
        var twice = CliHarness.Run("quantize", "-m", tmp.File("q8"), "-o", tmp.File("x"), "--bits", "4", "--block-size", "16");
        Assert.AreEqual(1, twice.ExitCode);
        StringAssert.Contains(twice.Error, "already quantized");
        var wide = CliHarness.Run("quantize", "-m", fp32, "-o", tmp.File("x"), "--bits", "4", "--block-size", "64");
        Assert.AreEqual(1, wide.ExitCode);
        StringAssert.Contains(wide.Error, "does not divide the model width 32");
        Assert.IsFalse(Directory.Exists(tmp.File("x")), "no output folder after a refused run");

        // convert gpt2 --quantize writes the same graph as quantizing the fp32 conversion.
        var convert = CliHarness.Run("convert", "gpt2", "--help");
        StringAssert.Contains(convert.Out, "--quantize");
    }
}
