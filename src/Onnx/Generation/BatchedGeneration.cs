using System.Threading.Channels;

namespace Aigc.MLNet.Onnx.Generation;

/// <summary>
/// One request running in a <see cref="ContinuousBatchScheduler"/>: its text as it is generated and its final sequences.
/// </summary>
public sealed class BatchedGeneration
{
    private readonly Channel<TextDelta> _deltas = Channel.CreateUnbounded<TextDelta>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly TaskCompletionSource<IReadOnlyList<GeneratedSequence>> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal BatchedGeneration(int[] promptTokenIds, int sequenceCount)
    {
        PromptTokenIds = promptTokenIds;
        SequenceCount = sequenceCount;
    }

    /// <summary>The prompt's token ids (an empty prompt replaced by the model's BOS id).</summary>
    public IReadOnlyList<int> PromptTokenIds { get; }

    /// <summary>Sequences generated for the prompt (<see cref="GenerationOptions.NumReturnSequences"/>).</summary>
    public int SequenceCount { get; }

    /// <summary>
    /// Text deltas as the batch steps, per sequence (<see cref="TextDelta.SequenceIndex"/> is the return-sequence number):
    /// never a split UTF-8 character, never text a stop sequence later removes; a sequence's last delta carries its
    /// <see cref="TextDelta.FinishReason"/>. Per sequence the deltas concatenate to <see cref="GeneratedSequence.Text"/>.
    /// The channel completes when the request does (with the request's exception when it fails or is cancelled).
    /// </summary>
    public ChannelReader<TextDelta> Deltas => _deltas.Reader;

    /// <summary>The generated sequences, in return-sequence order; cancelled when the request's token is, faulted when the model fails.</summary>
    public Task<IReadOnlyList<GeneratedSequence>> Completion => _completion.Task;

    /// <summary>Time from submission until the request's rows were prefilled (waiting for free rows), once known.</summary>
    public TimeSpan? QueueTime { get; internal set; }

    /// <summary>Time from submission until the first token was chosen, once known.</summary>
    public TimeSpan? TimeToFirstToken { get; internal set; }

    internal void Write(TextDelta delta) => _deltas.Writer.TryWrite(delta);

    internal void Complete(IReadOnlyList<GeneratedSequence> sequences)
    {
        _deltas.Writer.TryComplete();
        _completion.TrySetResult(sequences);
    }

    internal void Cancel(CancellationToken token)
    {
        var error = new OperationCanceledException("The request was cancelled.", token);
        _deltas.Writer.TryComplete(error);
        _completion.TrySetCanceled(token);
    }

    internal void Fail(Exception error)
    {
        _deltas.Writer.TryComplete(error);
        _completion.TrySetException(error);
    }
}
