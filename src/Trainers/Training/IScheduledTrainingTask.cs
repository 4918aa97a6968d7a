namespace Aigc.MLNet.Trainers.Training;

/// <summary>
/// A <see cref="ITrainingTask"/> whose step depends on where the run is (e.g. a learning-rate schedule).
/// <see cref="TrainingLoop"/> calls <see cref="BeginStep"/> before every <see cref="ITrainingTask.Step"/> with the global
/// step index, so a resumed run sees the same schedule as an uninterrupted one.
/// </summary>
internal interface IScheduledTrainingTask : ITrainingTask
{
    /// <summary>Called before step <paramref name="step"/> (from 0) of <paramref name="totalSteps"/> (the planned epochs' steps, whatever MaxSteps says).</summary>
    void BeginStep(long step, long totalSteps);
}
