namespace Aigc.MLNet.Trainers.Training;

/// <summary>A progress report of a training run.</summary>
/// <param name="Epoch">Epoch of the step, from 1.</param>
/// <param name="Step">Steps completed in total.</param>
/// <param name="TotalSteps">Steps the run will make.</param>
/// <param name="Losses">Losses of the last step by name (e.g. "Discriminator", "Generator", "Nelbo").</param>
/// <param name="SamplesPerSecond">Training rows per second since the previous report.</param>
/// <param name="IsEpochEnd">True for the report that closes an epoch.</param>
public sealed record TrainingProgress(int Epoch, long Step, long TotalSteps, IReadOnlyDictionary<string, float> Losses, double SamplesPerSecond, bool IsEpochEnd)
{
    /// <summary>One line for logs.</summary>
    public override string ToString() =>
        $"epoch {Epoch} step {Step}/{TotalSteps} " + string.Join(" ", Losses.Select(kv => $"{kv.Key} {kv.Value:G5}")) + $" {SamplesPerSecond:F0} samples/s";
}
