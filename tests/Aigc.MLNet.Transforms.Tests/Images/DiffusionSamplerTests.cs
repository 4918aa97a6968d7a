using Aigc.MLNet.Transforms.Images;

namespace Aigc.MLNet.Transforms.Tests.Images;

[TestClass]
public sealed class DiffusionSamplerTests
{
    [TestMethod]
    public void LinearAndCosineSchedulesFollowTheirClosedForms()
    {
        var linear = new NoiseSchedule(NoiseScheduleKind.Linear, 1000);
        Assert.AreEqual(1e-4, linear.Betas[0], 1e-15);
        Assert.AreEqual(0.02, linear.Betas[999], 1e-15);
        Assert.AreEqual(1e-4 + (0.02 - 1e-4) * 500 / 999, linear.Betas[500], 1e-15);
        double product = 1;
        for (int t = 0; t < 1000; t++)
        {
            product *= 1 - linear.Betas[t];
            Assert.AreEqual(product, linear.AlphaBars[t], 1e-12);
            double previous = t == 0 ? 1 : linear.AlphaBars[t - 1];
            Assert.AreEqual(linear.Betas[t] * (1 - previous) / (1 - linear.AlphaBars[t]), linear.PosteriorVariances[t], 1e-15);
        }
        Assert.AreEqual(0, linear.PosteriorVariances[0]);
        Assert.AreEqual(4.036e-5, linear.AlphaBars[999], 1e-7);      // the DDPM paper's ᾱ_T ≈ 4e-5
        Assert.AreEqual(1.0, linear.AlphaBar(-1));

        // Linear betas scale with 1000 / T, so T = 100 covers the same noise range.
        var short100 = new NoiseSchedule(NoiseScheduleKind.Linear, 100);
        Assert.AreEqual(1e-3, short100.Betas[0], 1e-15);
        Assert.AreEqual(0.2, short100.Betas[99], 1e-15);

        var cosine = new NoiseSchedule(NoiseScheduleKind.Cosine, 1000);
        static double F(double u) => Math.Pow(Math.Cos((u + 0.008) / 1.008 * Math.PI / 2), 2);
        foreach (int t in new[] { 0, 10, 250, 500, 900 })
            Assert.AreEqual(F((t + 1) / 1000.0) / F(0), cosine.AlphaBars[t], 1e-9, $"t {t}");
        Assert.AreEqual(0.999, cosine.Betas[999], 1e-12);              // clipped at the end
        for (int t = 1; t < 1000; t++) Assert.IsLessThan(cosine.AlphaBars[t - 1], cosine.AlphaBars[t]);
    }

    [TestMethod]
    public void ForwardNoisingMatchesTheClosedFormExactlyAndInDistribution()
    {
        var schedule = new NoiseSchedule(NoiseScheduleKind.Cosine, 200);
        float[] x0 = [0.5f, -1f, 0.25f], noise = [1f, -2f, 0.5f], xt = new float[3];
        schedule.AddNoise(x0, noise, 120, xt);
        double a = Math.Sqrt(schedule.AlphaBars[120]), b = Math.Sqrt(1 - schedule.AlphaBars[120]);
        for (int i = 0; i < 3; i++) Assert.AreEqual((float)(a * x0[i] + b * noise[i]), xt[i]);

        // q(x_t | x_0) = N(√ᾱ x0, 1 − ᾱ): 20k draws of one pixel with x0 = 0.8 at t = 60.
        const int n = 20_000;
        var noiseDraws = new float[n];
        LatentSampler.Sample(5, noiseDraws);
        var clean = Enumerable.Repeat(0.8f, n).ToArray();
        var noisy = new float[n];
        schedule.AddNoise(clean, noiseDraws, 60, noisy);
        double mean = noisy.Average(v => (double)v), variance = noisy.Sum(v => (v - mean) * (v - mean)) / (n - 1);
        double ab = schedule.AlphaBars[60];
        Assert.AreEqual(Math.Sqrt(ab) * 0.8, mean, 4 * Math.Sqrt((1 - ab) / n));
        Assert.AreEqual(1 - ab, variance, 0.03 * (1 - ab));
    }

