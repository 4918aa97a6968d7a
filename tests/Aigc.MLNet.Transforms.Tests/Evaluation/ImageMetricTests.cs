using Aigc.MLNet.Transforms.Evaluation.Images;

namespace Aigc.MLNet.Transforms.Tests.Evaluation;

[TestClass]
public sealed class ImageMetricTests
{
    [TestMethod]
    public void FrechetDistanceOneDimensionalMatchesClosedForm()
    {
        // 1-D Gaussians: FID = (μ1 − μ2)² + σ1² + σ2² − 2 σ1 σ2 = (μ1 − μ2)² + (σ1 − σ2)².
        // A = {0, 2}: μ 1, unbiased variance ((−1)² + 1²) / 1 = 2.   B = {3, 5, 7}: μ 5, variance (4 + 0 + 4) / 2 = 4.
        // FID = 16 + (√2 − 2)² = 22 − 4√2.
        double fid = FrechetDistance.Compute([0f, 2f], 2, [3f, 5f, 7f], 3, 1);
        Assert.AreEqual(22 - 4 * Math.Sqrt(2), fid, 1e-9);
    }

    [TestMethod]
    public void FrechetDistanceTwoDimensionalNonCommutingCovariances()
    {
        // Σ1 = [[2,1],[1,2]], Σ2 = [[1,0],[0,4]], Δμ = (1, −2).
        // Σ1Σ2 = [[2,4],[1,8]]: trace 10, determinant 12, eigenvalues 5 ± √13 (real, positive).
        // tr (Σ1Σ2)^½ = √λ1 + √λ2, and (√λ1 + √λ2)² = λ1 + λ2 + 2√(λ1λ2) = 10 + 2√12, so tr = √(10 + 4√3).
        // FID = |Δμ|² + tr Σ1 + tr Σ2 − 2 tr(...) = 5 + 4 + 5 − 2√(10 + 4√3).
        var a = new GaussianStatistics([0, 0], [2, 1, 1, 2], 100);
        var b = new GaussianStatistics([1, -2], [1, 0, 0, 4], 100);
        Assert.AreEqual(14 - 2 * Math.Sqrt(10 + 4 * Math.Sqrt(3)), FrechetDistance.Compute(a, b), 1e-9);
        Assert.AreEqual(14 - 2 * Math.Sqrt(10 + 4 * Math.Sqrt(3)), FrechetDistance.Compute(b, a), 1e-9);
    }

    [TestMethod]
    public void FrechetDistanceOfASetWithItselfIsZero()
    {
        var rng = new Random(5);
        const int n = 300, d = 32;
        var features = new float[n * d];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++)
                features[i * d + j] = (float)(rng.NextDouble() * (j % 3 + 1) + (j > 0 ? 0.5 * features[i * d + j - 1] : 0));
        double self = FrechetDistance.Compute(features, n, features, n, d);
        Assert.AreEqual(0.0, self, 1e-8);
        // Shifting every vector by 1 in each dimension adds exactly d to the distance.
        var shifted = features.Select(f => f + 1f).ToArray();
        Assert.AreEqual(d, FrechetDistance.Compute(features, n, shifted, n, d), 1e-3);
    }

    [TestMethod]
    public void EigendecompositionReconstructsAndSquareRootSquaresBack()
    {
        double[] m = [4, 1, 0.5, 1, 3, 0.2, 0.5, 0.2, 2];
        var (values, vectors) = SymmetricEigen.Decompose(m, 3);
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
            {
                double sum = 0;
                for (int k = 0; k < 3; k++)
                    sum += vectors[i * 3 + k] * values[k] * vectors[j * 3 + k];
                Assert.AreEqual(m[i * 3 + j], sum, 1e-12);
            }
        Assert.AreEqual(9.0, values.Sum(), 1e-12);
        var root = SymmetricEigen.SquareRoot(m, 3);
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
            {
                double sum = 0;
                for (int k = 0; k < 3; k++)
                    sum += root[i * 3 + k] * root[k * 3 + j];
                Assert.AreEqual(m[i * 3 + j], sum, 1e-12);
            }
    }

    [TestMethod]
    public void ClassifierScoreOfBalancedConfidentPredictionsIsClassCount()
    {
        // 20 one-hot predictions cycling through 10 classes; 2 splits of 10 each hold every class once:
        // p(y) uniform, KL(onehot ‖ uniform) = ln 10 per image, score exp(ln 10) = 10 in both splits, std 0.
        var probs = new float[20 * 10];
        for (int i = 0; i < 20; i++)
            probs[i * 10 + i % 10] = 1;
        var (mean, std) = ClassifierScore.Compute(probs, 20, 10, 2);
        Assert.AreEqual(10.0, mean, 1e-9);
        Assert.AreEqual(0.0, std, 1e-9);
        CollectionAssert.AreEqual(Enumerable.Repeat(2, 10).ToArray(), ClassifierScore.ClassHistogram(probs, 20, 10));
        Assert.AreEqual(0.0, ClassifierScore.KlToUniform(ClassifierScore.ClassHistogram(probs, 20, 10)), 1e-12);

        // Split-dependent case, 4 images, 2 splits, 2 classes: split 1 = {(1,0),(0,1)} -> score 2;
        // split 2 = {(1,0),(1,0)} -> p(y) = (1,0), KL 0 -> score 1. Mean 1.5, population std 0.5.
        float[] mixed = [1, 0, 0, 1, 1, 0, 1, 0];
        var (m2, s2) = ClassifierScore.Compute(mixed, 4, 2, 2);
        Assert.AreEqual(1.5, m2, 1e-9);
        Assert.AreEqual(0.5, s2, 1e-9);
        // Mode collapse: every image the same digit -> KL to uniform = ln 10.
        Assert.AreEqual(Math.Log(10), ClassifierScore.KlToUniform([7, 0, 0, 0, 0, 0, 0, 0, 0, 0]), 1e-12);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ClassifierScore.Compute(mixed, 4, 2, 5));
    }
}
