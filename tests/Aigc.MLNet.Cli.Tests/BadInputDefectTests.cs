using Aigc.MLNet.Cli.Commands;
using Aigc.MLNet.Cli.Jobs;
using Aigc.MLNet.Onnx.Generation;
using Aigc.MLNet.Onnx.Runtime;
using Aigc.MLNet.Trainers.Images;
using Aigc.MLNet.Trainers.Native;
using Aigc.MLNet.Transforms;
using Aigc.MLNet.Transforms.Images;
using Microsoft.ML;
using Microsoft.ML.Data;
using SkiaSharp;

namespace Aigc.MLNet.Cli.Tests;

/// <summary>
/// Defects of the bad-input battery that a single command line cannot show: the library side of a check, a file left
/// by a killed writer, a streamed picture, a real libtorch allocation failure. SIGTERM is in <see cref="CtrlCTests"/>.
/// </summary>
[TestClass]
public sealed class BadInputDefectTests
{
    /// <summary>Defect 7: banning every token fails naming BadWordsIds, instead of emitting the banned end-of-sequence token.</summary>
    [TestMethod]
    public void EveryTokenBanned_FailsNamingBadWordsIds_WhateverTheSearch()
    {
        using var tmp = new TempFolder();
        TinyModels.CharGpt(tmp.Path);
        using var lm = CausalLM.Load(tmp.Path);
        var generator = new TextGenerator(lm);
        int vocab = lm.Config.VocabSize;
        int eos = lm.Config.EosTokenIds[0];
        int[][] all = Enumerable.Range(0, vocab).Select(i => new[] { i }).ToArray();
        var searches = new[]
        {
            new GenerationOptions { MaxNewTokens = 3, BadWordsIds = all },
            new GenerationOptions { MaxNewTokens = 3, BadWordsIds = all, DoSample = true, Seed = 1 },
            new GenerationOptions { MaxNewTokens = 3, BadWordsIds = all, NumBeams = 2 },
        };
        foreach (var options in searches)
        {
            var e = Assert.ThrowsExactly<ArgumentException>(() => generator.Generate("ab", options));
            StringAssert.StartsWith(e.Message, "BadWordsIds bans every token of the vocabulary (ids 0..10) at generated token 1");
            Assert.AreEqual("BadWordsIds", e.ParamName);
        }

        // Everything but the end-of-sequence id: Hugging Face's behaviour stays (the sequence ends at once).
        int[][] allButEos = all.Where(w => w[0] != eos).ToArray();
        var ended = generator.Generate("ab", new GenerationOptions { MaxNewTokens = 3, BadWordsIds = allButEos })[0];
        Assert.AreEqual(FinishReason.EndOfSequence, ended.FinishReason);
        // ... unless MinNewTokens bans that one too.
        var both = Assert.ThrowsExactly<ArgumentException>(() => generator.Generate("ab", new GenerationOptions { MaxNewTokens = 3, BadWordsIds = allButEos, MinNewTokens = 2 }));
        StringAssert.StartsWith(both.Message, "BadWordsIds together with MinNewTokens bans every token");
    }

    /// <summary>Defect 10: the trainers say pixels must be in [0, 1]; bytes of 255 now fail naming the column.</summary>
    [TestMethod]
    public void GanOnPixelsOf255_FailsNamingTheColumn_WritesNothing()
    {
        using var tmp = new TempFolder();
        var ml = new MLContext(seed: 1);
        var rows = Enumerable.Range(0, 8).Select(i => new PixelRow { Pixels = Enumerable.Repeat(255f, 784).ToArray(), Label = i % 10 }).ToArray();
        var schema = SchemaDefinition.Create(typeof(PixelRow));
        schema[nameof(PixelRow.Pixels)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, 784);
        var data = ml.Data.LoadFromEnumerable(rows, schema);
        string model = tmp.File("model");
        var options = new GanOptions { ModelFolder = model, LabelColumnName = "Label", LatentSize = 8, BatchSize = 4, MaxSteps = 1 };
        var e = Assert.ThrowsExactly<InvalidDataException>(() => ml.Generative().Trainers.Gan(options).Train(data));
        Assert.AreEqual("Pixel column 'Pixels': row 0, pixel 0 is 255; pixels must be finite values in [0, 1] (divide 0..255 bytes by 255 first).", e.Message);
        Assert.IsFalse(Directory.Exists(model));
    }

    /// <summary>Defect 8: a tensor libtorch cannot allocate is one line naming the sizes, not 16 lines of C++ frames.</summary>
    [TestMethod]
    public void NativeAllocationFailure_IsOneLineNamingTheSizes()
    {
        TorchRuntime.Initialize();
        // 2^40 floats (4.4 TB): libtorch refuses at once, without touching memory.
        var e = Assert.ThrowsExactly<CliException>(() => TrainCommands.Translated("--batch-size 64, --block-size 8192", () => TorchSharp.torch.empty(1L << 40)));
        Assert.AreEqual(ExitCodes.Failure, e.ExitCode);
        Assert.AreEqual("out of memory: libtorch could not allocate 4.4 TB (4,398,046,511,104 bytes) for one tensor with --batch-size 64, --block-size 8192; use smaller sizes.", e.Message);
        var raw = Assert.Throws<Exception>(() => TorchSharp.torch.empty(1L << 40));
        StringAssert.Contains(raw.Message, "frame #", "libtorch's own message carries its stack frames");
        Assert.AreEqual("out of memory: libtorch could not allocate 4.4 TB (4,398,046,511,104 bytes) for one tensor; use smaller sizes.", FailureMessage.For(raw));
    }