    [TestMethod]
    public void DdimWithAllStepsAndEtaOneMatchesAncestralSamplingOnAToy2DMixture()
    {
        // Two isotropic Gaussians in 2-D; their ε is known exactly at every t, so the samplers are compared without a network.
        var schedule = new NoiseSchedule(NoiseScheduleKind.Linear, 200);
        var mixture = new ToyMixture(schedule);
        const int n = 3000;
        int[] seeds = Enumerable.Range(0, n).ToArray();
        int[] otherSeeds = Enumerable.Range(50_000, n).ToArray();

        var ddpm = DiffusionSampler.Sample(schedule, mixture.Predict, seeds, 2, DiffusionSamplerKind.Ddpm, 0, 0, clipDenoised: false);
        var ddimSameNoise = DiffusionSampler.Sample(schedule, mixture.Predict, seeds, 2, DiffusionSamplerKind.Ddim, 200, 1.0, clipDenoised: false);
        var ddimOtherNoise = DiffusionSampler.Sample(schedule, mixture.Predict, otherSeeds, 2, DiffusionSamplerKind.Ddim, 200, 1.0, clipDenoised: false);

        // Same seeds: the DDPM posterior step and the DDIM step with σ = √β̃ are the same map, written two ways.
        double maxDiff = 0;
        for (int i = 0; i < ddpm.Length; i++) maxDiff = Math.Max(maxDiff, Math.Abs(ddpm[i] - ddimSameNoise[i]));
        Assert.IsLessThan(1e-3, maxDiff);

        // Independent noise: both match the data distribution's moments and mode weights (and hence each other).
        var truth = mixture.Moments();
        foreach (var (name, sample) in new[] { ("DDPM", ddpm), ("DDIM eta=1", ddimOtherNoise) })
        {
            var m = Moments(sample);
            Assert.AreEqual(truth.MeanX, m.MeanX, 0.08, name);
            Assert.AreEqual(truth.MeanY, m.MeanY, 0.08, name);
            Assert.AreEqual(truth.VarX, m.VarX, 0.1 * truth.VarX, name);
            Assert.AreEqual(truth.VarY, m.VarY, 0.1 * truth.VarY, name);
            Assert.AreEqual(truth.Cov, m.Cov, 0.1, name);
            Assert.AreEqual(0.3, mixture.FirstModeFraction(sample), 0.03, name);
        }
        var a = Moments(ddpm);
        var b = Moments(ddimOtherNoise);
        Assert.AreEqual(a.MeanX, b.MeanX, 0.1);
        Assert.AreEqual(a.VarX, b.VarX, 0.15 * a.VarX);

        // Deterministic DDIM with 20 of the 200 steps still lands on the data distribution.
        var fast = DiffusionSampler.Sample(schedule, mixture.Predict, seeds, 2, DiffusionSamplerKind.Ddim, 20, 0, clipDenoised: false);
        var f = Moments(fast);
        Assert.AreEqual(truth.MeanX, f.MeanX, 0.1);
        Assert.AreEqual(truth.VarX, f.VarX, 0.15 * truth.VarX);
        Assert.AreEqual(0.3, mixture.FirstModeFraction(fast), 0.04);
    }

    [TestMethod]
    public void SamplesAreAFunctionOfTheSeedAloneNotOfTheBatch()
    {
        var schedule = new NoiseSchedule(NoiseScheduleKind.Linear, 50);
        var mixture = new ToyMixture(schedule);
        var batch = DiffusionSampler.Sample(schedule, mixture.Predict, [3, 4, 5], 2, DiffusionSamplerKind.Ddpm, 0, 0, false);
        var alone = DiffusionSampler.Sample(schedule, mixture.Predict, [4], 2, DiffusionSamplerKind.Ddpm, 0, 0, false);
        CollectionAssert.AreEqual(alone, batch[2..4]);
        var again = DiffusionSampler.Sample(schedule, mixture.Predict, [3, 4, 5], 2, DiffusionSamplerKind.Ddpm, 0, 0, false);
        CollectionAssert.AreEqual(batch, again);
    }

