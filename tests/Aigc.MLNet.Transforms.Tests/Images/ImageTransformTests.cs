using Aigc.MLNet.Testing;
using Aigc.MLNet.Transforms.Images;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Transforms.Tests.Images;

[TestClass]
public sealed class ImageTransformTests
{
    private readonly TinyImageModels _models = new();

    [TestMethod]
    public void GenerateImagesMapsSeedsToTheGeneratorOutput()
    {
        var ml = new MLContext(1);
        string folder = _models.WriteGan(TinyImageModels.TempFolder("gan"));
        var input = SavedPipelineProbe.Input(ml, "seeds", 3);
        var estimator = ml.Transforms.GenerateImages(folder);
        var transformer = estimator.Fit(input);
        Assert.IsNotNull(transformer.GetOutputSchema(input.Schema).GetColumnOrNull("Image"));
        var output = transformer.Transform(input);
        Assert.AreEqual(new VectorDataViewType(NumberDataViewType.Single, 784), output.Schema["Image"].Type);
        Assert.IsNull(output.Schema.GetColumnOrNull(Serving.ConfiguredMapping.ConfigColumnName));   // temporaries dropped
        var rows = ml.Data.CreateEnumerable<SeedImage>(output, false).ToArray();
        Assert.AreEqual(3, rows.Length);
        for (int i = 0; i < 3; i++)
        {
            var expected = _models.Generate(LatentSampler.Sample(100 + i, TinyImageModels.Latent));
            for (int j = 0; j < 784; j++) Assert.AreEqual(expected[j], rows[i].Image[j], 1e-5f);
        }
    }

