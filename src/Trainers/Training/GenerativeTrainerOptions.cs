namespace Aigc.MLNet.Trainers.Training;

/// <summary>Options every generative trainer shares: schedule, seed, device, checkpoints, progress and cancellation.</summary>
public abstract class GenerativeTrainerOptions
{
    /// <summary>Passes over the training data.</summary>
    public int Epochs { get; set; } = 1;

    /// <summary>Rows per optimisation step (the last step of an epoch may be smaller).</summary>
    public int BatchSize { get; set; } = 64;

    /// <summary>Seed of weight initialisation, data order and noise; same seed, same run, bit for bit.</summary>
    public int Seed { get; set; } = 1;

    /// <summary>TorchSharp device: "cpu" (default) or "cuda" / "cuda:N" (needs the GPU build flavor, <c>-p:AigcGpu=true</c>).</summary>
    public string Device { get; set; } = "cpu";

    /// <summary>Folder for checkpoints (<c>checkpoint.bin</c>, written atomically); null disables checkpoints.</summary>
    public string? CheckpointFolder { get; set; }

    /// <summary>Write a checkpoint every N steps (0: only when training ends or is cancelled).</summary>
    public int CheckpointEveryNSteps { get; set; }

    /// <summary>Continue from <see cref="CheckpointFolder"/>'s checkpoint when there is one, exactly where it stopped.</summary>
    public bool Resume { get; set; }

    /// <summary>Stop after this many steps in total (null: run all epochs). Useful for smoke runs and benchmarks.</summary>
    public long? MaxSteps { get; set; }

    /// <summary>Receives a report every <see cref="ReportEveryNSteps"/> steps and at the end of each epoch, on the training thread.</summary>
    public IProgress<TrainingProgress>? Progress { get; set; }

    /// <summary>Steps between progress reports (0: only at epoch ends).</summary>
    public int ReportEveryNSteps { get; set; } = 100;

    /// <summary>Checked before every step; when cancelled, a checkpoint is written (if <see cref="CheckpointFolder"/> is set) and <see cref="OperationCanceledException"/> is thrown.</summary>
    public CancellationToken CancellationToken { get; set; }

    /// <summary>Torch intra-op threads (0 keeps TorchSharp's default).</summary>
    public int Threads { get; set; }

    internal virtual void Validate()
    {
        if (Epochs <= 0) throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "Epochs must be positive.");
        if (BatchSize <= 0) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "BatchSize must be positive.");
        if (CheckpointEveryNSteps < 0) throw new ArgumentOutOfRangeException(nameof(CheckpointEveryNSteps), CheckpointEveryNSteps, "CheckpointEveryNSteps must be 0 or positive.");
        if (ReportEveryNSteps < 0) throw new ArgumentOutOfRangeException(nameof(ReportEveryNSteps), ReportEveryNSteps, "ReportEveryNSteps must be 0 or positive.");
        if (MaxSteps is <= 0) throw new ArgumentOutOfRangeException(nameof(MaxSteps), MaxSteps, "MaxSteps must be positive when set.");
        if (Resume && CheckpointFolder is null) throw new ArgumentException("Resume needs CheckpointFolder.", nameof(Resume));
        if (CheckpointEveryNSteps > 0 && CheckpointFolder is null) throw new ArgumentException("CheckpointEveryNSteps needs CheckpointFolder.", nameof(CheckpointEveryNSteps));
    }
}
