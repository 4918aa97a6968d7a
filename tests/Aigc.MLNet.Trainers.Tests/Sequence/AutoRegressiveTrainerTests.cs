using Aigc.MLNet.Trainers.Sequence;
using Aigc.MLNet.Transforms;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Aigc.MLNet.Trainers.Tests.Sequence;

[TestClass]
public sealed class AutoRegressiveTrainerTests
{
    private static readonly float[][] Histories = [[1f, 2f, 3f], [0.5f, -0.25f], [4f, 4f, 3.5f, 3f]];

    /// <summary>x_t = 1 + 0.5 x_{t-1} + 0.3 x_{t-2} + ε_t, ε ~ N(0, 1), seeded.</summary>
    private static double[] Ar2Series(int length, int seed)
    {
        var random = new Random(seed);
        var x = new double[length + 200];
        for (int t = 2; t < x.Length; t++)
        {
            double e = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
            x[t] = 1 + 0.5 * x[t - 1] + 0.3 * x[t - 2] + e;
        }
        return x[200..];   // burn-in dropped
    }

    private static IDataView Doubles(MLContext ml, IEnumerable<double> values) => ml.Data.LoadFromEnumerable(values.Select(v => new DoubleRow { Value = v }).ToArray());

    private static IDataView Singles(MLContext ml, IEnumerable<double> values) => ml.Data.LoadFromEnumerable(values.Select(v => new SingleRow { Value = (float)v }).ToArray());

    private static string Folder() => Path.Combine(Path.GetTempPath(), "aigc-tests", Guid.NewGuid().ToString("N"));

    [TestMethod]
    public void RecoversAr2CoefficientsFromDoubleAndSingleColumns()
    {
        var ml = new MLContext(seed: 1);
        double[] series = Ar2Series(20_000, seed: 7);
        foreach (var data in new[] { Doubles(ml, series), Singles(ml, series) })
        {
            var model = ml.Generative().Trainers.AutoRegressive(order: 2).Fit(data).Model;
            Assert.AreEqual(0.5, model.Coefficients[0], 0.02);
            Assert.AreEqual(0.3, model.Coefficients[1], 0.02);
            Assert.AreEqual(1.0, model.Intercept, 0.1);
            Assert.AreEqual(1.0, model.NoiseStdDev, 0.03);
        }
    }

    [TestMethod]
    public void ForecastsEqualTheModelsContinuations()
    {
        var ml = new MLContext(seed: 1);
        var data = Doubles(ml, Ar2Series(2_000, seed: 3));
        var transformer = ml.Generative().Trainers.AutoRegressive(horizon: 5).Fit(data);
        var rows = FreshProcessEntry.Histories(ml, Histories, "History");
        var output = transformer.Transform(rows);
        Assert.AreEqual(NumberDataViewType.Single, ((VectorDataViewType)output.Schema["Forecast"].Type).ItemType);
        var forecasts = output.GetColumn<float[]>("Forecast").ToArray();
        for (int r = 0; r < Histories.Length; r++)
        {
            double[] expected = transformer.Model.Continue(Histories[r].Select(v => (double)v).ToArray(), 5);
            CollectionAssert.AreEqual(expected.Select(v => (float)v).ToArray(), forecasts[r], $"row {r}");
        }

        // Sampling: a seeded path per row, reproducible, different from the mean and from another seed's.
        var sampling = new AutoRegressiveTrainerOptions { Horizon = 5, SampleContinuations = true, Seed = 42 };
        var sampler = ml.Generative().Trainers.AutoRegressive(sampling).Fit(data);
        var paths = sampler.Transform(rows).GetColumn<float[]>("Forecast").ToArray();
        var again = sampler.Transform(rows).GetColumn<float[]>("Forecast").ToArray();
        var otherSeed = ml.Generative().Trainers.AutoRegressive(new AutoRegressiveTrainerOptions { Horizon = 5, SampleContinuations = true, Seed = 43 })
            .Fit(data).Transform(rows).GetColumn<float[]>("Forecast").ToArray();
        for (int r = 0; r < Histories.Length; r++)
        {
            CollectionAssert.AreEqual(paths[r], again[r]);
            CollectionAssert.AreNotEqual(forecasts[r], paths[r]);
            CollectionAssert.AreNotEqual(otherSeed[r], paths[r]);
            var random = new Random(AutoRegressiveMapping.RowSeed(42, Histories[r]));
            double[] expected = sampler.Model.Continue(Histories[r].Select(v => (double)v).ToArray(), 5, random);
            CollectionAssert.AreEqual(expected.Select(v => (float)v).ToArray(), paths[r], $"sample row {r}");
        }
    }

