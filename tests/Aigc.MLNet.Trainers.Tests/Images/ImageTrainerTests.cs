using Aigc.MLNet.Testing;
using Aigc.MLNet.Trainers.Images;
using Aigc.MLNet.Trainers.Training;
using Aigc.MLNet.Transforms;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Trainers.Tests.Images;

[TestClass]
public sealed class ImageTrainerTests
{
    private static GanOptions TinyGan(string folder, string? checkpoints = null) => new()
    {
        ModelFolder = folder, LatentSize = 8, BatchSize = 16, Epochs = 2, Seed = 7, CheckpointFolder = checkpoints, ReportEveryNSteps = 1,
    };

    private static VaeOptions TinyVae(string folder, string? checkpoints = null) => new()
    {
        ModelFolder = folder, LatentSize = 4, HiddenSize = 32, BatchSize = 16, Epochs = 2, Seed = 7, CheckpointFolder = checkpoints, ReportEveryNSteps = 1,
    };

    [TestMethod]
    public void GanFitReturnsAGenerateImagesTransformerThatIsDeterministic()
    {
        var ml = new MLContext(1);
        string folder = ImageTestData.TempFolder("gan");
        var reports = new List<TrainingProgress>();
        var options = TinyGan(folder);
        options.Progress = new SyncProgress(reports.Add);
        var model = ml.Generative().Trainers.Gan(options).Fit(ImageTestData.View(ml, 48));

        Assert.AreEqual(6, reports.Count);                       // 3 steps per epoch, one report per step
        Assert.AreEqual(2, reports.Count(r => r.IsEpochEnd));
        Assert.IsTrue(reports.All(r => r.Losses.ContainsKey("Discriminator") && r.Losses.ContainsKey("Generator") && r.SamplesPerSecond > 0));
        Assert.AreEqual(6, reports[^1].Step);

        var images = ml.Data.CreateEnumerable<ImageOut>(model.Transform(SavedPipelineProbe.Input(ml, "seeds", 3)), false).ToArray();
        Assert.AreEqual(3, images.Length);
        Assert.IsTrue(images.All(i => i.Image.Length == 784 && i.Image.All(v => v is >= 0 and <= 1)));
        CollectionAssert.AreNotEqual(images[0].Image, images[1].Image);
        var again = ml.Data.CreateEnumerable<ImageOut>(model.Transform(SavedPipelineProbe.Input(ml, "seeds", 3)), false).ToArray();
        CollectionAssert.AreEqual(images[2].Image, again[2].Image);
    }

    [TestMethod]
    public void FittedPipelinesGiveIdenticalOutputsAfterLoadingInAFreshProcess()
    {
        var ml = new MLContext(1);
        // Unconditional GAN, conditional GAN and VAE: save each fitted transformer, load it in a new process, compare bits.
        var cases = new List<(ITransformer Model, IDataView Schema, string Kind, string[] Columns)>();
        var gan = ml.Generative().Trainers.Gan(TinyGan(ImageTestData.TempFolder("gan-save")));
        cases.Add((gan.Fit(ImageTestData.View(ml, 32)), SavedPipelineProbe.Input(ml, "seeds", 1), "seeds", ["Image"]));
        var cganOptions = TinyGan(ImageTestData.TempFolder("cgan-save"));
        cganOptions.LabelColumnName = "Label";
        var cgan = ml.Generative().Trainers.Gan(cganOptions);
        cases.Add((cgan.Fit(ImageTestData.View(ml, 32, withLabels: true)), SavedPipelineProbe.Input(ml, "seeds-labels", 1), "seeds-labels", ["Image"]));
        var vaeData = SavedPipelineProbe.Input(ml, "pixels", 32);
        var vae = ml.Generative().Trainers.Vae(TinyVae(ImageTestData.TempFolder("vae-save")));
        cases.Add((vae.Fit(vaeData), vaeData, "pixels", ["LatentMean", "LatentLogVariance", "Reconstruction"]));

        foreach (var (model, schema, kind, columns) in cases)
        {
            string zip = Path.Combine(ImageTestData.TempFolder("zip"), "model.zip");
            ml.Model.Save(model, schema.Schema, zip);
            string inProcess = SavedPipelineProbe.Dump(model.Transform(SavedPipelineProbe.Input(ml, kind, 4)), columns);
            string fresh = SavedPipelineProbe.RunInFreshProcess(zip, kind, 4, columns);
            Assert.AreEqual(4, inProcess.Count(c => c == '\n'), kind);
            Assert.AreEqual(inProcess, fresh, kind);
        }
    }

