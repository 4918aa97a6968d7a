using Aigc.MLNet.Trainers.Sequence;

namespace Aigc.MLNet.Trainers.Tests.Sequence;

[TestClass]
public sealed class AutoRegressiveModelTests
{
    private static double[] SimulateAr2(int n, double phi1, double phi2, double c, double sigma, int seed)
    {
        var truth = new AutoRegressiveModel([phi1, phi2], c, sigma);
        var random = new Random(seed);
        // Burn-in of 200 steps from the stationary mean so the start does not bias the fit.
        double mean = c / (1 - phi1 - phi2);
        var path = truth.Continue([mean, mean], n + 200, random);
        return path[200..];
    }

    [TestMethod]
    public void RecoversTheCoefficientsOfASyntheticAr2Series()
    {
        double[] series = SimulateAr2(20_000, 0.5, 0.3, 1.0, 0.5, seed: 42);
        var model = AutoRegressiveModel.Fit(series, order: 2);
        Assert.AreEqual(0.5, model.Coefficients[0], 0.02);
        Assert.AreEqual(0.3, model.Coefficients[1], 0.02);
        Assert.AreEqual(1.0, model.Intercept, 0.1);
        Assert.AreEqual(0.5, model.NoiseStdDev, 0.02);
    }

    [TestMethod]
    public void ExactSeriesIsFittedExactly()
    {
        // x_t = 2 + 0.5 x_{t-1} with no noise: from x_0 = 0 the series is 0, 2, 3, 3.5, 3.75, ...
        double[] series = [0, 2, 3, 3.5, 3.75, 3.875, 3.9375];
        var model = AutoRegressiveModel.Fit(series, order: 1);
        Assert.AreEqual(0.5, model.Coefficients[0], 1e-9);
        Assert.AreEqual(2.0, model.Intercept, 1e-9);
        Assert.AreEqual(0.0, model.NoiseStdDev, 1e-9);
        CollectionAssert.AreEqual(new[] { 3.96875, 3.984375 }, model.Continue(series, 2));
    }

    [TestMethod]
    public void SampledContinuationsAreSeededAndCentredOnTheForecast()
    {
        var model = new AutoRegressiveModel([0.5, 0.3], 1.0, 0.5);
        double[] history = [4, 5];
        CollectionAssert.AreEqual(model.Continue(history, 5, new Random(3)), model.Continue(history, 5, new Random(3)));
        CollectionAssert.AreNotEqual(model.Continue(history, 5, new Random(3)), model.Continue(history, 5, new Random(4)));
        // Mean of 4,000 one-step samples is within 3 standard errors of 1 + 0.5*5 + 0.3*4 = 4.7.
        var random = new Random(1);
        double mean = Enumerable.Range(0, 4000).Average(_ => model.Continue(history, 1, random)[0]);
        Assert.AreEqual(4.7, mean, 3 * 0.5 / Math.Sqrt(4000));
    }

    [TestMethod]
    public void JsonRoundTripIsExact()
    {
        var model = AutoRegressiveModel.Fit(SimulateAr2(500, 0.5, 0.3, 1.0, 0.5, seed: 7), order: 3);
        var back = AutoRegressiveModel.FromJson(model.ToJson());
        CollectionAssert.AreEqual(model.Coefficients.ToArray(), back.Coefficients.ToArray());
        Assert.AreEqual(model.Intercept, back.Intercept);
        Assert.AreEqual(model.NoiseStdDev, back.NoiseStdDev);
    }

    [TestMethod]
    public void BadInputsNameTheProblem()
    {
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => AutoRegressiveModel.Fit([1, 2, 3, 4, 5], order: 0));
        var shortSeries = Assert.ThrowsExactly<ArgumentException>(() => AutoRegressiveModel.Fit([1, 2, 3], order: 2));
        StringAssert.Contains(shortSeries.Message, "AR(2)");
        var nan = Assert.ThrowsExactly<ArgumentException>(() => AutoRegressiveModel.Fit([1, 2, double.NaN, 4, 5, 6, 7], order: 1));
        StringAssert.Contains(nan.Message, "index 2");
        var constant = Assert.ThrowsExactly<InvalidOperationException>(() => AutoRegressiveModel.Fit([2, 2, 2, 2, 2, 2], order: 1));
        StringAssert.Contains(constant.Message, "singular");
    }
}
