namespace Aigc.MLNet.Onnx.Generation;

/// <summary>Why a generated sequence ended.</summary>
public enum FinishReason
{
    /// <summary>The model produced an end-of-sequence token (it is the last id in <see cref="GeneratedSequence.TokenIds"/>).</summary>
    EndOfSequence,

    /// <summary>The length limit was reached (MaxNewTokens / MaxLength, or the model's n_positions).</summary>
    Length,

    /// <summary>The decoded text reached one of the stop sequences; the text is cut before it.</summary>
    StopSequence,
}
