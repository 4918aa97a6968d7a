namespace Aigc.MLNet.Onnx.Generation;

/// <summary>A piece of streamed text for one sequence of a batched stream.</summary>
public sealed class TextDelta
{
    internal TextDelta(int promptIndex, int sequenceIndex, string text, FinishReason? finishReason, int? generatedTokenCount = null)
    {
        PromptIndex = promptIndex;
        SequenceIndex = sequenceIndex;
        Text = text;
        FinishReason = finishReason;
        GeneratedTokenCount = generatedTokenCount;
    }

    /// <summary>Index of the prompt this text continues.</summary>
    public int PromptIndex { get; }

    /// <summary>Index of the sequence in the batch (prompt index × NumReturnSequences + return-sequence number).</summary>
    public int SequenceIndex { get; }

    /// <summary>The new text: whole characters only, never text a stop sequence later removes (may be empty on the final delta).</summary>
    public string Text { get; }

    /// <summary>Set on the sequence's last delta: why it ended; null while it continues.</summary>
    public FinishReason? FinishReason { get; }

    /// <summary>Set on the sequence's last delta: how many tokens it generated (for usage reports); null while it continues.</summary>
    public int? GeneratedTokenCount { get; }
}
