namespace Aigc.MLNet.Trainers.Language;

/// <summary>Linear warm-up then cosine decay of the learning rate, as nanoGPT and most GPT recipes use.</summary>
public sealed class WarmupCosineSchedule
{
    /// <summary>Creates a schedule.</summary>
    /// <param name="learningRate">Peak learning rate, reached at the end of warm-up.</param>
    /// <param name="minLearningRate">Learning rate at and after <paramref name="decayIterations"/>.</param>
    /// <param name="warmupIterations">Iterations of linear warm-up from 0 (exclusive) to the peak.</param>
    /// <param name="decayIterations">Iteration at which the cosine decay reaches the minimum.</param>
    public WarmupCosineSchedule(double learningRate, double minLearningRate, int warmupIterations, int decayIterations)
    {
        if (!(learningRate > 0))
            throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "The learning rate must be positive.");
        if (minLearningRate < 0 || minLearningRate > learningRate)
            throw new ArgumentOutOfRangeException(nameof(minLearningRate), minLearningRate, "The minimum learning rate must be in [0, learningRate].");
        if (warmupIterations < 0)
            throw new ArgumentOutOfRangeException(nameof(warmupIterations), warmupIterations, "Warm-up iterations must be non-negative.");
        if (decayIterations < warmupIterations)
            throw new ArgumentOutOfRangeException(nameof(decayIterations), decayIterations, "Decay iterations must be at least the warm-up iterations.");
        LearningRate = learningRate;
        MinLearningRate = minLearningRate;
        WarmupIterations = warmupIterations;
        DecayIterations = decayIterations;
    }

    /// <summary>Peak learning rate.</summary>
    public double LearningRate { get; }

    /// <summary>Final learning rate.</summary>
    public double MinLearningRate { get; }

    /// <summary>Warm-up length.</summary>
    public int WarmupIterations { get; }

    /// <summary>Iteration where the decay ends.</summary>
    public int DecayIterations { get; }

    /// <summary>The learning rate for iteration <paramref name="iteration"/> (0-based).</summary>
    public double At(int iteration)
    {
        if (iteration < WarmupIterations)
            return LearningRate * (iteration + 1) / (WarmupIterations + 1);
        if (iteration >= DecayIterations)
            return MinLearningRate;
        double progress = (double)(iteration - WarmupIterations) / Math.Max(1, DecayIterations - WarmupIterations);
        return MinLearningRate + 0.5 * (1 + Math.Cos(Math.PI * progress)) * (LearningRate - MinLearningRate);
    }
}
