namespace Aigc.MLNet.Trainers.Training;

/// <summary>Thrown when a loss becomes NaN or infinite; training stops without overwriting the last good checkpoint.</summary>
public sealed class NonFiniteLossException : Exception
{
    /// <summary>Creates the exception.</summary>
    public NonFiniteLossException(long step, string lossName, float value, string? lastGoodCheckpoint)
        : base($"Training stopped at step {step}: loss '{lossName}' is {value}. " +
               (lastGoodCheckpoint is null ? "No checkpoint was written before it." : $"Last good checkpoint: '{lastGoodCheckpoint}'.") +
               " Lower the learning rate or check the data for extreme values.")
    {
        Step = step;
        LossName = lossName;
        LastGoodCheckpoint = lastGoodCheckpoint;
    }

    /// <summary>Zero-based index of the failing step.</summary>
    public long Step { get; }

    /// <summary>Name of the non-finite loss.</summary>
    public string LossName { get; }

    /// <summary>Path of the last checkpoint written before the failure, or null.</summary>
    public string? LastGoodCheckpoint { get; }
}
