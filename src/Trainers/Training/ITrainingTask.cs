using TorchSharp;
using TorchSharp.Modules;

namespace Aigc.MLNet.Trainers.Training;

/// <summary>What a <see cref="TrainingCheckpoint"/> holds: the modules and optimizers of a run, and its architecture.</summary>
internal interface ICheckpointable
{
    /// <summary>Architecture and sizes, checked when resuming (e.g. "MlpGan:z100:c0").</summary>
    string Kind { get; }

    /// <summary>Modules whose state checkpoints hold, in a fixed order.</summary>
    IReadOnlyList<torch.nn.Module> Modules { get; }

    /// <summary>Optimizers whose state checkpoints hold, in a fixed order.</summary>
    IReadOnlyList<OptimizerHelper> Optimizers { get; }
}

/// <summary>What <see cref="TrainingLoop"/> trains: modules, optimizers and one optimisation step.</summary>
internal interface ITrainingTask : ICheckpointable
{
    /// <summary>Names of the losses <see cref="Step"/> writes, in order.</summary>
    IReadOnlyList<string> LossNames { get; }

    /// <summary>One step on a batch; writes the losses (per-row averages) into <paramref name="losses"/>.</summary>
    /// <param name="pixels">[batch, features] in [0, 1] on the training device.</param>
    /// <param name="labels">[batch] int64 classes, or null.</param>
    /// <param name="noise">Generator of this step's random numbers.</param>
    /// <param name="losses">Destination, one value per <see cref="LossNames"/> entry.</param>
    void Step(torch.Tensor pixels, torch.Tensor? labels, torch.Generator noise, Span<float> losses);
}
