namespace Aigc.MLNet.Transforms.Evaluation;

/// <summary>Quality and coverage of generated MNIST-like images, measured with the project's MNIST classifier.</summary>
public sealed class ImageGenerationMetrics
{
    /// <summary>Number of generated images.</summary>
    public int Count { get; init; }

    /// <summary>Classifier score (Inception Score with the MNIST classifier), mean over splits; 1..10, real MNIST ≈ 9.9.</summary>
    public double ClassifierScore { get; init; }

    /// <summary>Standard deviation of the classifier score over splits.</summary>
    public double ClassifierScoreStandardDeviation { get; init; }

    /// <summary>Number of splits of the classifier score.</summary>
    public int Splits { get; init; }

    /// <summary>Fréchet distance in the classifier's penultimate feature space to the real images (NaN without real images).</summary>
    public double FrechetDistance { get; init; }

    /// <summary>Number of real images behind <see cref="FrechetDistance"/> (0 without real images).</summary>
    public int RealCount { get; init; }

    /// <summary>How many generated images the classifier assigns to each digit 0..9.</summary>
    public IReadOnlyList<int> ClassHistogram { get; init; } = [];

    /// <summary>Digits predicted at least once (mode coverage, 0..10).</summary>
    public int ModesCovered { get; init; }

    /// <summary>KL divergence of the predicted-digit histogram from uniform, in nats (0 balanced, ln 10 ≈ 2.30 one digit).</summary>
    public double ClassDistributionKl { get; init; }
}

/// <summary>VAE evaluation: reconstruction BCE, KL to the standard normal prior and negative ELBO, averaged per row.</summary>
public sealed class VaeMetrics
{
    /// <summary>Number of rows.</summary>
    public int Count { get; init; }

    /// <summary>Mean over rows of the Bernoulli reconstruction cross-entropy summed over pixels (nats).</summary>
    public double ReconstructionBce { get; init; }

    /// <summary>Mean over rows of KL(N(μ, σ²) ‖ N(0, I)) = −½ Σ (1 + log σ² − μ² − σ²) (nats).</summary>
    public double Kl { get; init; }

    /// <summary>Negative ELBO per row: <see cref="ReconstructionBce"/> + <see cref="Kl"/> (nats; pytorch/examples' MNIST VAE ≈ 104 after 10 epochs).</summary>
    public double Nelbo { get; init; }
}