    [TestMethod]
    public void ConditionalGenerationUsesTheLabelColumn()
    {
        var ml = new MLContext(1);
        string folder = _models.WriteGan(TinyImageModels.TempFolder("cgan"), conditional: true);
        var input = SavedPipelineProbe.Input(ml, "seeds-labels", 3);
        var rows = ml.Data.CreateEnumerable<SeedImage>(ml.Transforms.GenerateImages(folder, labelColumnName: "Label").Fit(input).Transform(input), false).ToArray();
        var expected = _models.Generate(LatentSampler.Sample(102, TinyImageModels.Latent), label: 2);
        Assert.AreEqual(expected[10], rows[2].Image[10], 1e-5f);

        var e = Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.GenerateImages(folder));
        StringAssert.Contains(e.Message, "LabelColumnName");
        var bad = ml.Data.LoadFromEnumerable(new[] { new SeedLabelRow { Seed = 1, Label = 12 } });
        // ML.NET's parallel cursors wrap row-level exceptions; the innermost one carries the message.
        var outOfRange = Innermost(Assert.Throws<Exception>(() =>
            ml.Data.CreateEnumerable<SeedImage>(ml.Transforms.GenerateImages(folder, labelColumnName: "Label").Fit(bad).Transform(bad), false).ToArray()));
        Assert.IsInstanceOfType<InvalidOperationException>(outOfRange);
        StringAssert.Contains(outOfRange.Message, "Column 'Label': label 12 is outside 0..9");
    }

    [TestMethod]
    public void VaeTransformsEncodeDecodeAndReconstruct()
    {
        var ml = new MLContext(1);
        string folder = _models.WriteVae(TinyImageModels.TempFolder("vae"));
        var pixels = SavedPipelineProbe.Input(ml, "pixels", 2);
        var pipeline = ml.Transforms.EncodeLatent(folder).Append(ml.Transforms.Reconstruct(folder));
        var rows = ml.Data.CreateEnumerable<VaeOut>(pipeline.Fit(pixels).Transform(pixels), false).ToArray();
        var (mean, logVariance) = _models.Encode(SavedPipelineProbe.Pixels(1));
        for (int j = 0; j < TinyImageModels.Latent; j++)
        {
            Assert.AreEqual(mean[j], rows[1].LatentMean[j], 1e-3f);
            Assert.AreEqual(logVariance[j], rows[1].LatentLogVariance[j], 1e-3f);
        }
        var reconstruction = _models.Decode(rows[1].LatentMean);
        for (int j = 0; j < 784; j += 61) Assert.AreEqual(reconstruction[j], rows[1].Reconstruction[j], 1e-5f);

        var latent = SavedPipelineProbe.Input(ml, $"latent:{TinyImageModels.Latent}", 2);
        var decoded = ml.Data.CreateEnumerable<SeedImage>(ml.Transforms.DecodeLatent(folder).Fit(latent).Transform(latent), false).ToArray();
        var expected = _models.Decode(SavedPipelineProbe.Latent(1, TinyImageModels.Latent));
        for (int j = 0; j < 784; j++) Assert.AreEqual(expected[j], decoded[1].Image[j], 1e-5f);
    }

    [TestMethod]
    public void SavedPipelinesGiveIdenticalOutputsInAFreshProcess()
    {
        var ml = new MLContext(1);
        string gan = _models.WriteGan(TinyImageModels.TempFolder("gan"));
        string vae = _models.WriteVae(TinyImageModels.TempFolder("vae"));
        var cases = new (IEstimator<ITransformer> Estimator, string Kind, string[] Columns)[]
        {
            (ml.Transforms.GenerateImages(gan), "seeds", ["Image"]),
            (ml.Transforms.EncodeLatent(vae).Append(ml.Transforms.Reconstruct(vae)), "pixels", ["LatentMean", "LatentLogVariance", "Reconstruction"]),
            (ml.Transforms.DecodeLatent(vae), $"latent:{TinyImageModels.Latent}", ["Image"]),
        };
        foreach (var (estimator, kind, columns) in cases)
        {
            var input = SavedPipelineProbe.Input(ml, kind, 3);
            var model = estimator.Fit(input);
            string zip = Path.Combine(TinyImageModels.TempFolder("zip"), "model.zip");
            ml.Model.Save(model, input.Schema, zip);
            string expected = SavedPipelineProbe.Dump(model.Transform(input), columns);
            Assert.AreEqual(expected, SavedPipelineProbe.RunInFreshProcess(zip, kind, 3, columns), kind);

            // Same process, new context: also loads (the Transforms assembly is registered as users must).
            var ml2 = new MLContext(2);
            ml2.ComponentCatalog.RegisterAssembly(typeof(ImageTransformsCatalog).Assembly);
            var loaded = ml2.Model.Load(zip, out _);
            Assert.AreEqual(expected, SavedPipelineProbe.Dump(loaded.Transform(SavedPipelineProbe.Input(ml2, kind, 3)), columns));
        }
    }

    [TestMethod]
    public void ChangedOrMovedModelFilesAreReportedWhenALoadedPipelineRuns()
    {
        var ml = new MLContext(1);
        string folder = _models.WriteGan(TinyImageModels.TempFolder("gan"));
        var input = SavedPipelineProbe.Input(ml, "seeds", 1);
        string zip = Path.Combine(TinyImageModels.TempFolder("zip"), "model.zip");
        using (var built = ml.Transforms.GenerateImages(folder).Fit(input))
            ml.Model.Save(built, input.Schema, zip);
        // Overwrite the generator with another model: the hash in the saved pipeline no longer matches.
        new TinyImageModels { }.WriteGan(folder);
        File.WriteAllBytes(Path.Combine(folder, "generator.onnx"), [.. File.ReadAllBytes(Path.Combine(folder, "generator.onnx")), 0]);
        Serving.ServingCache.Clear();
        var ml2 = new MLContext(2);
        ml2.ComponentCatalog.RegisterAssembly(typeof(ImageTransformsCatalog).Assembly);
        var loaded = ml2.Model.Load(zip, out _);
        var changed = Innermost(Assert.Throws<Exception>(() => SavedPipelineProbe.Dump(loaded.Transform(input), ["Image"])));
        Assert.IsInstanceOfType<InvalidDataException>(changed);
        StringAssert.Contains(changed.Message, "changed since this pipeline was built");
        StringAssert.Contains(changed.Message, "'generator.onnx'");

        Directory.Delete(folder, recursive: true);
        var moved = Innermost(Assert.Throws<Exception>(() => SavedPipelineProbe.Dump(loaded.Transform(input), ["Image"])));
        Assert.IsInstanceOfType<FileNotFoundException>(moved);
        StringAssert.Contains(moved.Message, "moved or deleted");
    }

    [TestMethod]
    public void BadInputsFailWithClearErrors()
    {
        var ml = new MLContext(1);
        string gan = _models.WriteGan(TinyImageModels.TempFolder("gan"));
        string vae = _models.WriteVae(TinyImageModels.TempFolder("vae"));
        var pixels = SavedPipelineProbe.Input(ml, "pixels", 1);

        var missing = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.GenerateImages(gan).Fit(pixels));
        StringAssert.Contains(missing.Message, "Input column 'Seed' (SeedColumnName) was not found");
        var wrongType = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.GenerateImages(gan, seedColumnName: "Pixels").Fit(pixels));
        StringAssert.Contains(wrongType.Message, "expected Int32");
        var small = ml.Data.LoadFromEnumerable(new[] { new SmallPixels() });
        var wrongSize = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.Reconstruct(vae).Fit(small));
        StringAssert.Contains(wrongSize.Message, "Vector<Single, 784>");
        var latent = SavedPipelineProbe.Input(ml, "latent:5", 1);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.DecodeLatent(vae).Fit(latent)).Message, "Vector<Single, 3>");

        var nan = SavedPipelineProbe.Pixels(0);
        nan[5] = float.NaN;
        var nanView = ml.Data.LoadFromEnumerable(new[] { new Pixels784 { Pixels = nan } });
        var nanError = Innermost(Assert.Throws<Exception>(() =>
            SavedPipelineProbe.Dump(ml.Transforms.EncodeLatent(vae).Fit(nanView).Transform(nanView), ["LatentMean"])));
        Assert.IsInstanceOfType<InvalidOperationException>(nanError);
        StringAssert.Contains(nanError.Message, "Column 'Pixels': pixel 5 is NaN");

        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.EncodeLatent(gan)).Message, "no encoder");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.GenerateImages(vae)).Message, "no generator");
        Assert.ThrowsExactly<DirectoryNotFoundException>(() => ml.Transforms.GenerateImages(Path.Combine(gan, "nope")));
        StringAssert.Contains(Assert.ThrowsExactly<FileNotFoundException>(() => ml.Transforms.GenerateImages(TinyImageModels.TempFolder("empty"))).Message, "model.json");
    }

    [TestMethod]
    public void LatentSamplerIsStableStandardNormal()
    {
        var a = LatentSampler.Sample(7, 20001);
        CollectionAssert.AreEqual(a, LatentSampler.Sample(7, 20001));
        Assert.AreEqual(0, a.Average(), 0.03);
        Assert.AreEqual(1, Math.Sqrt(a.Select(v => (double)v * v).Average()), 0.03);
        CollectionAssert.AreNotEqual(a[..10], LatentSampler.Sample(8, 10));
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }

    private sealed class SeedImage
    {
        [VectorType(784)]
        public float[] Image { get; set; } = [];
    }

    private sealed class SeedLabelRow
    {
        public int Seed { get; set; }
        public int Label { get; set; }
    }

    private sealed class VaeOut
    {
        public float[] LatentMean { get; set; } = [];
        public float[] LatentLogVariance { get; set; } = [];
        [VectorType(784)]
        public float[] Reconstruction { get; set; } = [];
    }

    private sealed class SmallPixels
    {
        [VectorType(10)]
        public float[] Pixels { get; set; } = new float[10];
    }

    private sealed class Pixels784
    {
        [VectorType(784)]
        public float[] Pixels { get; set; } = [];
    }
}
