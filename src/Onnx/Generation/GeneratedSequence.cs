namespace Aigc.MLNet.Onnx.Generation;

/// <summary>One generated sequence: the new token ids, their text, why generation stopped, and optional scores.</summary>
public sealed class GeneratedSequence
{
    internal GeneratedSequence(int promptIndex, int[] tokenIds, string? text, FinishReason finishReason, double? score, float[]? tokenLogProbs)
    {
        PromptIndex = promptIndex;
        TokenIds = tokenIds;
        Text = text;
        FinishReason = finishReason;
        Score = score;
        TokenLogProbs = tokenLogProbs;
    }

    /// <summary>Index of the prompt this sequence continues (results come grouped by prompt, NumReturnSequences each).</summary>
    public int PromptIndex { get; }

    /// <summary>
    /// Generated ids only (no prompt, no padding). Ends with the end-of-sequence id when <see cref="FinishReason"/> is
    /// <see cref="FinishReason.EndOfSequence"/>, and with the token that completed the stop string when it is <see cref="FinishReason.StopSequence"/>.
    /// </summary>
    public IReadOnlyList<int> TokenIds { get; }

    /// <summary>Decoded generated text (special tokens skipped, cut before a stop sequence), or null when the model has no tokenizer.</summary>
    public string? Text { get; }

    /// <summary>Why generation of this sequence ended.</summary>
    public FinishReason FinishReason { get; }

    /// <summary>
    /// Beam search: the hypothesis score, sum of log-probabilities / length^LengthPenalty (HF <c>sequences_scores</c>).
    /// Greedy and sampling: the sum of the chosen tokens' log-probabilities under the processed distribution.
    /// </summary>
    public double? Score { get; }

    /// <summary>Per generated token, its log-probability under the processed distribution (when <see cref="GenerationOptions.OutputScores"/>), else null.</summary>
    public IReadOnlyList<float>? TokenLogProbs { get; }
}