    [TestMethod]
    public void ConditionalGanGeneratesDifferentImagesPerLabel()
    {
        var ml = new MLContext(1);
        var options = TinyGan(ImageTestData.TempFolder("cgan"));
        options.LabelColumnName = "Label";
        var model = ml.Generative().Trainers.Gan(options).Fit(ImageTestData.View(ml, 32, withLabels: true));
        var rows = ml.Data.LoadFromEnumerable(new[] { new SeedLabel { Seed = 5, Label = 1 }, new SeedLabel { Seed = 5, Label = 2 } });
        var images = ml.Data.CreateEnumerable<ImageOut>(model.Transform(rows), false).ToArray();
        Assert.AreEqual(2, images.Length);
        CollectionAssert.AreNotEqual(images[0].Image, images[1].Image);
    }

    [TestMethod]
    public void BadTrainingInputFailsWithClearErrors()
    {
        var ml = new MLContext(1);
        var gan = ml.Generative().Trainers.Gan(TinyGan(ImageTestData.TempFolder("bad")));
        var vae = ml.Generative().Trainers.Vae(TinyVae(ImageTestData.TempFolder("bad")));

        var missing = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => gan.Fit(ml.Data.LoadFromEnumerable(new[] { new ImageTestData.IntRow() })));
        StringAssert.Contains(missing.Message, "'Pixels'");
        var wrongSize = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => vae.Fit(ml.Data.LoadFromEnumerable(new[] { new ImageTestData.SmallRow { Pixels = new float[10] } })));
        StringAssert.Contains(wrongSize.Message, "Vector<Single, 784>");
        StringAssert.Contains(wrongSize.Message, "'Pixels'");

        var nanPixels = ImageTestData.Pixels(3, 1);
        nanPixels[784 + 17] = float.NaN;
        var nanView = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 3).Select(i => new ImageTestData.Row { Pixels = nanPixels.AsSpan(i * 784, 784).ToArray() }));
        var nan = Assert.ThrowsExactly<InvalidDataException>(() => gan.Fit(nanView));
        StringAssert.Contains(nan.Message, "row 1, pixel 17 is NaN");

        var empty = Assert.ThrowsExactly<InvalidDataException>(() => vae.Fit(ml.Data.LoadFromEnumerable(Array.Empty<ImageTestData.Row>())));
        StringAssert.Contains(empty.Message, "empty");

        var cganOptions = TinyGan(ImageTestData.TempFolder("bad"));
        cganOptions.LabelColumnName = "Digit";
        var noLabel = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Generative().Trainers.Gan(cganOptions).Fit(ImageTestData.View(ml, 8)));
        StringAssert.Contains(noLabel.Message, "Label column 'Digit'");

        Assert.ThrowsExactly<ArgumentException>(() => ml.Generative().Trainers.Gan(new GanOptions()));                       // no ModelFolder
        var cuda = TinyVae(ImageTestData.TempFolder("bad"));
        cuda.Device = "cuda";
        var noCuda = Assert.ThrowsExactly<InvalidOperationException>(() => ml.Generative().Trainers.Vae(cuda).Fit(ImageTestData.View(ml, 8)));
        StringAssert.Contains(noCuda.Message, "CUDA is not available");
    }

    [TestMethod]
    public void ResumingFromACheckpointGivesBitIdenticalWeights()
    {
        var ml = new MLContext(1);
        var data = ImageTestData.View(ml, 48);
        foreach (bool isGan in new[] { true, false })
        {
            string straight = ImageTestData.TempFolder("straight");
            Train(ml, isGan, straight, epochs: 2, data);

            string resumed = ImageTestData.TempFolder("resumed");
            var first = Train(ml, isGan, resumed, epochs: 1, data);
            Assert.AreEqual(3, first.Summary.Steps);
            var second = Train(ml, isGan, resumed, epochs: 2, data, resume: true);
            Assert.AreEqual(6, second.Summary.Steps);
            Assert.AreEqual(3, second.Summary.StepsThisRun);

            AssertSameFiles(straight, resumed, isGan);
        }
    }

    [TestMethod]
    public void CancellingMidEpochThenResumingGivesTheSameFinalWeights()
    {
        var ml = new MLContext(1);
        var data = ImageTestData.View(ml, 48);
        foreach (bool isGan in new[] { true, false })
        {
            string straight = ImageTestData.TempFolder("straight");
            Train(ml, isGan, straight, epochs: 2, data);

            string interrupted = ImageTestData.TempFolder("cancelled");
            using var cts = new CancellationTokenSource();
            var cancelled = Assert.ThrowsExactly<OperationCanceledException>(() =>
                Train(ml, isGan, interrupted, epochs: 2, data, progress: p => { if (p.Step == 4) cts.Cancel(); }, token: cts.Token));
            StringAssert.Contains(cancelled.Message, "before step 4");
            Assert.IsTrue(File.Exists(Path.Combine(interrupted, "ckpt", "checkpoint.bin")));
            Assert.IsFalse(Directory.EnumerateFiles(Path.Combine(interrupted, "ckpt"), "*.tmp").Any());
            var rest = Train(ml, isGan, interrupted, epochs: 2, data, resume: true);
            Assert.AreEqual(2, rest.Summary.StepsThisRun);

            AssertSameFiles(straight, interrupted, isGan);
        }
    }

    [TestMethod]
    public void CosineScheduleAndKlWarmupOfADeepVaeResumeBitIdentically()
    {
        var ml = new MLContext(1);
        var data = ImageTestData.View(ml, 48);
        VaeOptions Deep(string root, LearningRateSchedule schedule, double klWarmup = 1) => new()
        {
            ModelFolder = Path.Combine(root, "model"), CheckpointFolder = Path.Combine(root, "ckpt"), LatentSize = 4, HiddenSize = 32, HiddenLayers = 2,
            LearningRateSchedule = schedule, KlWarmupEpochs = klWarmup, LearningRate = 3e-3, BatchSize = 16, Epochs = 2, Seed = 7, ReportEveryNSteps = 0,
        };
        string straight = ImageTestData.TempFolder("cos-straight");
        var full = ml.Generative().Trainers.Vae(Deep(straight, LearningRateSchedule.Cosine)).Train(data);
        Assert.AreEqual(6, full.Summary.Steps);
        // Reported losses are the full negative ELBO whatever the KL weight of the training loss.
        Assert.AreEqual(full.Summary.FinalLosses["Reconstruction"] + full.Summary.FinalLosses["Kl"], full.Summary.FinalLosses["Nelbo"], 1e-3);

        // Stopped after 2 of the 6 planned steps (MaxSteps), then resumed without it: the schedule spans the planned
        // epochs, so the resumed run sees the same learning rates and ends with the same bits.
        string resumed = ImageTestData.TempFolder("cos-resumed");
        var head = Deep(resumed, LearningRateSchedule.Cosine);
        head.MaxSteps = 2;
        Assert.AreEqual(2, ml.Generative().Trainers.Vae(head).Train(data).Summary.Steps);
        var tail = Deep(resumed, LearningRateSchedule.Cosine);
        tail.Resume = true;
        Assert.AreEqual(4, ml.Generative().Trainers.Vae(tail).Train(data).Summary.StepsThisRun);
        AssertSameFiles(straight, resumed, isGan: false);

        // Neither the schedule nor the warm-up is a no-op: without either the run ends elsewhere.
        string constant = ImageTestData.TempFolder("cos-constant");
        ml.Generative().Trainers.Vae(Deep(constant, LearningRateSchedule.Constant)).Train(data);
        string noWarmup = ImageTestData.TempFolder("cos-nowarmup");
        ml.Generative().Trainers.Vae(Deep(noWarmup, LearningRateSchedule.Cosine, klWarmup: 0)).Train(data);
        byte[] decoder = File.ReadAllBytes(Path.Combine(straight, "model", "decoder.onnx"));
        CollectionAssert.AreNotEqual(decoder, File.ReadAllBytes(Path.Combine(constant, "model", "decoder.onnx")));
        CollectionAssert.AreNotEqual(decoder, File.ReadAllBytes(Path.Combine(noWarmup, "model", "decoder.onnx")));
    }

    [TestMethod]
    public void GanLabelSmoothingAndDiscriminatorLearningRateAreValidatedAndUsed()
    {
        var ml = new MLContext(1);
        var bad = TinyGan(ImageTestData.TempFolder("bad"));
        bad.RealLabel = 0.4;
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Generative().Trainers.Gan(bad)).Message, "RealLabel");
        bad.RealLabel = 1;
        bad.DiscriminatorLearningRate = 0;
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Generative().Trainers.Gan(bad)).Message, "DiscriminatorLearningRate");
        var deep = TinyVae(ImageTestData.TempFolder("bad"));
        deep.HiddenLayers = 0;
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Generative().Trainers.Vae(deep)).Message, "HiddenLayers");
        deep.HiddenLayers = 1;
        deep.KlWarmupEpochs = deep.Epochs + 1;
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Generative().Trainers.Vae(deep)).Message, "KlWarmupEpochs");

        // Same seed and data: the default run, a smoothed run and a run with a slower discriminator all differ after
        // the first step, and each is reproducible.
        var data = ImageTestData.View(ml, 16);
        float Loss(double realLabel, double? dlr)
        {
            var o = TinyGan(ImageTestData.TempFolder("smooth"));
            o.MaxSteps = 1;
            o.RealLabel = realLabel;
            o.DiscriminatorLearningRate = dlr;
            return ml.Generative().Trainers.Gan(o).Train(data).Summary.FinalLosses["Discriminator"];
        }
        float plain = Loss(1, null), smoothed = Loss(0.9, null);
        Assert.AreNotEqual(plain, smoothed);
        Assert.AreEqual(smoothed, Loss(0.9, null));
        // The first step's D loss is computed before any update, so the learning rate shows in the second step only.
        var two = TinyGan(ImageTestData.TempFolder("smooth"));
        two.MaxSteps = 2;
        float fast = ml.Generative().Trainers.Gan(two).Train(data).Summary.FinalLosses["Discriminator"];
        two.ModelFolder = ImageTestData.TempFolder("smooth");
        two.DiscriminatorLearningRate = 1e-5;
        Assert.AreNotEqual(fast, ml.Generative().Trainers.Gan(two).Train(data).Summary.FinalLosses["Discriminator"]);
    }

    [TestMethod]
    public void ProjectionConditionedDcganTrainsDeterministicallyAndItsCheckpointDoesNotResumeAnInputPlaneRun()
    {
        var ml = new MLContext(1);
        var data = ImageTestData.View(ml, 32, withLabels: true);
        GanOptions Options(string root, DiscriminatorConditioning conditioning) => new()
        {
            ModelFolder = Path.Combine(root, "model"), CheckpointFolder = Path.Combine(root, "ckpt"), Architecture = GanArchitecture.Dcgan,
            GeneratorChannels = 8, LabelColumnName = "Label", ClassCount = 10, DiscriminatorConditioning = conditioning,
            LatentSize = 8, BatchSize = 16, MaxSteps = 2, Epochs = 1, Seed = 7, ReportEveryNSteps = 0,
        };
        string first = ImageTestData.TempFolder("proj-a"), second = ImageTestData.TempFolder("proj-b"), planes = ImageTestData.TempFolder("proj-planes");
        var a = ml.Generative().Trainers.Gan(Options(first, DiscriminatorConditioning.Projection)).Train(data);
        var b = ml.Generative().Trainers.Gan(Options(second, DiscriminatorConditioning.Projection)).Train(data);
        Assert.AreEqual(2, a.Summary.Steps);
        CollectionAssert.AreEqual(File.ReadAllBytes(Path.Combine(first, "model", "generator.onnx")), File.ReadAllBytes(Path.Combine(second, "model", "generator.onnx")));
        // The second step's discriminator loss depends on the discriminator: the two conditionings train differently.
        var c = ml.Generative().Trainers.Gan(Options(planes, DiscriminatorConditioning.InputPlanes)).Train(data);
        Assert.AreNotEqual(a.Summary.FinalLosses["Discriminator"], c.Summary.FinalLosses["Discriminator"]);

        // A projection checkpoint cannot continue an input-plane run: the discriminators' weights have other shapes.
        var resume = Options(first, DiscriminatorConditioning.InputPlanes);
        resume.Resume = true;
        resume.MaxSteps = 4;
        var e = Assert.ThrowsExactly<InvalidDataException>(() => ml.Generative().Trainers.Gan(resume).Train(data));
        StringAssert.Contains(e.Message, ":dproj");
        var invalid = Options(ImageTestData.TempFolder("proj-bad"), (DiscriminatorConditioning)9);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Generative().Trainers.Gan(invalid)).Message, "DiscriminatorConditioning");
    }

    [TestMethod]
    public void ResumingWithADifferentSeedIsRejected()
    {
        var ml = new MLContext(1);
        var data = ImageTestData.View(ml, 16);
        string folder = ImageTestData.TempFolder("seed");
        Train(ml, false, folder, epochs: 1, data);
        var options = TinyVae(Path.Combine(folder, "model"), Path.Combine(folder, "ckpt"));
        options.Seed = 8;
        options.Resume = true;
        var e = Assert.ThrowsExactly<ArgumentException>(() => ml.Generative().Trainers.Vae(options).Fit(data));
        StringAssert.Contains(e.Message, "Seed 7");
    }

    private static ImageTrainingResult Train(MLContext ml, bool isGan, string root, int epochs, IDataView data, bool resume = false,
        Action<TrainingProgress>? progress = null, CancellationToken token = default)
    {
        string model = Path.Combine(root, "model"), checkpoints = Path.Combine(root, "ckpt");
        if (isGan)
        {
            var o = TinyGan(model, checkpoints);
            o.Epochs = epochs; o.Resume = resume; o.CheckpointEveryNSteps = 2; o.CancellationToken = token;
            o.Progress = progress is null ? null : new SyncProgress(progress);
            return ml.Generative().Trainers.Gan(o).Train(data);
        }
        var v = TinyVae(model, checkpoints);
        v.Epochs = epochs; v.Resume = resume; v.CheckpointEveryNSteps = 2; v.CancellationToken = token;
        v.Progress = progress is null ? null : new SyncProgress(progress);
        return ml.Generative().Trainers.Vae(v).Train(data);
    }

    private static void AssertSameFiles(string a, string b, bool isGan)
    {
        // The checkpoint holds every module's weights and the optimizers' state; the ONNX files hold the exported weights.
        string[] files = isGan ? ["ckpt/checkpoint.bin", "model/generator.onnx"] : ["ckpt/checkpoint.bin", "model/encoder.onnx", "model/decoder.onnx"];
        foreach (string f in files)
            CollectionAssert.AreEqual(File.ReadAllBytes(Path.Combine(a, f)), File.ReadAllBytes(Path.Combine(b, f)), $"{(isGan ? "GAN" : "VAE")} {f}");
    }

    private sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }

    private sealed class ImageOut
    {
        [VectorType(784)]
        public float[] Image { get; set; } = [];
    }

    private sealed class SeedLabel
    {
        public int Seed { get; set; }
        public int Label { get; set; }
    }
}
