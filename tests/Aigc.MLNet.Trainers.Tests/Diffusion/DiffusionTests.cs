using Aigc.MLNet.Testing;
using Aigc.MLNet.Trainers.Diffusion;
using Aigc.MLNet.Trainers.Export;
using Aigc.MLNet.Trainers.Models;
using Aigc.MLNet.Trainers.Tests.Images;
using Aigc.MLNet.Trainers.Training;
using Aigc.MLNet.Transforms;
using Aigc.MLNet.Transforms.Images;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using TorchSharp;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Tests.Diffusion;

[TestClass]
public sealed class DiffusionTests
{
    private static DiffusionOptions Tiny(string folder, string? checkpoints = null) => new()
    {
        ModelFolder = folder, BaseChannels = 8, Timesteps = 40, BatchSize = 16, Epochs = 2, Seed = 7, SamplingSteps = 4,
        CheckpointFolder = checkpoints, ReportEveryNSteps = 1, LearningRate = 1e-3,
    };

    [TestMethod]
    public void OnnxDenoiserMatchesTorchSharpAtEveryDenoisingStep()
    {
        foreach (int classes in new[] { 0, 10 })
        {
            torch.manual_seed(11);
            using var model = new DiffusionUNet(baseChannels: 8, timesteps: 30, classCount: classes);
            // Move the weights away from their initialisation (GroupNorm γ/β start at 1/0, biases small).
            using (no_grad())
                foreach (var p in model.parameters()) p.add_(randn_like(p) * 0.05);
            model.eval();
            using var session = new InferenceSession(DiffusionModelExport.Denoiser(model).ToArray());
            var schedule = new NoiseSchedule(NoiseScheduleKind.Linear, 30);
            long[] labels = classes > 0 ? [0, 7, 10] : [];                       // 10 = "no class"
            double worst = 0;
            // The sampling loop over both predictors: at every step, ε̂ from ONNX Runtime matches TorchSharp's.
            NoisePredictor torchPredictor = (x, rows, t, eps) =>
            {
                using var scope = NewDisposeScope();
                using var noGrad = no_grad();
                var output = model.forward(tensor(x.ToArray(), [rows, 784]), full([rows], (long)t, ScalarType.Int64),
                    classes > 0 ? tensor(labels) : null);
                output.data<float>().ToArray().CopyTo(eps);
            };
            NoisePredictor onnxPredictor = (x, rows, t, eps) =>
            {
                using var xValue = OrtValue.CreateTensorValueFromMemory(x.ToArray(), [rows, 784]);
                using var tValue = OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat((long)t, rows).ToArray(), [rows]);
                using var lValue = OrtValue.CreateTensorValueFromMemory(labels, [labels.Length]);
                using var outputs = classes > 0
                    ? session.Run(new RunOptions(), ["x", "t", "label"], [xValue, tValue, lValue], ["epsilon"])
                    : session.Run(new RunOptions(), ["x", "t"], [xValue, tValue], ["epsilon"]);
                outputs[0].GetTensorDataAsSpan<float>().CopyTo(eps);
                var expected = new float[eps.Length];
                torchPredictor(x, rows, t, expected);
                worst = Math.Max(worst, MaxAbsDiff(expected, eps));
            };
            var sample = DiffusionSampler.Sample(schedule, onnxPredictor, [1, 2, 3], 784, DiffusionSamplerKind.Ddim, 10, 0.5, clipDenoised: true);
            Assert.AreEqual(3 * 784, sample.Length);
            Assert.IsLessThanOrEqualTo(1e-4, worst, $"classes {classes}: max |ε_onnx − ε_torch| over 10 steps = {worst}");
            var torchSample = DiffusionSampler.Sample(schedule, torchPredictor, [1, 2, 3], 784, DiffusionSamplerKind.Ddim, 10, 0.5, clipDenoised: true);
            Assert.IsLessThanOrEqualTo(1e-3, MaxAbsDiff(torchSample, sample), $"classes {classes}: final samples");
        }
    }

    [TestMethod]
    public void TrainingNoisesInClosedFormAndOneStepLowersTheLossOnFixedData()
    {
        torch.manual_seed(3);
        var schedule = new NoiseSchedule(NoiseScheduleKind.Cosine, 40);
        using var model = new DiffusionUNet(8, 40, classCount: 10);
        using var task = new DiffusionTrainingTask(model, null, schedule, learningRate: 5e-4, labelDropout: 0, clip: 1.0, CPU);
        using var scope = NewDisposeScope();
        var pixels = tensor(ImageTestData.Pixels(8, 5), [8, 784]);
        var labels = tensor(new long[] { 0, 1, 2, 3, 4, 5, 6, 7 });
        var t = tensor(new long[] { 0, 5, 10, 15, 20, 25, 30, 39 });
        var noise = randn(8, 784);

        // q(x_t | x_0) used by the trainer equals the closed form of NoiseSchedule.AddNoise (row by row, own t).
        var x0 = pixels * 2 - 1;
        var noisy = task.AddNoise(x0, t, noise).data<float>().ToArray();
        float[] x0s = x0.data<float>().ToArray(), eps = noise.data<float>().ToArray();
        var expected = new float[784];
        for (int r = 0; r < 8; r++)
        {
            schedule.AddNoise(x0s.AsSpan(r * 784, 784), eps.AsSpan(r * 784, 784), (int)t[r].item<long>(), expected);
            Assert.IsLessThanOrEqualTo(1e-6, MaxAbsDiff(expected, noisy.AsSpan(r * 784, 784)), $"row {r}");
        }

        float before = task.StepOn(pixels, labels, t, noise);
        float after;
        using (no_grad()) after = task.Loss(pixels, labels, t, noise).item<float>();
        Assert.IsLessThan(before, after, $"loss {before} → {after}");
        Assert.IsGreaterThan(0.5f, before);                                    // an untrained ε-predictor: MSE near Var(ε) = 1
    }

    [TestMethod]
    public void FitReturnsADeterministicGenerateImagesTransformerThatMatchesBatchedGeneration()
    {
        var ml = new MLContext(1);
        string folder = ImageTestData.TempFolder("ddpm");
        var reports = new List<TrainingProgress>();
        var options = Tiny(folder);
        options.Progress = new SyncProgress(reports.Add);
        var model = ml.Generative().Trainers.Diffusion(options).Fit(ImageTestData.View(ml, 48));

        Assert.AreEqual(6, reports.Count);
        Assert.AreEqual(2, reports.Count(r => r.IsEpochEnd));
        Assert.IsTrue(reports.All(r => r.Losses.ContainsKey("Mse") && float.IsFinite(r.Losses["Mse"])));
        var manifest = ImageModelManifest.Load(folder);
        Assert.AreEqual("Diffusion", manifest.Kind);
        Assert.AreEqual(40, manifest.Timesteps);
        Assert.AreEqual("denoiser.onnx", manifest.DenoiserFile);

        var images = ml.Data.CreateEnumerable<ImageOut>(model.Transform(SavedPipelineProbe.Input(ml, "seeds", 3)), false).ToArray();
        Assert.AreEqual(3, images.Length);
        Assert.IsTrue(images.All(i => i.Image.Length == 784 && i.Image.All(v => v is >= 0 and <= 1)));
        CollectionAssert.AreNotEqual(images[0].Image, images[1].Image);
        var again = ml.Data.CreateEnumerable<ImageOut>(model.Transform(SavedPipelineProbe.Input(ml, "seeds", 3)), false).ToArray();
        CollectionAssert.AreEqual(images[2].Image, again[2].Image);

        // The batched generator gives the transform's images (seeds 100..102, DDIM 4 steps, η = 0).
        using var generator = DiffusionImageGenerator.Open(folder);
        var batch = generator.Generate([100, 101, 102], [], new DiffusionSamplingOptions { Steps = 4 });
        for (int r = 0; r < 3; r++)
            Assert.IsLessThanOrEqualTo(1e-4, MaxAbsDiff(images[r].Image, batch.AsSpan(r * 784, 784)), $"row {r}");
    }

    [TestMethod]
    public void FittedDiffusionPipelinesGiveIdenticalOutputsAfterLoadingInAFreshProcess()
    {
        var ml = new MLContext(1);
        var cases = new List<(ITransformer Model, IDataView Schema, string Kind)>();
        var plain = Tiny(ImageTestData.TempFolder("ddpm-save"));
        plain.Epochs = 1;
        plain.Sampler = DiffusionSamplerKind.Ddpm;                                 // ancestral sampling over all 40 steps
        cases.Add((ml.Generative().Trainers.Diffusion(plain).Fit(ImageTestData.View(ml, 16)), SavedPipelineProbe.Input(ml, "seeds", 1), "seeds"));
        var guided = Tiny(ImageTestData.TempFolder("cddpm-save"));
        guided.Epochs = 1;
        guided.LabelColumnName = "Label";
        guided.GuidanceScale = 2.5;
        guided.Eta = 0.5;
        cases.Add((ml.Generative().Trainers.Diffusion(guided).Fit(ImageTestData.View(ml, 16, withLabels: true)), SavedPipelineProbe.Input(ml, "seeds-labels", 1), "seeds-labels"));

        foreach (var (model, schema, kind) in cases)
        {
            string zip = Path.Combine(ImageTestData.TempFolder("zip"), "model.zip");
            ml.Model.Save(model, schema.Schema, zip);
            string inProcess = SavedPipelineProbe.Dump(model.Transform(SavedPipelineProbe.Input(ml, kind, 3)), ["Image"]);
            string fresh = SavedPipelineProbe.RunInFreshProcess(zip, kind, 3, ["Image"]);
            Assert.AreEqual(3, inProcess.Count(c => c == '\n'), kind);
            Assert.AreEqual(inProcess, fresh, kind);
        }
    }

    [TestMethod]
    public void ResumingOrCancellingThenResumingGivesBitIdenticalWeights()
    {
        var ml = new MLContext(1);
        var data = ImageTestData.View(ml, 48, withLabels: true);
        string straight = ImageTestData.TempFolder("ddpm-straight");
        Train(ml, straight, epochs: 2, data);

        string resumed = ImageTestData.TempFolder("ddpm-resumed");
        Assert.AreEqual(3, Train(ml, resumed, epochs: 1, data).Summary.Steps);
        var second = Train(ml, resumed, epochs: 2, data, resume: true);
        Assert.AreEqual(6, second.Summary.Steps);
        Assert.AreEqual(3, second.Summary.StepsThisRun);
        AssertSameFiles(straight, resumed);

        string interrupted = ImageTestData.TempFolder("ddpm-cancelled");
        using var cts = new CancellationTokenSource();
        var cancelled = Assert.ThrowsExactly<OperationCanceledException>(() =>
            Train(ml, interrupted, epochs: 2, data, progress: p => { if (p.Step == 4) cts.Cancel(); }, token: cts.Token));
        StringAssert.Contains(cancelled.Message, "before step 4");
        Assert.AreEqual(2, Train(ml, interrupted, epochs: 2, data, resume: true).Summary.StepsThisRun);
        AssertSameFiles(straight, interrupted);
    }

    [TestMethod]
    public void BadInputsFailWithClearErrors()
    {
        var ml = new MLContext(1);
        string folder = ImageTestData.TempFolder("ddpm-bad");
        DiffusionOptions With(Action<DiffusionOptions> change) { var o = Tiny(folder); change(o); return o; }

        var t = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Generative().Trainers.Diffusion(With(o => o.Timesteps = 0)));
        StringAssert.Contains(t.Message, "Timesteps (T) must be positive");
        var steps = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Generative().Trainers.Diffusion(With(o => o.SamplingSteps = 41)));
        StringAssert.Contains(steps.Message, "SamplingSteps must be in 1..40");
        var guidance = Assert.ThrowsExactly<ArgumentException>(() => ml.Generative().Trainers.Diffusion(With(o => o.GuidanceScale = 3)));
        StringAssert.Contains(guidance.Message, "needs a class-conditional model");
        var channels = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Generative().Trainers.Diffusion(With(o => o.BaseChannels = 12)));
        StringAssert.Contains(channels.Message, "multiple of 8");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Generative().Trainers.Diffusion(With(o => o.LabelDropout = 1)));
        Assert.ThrowsExactly<ArgumentException>(() => ml.Generative().Trainers.Diffusion(new DiffusionOptions()));   // no ModelFolder

        var trainer = ml.Generative().Trainers.Diffusion(Tiny(folder));
        var wrongSize = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => trainer.Fit(ml.Data.LoadFromEnumerable(new[] { new ImageTestData.SmallRow { Pixels = new float[10] } })));
        StringAssert.Contains(wrongSize.Message, "'Pixels'");
        StringAssert.Contains(wrongSize.Message, "Vector<Single, 784>");

        // Serving a trained folder: steps beyond T, guidance on an unconditional model, a label on an unconditional model.
        var options = Tiny(folder);
        options.Epochs = 1;
        trainer = ml.Generative().Trainers.Diffusion(options);
        trainer.Train(ImageTestData.View(ml, 16));
        var tooMany = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
            ml.Transforms.GenerateImages(new GenerateImagesOptions { ModelFolder = folder, SamplingSteps = 50 }));
        StringAssert.Contains(tooMany.Message, "SamplingSteps must be in 1..40");
        var unguided = Assert.ThrowsExactly<ArgumentException>(() =>
            ml.Transforms.GenerateImages(new GenerateImagesOptions { ModelFolder = folder, SamplingSteps = 5, GuidanceScale = 2 }));
        StringAssert.Contains(unguided.Message, "unconditional");
        var label = Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.GenerateImages(folder, labelColumnName: "Label"));
        StringAssert.Contains(label.Message, "LabelColumnName must be null");
        using var generator = DiffusionImageGenerator.Open(folder);
        var labels = Assert.ThrowsExactly<ArgumentException>(() => generator.Generate([1], [3], new DiffusionSamplingOptions { Steps = 2 }));
        StringAssert.Contains(labels.Message, "unconditional");
        var notDiffusion = Assert.ThrowsExactly<FileNotFoundException>(() => DiffusionImageGenerator.Open(ImageTestData.TempFolder("empty")));
        StringAssert.Contains(notDiffusion.Message, "model.json");
    }

    private static Aigc.MLNet.Trainers.Images.ImageTrainingResult Train(MLContext ml, string root, int epochs, IDataView data, bool resume = false,
        Action<TrainingProgress>? progress = null, CancellationToken token = default)
    {
        var o = Tiny(Path.Combine(root, "model"), Path.Combine(root, "ckpt"));
        o.LabelColumnName = "Label";
        o.Epochs = epochs; o.Resume = resume; o.CheckpointEveryNSteps = 2; o.CancellationToken = token;
        o.Progress = progress is null ? null : new SyncProgress(progress);
        return ml.Generative().Trainers.Diffusion(o).Train(data);
    }

    private static void AssertSameFiles(string a, string b)
    {
        foreach (string f in new[] { "ckpt/checkpoint.bin", "model/denoiser.onnx" })
            CollectionAssert.AreEqual(File.ReadAllBytes(Path.Combine(a, f)), File.ReadAllBytes(Path.Combine(b, f)), f);
    }

    internal static double MaxAbsDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Assert.AreEqual(a.Length, b.Length);
        double worst = 0;
        for (int i = 0; i < a.Length; i++) worst = Math.Max(worst, Math.Abs(a[i] - b[i]));
        return worst;
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
}
