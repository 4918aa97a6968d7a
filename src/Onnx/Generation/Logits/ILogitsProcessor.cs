namespace Aigc.MLNet.Onnx.Generation;

/// <summary>
/// Changes the next-token scores of one sequence in place, like a Hugging Face <c>LogitsProcessor</c> or <c>LogitsWarper</c>
/// applied to one row. Implementations may keep scratch buffers, so one instance must not be used by two threads at once.
/// </summary>
public interface ILogitsProcessor
{
    /// <summary>Processes the scores for the next token of one sequence.</summary>
    /// <param name="sequence">Prompt ids followed by the ids generated so far, for one row, without left padding.</param>
    /// <param name="promptLength">How many ids at the start of <paramref name="sequence"/> are the prompt.</param>
    /// <param name="scores">Scores (logits or log-probabilities) over the vocabulary; changed in place; banned tokens become negative infinity.</param>
    void Process(ReadOnlySpan<int> sequence, int promptLength, Span<float> scores);
}
