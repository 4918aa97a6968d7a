namespace Aigc.MLNet.Onnx.Generation;

/// <summary>Limits of a <see cref="ContinuousBatchScheduler"/>.</summary>
public sealed class ContinuousBatchOptions
{
    /// <summary>Most rows decoded together (a request asking for n sequences takes n rows); default 8.</summary>
    public int MaxBatchSize { get; set; } = 8;

    /// <summary>
    /// Most requests waiting for rows, beyond those free rows will take at the next step boundary; a request past it is
    /// refused with <see cref="SubmitStatus.QueueFull"/>. 0 means no waiting: only requests that fit the free rows are taken. Default 64.
    /// </summary>
    public int MaxQueueLength { get; set; } = 64;

    /// <summary>Checks the limits and throws naming the first one out of range.</summary>
    public void Validate()
    {
        if (MaxBatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxBatchSize), MaxBatchSize, $"{nameof(MaxBatchSize)} must be at least 1.");
        if (MaxQueueLength < 0)
            throw new ArgumentOutOfRangeException(nameof(MaxQueueLength), MaxQueueLength, $"{nameof(MaxQueueLength)} must be 0 or more.");
    }
}

/// <summary>What <see cref="ContinuousBatchScheduler.TrySubmit"/> did with a request.</summary>
public enum SubmitStatus
{
    /// <summary>The request is queued or running; follow it through the returned <see cref="BatchedGeneration"/>.</summary>
    Accepted,

    /// <summary>The queue holds <see cref="ContinuousBatchOptions.MaxQueueLength"/> requests already; try again later.</summary>
    QueueFull,

    /// <summary>The scheduler is draining or disposed and takes no new requests.</summary>
    NotAccepting,
}