    [TestMethod]
    public void TimestepsAreEvenlySpacedAndBadSettingsAreRejected()
    {
        CollectionAssert.AreEqual(new[] { 800, 600, 400, 200, 0 }, DiffusionSampler.Timesteps(1000, DiffusionSamplerKind.Ddim, 5));
        CollectionAssert.AreEqual(Enumerable.Range(0, 10).Reverse().ToArray(), DiffusionSampler.Timesteps(10, DiffusionSamplerKind.Ddpm, 3));

        var t = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new NoiseSchedule(NoiseScheduleKind.Linear, 0));
        StringAssert.Contains(t.Message, "Timesteps (T) must be positive");
        var betas = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new NoiseSchedule(NoiseScheduleKind.Linear, 10, 1e-4, 0.02));
        StringAssert.Contains(betas.Message, "BetaEnd · 1000 / T < 1");
        var steps = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => DiffusionSampler.Timesteps(100, DiffusionSamplerKind.Ddim, 101));
        StringAssert.Contains(steps.Message, "SamplingSteps must be in 1..100");
        var eta = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => DiffusionSampler.Validate(100, DiffusionSamplerKind.Ddim, 10, -0.5));
        StringAssert.Contains(eta.Message, "Eta");
        var schedule = new NoiseSchedule(NoiseScheduleKind.Linear, 50);
        Assert.ThrowsExactly<ArgumentException>(() => DiffusionSampler.Sample(schedule, (_, _, _, _) => { }, [], 2, DiffusionSamplerKind.Ddim, 5, 0, false));
        var length = Assert.ThrowsExactly<ArgumentException>(() => schedule.AddNoise(new float[3], new float[2], 1, new float[3]));
        StringAssert.Contains(length.Message, "same length");
    }

    private readonly record struct Stats(double MeanX, double MeanY, double VarX, double VarY, double Cov);

    private static Stats Moments(float[] xy)
    {
        int n = xy.Length / 2;
        double mx = 0, my = 0;
        for (int i = 0; i < n; i++) { mx += xy[2 * i]; my += xy[2 * i + 1]; }
        mx /= n; my /= n;
        double vx = 0, vy = 0, c = 0;
        for (int i = 0; i < n; i++)
        {
            double dx = xy[2 * i] - mx, dy = xy[2 * i + 1] - my;
            vx += dx * dx; vy += dy * dy; c += dx * dy;
        }
        return new Stats(mx, my, vx / (n - 1), vy / (n - 1), c / (n - 1));
    }

    /// <summary>0.3·N((−2, 1), 0.3²I) + 0.7·N((1.5, −0.5), 0.5²I) and its exact ε(xₜ, t) = −√(1−ᾱₜ) ∇log qₜ(xₜ).</summary>
    private sealed class ToyMixture(NoiseSchedule schedule)
    {
        private static readonly (double Weight, double X, double Y, double Std)[] s_components = [(0.3, -2, 1, 0.3), (0.7, 1.5, -0.5, 0.5)];

        public void Predict(ReadOnlySpan<float> x, int rows, int t, Span<float> epsilon)
        {
            double ab = schedule.AlphaBars[t], scale = Math.Sqrt(ab);
            Span<double> logWeights = stackalloc double[s_components.Length];
            for (int r = 0; r < rows; r++)
            {
                double px = x[2 * r], py = x[2 * r + 1];
                double max = double.NegativeInfinity;
                for (int k = 0; k < s_components.Length; k++)
                {
                    var c = s_components[k];
                    double variance = ab * c.Std * c.Std + 1 - ab;
                    double dx = px - scale * c.X, dy = py - scale * c.Y;
                    logWeights[k] = Math.Log(c.Weight) - Math.Log(variance) - (dx * dx + dy * dy) / (2 * variance);
                    max = Math.Max(max, logWeights[k]);
                }
                double total = 0;
                for (int k = 0; k < logWeights.Length; k++) total += Math.Exp(logWeights[k] - max);
                double sx = 0, sy = 0;
                for (int k = 0; k < s_components.Length; k++)
                {
                    var c = s_components[k];
                    double w = Math.Exp(logWeights[k] - max) / total;
                    double variance = ab * c.Std * c.Std + 1 - ab;
                    sx -= w * (px - scale * c.X) / variance;
                    sy -= w * (py - scale * c.Y) / variance;
                }
                epsilon[2 * r] = (float)(-Math.Sqrt(1 - ab) * sx);
                epsilon[2 * r + 1] = (float)(-Math.Sqrt(1 - ab) * sy);
            }
        }

        public Stats Moments()
        {
            double mx = 0, my = 0, exx = 0, eyy = 0, exy = 0;
            foreach (var c in s_components)
            {
                mx += c.Weight * c.X; my += c.Weight * c.Y;
                exx += c.Weight * (c.Std * c.Std + c.X * c.X);
                eyy += c.Weight * (c.Std * c.Std + c.Y * c.Y);
                exy += c.Weight * c.X * c.Y;
            }
            return new Stats(mx, my, exx - mx * mx, eyy - my * my, exy - mx * my);
        }

        /// <summary>Fraction of points closer to the first component's centre.</summary>
        public double FirstModeFraction(float[] xy)
        {
            int n = xy.Length / 2, first = 0;
            for (int i = 0; i < n; i++)
            {
                double d0 = Math.Pow(xy[2 * i] + 2, 2) + Math.Pow(xy[2 * i + 1] - 1, 2);
                double d1 = Math.Pow(xy[2 * i] - 1.5, 2) + Math.Pow(xy[2 * i + 1] + 0.5, 2);
                if (d0 < d1) first++;
            }
            return (double)first / n;
        }
    }
}
