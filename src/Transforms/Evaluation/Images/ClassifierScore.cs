namespace Aigc.MLNet.Transforms.Evaluation.Images;

/// <summary>Inception-Score-style metrics computed from a classifier's class probabilities.</summary>
public static class ClassifierScore
{
    /// <summary>
    /// exp(E_x KL(p(y|x) ‖ p(y))) per split (rows taken in order, <c>count / splits</c> per split as in the original
    /// Inception Score code), returned as the mean and population standard deviation over splits.
    /// Ranges from 1 (one class, or uncertain predictions) to the number of classes (confident and balanced).
    /// </summary>
    /// <param name="probabilities">count × classes probabilities (rows sum to 1).</param>
    /// <param name="count">Number of images.</param>
    /// <param name="classes">Number of classes.</param>
    /// <param name="splits">Number of splits (1..count).</param>
    public static (double Mean, double StandardDeviation) Compute(ReadOnlySpan<float> probabilities, int count, int classes, int splits = 10)
    {
        Check(probabilities, count, classes);
        if (splits < 1 || splits > count)
            throw new ArgumentOutOfRangeException(nameof(splits), splits, $"splits must be between 1 and the number of images ({count}).");
        int size = count / splits;
        var scores = new double[splits];
        var marginal = new double[classes];
        for (int s = 0; s < splits; s++)
        {
            Array.Clear(marginal);
            int start = s * size;
            for (int i = start; i < start + size; i++)
                for (int c = 0; c < classes; c++)
                    marginal[c] += probabilities[i * classes + c];
            for (int c = 0; c < classes; c++)
                marginal[c] /= size;
            double kl = 0;
            for (int i = start; i < start + size; i++)
                for (int c = 0; c < classes; c++)
                {
                    double p = probabilities[i * classes + c];
                    if (p > 0)
                        kl += p * (Math.Log(p) - Math.Log(marginal[c]));
                }
            scores[s] = Math.Exp(kl / size);
        }
        double mean = scores.Average();
        double variance = scores.Sum(x => (x - mean) * (x - mean)) / splits;
        return (mean, Math.Sqrt(variance));
    }

    /// <summary>Counts of the predicted (arg-max) class of each image.</summary>
    /// <param name="probabilities">count × classes probabilities.</param>
    /// <param name="count">Number of images.</param>
    /// <param name="classes">Number of classes.</param>
    public static int[] ClassHistogram(ReadOnlySpan<float> probabilities, int count, int classes)
    {
        Check(probabilities, count, classes);
        var histogram = new int[classes];
        for (int i = 0; i < count; i++)
        {
            int best = 0;
            for (int c = 1; c < classes; c++)
                if (probabilities[i * classes + c] > probabilities[i * classes + best])
                    best = c;
            histogram[best]++;
        }
        return histogram;
    }

    /// <summary>KL(h ‖ uniform) of a class histogram in nats: 0 when balanced, ln(classes) when a single class.</summary>
    /// <param name="histogram">Counts per class.</param>
    public static double KlToUniform(IReadOnlyList<int> histogram)
    {
        ArgumentNullException.ThrowIfNull(histogram);
        long total = histogram.Sum(h => (long)h);
        if (total == 0)
            throw new ArgumentException("The histogram is empty.", nameof(histogram));
        double kl = 0;
        foreach (int h in histogram)
            if (h > 0)
            {
                double p = (double)h / total;
                kl += p * Math.Log(p * histogram.Count);
            }
        return kl;
    }

    private static void Check(ReadOnlySpan<float> probabilities, int count, int classes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 1);
        if (count < 1)
            throw new ArgumentException("The classifier score needs at least one image; the set is empty.", nameof(count));
        if (probabilities.Length != (long)count * classes)
            throw new ArgumentException($"Expected {count} x {classes} probabilities, got {probabilities.Length}.", nameof(probabilities));
    }
}
