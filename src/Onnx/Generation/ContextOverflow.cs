namespace Aigc.MLNet.Onnx.Generation;

/// <summary>What generation does when a sequence reaches the model's context length (n_positions).</summary>
public enum ContextOverflow
{
    /// <summary>Stop the sequence with <see cref="FinishReason.Length"/> (Hugging Face's behaviour: positions past n_positions do not exist).</summary>
    Stop,

    /// <summary>
    /// Keep generating on the most recent tokens, as nanoGPT and char-rnn sample: when the next token would not fit, the
    /// window is cropped to its last n_positions − <see cref="GenerationOptions.ContextSlideStride"/> + 1 tokens and
    /// re-read from position 0 (one prefill of the cropped window), then decoding continues with the key/value cache.
    /// Stride 1 reproduces nanoGPT exactly (every token after the first n_positions sees the n_positions before it).
    /// </summary>
    SlideWindow,
}
