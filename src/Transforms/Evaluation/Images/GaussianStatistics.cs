namespace Aigc.MLNet.Transforms.Evaluation.Images;

/// <summary>Mean and covariance of a set of feature vectors (the Gaussian FID compares).</summary>
public sealed class GaussianStatistics
{
    /// <summary>Creates statistics from a mean and a row-major covariance.</summary>
    /// <param name="mean">Mean vector (length d).</param>
    /// <param name="covariance">Covariance (d×d, row-major, symmetric).</param>
    /// <param name="count">Number of samples behind the estimate.</param>
    public GaussianStatistics(double[] mean, double[] covariance, long count)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(covariance);
        if (mean.Length == 0)
            throw new ArgumentException("The mean must have at least one dimension.", nameof(mean));
        if (covariance.Length != mean.Length * mean.Length)
            throw new ArgumentException($"The covariance must be {mean.Length}x{mean.Length}, got {covariance.Length} values.", nameof(covariance));
        Mean = mean;
        Covariance = covariance;
        Count = count;
    }

    /// <summary>Feature dimension d.</summary>
    public int Dimension => Mean.Length;

    /// <summary>Mean vector.</summary>
    public double[] Mean { get; }

    /// <summary>Unbiased covariance (divided by count − 1, as <c>numpy.cov</c>), row-major d×d.</summary>
    public double[] Covariance { get; }

    /// <summary>Number of samples.</summary>
    public long Count { get; }

    /// <summary>Estimates mean and covariance of <paramref name="count"/> vectors of size <paramref name="dimension"/>.</summary>
    /// <param name="features">Vectors one after another (count × dimension values).</param>
    /// <param name="count">Number of vectors (at least 2).</param>
    /// <param name="dimension">Size of each vector.</param>
    public static GaussianStatistics FromSamples(ReadOnlySpan<float> features, int count, int dimension)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        if (count < 2)
            throw new ArgumentException($"A covariance needs at least 2 samples, got {count}.", nameof(count));
        if (features.Length != (long)count * dimension)
            throw new ArgumentException($"Expected {count} x {dimension} = {(long)count * dimension} feature values, got {features.Length}.", nameof(features));
        var mean = new double[dimension];
        for (int i = 0; i < count; i++)
            for (int j = 0; j < dimension; j++)
                mean[j] += features[i * dimension + j];
        for (int j = 0; j < dimension; j++)
            mean[j] /= count;
        var cov = new double[dimension * dimension];
        var centered = new double[dimension];
        for (int i = 0; i < count; i++)
        {
            for (int j = 0; j < dimension; j++)
                centered[j] = features[i * dimension + j] - mean[j];
            for (int j = 0; j < dimension; j++)
            {
                double cj = centered[j];
                if (cj == 0)
                    continue;
                for (int k = j; k < dimension; k++)
                    cov[j * dimension + k] += cj * centered[k];
            }
        }
        for (int j = 0; j < dimension; j++)
            for (int k = j; k < dimension; k++)
            {
                double c = cov[j * dimension + k] / (count - 1);
                cov[j * dimension + k] = cov[k * dimension + j] = c;
            }
        return new GaussianStatistics(mean, cov, count);
    }
}

/// <summary>Fréchet distance between two Gaussians (FID when the features come from a classifier's penultimate layer).</summary>
public static class FrechetDistance
{
    /// <summary>
    /// |μ₁ − μ₂|² + tr(Σ₁ + Σ₂ − 2 (Σ₁Σ₂)^½), with tr (Σ₁Σ₂)^½ computed as tr (Σ₁^½ Σ₂ Σ₁^½)^½ by symmetric
    /// eigendecompositions (both factors are symmetric positive semi-definite, so no complex parts arise).
    /// </summary>
    /// <param name="first">Statistics of the first set.</param>
    /// <param name="second">Statistics of the second set.</param>
    public static double Compute(GaussianStatistics first, GaussianStatistics second)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        int d = first.Dimension;
        if (second.Dimension != d)
            throw new ArgumentException($"Feature dimensions differ: {d} and {second.Dimension}.", nameof(second));
        double meanTerm = 0, trace = 0;
        for (int i = 0; i < d; i++)
        {
            double diff = first.Mean[i] - second.Mean[i];
            meanTerm += diff * diff;
            trace += first.Covariance[i * d + i] + second.Covariance[i * d + i];
        }
        var root1 = SymmetricEigen.SquareRoot(first.Covariance, d);
        var product = Multiply(Multiply(root1, second.Covariance, d), root1, d);
        var (values, _) = SymmetricEigen.Decompose(product, d);
        double traceRoot = values.Sum(v => Math.Sqrt(Math.Max(v, 0)));
        return meanTerm + trace - 2 * traceRoot;
    }

    /// <summary>Fréchet distance between two sets of feature vectors.</summary>
    /// <param name="first">First set, count₁ × dimension values.</param>
    /// <param name="firstCount">Vectors in the first set.</param>
    /// <param name="second">Second set, count₂ × dimension values.</param>
    /// <param name="secondCount">Vectors in the second set.</param>
    /// <param name="dimension">Feature size.</param>
    public static double Compute(ReadOnlySpan<float> first, int firstCount, ReadOnlySpan<float> second, int secondCount, int dimension) =>
        Compute(GaussianStatistics.FromSamples(first, firstCount, dimension), GaussianStatistics.FromSamples(second, secondCount, dimension));

    private static double[] Multiply(double[] a, double[] b, int n)
    {
        var c = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int k = 0; k < n; k++)
            {
                double aik = a[i * n + k];
                if (aik == 0)
                    continue;
                for (int j = 0; j < n; j++)
                    c[i * n + j] += aik * b[k * n + j];
            }
        return c;
    }
}