    /// <summary>Defect 3 (CLI side): the row error ML.NET wraps is what the one-line message shows.</summary>
    [TestMethod]
    public void WrappedRowErrors_ShowTheirCause()
    {
        var cause = new InvalidDataException("'m/generator.onnx' is damaged.");
        var wrapped = new InvalidOperationException("Splitter/consolidator worker encountered exception while consuming source data", cause);
        Assert.AreEqual("'m/generator.onnx' is damaged.", FailureMessage.For(wrapped));
        Assert.AreEqual("'m/generator.onnx' is damaged.", FailureMessage.For(new AggregateException(new System.Reflection.TargetInvocationException(wrapped))));
        var ordinary = new InvalidOperationException("A message of its own.", cause);
        Assert.AreEqual("A message of its own.", FailureMessage.For(ordinary), "only ML.NET's wrappers are unwrapped");
        Assert.AreEqual("TopK must be 0 or more.", FailureMessage.For(new ArgumentOutOfRangeException("TopK", -1, "TopK must be 0 or more.")));
    }

    /// <summary>
    /// Defect 9: a writer killed during a checkpoint write leaves <c>.checkpoint.bin.&lt;guid&gt;.tmp</c>; the next run removes
    /// it, while the temporary file of a writer that is still alive (it holds the file's lock) stays.
    /// </summary>
    [TestMethod]
    public void TempFileOfAKilledCheckpointWriter_IsRemovedByTheNextRun_ALiveWritersIsNot()
    {
        using var tmp = new TempFolder();
        File.WriteAllText(tmp.File("corpus.txt"), string.Concat(Enumerable.Repeat("a bad cab had a bag; a dead fad.\n", 60)));
        string[] run = ["train", "gpt", "--data", tmp.File("corpus.txt"), "--out", tmp.File("run"), "--batch-size", "2", "--block-size", "8", "--layers", "1",
            "--heads", "1", "--embedding-size", "8", "--threads", "1"];
        Assert.AreEqual(0, CliHarness.Run([.. run, "--iterations", "2"]).ExitCode);
        string checkpoint = tmp.File("run/checkpoint");
        var old = DateTime.UtcNow.AddMinutes(-1);
        // What a SIGKILL during AtomicFile.Write leaves: a partial file of the writer's temporary name, no longer locked.
        string dead = Path.Combine(checkpoint, $".checkpoint.bin.{Guid.NewGuid():N}.tmp");
        File.WriteAllBytes(dead, new byte[1000]);
        File.SetLastWriteTimeUtc(dead, old);
        string live = Path.Combine(checkpoint, $".checkpoint.bin.{Guid.NewGuid():N}.tmp");
        string unrelated = Path.Combine(checkpoint, ".notes.txt.tmp");
        File.WriteAllText(unrelated, "not ours");
        File.SetLastWriteTimeUtc(unrelated, old);
        using (var writer = new FileStream(live, FileMode.CreateNew, FileAccess.Write, FileShare.None))
        {
            writer.Write(new byte[1000]);
            writer.Flush();
            File.SetLastWriteTimeUtc(live, old);

            var resumed = CliHarness.Run([.. run, "--iterations", "4", "--resume"]);
            Assert.AreEqual(0, resumed.ExitCode, resumed.Error);
            Assert.IsFalse(File.Exists(dead), "the dead writer's temporary file is removed");
            Assert.IsTrue(File.Exists(live), "a live writer's temporary file is left alone");
        }
        Assert.IsTrue(File.Exists(unrelated), "files of other names are not touched");
        Assert.AreEqual(1, Onnx.Proto.AtomicFile.DeleteStaleTemporaryFiles(Path.Combine(checkpoint, "checkpoint.bin")), "once its writer is gone it is stale too");
        Assert.AreEqual(4, Trainers.Training.TrainingCheckpointInfo.Read(Path.Combine(checkpoint, "checkpoint.bin")).Steps);
    }

    /// <summary>Defect 1: the sample grid is drawn as images arrive, with the same pixels as the grid built in memory.</summary>
    [TestMethod]
    public void SampleGrid_IsStreamed_WithThePixelsOfTheInMemoryGrid()
    {
        using var tmp = new TempFolder();
        var trained = CliHarness.Run("train", "gan", "--architecture", "mlp", "--latent-size", "16", "--out", tmp.File("gan"), "--rows", "64", "--batch-size", "32",
            "--max-steps", "2", "--samples", "10", "--threads", "1");
        Assert.AreEqual(0, trained.ExitCode, trained.Error);
        var ml = new MLContext(seed: 1);
        string model = tmp.File("gan/model");
        ImageModelJob.SaveSamples(ml, model, tmp.File("streamed.png"), 23, seed: 5);
        byte[] inMemory = ImageGrid.ToPng(ImageModelJob.Generate(ml, model, 23, seed: 5), columns: 10);
        using var streamed = SKBitmap.Decode(tmp.File("streamed.png"));
        using var reference = SKBitmap.Decode(inMemory);
        Assert.AreEqual((reference.Width, reference.Height), (streamed.Width, streamed.Height));
        CollectionAssert.AreEqual(reference.Pixels, streamed.Pixels);
        Assert.AreEqual(0, Directory.GetFiles(tmp.Path, "*.tmp", SearchOption.AllDirectories).Length);

        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsExactly<OperationCanceledException>(() => ImageModelJob.SaveSamples(ml, model, tmp.File("new/stopped.png"), 5000, seed: 5, cts.Token));
        Assert.IsFalse(Directory.Exists(tmp.File("new")), "a stopped grid leaves neither the picture, its temporary file nor its folder");
    }

    private sealed class PixelRow
    {
        public float[] Pixels { get; set; } = [];
        public int Label { get; set; }
    }
}