    [TestMethod]
    public void AcceptsFixedSizeHistoryVectors()
    {
        var ml = new MLContext(seed: 1);
        var transformer = ml.Generative().Trainers.AutoRegressive(horizon: 3).Fit(Doubles(ml, Ar2Series(500, seed: 2)));
        var rows = ml.Data.LoadFromEnumerable(new[] { new FixedHistoryRow { History = [1f, 2f, 3f, 4f] } });
        float[] forecast = transformer.Transform(rows).GetColumn<float[]>("Forecast").Single();
        CollectionAssert.AreEqual(transformer.Model.Continue([1.0, 2, 3, 4], 3).Select(v => (float)v).ToArray(), forecast);
    }

    [TestMethod]
    public void SavedPipelineReloadsInAFreshProcess()
    {
        var ml = new MLContext(seed: 1);
        var options = new AutoRegressiveTrainerOptions { SeriesColumnName = "Value", HistoryColumnName = "Past", ForecastColumnName = "Next", Horizon = 4, SampleContinuations = true, Seed = 9 };
        var transformer = ml.Generative().Trainers.AutoRegressive(options).Fit(Doubles(ml, Ar2Series(1_000, seed: 5)));
        var rows = FreshProcessEntry.Histories(ml, Histories, "Past");
        string zip = Folder() + ".zip";
        Directory.CreateDirectory(Path.GetDirectoryName(zip)!);
        ml.Model.Save(transformer, rows.Schema, zip);

        string inProcess = FreshProcessEntry.Dump(transformer.Transform(rows), "Next");
        string fresh = FreshProcessEntry.RunInFreshProcess(zip, Histories, "Past", "Next");
        Assert.AreEqual(inProcess, fresh);
        Assert.AreEqual(3, fresh.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.IsFalse(transformer.Transform(rows).Schema.Any(c => c.Name.StartsWith("__Aigc", StringComparison.Ordinal) || c.Name == "AigcConfig"));
    }

    [TestMethod]
    public void BadInputsAreNamed()
    {
        var ml = new MLContext(seed: 1);
        var missing = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Generative().Trainers.AutoRegressive(seriesColumnName: "Price").Fit(Doubles(ml, [1, 2, 3])));
        StringAssert.Contains(missing.Message, "'Price' was not found");
        var text = ml.Data.LoadFromEnumerable(new[] { new TextRow { Value = "1" } });
        var wrongType = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Generative().Trainers.AutoRegressive().Fit(text));
        StringAssert.Contains(wrongType.Message, "must be Single or Double");
        var shapeCheck = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Generative().Trainers.AutoRegressive().GetOutputSchema(SchemaShapeOf.Row<TextRow>(ml)));
        StringAssert.Contains(shapeCheck.Message, "series column 'Value' must be Single or Double; found String");
        var nan = Assert.ThrowsExactly<ArgumentException>(() => ml.Generative().Trainers.AutoRegressive().Fit(Doubles(ml, [1, 2, double.NaN, 4, 5, 6, 7])));
        StringAssert.Contains(nan.Message, "non-finite value (NaN) at row 2");
        var tooShort = Assert.ThrowsExactly<ArgumentException>(() => ml.Generative().Trainers.AutoRegressive(order: 2).Fit(Doubles(ml, [1, 2, 3])));
        StringAssert.Contains(tooShort.Message, "has 3 rows; AR(2) with an intercept needs at least 6");
        var constant = Assert.ThrowsExactly<ArgumentException>(() => ml.Generative().Trainers.AutoRegressive(order: 1).Fit(Doubles(ml, Enumerable.Repeat(2.0, 10))));
        StringAssert.Contains(constant.Message, "singular");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Generative().Trainers.AutoRegressive(order: 0));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Generative().Trainers.AutoRegressive(horizon: 0));

        var transformer = ml.Generative().Trainers.AutoRegressive(order: 3).Fit(Doubles(ml, Ar2Series(200, seed: 1)));
        var shortHistory = Assert.Throws<Exception>(() => transformer.Transform(FreshProcessEntry.Histories(ml, [[1f, 2f]], "History")).GetColumn<float[]>("Forecast").ToArray());
        StringAssert.Contains(Flatten(shortHistory), "history column 'History' holds 2 values; AR(3) needs at least 3");
        var nanHistory = Assert.Throws<Exception>(() => transformer.Transform(FreshProcessEntry.Histories(ml, [[1f, float.NaN, 2f]], "History")).GetColumn<float[]>("Forecast").ToArray());
        StringAssert.Contains(Flatten(nanHistory), "non-finite value (NaN) at index 1");
        var noHistory = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => transformer.Transform(Doubles(ml, [1.0])));
        StringAssert.Contains(noHistory.Message, "history column 'History' was not found");
    }

    private static string Flatten(Exception e) => e.InnerException is null ? e.Message : e.Message + " | " + Flatten(e.InnerException);

    public sealed class FixedHistoryRow
    {
        [VectorType(4)]
        public float[] History { get; set; } = [];
    }

    public sealed class DoubleRow
    {
        public double Value { get; set; }
    }

    public sealed class SingleRow
    {
        public float Value { get; set; }
    }

    public sealed class TextRow
    {
        public string Value { get; set; } = "";
    }
}
