namespace Aigc.MLNet.Onnx.Generation;

/// <summary>
/// The OpenAI API's <c>frequency_penalty</c> and <c>presence_penalty</c>: for each token id generated so far (the prompt
/// does not count), its logit is lowered by count × frequency penalty + presence penalty, once per distinct id. Unlike
/// <see cref="RepetitionPenaltyLogitsProcessor"/> (Hugging Face, multiplicative, prompt included) the penalty is additive.
/// </summary>
/// <remarks>Keeps scratch buffers sized to the vocabulary: use one instance per thread (a scheduler's request is one thread at a time).</remarks>
public sealed class FrequencyPresencePenaltyLogitsProcessor : ILogitsProcessor
{
    private int[] _counts = [];
    private int[] _stamps = [];
    private int _stamp;

    /// <summary>Creates the processor.</summary>
    /// <param name="frequencyPenalty">Subtracted once per earlier occurrence, in [-2, 2] as in the OpenAI API.</param>
    /// <param name="presencePenalty">Subtracted once for any token already generated, in [-2, 2].</param>
    public FrequencyPresencePenaltyLogitsProcessor(double frequencyPenalty, double presencePenalty)
    {
        if (!double.IsFinite(frequencyPenalty) || frequencyPenalty < -2 || frequencyPenalty > 2)
            throw new ArgumentOutOfRangeException(nameof(frequencyPenalty), frequencyPenalty, "The frequency penalty must be between -2 and 2.");
        if (!double.IsFinite(presencePenalty) || presencePenalty < -2 || presencePenalty > 2)
            throw new ArgumentOutOfRangeException(nameof(presencePenalty), presencePenalty, "The presence penalty must be between -2 and 2.");
        FrequencyPenalty = (float)frequencyPenalty;
        PresencePenalty = (float)presencePenalty;
    }

    /// <summary>The frequency penalty.</summary>
    public float FrequencyPenalty { get; }

    /// <summary>The presence penalty.</summary>
    public float PresencePenalty { get; }

    /// <inheritdoc/>
    public void Process(ReadOnlySpan<int> sequence, int promptLength, Span<float> scores)
    {
        var generated = sequence[Math.Min(promptLength, sequence.Length)..];
        if (generated.IsEmpty) return;
        if (_counts.Length < scores.Length)
        {
            _counts = new int[scores.Length];
            _stamps = new int[scores.Length];
            _stamp = 0;
        }
        if (_stamp >= int.MaxValue - 1)
        {
            Array.Clear(_stamps);
            _stamp = 0;
        }
        // Two stamps per call: the first marks counted ids, the second ids already penalised.
        int counted = ++_stamp, applied = ++_stamp;
        foreach (int id in generated)
        {
            if ((uint)id >= (uint)scores.Length) continue;
            if (_stamps[id] != counted)
            {
                _stamps[id] = counted;
                _counts[id] = 0;
            }
            _counts[id]++;
        }
        foreach (int id in generated)
        {
            if ((uint)id >= (uint)scores.Length || _stamps[id] == applied) continue;
            _stamps[id] = applied;
            scores[id] -= _counts[id] * FrequencyPenalty + PresencePenalty;
        }
    }
}
