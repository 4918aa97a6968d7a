using Aigc.MLNet.Onnx.Proto;
using Aigc.MLNet.Transforms.Images;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Transforms.Tests.Images;

[TestClass]
public sealed class DiffusionServingTests
{
    private const int T = 50;

    /// <summary>ε(x, t, label) = 0.1·x + 0.001·t + table[label] (table row 10 = "no class"), written with the project's writer.</summary>
    private static readonly float[] s_table = TinyImageModels.Weights(11 * 784, 9);

    private static string WriteDenoiser(string folder)
    {
        var g = new OnnxGraph("denoiser");
        g.AddInput("x", OnnxElementType.Float, ["batch", 784]);
        g.AddInput("t", OnnxElementType.Int64, ["batch"]);
        g.AddInput("label", OnnxElementType.Int64, ["batch"]);
        string scaled = g.Apply("Mul", ["x", g.AddScalar("tenth", 0.1f)]);
        string time = g.Apply("Unsqueeze", [g.Apply("Mul", [g.Apply("Cast", ["t"], OnnxAttribute.Int("to", 1)), g.AddScalar("milli", 0.001f)]), g.AddConstant("axis", 1)]);
        string rows = g.Apply("Gather", [g.AddInitializer("table", s_table, [11, 784]), "label"], OnnxAttribute.Int("axis", 0));
        g.AddNode("Add", [g.Apply("Add", [scaled, time]), rows], ["epsilon"]);
        g.AddOutput("epsilon", OnnxElementType.Float, ["batch", 784]);
        new OnnxModel(g).Save(Path.Combine(folder, "denoiser.onnx"));
        new ImageModelManifest
        {
            Kind = "ConditionalDiffusion", Architecture = "Test", LatentSize = 784, ClassCount = 10, DenoiserFile = "denoiser.onnx",
            Timesteps = T, NoiseSchedule = "Cosine",
        }.Save(folder);
        return folder;
    }

    private static NoisePredictor Reference(int[] labels, double guidance) => (x, rows, t, eps) =>
    {
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < 784; j++)
            {
                float shared = 0.1f * x[r * 784 + j] + 0.001f * t;
                float conditional = shared + s_table[labels[r] * 784 + j], unconditional = shared + s_table[10 * 784 + j];
                eps[r * 784 + j] = (float)(unconditional + guidance * (conditional - unconditional));
            }
    };

    [TestMethod]
    public void GuidedGenerationOverOnnxMatchesTheSamplerOverTheSameFunction()
    {
        string folder = WriteDenoiser(TinyImageModels.TempFolder("diffusion"));
        using var generator = DiffusionImageGenerator.Open(folder);
        int[] seeds = [4, 5, 6], labels = [1, 9, 0];
        foreach (var (sampler, steps, eta, guidance) in new[] { (DiffusionSamplerKind.Ddim, 10, 0.0, 3.0), (DiffusionSamplerKind.Ddim, 7, 0.7, 1.0), (DiffusionSamplerKind.Ddpm, 0, 0.0, 0.0) })
        {
            var options = new DiffusionSamplingOptions { Sampler = sampler, Steps = steps, Eta = eta, GuidanceScale = guidance };
            var images = generator.Generate(seeds, labels, options);
            var expected = DiffusionSampler.Sample(generator.Schedule, Reference(labels, guidance), seeds, 784, sampler, steps, eta, clipDenoised: true);
            double worst = 0;
            for (int i = 0; i < images.Length; i++)
                worst = Math.Max(worst, Math.Abs(images[i] - Math.Clamp((expected[i] + 1) / 2, 0, 1)));
            Assert.IsLessThan(1e-4, worst, $"{sampler} steps {steps} eta {eta} w {guidance}");
            Assert.IsTrue(images.All(v => v is >= 0 and <= 1));
        }

        // The ML.NET transform gives the batched generator's images row by row.
        var ml = new MLContext(1);
        var rows = ml.Data.LoadFromEnumerable(seeds.Select((s, i) => new SeedLabel { Seed = s, Digit = labels[i] }));
        var transform = ml.Transforms.GenerateImages(new GenerateImagesOptions
        {
            ModelFolder = folder, LabelColumnName = "Digit", OutputColumnName = "Picture", SamplingSteps = 10, GuidanceScale = 3,
        }).Fit(rows);
        var served = ml.Data.CreateEnumerable<PictureRow>(transform.Transform(rows), false).ToArray();
        var batch = generator.Generate(seeds, labels, new DiffusionSamplingOptions { Steps = 10, GuidanceScale = 3 });
        for (int r = 0; r < 3; r++)
            for (int j = 0; j < 784; j++)
                Assert.AreEqual(batch[r * 784 + j], served[r].Picture[j], 1e-5f);
    }

    [TestMethod]
    public void BadServingInputsAreRejectedWithClearErrors()
    {
        string folder = WriteDenoiser(TinyImageModels.TempFolder("diffusion-bad"));
        using var generator = DiffusionImageGenerator.Open(folder);
        var label = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => generator.Generate([1], [10], new DiffusionSamplingOptions { Steps = 2 }));
        StringAssert.Contains(label.Message, "outside 0..9");
        var count = Assert.ThrowsExactly<ArgumentException>(() => generator.Generate([1, 2], [3], new DiffusionSamplingOptions { Steps = 2 }));
        StringAssert.Contains(count.Message, "expected 2 labels");
        var steps = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => generator.Generate([1], [3], new DiffusionSamplingOptions { Steps = T + 1 }));
        StringAssert.Contains(steps.Message, "SamplingSteps must be in 1..50");
        var w = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => generator.Generate([1], [3], new DiffusionSamplingOptions { Steps = 2, GuidanceScale = -1 }));
        StringAssert.Contains(w.Message, "GuidanceScale");

        var ml = new MLContext(1);
        var noLabel = Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.GenerateImages(folder));
        StringAssert.Contains(noLabel.Message, "conditional diffusion model with 10 classes");
        var rows = ml.Data.LoadFromEnumerable(new[] { new SeedLabel { Seed = 1, Digit = 12 } });
        var transform = ml.Transforms.GenerateImages(new GenerateImagesOptions { ModelFolder = folder, LabelColumnName = "Digit", OutputColumnName = "Picture", SamplingSteps = 2 }).Fit(rows);
        var e = Assert.Throws<Exception>(() => ml.Data.CreateEnumerable<PictureRow>(transform.Transform(rows), false).ToArray());
        var inner = e; while (inner.InnerException is not null) inner = inner.InnerException;
        StringAssert.Contains(inner.Message, "Column 'Digit': label 12 is outside 0..9", e.ToString());

        var gan = new TinyImageModels().WriteGan(TinyImageModels.TempFolder("gan-not-diffusion"));
        var notDiffusion = Assert.ThrowsExactly<ArgumentException>(() => DiffusionImageGenerator.Open(gan));
        StringAssert.Contains(notDiffusion.Message, "not a diffusion model");
    }

    private sealed class SeedLabel
    {
        public int Seed { get; set; }
        public int Digit { get; set; }
    }

    private sealed class PictureRow
    {
        [VectorType(784)]
        public float[] Picture { get; set; } = [];
    }
}
